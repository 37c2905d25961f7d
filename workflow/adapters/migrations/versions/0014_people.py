"""people: deactivated users

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 17:00:00

Issue 16: an admin deactivates a user (and may reactivate them); ``deactivated_at`` is
null while the user is active.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("deactivated_at")
