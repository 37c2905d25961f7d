"""The first use of a database and of a workflow definition by many processes at once,
on PostgreSQL.

A database that has never seen jointflow is migrated by the first command of each
process (``auto_migrate``): eight processes at once all succeed, the schema migrated once.

A fresh database stores a definition version the first time a program starts on it.
Eight ``python -m workflow program create`` processes start together on a database that
has never stored one; the test holds ``workflow_definitions`` locked until every one of
them waits on it, so all of them reach the first use in the same instant (without the
lock, the processes' start-up spreads them out and they collide only now and then).
Every process succeeds, the version is stored once, and each program is on it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select, text

from tests.conftest import PG_ADMIN_URL, make_settings
from tests.e2e.runner import REPO, process_env
from workflow.adapters.database import SCHEMA_REVISION, current_revision, engine_for, upgrade
from workflow.adapters.orm import organizations, programs, workflow_definitions
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c

pytestmark = pytest.mark.postgres

PROCESSES = 8
ROUNDS = 2  # each round holds all eight at the lock and releases them together
COORDINATOR = "coord@munsan-high.kr"


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A new PostgreSQL database, with nothing in it."""
    name = f"jointflow_first_use_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    engine_for(url).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def fresh_database(empty_database: str) -> str:
    """A new PostgreSQL database, migrated and seeded, that has stored no definition."""
    url = empty_database
    upgrade(engine_for(url))
    bus = bootstrap(make_settings(url))
    bus.handle(c.AddOrganization(actor=None, key="city", name="Paju City", funder=True))
    bus.handle(
        c.AddOrganization(
            actor=None, key="education_office", name="Paju Office of Education", funder=True
        )
    )  # the workflow's other party
    bus.handle(c.AddOrganization(actor=None, key="munsan-high", name="Munsan High School"))
    bus.handle(
        c.AddUser(
            actor=None, email=COORDINATOR, name="coord", org="munsan-high", roles=("coordinator",)
        )
    )
    return url


def start(url: str, argv: list[str], **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "workflow", *argv],
        cwd=REPO,
        env=process_env({"JOINTFLOW_DATABASE_URL": url, **env}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def all_succeed(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert (proc.returncode, err) == (0, ""), out + err


def test_processes_migrating_an_empty_database_at_once_all_succeed(empty_database: str) -> None:
    procs = [
        start(empty_database, ["org", "add", f"school-{n}", "--name", f"School {n}"])
        for n in range(PROCESSES)
    ]
    all_succeed(procs)
    engine = engine_for(empty_database)
    assert current_revision(engine) == SCHEMA_REVISION
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(organizations)).scalar_one() == 8


def start_create(url: str, n: int) -> subprocess.Popen[str]:
    argv = [
        "--as",
        COORDINATOR,
        "program",
        "create",
        "--title",
        f"Program {n}",
        "--org",
        "munsan-high",
        "--category",
        "linkage",
        "--request",
        "city=10000000",
        "--year",
        "2026",
        "--json",
    ]
    return start(url, argv, JOINTFLOW_AUTO_MIGRATE="false")


def waiting_on_the_lock(url: str) -> int:
    """Backends of this database waiting for a lock (the test's own holds it)."""
    with engine_for(url).connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )


def test_processes_storing_a_definition_at_once_all_succeed_and_store_it_once(
    fresh_database: str,
) -> None:
    url = fresh_database
    engine = engine_for(url)
    created = 0
    for round_ in range(ROUNDS):
        with engine.connect() as conn:
            conn.execute(text("DELETE FROM workflow_definitions"))  # never used again
            conn.commit()
            lock = conn.begin()
            conn.execute(text("LOCK TABLE workflow_definitions IN ACCESS EXCLUSIVE MODE"))
            procs = [start_create(url, round_ * PROCESSES + n) for n in range(PROCESSES)]
            deadline = time.monotonic() + 60
            while waiting_on_the_lock(url) < PROCESSES and time.monotonic() < deadline:
                time.sleep(0.05)
            assert waiting_on_the_lock(url) == PROCESSES, "the processes never reached it"
            lock.commit()  # all of them at once
        all_succeed(procs)
        created += PROCESSES
        with engine.connect() as conn:
            stored = conn.execute(
                select(workflow_definitions.c.key, workflow_definitions.c.version)
            ).all()
            assert len(stored) == 1
            key, version = stored[0]
            on_it = conn.execute(
                select(func.count()).where(
                    programs.c.workflow_key == key, programs.c.workflow_version == version
                )
            ).scalar_one()
        assert on_it == created
