"""one-time sign-in links

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-01 17:10:00

The pages' sign-in by mail (issue 15): a link's secret is kept only as its SHA-256,
with when it stops working and when it was used (once). The link is mailed as a
message of the kind ``sign_in_link``, which people do not choose channels for.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0014"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KIND_CHECK = "ck_notifications_kind_known"
OLD_KINDS = (
    "('review_request', 'decision', 'commit_due', 'program_update', 'budget_notice', "
    "'reminder_digest', 'escalation')"
)
KINDS = OLD_KINDS[:-1] + ", 'sign_in_link')"


def upgrade() -> None:
    op.create_table(
        "sign_in_links",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("user_email", sa.String(length=254), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_email"], ["users.email"], name=op.f("fk_sign_in_links_user_email_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_links")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_sign_in_links_secret_hash")),
    )
    op.create_index(
        op.f("ix_sign_in_links_user_email_created_at"),
        "sign_in_links",
        ["user_email", "created_at"],
    )
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint(op.f(KIND_CHECK), type_="check")
        batch.create_check_constraint(op.f(KIND_CHECK), f"kind IN {KINDS}")


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE notification_id IN "
               "(SELECT id FROM notifications WHERE kind = 'sign_in_link')")  # fmt: skip
    op.execute("DELETE FROM notifications WHERE kind = 'sign_in_link'")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint(op.f(KIND_CHECK), type_="check")
        batch.create_check_constraint(op.f(KIND_CHECK), f"kind IN {OLD_KINDS}")
    op.drop_index(op.f("ix_sign_in_links_user_email_created_at"), table_name="sign_in_links")
    op.drop_table("sign_in_links")
