"""The fakes keep the promises of the adapters they stand in for, where handlers rely on
them: a unit of work rolls back unless committed, programs get ids and versions,
envelope balances move with the ledger's entries, a claim blocks someone else's close."""

from __future__ import annotations

from datetime import date

import pytest

from tests import support as s
from tests.fakes import FakeUnitOfWorkFactory, IntegrityViolation, fake_bus, unit_of_work
from tests.handlers import helpers as h
from workflow.domain.errors import Conflict, InsufficientBudget, NotFound, NotPermitted
from workflow.domain.program import LedgerMove, Program, ProgramContent
from workflow.domain.tasks import TaskSpec
from workflow.service_layer.messagebus import MessageBus
from workflow.service_layer.unit_of_work import UnitOfWork

REVIEW_CITY = TaskSpec("review", "city", "approver", "city")


def draft(fakes: FakeUnitOfWorkFactory) -> Program:
    definition = fakes.registry.current("joint-program").definition
    content = ProgramContent(
        title="Linkage camp",
        category="linkage",
        fiscal_year=s.YEAR,
        requests={"education_office": 20_000_000, "city": 80_000_000},
        start=date(2026, 3, 2),
        end=date(2026, 11, 30),
    )
    return Program.create(definition, "munsan-high", content, s.COORDINATOR)


def test_the_fake_unit_of_work_is_a_unit_of_work_and_commit_marks_it_committed() -> None:
    _, fakes = fake_bus()
    uow: UnitOfWork = unit_of_work(fakes)  # mypy checks the fake against the port
    with uow:
        uow.ledger.add_envelope("city", s.YEAR, 1_000)
        uow.commit()
    assert fakes.reader().ledger.report() != []
    assert fakes().committed is False  # a new one starts uncommitted


def test_leaving_a_unit_of_work_without_commit_discards_every_change() -> None:
    _, fakes = fake_bus()
    with fakes() as uow:
        uow.ledger.add_envelope("city", s.YEAR, 1_000)
        program_id = uow.programs.add(draft(fakes), uow.now)
        uow.outbox.add("jointflow.place_holds", {"program_id": program_id}, uow.now)
    assert not uow.committed
    with fakes() as later:
        assert later.ledger.report() == []
        assert not later.programs.exists(program_id)
        assert later.outbox.pending_ids() == []


def test_a_program_gets_an_id_and_a_version_and_a_stale_save_is_a_conflict() -> None:
    _, fakes = fake_bus()
    with fakes() as uow:
        program = draft(fakes)
        program_id = uow.programs.add(program, uow.now)
        assert (program.id, program.version) == (program_id, 1)
        uow.commit()
    with fakes() as uow:
        stale = uow.programs.get(program_id)
    with fakes() as uow:
        fresh = uow.programs.get(program_id)
        uow.programs.save(fresh, uow.now)
        uow.commit()
    assert fresh.version == 2
    with fakes() as uow, pytest.raises(Conflict, match=f"program {program_id} was changed"):
        uow.programs.save(stale, uow.now)


def test_a_saved_program_reloads_as_it_was_with_what_it_asked_for_when_loaded() -> None:
    _, fakes = fake_bus()
    with fakes() as uow:
        program = draft(fakes)
        assert uow.programs.asked_when_loaded(0) is None
        program_id = uow.programs.add(program, uow.now)
        assert uow.programs.asked_when_loaded(program_id) == ("draft", ())
        uow.commit()
    with fakes() as uow:
        loaded = uow.programs.get(program_id, lock=True)
    assert (loaded.state, loaded.org, loaded.content, loaded.decisions, loaded.parties) == (
        program.state,
        program.org,
        program.content,
        program.decisions,
        program.parties,
    )
    assert loaded.parties == ("city", "education_office")
    assert (loaded.events, loaded.ledger_moves, loaded.scheduled) == ([], [], [])


def test_the_ledger_moves_envelopes_and_the_programs_share_and_refuses_a_key_twice() -> None:
    _, fakes = fake_bus()
    with fakes() as uow:
        uow.ledger.add_envelope("city", s.YEAR, 100_000_000)
        program_id = uow.programs.add(draft(fakes), uow.now)
        uow.ledger.apply(
            program_id,
            [
                LedgerMove("hold", "city", s.YEAR, 80_000_000, "hold:1"),
                LedgerMove("commit", "city", s.YEAR, 80_000_000, "commit:1"),
                LedgerMove("disburse", "city", s.YEAR, 30_000_000, "disburse:1"),
            ],
            s.CITY_OFFICER,
            uow.now,
        )
        [city] = uow.ledger.report()
        assert (city.held, city.committed, city.disbursed, city.available) == (
            0,
            80_000_000,
            30_000_000,
            20_000_000,
        )
        loaded = uow.programs.get(program_id)
        assert (loaded.holds, loaded.committed, loaded.disbursed) == (
            {},
            {"city": 80_000_000},
            {"city": 30_000_000},
        )
        with pytest.raises(Conflict, match="ledger entry already written"):
            uow.ledger.apply(
                program_id,
                [LedgerMove("disburse", "city", s.YEAR, 1, "disburse:1")],
                s.CITY_OFFICER,
                uow.now,
            )
        with pytest.raises(InsufficientBudget, match="no room for 20,000,001 KRW"):
            uow.ledger.apply(
                program_id,
                [LedgerMove("hold", "city", s.YEAR, 20_000_001, "hold:2")],
                "system",
                uow.now,
            )
        with pytest.raises(IntegrityViolation):  # more paid out than committed
            uow.ledger.apply(
                program_id,
                [LedgerMove("disburse", "city", s.YEAR, 50_000_001, "disburse:2")],
                s.CITY_OFFICER,
                uow.now,
            )


def test_a_task_claimed_by_someone_else_blocks_its_completion_but_not_its_claimants() -> None:
    _, fakes = fake_bus()
    with fakes() as uow:
        [(spec, _)] = uow.tasks.open(7, {REVIEW_CITY: uow.now}, uow.now)
        [task] = uow.tasks.of_program(7)
        assert uow.tasks.claim(task["id"], h.DEPUTY)
        assert not uow.tasks.claim(task["id"], s.CITY_APPROVER)
        with pytest.raises(
            NotPermitted, match=f"its review task for city is claimed by {h.DEPUTY}"
        ):
            uow.tasks.complete(7, spec, s.CITY_APPROVER, uow.now)
        assert uow.tasks.complete(7, spec, h.DEPUTY, uow.now) == [task["id"]]
        assert uow.tasks.get(task["id"]).state == "completed"
        assert uow.tasks.cancel(7, spec, h.DEPUTY, uow.now) == []  # nothing live is left


def test_an_outbox_message_is_taken_once() -> None:
    _, fakes = fake_bus()
    with fakes() as uow:
        uow.outbox.add("jointflow.retry_waitlisted", {"year": s.YEAR}, uow.now)
        [message_id] = uow.outbox.pending_ids()
        taken = uow.outbox.take(message_id, uow.now)
        assert taken is not None and taken.payload == {"year": s.YEAR}
        assert uow.outbox.take(message_id, uow.now) is None
        assert uow.outbox.pending_ids() == []


def test_an_unknown_user_is_reported_before_an_unknown_program(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    with fakes() as uow:
        with pytest.raises(NotFound, match="no user with email 'nobody@x.kr'"):
            uow.programs.get_locked_as("nobody@x.kr", 999)
        with pytest.raises(NotFound, match="program 999 does not exist"):
            uow.programs.get_locked_as(s.COORDINATOR.upper(), 999)


def test_a_reading_unit_of_work_never_commits() -> None:
    _, fakes = fake_bus()
    with fakes(reading=True) as uow, pytest.raises(RuntimeError, match="never commits"):
        uow.commit()
