"""audit stream names as long as a person's stream can be

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 15:00:00

Issue 18: text is held to one set of limits (``domain.text``), and every column is as
long as those limits let its values be. All already were but the audit streams' names:
a person's stream is ``user:`` and an email of up to 254 characters, which did not fit
in 100 (PostgreSQL refused the message to such a person with a traceback).

SQLite copies the two tables to change the column (its batch mode); the copy of
``events`` does not keep the table's append-only triggers, so they are made again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("events", "event_streams")


def upgrade() -> None:
    _stream_length(sa.String(length=100), sa.String(length=300))


def downgrade() -> None:
    _stream_length(sa.String(length=300), sa.String(length=100))


def _stream_length(old: sa.String, new: sa.String) -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("stream", existing_type=old, type_=new, existing_nullable=False)
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_append_only("events")


def _sqlite_append_only(table: str) -> None:
    """The triggers of migration 0001, on the copied table."""
    for verb in ("UPDATE", "DELETE"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb.lower()}")
        op.execute(
            f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )
