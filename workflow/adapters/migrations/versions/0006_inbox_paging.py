"""the live-task indexes end in the task id: the inbox pages in index order

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 15:30:00

The inbox orders by (due_at, id) and pages by that key. Tasks share due times (every
task opened on one day is due at the end of the same business day), so an index
that stops at due_at leaves PostgreSQL to sort each run of equal due times, however
long, before it can return the first page; with the id as the last key column the
index scan alone yields the order and the keyset condition is an index bound.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LIVE = sa.text("state IN ('open', 'claimed')")
CLAIMED = sa.text("state = 'claimed'")


def upgrade() -> None:
    op.drop_index("ix_tasks_live_claimed", table_name="tasks")
    op.drop_index("ix_tasks_live_queue", table_name="tasks")
    op.create_index(
        "ix_tasks_live_queue",
        "tasks",
        ["queue_org", "queue_role", "due_at", "id"],
        unique=False,
        postgresql_where=LIVE,
        sqlite_where=LIVE,
    )
    op.create_index(
        "ix_tasks_live_claimed",
        "tasks",
        ["claimed_by", "due_at", "id"],
        unique=False,
        postgresql_where=CLAIMED,
        sqlite_where=CLAIMED,
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_live_claimed", table_name="tasks")
    op.drop_index("ix_tasks_live_queue", table_name="tasks")
    op.create_index(
        "ix_tasks_live_queue",
        "tasks",
        ["queue_org", "queue_role", "due_at"],
        unique=False,
        postgresql_where=LIVE,
        sqlite_where=LIVE,
    )
    op.create_index(
        "ix_tasks_live_claimed",
        "tasks",
        ["claimed_by", "due_at"],
        unique=False,
        postgresql_where=CLAIMED,
        sqlite_where=CLAIMED,
    )
