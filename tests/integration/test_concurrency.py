"""PostgreSQL under real concurrency: threads on their own connections, started together.

Each case runs on many programs, every thread released by one ``threading.Barrier`` so
the actions reach the database at the same instant: decisions of different parties
both land and approve the program once; two approvers of the same party cannot both
win; programs racing for the last money of an envelope never overdraw it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from tests import support as s
from tests.conftest import make_settings
from workflow.adapters.orm import envelopes, ledger_entries
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.errors import Conflict, NotPermitted
from workflow.domain.events import Event, program_stream
from workflow.service_layer.messagebus import MessageBus

pytestmark = pytest.mark.postgres

ROUNDS = 10
SECOND_CITY_APPROVER = "deputy@paju.go.kr"


def run_together(actions: list[Callable[[], Any]]) -> list[Any]:
    """Run every action on its own thread, all released at once; results or exceptions."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = actions[i]()
        except Exception as err:  # noqa: BLE001 - handed back to the test to judge
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results


@pytest.fixture
def pg_bus(postgres_url: str) -> MessageBus:
    bus = bootstrap(make_settings(postgres_url))
    s.seed(bus)
    return bus


def history(bus: MessageBus, program_id: int) -> list[Any]:
    return list(bus.query(lambda uow: uow.events.history(program_stream(program_id))))


def types(bus: MessageBus, program_id: int) -> list[str]:
    return [e.type for e in history(bus, program_id)]


def decision(actor: str, program_id: int, verdict: str) -> c.DecideReview:
    return c.DecideReview(actor=actor, program_id=program_id, decision=verdict)


def test_both_parties_approving_at_the_same_instant_approve_the_program_exactly_once(
    pg_bus: MessageBus,
) -> None:
    for _ in range(ROUNDS):
        program_id = s.submitted(pg_bus)
        results = run_together(
            [
                lambda pid=program_id: pg_bus.handle(decision(s.CITY_APPROVER, pid, "approve")),
                lambda pid=program_id: pg_bus.handle(decision(s.OE_APPROVER, pid, "approve")),
            ]
        )
        assert results == [program_id, program_id]
        program = pg_bus.query(lambda uow, pid=program_id: uow.programs.get(pid))
        assert program.state == "approved"
        assert {p: d.by for p, d in program.decisions.items()} == {
            "city": s.CITY_APPROVER,
            "education_office": s.OE_APPROVER,
        }
        happened = types(pg_bus, program_id)
        assert happened.count(ev.PROGRAM_APPROVED) == 1
        assert happened.count(ev.PARTY_APPROVED) == 2
        assert ev.ACTION_REFUSED not in happened
    checked, broken = pg_bus.query(lambda uow: uow.events.verify())
    assert broken is None


def test_two_approvers_of_the_same_party_at_the_same_instant_one_wins_the_other_conflicts(
    pg_bus: MessageBus,
) -> None:
    pg_bus.handle(
        c.AddUser(
            actor=None, email=SECOND_CITY_APPROVER, name="Deputy", org="city", roles=("approver",)
        )
    )
    for i in range(ROUNDS):
        program_id = s.submitted(pg_bus)
        # Different verdicts, so the program's state shows whose decision stood.
        first, second = ("approve", "reject") if i % 2 else ("reject", "approve")
        results = run_together(
            [
                lambda pid=program_id, v=first: pg_bus.handle(decision(s.CITY_APPROVER, pid, v)),
                lambda pid=program_id, v=second: pg_bus.handle(
                    decision(SECOND_CITY_APPROVER, pid, v)
                ),
            ]
        )
        conflicts = [r for r in results if isinstance(r, Conflict)]
        assert len(conflicts) == 1, results
        assert results.count(program_id) == 1, results
        winner, loser, verdict = (
            (s.CITY_APPROVER, SECOND_CITY_APPROVER, first)
            if results[0] == program_id
            else (SECOND_CITY_APPROVER, s.CITY_APPROVER, second)
        )

        program = pg_bus.query(lambda uow, pid=program_id: uow.programs.get(pid))
        assert program.decisions["city"].by == winner
        assert program.decisions["education_office"].decision == "pending"
        if verdict == "approve":
            assert program.state == "in_review"
            assert program.holds == {"city": 80_000_000, "education_office": 20_000_000}
        else:
            assert program.state == "rejected"
            assert program.holds == {}
        events = history(pg_bus, program_id)
        decided = [e for e in events if e.type in (ev.PARTY_APPROVED, ev.PARTY_REJECTED)]
        assert [e.actor for e in decided] == [winner]
        assert not [e for e in events if e.actor == loser and e.type != ev.ACTION_REFUSED]
        refused = [e for e in events if e.type == ev.ACTION_REFUSED]
        assert [e.actor for e in refused] == [loser]
        assert json.loads(refused[0].data)["code"] == "conflict"
    checked, broken = pg_bus.query(lambda uow: uow.events.verify())
    assert broken is None


