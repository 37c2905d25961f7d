"""Alembic environment: runs against the engine handed over by ``database.upgrade``.

Processes that each migrate the same database at once (the first command of each on a
fresh database, with ``auto_migrate``) take turns: on PostgreSQL the migration's
transaction first takes an advisory lock, so the next one in line reads the schema's
revision after the first committed, finds it at head and does nothing. (SQLite's
``BEGIN IMMEDIATE`` already makes them take turns.)
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from workflow.adapters.orm import metadata

MIGRATION_LOCK = 0x6A6F696E74  # any constant key of our own: "joint"

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
