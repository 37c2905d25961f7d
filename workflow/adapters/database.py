"""Engines and schema migrations for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode and opens every transaction with ``BEGIN IMMEDIATE``, so
writers serialize up front instead of failing on lock upgrades; PostgreSQL runs at
READ COMMITTED with explicit row locks taken by the repositories.
"""

from __future__ import annotations

import sqlite3
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The newest migration's revision id. Kept here so that each CLI command can check the
# schema with one query instead of importing Alembic; a test keeps it equal to the head.
SCHEMA_REVISION = "0018"


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for ``url``; creates the SQLite file's folder if needed."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # No pre-ping (a round trip per transaction): a connection found dead instead
        # fails its transaction, which the bus retries on a fresh one (is_transient).
        options.setdefault("pool_recycle", 1800)
        return create_engine(url, **options)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60}, **options)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        """Straight to the driver: a fixed statement through ``exec_driver_sql`` took
        SQLAlchemy's whole execute path, about a third of a BEGIN's cost (bench/embedded)."""
        reading = conn.get_execution_options().get(_READING, False)
        statement = "BEGIN" if reading else "BEGIN IMMEDIATE"
        try:
            conn.connection.driver_connection.execute(statement)
        except sqlite3.Error as err:  # as SQLAlchemy raises it: "locked" is worth a retry
            raise DBAPIError.instance(statement, None, err, sqlite3.Error) from err


_READING = "jointflow_reading"


def read_only_options(engine: Engine) -> dict[str, Any]:
    """Execution options of a read-only transaction on ``engine``'s backend."""
    if engine.dialect.name == "postgresql":
        return {"postgresql_readonly": True}
    return {_READING: True}


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine (and pool) per URL per process."""
    return make_engine(url)


def alembic_config(engine: Engine) -> Config:
    config = _scripts_config()
    config.attributes["engine"] = engine
    return config


def head_revision() -> str | None:
    """The newest migration according to Alembic's scripts (imports Alembic)."""
    from alembic.script import ScriptDirectory

    config = _scripts_config()
    return ScriptDirectory.from_config(config).get_current_head()


def _scripts_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def current_revision(engine: Engine) -> str | None:
    """The schema revision stored in the database, without importing Alembic."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (safe to run again)."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == SCHEMA_REVISION
