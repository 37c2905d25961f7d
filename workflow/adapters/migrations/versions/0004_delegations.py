"""delegations (대결)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 04:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "delegations",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("delegator", sa.String(length=254), nullable=False),
        sa.Column("delegate", sa.String(length=254), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_delegations_period")),
        sa.ForeignKeyConstraint(
            ["delegate"], ["users.email"], name=op.f("fk_delegations_delegate_users")
        ),
        sa.ForeignKeyConstraint(
            ["delegator"], ["users.email"], name=op.f("fk_delegations_delegator_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegations")),
    )
    op.create_index(op.f("ix_delegations_delegate"), "delegations", ["delegate"], unique=False)
    op.create_index(op.f("ix_delegations_delegator"), "delegations", ["delegator"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_delegations_delegator"), table_name="delegations")
    op.drop_index(op.f("ix_delegations_delegate"), table_name="delegations")
    op.drop_table("delegations")
