"""sign-in passwords

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 14:40:00

The web pages (issue 15): a user's argon2 password hash and the count of wrong tries
that locks the account. Sessions are rows of ``api_tokens``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_credentials",
        sa.Column("user_email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_email"], ["users.email"], name=op.f("fk_user_credentials_user_email_users")
        ),
        sa.PrimaryKeyConstraint("user_email", name=op.f("pk_user_credentials")),
    )


def downgrade() -> None:
    op.drop_table("user_credentials")
