"""Persistence on SQLite and PostgreSQL: programs round-trip, migrations build the schema.

A program read back after each lifecycle step equals the aggregate the handler saved;
``alembic upgrade`` on a brand-new database gives exactly ``orm.metadata``; the
audit log and the ledger refuse UPDATE and DELETE in the database itself.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from tests import support as s
from tests.conftest import PG_ADMIN_URL
from workflow.adapters.database import head_revision, make_engine, upgrade
from workflow.adapters.orm import metadata
from workflow.adapters.repositories import ProgramRepository
from workflow.domain import commands as c
from workflow.domain.program import Program
from workflow.service_layer.messagebus import MessageBus

# -- round trips --------------------------------------------------------------------


@pytest.fixture
def saved(monkeypatch: pytest.MonkeyPatch) -> dict[int, Program]:
    """The last copy of each program the repository wrote, as the handler held it."""
    written: dict[int, Program] = {}
    original_add, original_save = ProgramRepository.add, ProgramRepository.save

    def add(self: ProgramRepository, program: Program, now: object) -> int:
        program_id = original_add(self, program, now)  # type: ignore[arg-type]
        written[program_id] = copy.deepcopy(program)
        return program_id

    def save(self: ProgramRepository, program: Program, now: object) -> None:
        original_save(self, program, now)  # type: ignore[arg-type]
        assert program.id is not None
        written[program.id] = copy.deepcopy(program)

    monkeypatch.setattr(ProgramRepository, "add", add)
    monkeypatch.setattr(ProgramRepository, "save", save)
    return written


def reload(bus: MessageBus, program_id: int) -> Program:
    program: Program = bus.query(lambda uow: uow.programs.get(program_id))
    return program


def as_saved(program: Program) -> Program:
    """What the database must give back: the aggregate without its unsaved outbox."""
    return dataclasses.replace(program, events=[], ledger_moves=[])


def assert_round_trips(bus: MessageBus, saved: dict[int, Program], program_id: int) -> Program:
    loaded = reload(bus, program_id)
    assert loaded == as_saved(saved[program_id])
    return loaded


def new_program(bus: MessageBus, **requests: int) -> int:
    program_id: int = bus.handle(
        c.CreateProgram(
            actor=s.COORDINATOR,
            title="Munsan–Gyeongin linkage camp",
            org="munsan-high",
            category="linkage",
            requests=requests or {"city": 80_000_000, "education_office": 20_000_000},
            start=date(2026, 3, 2),
            end=date(2026, 12, 18),
            description="Weekend lab sessions with university mentors",
        )
    )
    return program_id


def submit(bus: MessageBus, program_id: int) -> None:
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=program_id))


def test_a_draft_reloads_exactly_as_it_was_saved(
    bus: MessageBus, saved: dict[int, Program]
) -> None:
    s.seed(bus)
    program_id = new_program(bus)
    loaded = assert_round_trips(bus, saved, program_id)
    assert loaded.state == "draft"
    assert loaded.content.start == date(2026, 3, 2) and loaded.content.end == date(2026, 12, 18)
    assert loaded.content.fiscal_year == 2026
    assert loaded.decisions["city"].decision == "pending"
    assert loaded.holds == {}


def test_a_program_in_review_reloads_with_its_holds_and_submitter(
    bus: MessageBus, saved: dict[int, Program]
) -> None:
    s.seed(bus)
    program_id = new_program(bus)
    submit(bus, program_id)
    loaded = assert_round_trips(bus, saved, program_id)
    assert loaded.state == "in_review"
    assert loaded.holds == {"city": 80_000_000, "education_office": 20_000_000}
    assert loaded.submitted_by == {s.COORDINATOR}


def test_a_program_sent_back_for_revision_reloads_with_the_decisions_made(
    bus: MessageBus, saved: dict[int, Program]
) -> None:
    s.seed(bus)
    program_id = new_program(bus)
    submit(bus, program_id)
    s.decide(bus, program_id, s.CITY_APPROVER)
    bus.handle(
        c.DecideReview(
            actor=s.OE_APPROVER,
            program_id=program_id,
            decision="request-changes",
            comment="명확한 성과 지표를 추가하세요",
        )
    )
    loaded = assert_round_trips(bus, saved, program_id)
    assert loaded.state == "revision_requested"
    assert loaded.decisions["city"].decision == "approved"
    assert loaded.decisions["city"].by == s.CITY_APPROVER
    assert loaded.decisions["education_office"].comment == "명확한 성과 지표를 추가하세요"


def test_a_resubmitted_revision_reloads_in_its_next_round_with_every_party_pending(
    bus: MessageBus, saved: dict[int, Program]
) -> None:
    s.seed(bus)
    program_id = new_program(bus)
    submit(bus, program_id)
    s.decide(bus, program_id, s.CITY_APPROVER, "request-changes")
    bus.handle(
        c.UpdateProgram(
            actor=s.COORDINATOR,
            program_id=program_id,
            requests={"city": 70_000_000, "education_office": 30_000_000},
        )
    )
    assert_round_trips(bus, saved, program_id)
    submit(bus, program_id)
    loaded = assert_round_trips(bus, saved, program_id)
    assert loaded.state == "in_review"
    assert loaded.review_round == 2
    assert loaded.content.requests == {"city": 70_000_000, "education_office": 30_000_000}
    assert loaded.holds == loaded.content.requests
    assert {d.decision for d in loaded.decisions.values()} == {"pending"}


def test_an_approved_program_reloads_with_both_approvals(
    bus: MessageBus, saved: dict[int, Program]
) -> None:
    s.seed(bus)
    program_id = new_program(bus)
    submit(bus, program_id)
    s.decide(bus, program_id, s.CITY_APPROVER)
    s.decide(bus, program_id, s.OE_APPROVER)
    loaded = assert_round_trips(bus, saved, program_id)
    assert loaded.state == "approved"
    assert {p: d.by for p, d in loaded.decisions.items()} == {
        "city": s.CITY_APPROVER,
        "education_office": s.OE_APPROVER,
    }


def test_a_withdrawn_program_reloads_without_holds(
    bus: MessageBus, saved: dict[int, Program]
) -> None:
    s.seed(bus)
    program_id = new_program(bus)
    submit(bus, program_id)
    bus.handle(c.WithdrawProgram(actor=s.COORDINATOR, program_id=program_id, reason="no bus"))
    loaded = assert_round_trips(bus, saved, program_id)
    assert loaded.state == "withdrawn"
    assert loaded.holds == {}


def test_a_waitlisted_program_reloads_with_the_time_it_was_waitlisted(
    bus: MessageBus, saved: dict[int, Program]
) -> None:
    s.seed(bus, education_office=10_000_000)
    program_id = new_program(bus)
    submit(bus, program_id)
    loaded = assert_round_trips(bus, saved, program_id)
    assert loaded.state == "waitlisted"
    assert loaded.waitlisted_at is not None
    assert loaded.holds == {}


def test_saving_an_unchanged_program_and_reloading_it_changes_nothing_but_its_version(
    bus: MessageBus,
) -> None:
    s.seed(bus)
    program_id = new_program(bus)
    submit(bus, program_id)

    def resave(uow: object) -> Program:
        program: Program = uow.programs.get(program_id, lock=True)  # type: ignore[attr-defined]
        uow.programs.save(program, uow.now)  # type: ignore[attr-defined]
        return program

    before = reload(bus, program_id)
    written = s.in_transaction(bus, resave)
    loaded = reload(bus, program_id)
    assert loaded == written
    assert loaded == dataclasses.replace(before, version=before.version + 1)


# -- migrations from empty ----------------------------------------------------------


def schema_differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """A brand-new, empty PostgreSQL database, dropped afterwards."""
    name = f"jointflow_empty_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database that has never seen jointflow, on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'new' / 'brand-new.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def test_upgrading_an_empty_database_builds_exactly_the_orm_schema(empty_database: Engine) -> None:
    upgrade(empty_database)
    assert schema_differences(empty_database) == []
    with empty_database.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()


def test_upgrading_twice_is_harmless(empty_database: Engine) -> None:
    upgrade(empty_database)
    upgrade(empty_database)
    assert schema_differences(empty_database) == []


def write_one_event_and_one_ledger_entry(bus: MessageBus) -> None:
    s.seed(bus)
    s.submitted(bus)


APPEND_ONLY_STATEMENTS = {
    "update an event": "UPDATE events SET data = '{}' WHERE id = (SELECT max(id) FROM events)",
    "delete an event": "DELETE FROM events WHERE id = (SELECT max(id) FROM events)",
    "update a ledger entry": "UPDATE ledger_entries SET amount = 1",
    "delete a ledger entry": "DELETE FROM ledger_entries",
}


@pytest.mark.parametrize(
    "statement", list(APPEND_ONLY_STATEMENTS.values()), ids=list(APPEND_ONLY_STATEMENTS)
)
def test_the_database_refuses_to_edit_the_audit_log_or_the_ledger(
    bus: MessageBus, database_url: str, statement: str
) -> None:
    write_one_event_and_one_ledger_entry(bus)
    engine = make_engine(database_url)
    try:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
        with engine.connect() as conn:
            events = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
            entries = conn.execute(text("SELECT count(*) FROM ledger_entries")).scalar_one()
    finally:
        engine.dispose()
    assert entries == 2
    assert events > 0
    checked, broken = bus.query(lambda uow: uow.events.verify())
    assert broken is None and checked == events


def test_a_brand_new_database_refuses_edits_of_the_audit_log_from_its_first_event(
    empty_database: Engine,
) -> None:
    upgrade(empty_database)
    insert_event = text(
        "INSERT INTO events (stream, seq, type, actor, at, data, prev_hash, hash) "
        "VALUES ('probe', 1, 'Probe', 'operator', '2026-01-01T00:00:00', '{}', :h, :h)"
    )
    with empty_database.begin() as conn:
        conn.execute(insert_event, {"h": "0" * 64})
    for statement in ("UPDATE events SET type = 'Edited'", "DELETE FROM events"):
        with pytest.raises(DBAPIError, match="append-only"), empty_database.begin() as conn:
            conn.execute(text(statement))
    with empty_database.connect() as conn:
        assert conn.execute(text("SELECT type FROM events")).scalars().all() == ["Probe"]
