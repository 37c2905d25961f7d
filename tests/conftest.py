"""Shared fixtures: real databases (SQLite files and a PostgreSQL database per run).

``database_url`` is parametrized over both backends, so an integration test written
once runs on SQLite and on PostgreSQL. The PostgreSQL database is created once per
test process (xdist workers get their own) and emptied between tests with TRUNCATE;
the ledger and audit tables are append-only by trigger, and TRUNCATE fires no row
triggers. SQLite tests each get a copy of a migrated template file.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from config.settings import Settings
from workflow.adapters.database import engine_for, upgrade
from workflow.adapters.orm import metadata
from workflow.bootstrap import bootstrap
from workflow.service_layer.messagebus import MessageBus

PG_ADMIN_URL = os.environ.get(
    "JOINTFLOW_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("JOINTFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_db(number: int) -> str:
    """Another database of the test Redis: a test file whose Celery worker may run while
    another file's does (pytest-xdist, --dist loadfile) takes one of its own, or the
    workers would take each other's tasks and run them against the wrong database."""
    return REDIS_URL.rsplit("/", 1)[0] + f"/{number}"


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests configure jointflow explicitly; the developer's JOINTFLOW_* never leak in."""
    for name in list(os.environ):
        if name.startswith("JOINTFLOW_") and not name.startswith("JOINTFLOW_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test process, migrated to head."""
    name = f"jointflow_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(engine_for(url))
    yield url
    engine_for(url).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = engine_for(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _empty_postgres(url: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine_for(url).begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "jointflow.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def postgres_url(pg_url: str) -> str:
    """An empty, migrated PostgreSQL database (for tests that are about PostgreSQL)."""
    _empty_postgres(pg_url)
    return pg_url


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {"broker_url": None, "auto_migrate": False, **overrides}
    return Settings(database_url=database_url, **values)  # type: ignore[arg-type]


@pytest.fixture
def bus(database_url: str) -> MessageBus:
    """The embedded bus (outbox run in-process) on each backend."""
    return bootstrap(make_settings(database_url))
