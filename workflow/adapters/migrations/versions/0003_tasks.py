"""human tasks and their queues

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("program_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("party", sa.String(length=64), nullable=True),
        sa.Column("queue_org", sa.String(length=64), nullable=False),
        sa.Column("queue_role", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=254), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=254), nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'claimed', 'completed', 'cancelled')",
            name=op.f("ck_tasks_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_tasks_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index(
        "ix_tasks_live_queue",
        "tasks",
        ["queue_org", "queue_role", "due_at"],
        unique=False,
        postgresql_where=sa.text("state IN ('open', 'claimed')"),
        sqlite_where=sa.text("state IN ('open', 'claimed')"),
    )
    op.create_index(
        "ix_tasks_live_claimed",
        "tasks",
        ["claimed_by", "due_at"],
        unique=False,
        postgresql_where=sa.text("state = 'claimed'"),
        sqlite_where=sa.text("state = 'claimed'"),
    )
    op.create_index(op.f("ix_tasks_program_id"), "tasks", ["program_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_tasks_program_id"), table_name="tasks")
    op.drop_index("ix_tasks_live_claimed", table_name="tasks")
    op.drop_index("ix_tasks_live_queue", table_name="tasks")
    op.drop_table("tasks")