def envelope_position(bus: MessageBus, year: int) -> dict[str, dict[str, int]]:
    """Each party's envelope balances, next to what its ledger entries add up to."""

    def read(uow: Any) -> dict[str, dict[str, int]]:
        totals = uow.ledger.entry_totals()
        rows = uow.conn.execute(select(envelopes).where(envelopes.c.fiscal_year == year))
        return {
            r.party: {
                "amount": r.amount,
                "held": r.held,
                "available": r.amount - r.held - r.committed,
                "entries": totals.get((r.id, "hold"), 0) - totals.get((r.id, "release"), 0),
            }
            for r in rows
        }

    result: dict[str, dict[str, int]] = bus.query(read)
    return result


def new_program(bus: MessageBus, year: int, city: int, education_office: int) -> int:
    program_id: int = bus.handle(
        c.CreateProgram(
            actor=s.COORDINATOR,
            title="Career guidance fair",
            org="munsan-high",
            category="career-guidance",
            requests={"city": city, "education_office": education_office},
            year=year,
        )
    )
    return program_id


RACERS, FITS, SHARE = 16, 5, 20_000_000


def test_programs_racing_for_the_last_money_of_an_envelope_never_overdraw_it(
    pg_bus: MessageBus,
) -> None:
    for year in (2027, 2028, 2029):
        race_for_the_last_money(pg_bus, year)
    checked, broken = pg_bus.query(lambda uow: uow.events.verify())
    assert broken is None


def race_for_the_last_money(bus: MessageBus, year: int) -> None:
    bus.handle(c.AddEnvelope(actor=s.CITY_OFFICER, party="city", year=year, amount=1_000_000_000))
    bus.handle(
        c.AddEnvelope(actor=s.OE_OFFICER, party="education_office", year=year, amount=500_000_000)
    )
    # A big program takes most of the Office of Education's money first.
    big = new_program(bus, year, 100_000_000, 500_000_000 - FITS * SHARE)
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=big))
    racers = [new_program(bus, year, 30_000_000, SHARE) for _ in range(RACERS)]

    results = run_together(
        [
            lambda pid=pid: bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=pid))
            for pid in racers
        ]
    )

    assert results == racers
    assert bus.pending_messages() == []
    states = {pid: bus.query(lambda uow, pid=pid: uow.programs.get(pid)) for pid in racers}
    held = [pid for pid, p in states.items() if p.state == "in_review"]
    waitlisted = [pid for pid, p in states.items() if p.state == "waitlisted"]
    assert len(held) == FITS
    assert len(waitlisted) == RACERS - FITS
    assert all(states[pid].holds == {"city": 30_000_000, "education_office": SHARE} for pid in held)
    assert all(states[pid].holds == {} for pid in waitlisted)  # all funders or none
    for pid in waitlisted:
        happened = types(bus, pid)
        assert ev.BUDGET_UNAVAILABLE in happened and ev.BUDGET_HELD not in happened

    position = envelope_position(bus, year)
    assert position["education_office"]["available"] == 0
    assert position["city"]["available"] == 1_000_000_000 - 100_000_000 - FITS * 30_000_000
    for party in position.values():
        assert party["available"] >= 0
        assert party["held"] == party["entries"]
    hold_owners = bus.query(
        lambda uow: (
            uow.conn.execute(
                select(ledger_entries.c.program_id).where(ledger_entries.c.kind == "hold")
            )
            .scalars()
            .all()
        )
    )
    assert set(hold_owners) >= {big, *held}
    assert not set(hold_owners) & set(waitlisted)


def test_refusals_recorded_while_a_program_is_acted_on_keep_its_audit_chain_whole(
    pg_bus: MessageBus,
) -> None:
    """A refusal appends to the program's stream too; it takes the program's lock first."""
    for _ in range(ROUNDS):
        program_id = s.submitted(pg_bus)
        results = run_together(
            [
                lambda pid=program_id: pg_bus.handle(decision(s.CITY_APPROVER, pid, "approve")),
                lambda pid=program_id: pg_bus.handle(decision(s.COORDINATOR, pid, "approve")),
            ]
        )
        assert results[0] == program_id, results
        assert isinstance(results[1], NotPermitted), results
        happened = types(pg_bus, program_id)
        assert happened.count(ev.PARTY_APPROVED) == 1
        assert happened.count(ev.ACTION_REFUSED) == 1
    checked, broken = pg_bus.query(lambda uow: uow.events.verify())
    assert broken is None


def test_a_stream_writer_skipping_the_program_lock_fails_the_action_not_the_chain(
    pg_bus: MessageBus,
) -> None:
    """The head read with the locked program is moved only from where it was read."""
    program_id = s.submitted(pg_bus)
    stream = program_stream(program_id)
    note = [Event("Note", {})]
    with pg_bus.uow() as uow:
        uow.programs.get(program_id, lock=True)
        s.in_transaction(
            pg_bus, lambda other: other.events.append(stream, note, "operator", other.now)
        )
        uow.events.append(stream, note, "operator", uow.now)
        with pytest.raises(Conflict):  # the head is moved, and checked, as the writes go
            uow.commit()
    assert types(pg_bus, program_id)[-1] == "Note"
    checked, broken = pg_bus.query(lambda uow: uow.events.verify())
    assert broken is None
