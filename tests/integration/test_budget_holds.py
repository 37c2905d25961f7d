"""Budget holds on SQLite and PostgreSQL: placed once, released, and retried in order.

The budget worker's message may arrive twice (at-least-once delivery) or be carried
out by two workers at once; the program is held once. Rejection and withdrawal give
the money back, and the money given back goes to the oldest waitlisted program that
fits.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from tests import support as s
from tests.conftest import make_settings
from workflow.adapters.orm import ledger_entries, outbox
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.budget import hold_key
from workflow.domain.errors import Conflict
from workflow.domain.events import program_stream
from workflow.domain.program import LedgerMove
from workflow.service_layer.handlers import PLACE_HOLDS
from workflow.service_layer.messagebus import MessageBus, RelayDispatcher

FULL = {"city": 1_930_000_000, "education_office": 530_000_000}


# -- helpers ------------------------------------------------------------------------


def deployment_bus(bus: MessageBus) -> MessageBus:
    """The same database, but outbox messages wait for a worker (as with Celery)."""
    return MessageBus(bus.uow, RelayDispatcher())


def state(bus: MessageBus, program_id: int) -> str:
    result: str = bus.query(lambda uow: uow.programs.get(program_id).state)
    return result


def available(bus: MessageBus, year: int = s.YEAR) -> dict[str, int]:
    result: dict[str, int] = bus.query(
        lambda uow: {e.party: e.available for e in uow.ledger.report(year)}
    )
    return result


def events_of(bus: MessageBus, program_id: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        (e.type, json.loads(e.data))
        for e in bus.query(lambda uow: uow.events.history(program_stream(program_id)))
    ]


def types(bus: MessageBus, program_id: int) -> list[str]:
    return [t for t, _ in events_of(bus, program_id)]


def ledger(bus: MessageBus) -> list[tuple[int, str, int, str]]:
    rows = bus.query(
        lambda uow: uow.conn.execute(
            select(
                ledger_entries.c.program_id,
                ledger_entries.c.kind,
                ledger_entries.c.amount,
                ledger_entries.c.idempotency_key,
            ).order_by(ledger_entries.c.id)
        ).all()
    )
    return [tuple(r) for r in rows]


def pending_holds(bus: MessageBus) -> list[int]:
    """The place-holds messages not carried out (the change's notices wait beside them)."""
    found: list[int] = bus.query(
        lambda uow: list(
            uow.conn.scalars(
                select(outbox.c.id).where(outbox.c.task == PLACE_HOLDS, outbox.c.done_at.is_(None))
            )
        )
    )
    return found


def place_holds_message(bus: MessageBus) -> int:
    pending = pending_holds(bus)
    assert len(pending) == 1
    found: int = pending[0]
    return found


def program(bus: MessageBus, city: int = 0, education_office: int = 0, year: int = s.YEAR) -> int:
    requests = {k: v for k, v in (("city", city), ("education_office", education_office)) if v}
    program_id: int = bus.handle(
        c.CreateProgram(
            actor=s.COORDINATOR,
            title="Creative science club",
            org="munsan-high",
            category="creative-experience",
            requests=requests,
            year=year,
        )
    )
    return program_id


def submit(bus: MessageBus, program_id: int) -> None:
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=program_id))


def withdraw(bus: MessageBus, program_id: int) -> None:
    bus.handle(c.WithdrawProgram(actor=s.COORDINATOR, program_id=program_id))


# -- idempotency --------------------------------------------------------------------


def test_the_same_hold_message_carried_out_twice_holds_once(bus: MessageBus) -> None:
    s.seed(bus)
    worker = deployment_bus(bus)
    program_id = s.submitted(worker)
    message_id = place_holds_message(worker)
    assert state(bus, program_id) == "submitted"

    worker.handle_message(message_id)
    worker.handle_message(message_id)

    assert state(bus, program_id) == "in_review"
    assert [(kind, amount) for _, kind, amount, _ in ledger(bus)] == [
        ("hold", 80_000_000),
        ("hold", 20_000_000),
    ]
    assert types(bus, program_id).count(ev.BUDGET_HELD) == 2  # one per funder
    assert available(bus) == {
        "city": FULL["city"] - 80_000_000,
        "education_office": FULL["education_office"] - 20_000_000,
    }
    assert pending_holds(worker) == []


def at_once(*actions: Callable[[], object]) -> list[BaseException]:
    """Run the actions on threads released together; the exceptions they raised."""
    barrier = threading.Barrier(len(actions))
    errors: list[BaseException] = []

    def run(action: Callable[[], object]) -> None:
        barrier.wait()
        try:
            action()
        except BaseException as err:  # noqa: BLE001 - handed back to the test
            errors.append(err)

    threads = [threading.Thread(target=run, args=(a,)) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.postgres
def test_two_workers_carrying_out_the_same_hold_message_at_once_hold_once(
    postgres_url: str,
) -> None:
    bus = bootstrap(make_settings(postgres_url))
    s.seed(bus)
    worker = deployment_bus(bus)
    for _ in range(5):
        program_id = s.submitted(worker)
        message_id = place_holds_message(worker)

        errors = at_once(
            lambda mid=message_id: worker.handle_message(mid),
            lambda mid=message_id: worker.handle_message(mid),
        )

        assert errors == []
        assert state(bus, program_id) == "in_review"
        assert types(bus, program_id).count(ev.BUDGET_HELD) == 2
        assert [kind for pid, kind, _, _ in ledger(bus) if pid == program_id] == ["hold", "hold"]
    assert pending_holds(worker) == []
    assert available(bus) == {
        "city": FULL["city"] - 5 * 80_000_000,
        "education_office": FULL["education_office"] - 5 * 20_000_000,
    }


def test_placing_holds_again_for_a_program_in_review_changes_nothing(bus: MessageBus) -> None:
    s.seed(bus)
    program_id = s.submitted(bus)
    before = (ledger(bus), available(bus), events_of(bus, program_id))

    placed = bus.handle(c.PlaceHolds(actor=None, program_id=program_id))

    assert placed is False
    assert (ledger(bus), available(bus), events_of(bus, program_id)) == before
    assert state(bus, program_id) == "in_review"


def test_a_ledger_entry_cannot_be_written_twice_under_one_idempotency_key(bus: MessageBus) -> None:
    s.seed(bus)
    program_id = s.submitted(bus)
    key = hold_key(program_id, 1, "city")
    assert key in [k for _, _, _, k in ledger(bus)]
    before = (ledger(bus), available(bus))

    def hold_again(uow: Any) -> None:
        uow.ledger.apply(
            program_id, [LedgerMove("hold", "city", s.YEAR, 80_000_000, key)], "system", uow.now
        )
        uow.commit()

    with pytest.raises(Conflict, match="ledger entry already written"):
        s.in_transaction(bus, hold_again)

    def raw_insert(uow: Any) -> None:
        entry = uow.conn.execute(select(ledger_entries).limit(1)).first()._asdict()
        uow.conn.execute(insert(ledger_entries).values({**entry, "id": None}))

    with pytest.raises(IntegrityError):
        s.in_transaction(bus, raw_insert)
    assert (ledger(bus), available(bus)) == before
    keys = [k for _, _, _, k in ledger(bus)]
    assert len(keys) == len(set(keys))


# -- releases and the waitlist ------------------------------------------------------


def test_rejection_by_either_party_releases_both_holds(bus: MessageBus) -> None:
    s.seed(bus)
    program_id = s.submitted(bus)
    assert available(bus) != FULL

    s.decide(bus, program_id, s.CITY_APPROVER)
    s.decide(bus, program_id, s.OE_APPROVER, "reject")

    assert state(bus, program_id) == "rejected"
    assert available(bus) == FULL
    released = [d for t, d in events_of(bus, program_id) if t == ev.HOLD_RELEASED]
    assert released == [
        {"party": "city", "amount": 80_000_000, "reason": "rejected"},
        {"party": "education_office", "amount": 20_000_000, "reason": "rejected"},
    ]
    assert [(kind, amount) for _, kind, amount, _ in ledger(bus)] == [
        ("hold", 80_000_000),
        ("hold", 20_000_000),
        ("release", 80_000_000),
        ("release", 20_000_000),
    ]


def test_withdrawing_a_program_in_review_releases_its_holds(bus: MessageBus) -> None:
    s.seed(bus)
    program_id = s.submitted(bus)

    withdraw(bus, program_id)

    assert state(bus, program_id) == "withdrawn"
    assert available(bus) == FULL
    assert types(bus, program_id).count(ev.HOLD_RELEASED) == 2
    assert bus.query(lambda uow: uow.programs.get(program_id).holds) == {}


def test_a_program_that_does_not_fit_is_waitlisted_with_budget_unavailable_recorded(
    bus: MessageBus,
) -> None:
    s.seed(bus, education_office=50_000_000)
    program_id = program(bus, city=80_000_000, education_office=60_000_000)
    submit(bus, program_id)

    assert state(bus, program_id) == "waitlisted"
    unavailable = [d for t, d in events_of(bus, program_id) if t == ev.BUDGET_UNAVAILABLE]
    assert unavailable == [
        {
            "year": s.YEAR,
            "parties": ["education_office"],
            "shortfalls": ["education_office: requested 60,000,000, available 50,000,000"],
            "short": [
                {
                    "party": "education_office",
                    "requested": 60_000_000,
                    "available": 50_000_000,
                    "missing": 10_000_000,
                    "has_envelope": True,
                }
            ],
        }
    ]
    assert ev.BUDGET_HELD not in types(bus, program_id)
    assert ledger(bus) == []  # the city's share fits, but holds are all or nothing
    assert available(bus) == {"city": FULL["city"], "education_office": 50_000_000}


def test_waitlisting_and_leaving_the_waitlist_tell_the_coordinator_and_budget_officers(
    bus: MessageBus,
) -> None:
    s.seed(bus, education_office=60_000_000)
    holder = program(bus, city=10_000_000, education_office=20_000_000)
    submit(bus, holder)
    waiting = program(bus, city=80_000_000, education_office=60_000_000)
    submit(bus, waiting)
    assert state(bus, waiting) == "waitlisted"

    # The education office's envelope is short; the city's share fitted.
    assert s.budget_notices(bus, s.COORDINATOR) == [(waiting, "waitlisted")]
    assert s.budget_notices(bus, s.OE_OFFICER) == [(waiting, "waitlisted")]
    assert s.budget_notices(bus, s.CITY_OFFICER) == []

    withdraw(bus, holder)  # its money comes free and the waitlisted program takes it
    assert state(bus, waiting) == "in_review"

    told = [(waiting, "waitlisted"), (waiting, "held_from_waitlist")]
    assert s.budget_notices(bus, s.COORDINATOR) == told
    assert s.budget_notices(bus, s.OE_OFFICER) == told
    assert s.budget_notices(bus, s.CITY_OFFICER) == [(waiting, "held_from_waitlist")]
    messages = [
        m
        for m in bus.query(lambda uow: uow.notifications.of_user(s.COORDINATOR))
        if m["kind"] == "budget_notice"
    ]
    assert len(messages) == 2  # a message per notice, newest first
    assert messages[1]["subject"].startswith("[jointflow] 예산 알림: ")  # Korean by default
    assert "education_office: requested 60,000,000, available 40,000,000" in messages[1]["body"]
    assert "예산이 확보되어 심사를 시작합니다" in messages[0]["subject"]
    sent = bus.query(lambda uow: uow.events.history(f"user:{s.COORDINATOR}"))
    assert [(e.type, json.loads(e.data)["what"]) for e in sent] == [
        (ev.BUDGET_NOTICE_SENT, "waitlisted"),
        (ev.BUDGET_NOTICE_SENT, "held_from_waitlist"),
    ]


def test_a_request_to_a_party_without_an_envelope_waitlists_until_one_is_added(
    bus: MessageBus,
) -> None:
    s.seed(bus)
    bus.handle(c.AddEnvelope(actor=s.CITY_OFFICER, party="city", year=2027, amount=500_000_000))
    program_id = program(bus, city=80_000_000, education_office=20_000_000, year=2027)
    submit(bus, program_id)

    assert state(bus, program_id) == "waitlisted"
    unavailable = [d for t, d in events_of(bus, program_id) if t == ev.BUDGET_UNAVAILABLE]
    assert unavailable[0]["shortfalls"] == ["education_office has no envelope for the year"]

    bus.handle(
        c.AddEnvelope(actor=s.OE_OFFICER, party="education_office", year=2027, amount=100_000_000)
    )

    assert state(bus, program_id) == "in_review"
    assert available(bus, 2027) == {"city": 420_000_000, "education_office": 80_000_000}


def test_released_money_goes_to_waitlisted_programs_in_the_order_they_were_waitlisted(
    bus: MessageBus,
) -> None:
    s.seed(bus, education_office=40_000_000)
    first_held = program(bus, education_office=20_000_000)
    second_held = program(bus, education_office=20_000_000)
    created_first = program(bus, education_office=20_000_000)
    created_second = program(bus, education_office=20_000_000)
    for program_id in (first_held, second_held):
        submit(bus, program_id)
    # Waitlisted in the opposite order to their ids: the waitlist order is what counts.
    submit(bus, created_second)
    submit(bus, created_first)
    assert [state(bus, p) for p in (created_first, created_second)] == ["waitlisted"] * 2

    withdraw(bus, first_held)

    assert state(bus, created_second) == "in_review"
    assert state(bus, created_first) == "waitlisted"
    assert available(bus)["education_office"] == 0

    withdraw(bus, second_held)

    assert state(bus, created_first) == "in_review"
    assert available(bus)["education_office"] == 0


def test_the_oldest_waitlisted_program_that_fits_moves_to_review_when_money_is_released(
    bus: MessageBus,
) -> None:
    s.seed(bus, education_office=40_000_000)
    holder = program(bus, education_office=40_000_000)
    submit(bus, holder)
    oldest = program(bus, education_office=35_000_000)
    fits = program(bus, education_office=20_000_000)
    also_fits = program(bus, education_office=20_000_000)
    for program_id in (oldest, fits, also_fits):
        submit(bus, program_id)

    bus.handle(c.DecideReview(actor=s.OE_APPROVER, program_id=holder, decision="reject"))

    # 40M came free: the oldest (35M) takes it; 5M is too little for the other two.
    assert state(bus, oldest) == "in_review"
    assert [state(bus, p) for p in (fits, also_fits)] == ["waitlisted", "waitlisted"]

    withdraw(bus, oldest)

    assert [state(bus, p) for p in (fits, also_fits)] == ["in_review", "in_review"]
    assert available(bus)["education_office"] == 0
    for program_id in (fits, also_fits):
        happened = types(bus, program_id)
        assert happened.index(ev.BUDGET_UNAVAILABLE) < happened.index(ev.BUDGET_HELD)
        assert "ReviewStarted" in happened


def test_a_waitlisted_program_that_still_does_not_fit_is_skipped_for_a_later_one(
    bus: MessageBus,
) -> None:
    s.seed(bus, education_office=40_000_000)
    holder = program(bus, education_office=25_000_000)
    small = program(bus, education_office=15_000_000)
    submit(bus, holder)
    submit(bus, small)
    big = program(bus, education_office=30_000_000)
    later = program(bus, education_office=15_000_000)
    submit(bus, big)
    submit(bus, later)
    assert [state(bus, p) for p in (big, later)] == ["waitlisted", "waitlisted"]

    withdraw(bus, small)  # frees 15M: not enough for the older 30M request

    assert state(bus, big) == "waitlisted"
    assert state(bus, later) == "in_review"
    assert types(bus, big).count(ev.BUDGET_UNAVAILABLE) == 1  # a retry records no new refusal


# -- the reads a hold decides on ------------------------------------------------------


@pytest.mark.postgres
def test_a_hold_reads_its_program_and_envelopes_in_one_round_trip(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Take the message; lock, read the envelopes and load the program; write; commit."""
    bus = bootstrap(make_settings(postgres_url))
    s.seed(bus)
    worker = deployment_bus(bus)
    program_id = s.submitted(worker)
    message_id = place_holds_message(worker)
    sent: list[str] = []
    real = psycopg.Cursor.execute

    def counted(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return real(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counted)
    worker.handle_message(message_id)
    monkeypatch.undo()

    assert len(sent) == 3, sent
    take, reads, writes = sent
    assert take.startswith("UPDATE outbox")
    assert [q.split()[0] for q in reads.split(";\n")] == ["SELECT"] * 3
    assert "FOR UPDATE" in reads.split(";\n")[0] and "ledger_entries" in writes
    assert state(bus, program_id) == "in_review"


def test_envelopes_read_for_other_requests_are_not_used(bus: MessageBus) -> None:
    """A prefetch keyed by the program only counts for the requests it was read for."""
    s.seed(bus)
    program_id = program(bus, city=5_000_000, education_office=1_000_000)

    def work(uow: Any) -> tuple[list[str], list[str]]:
        uow.ledger.prefetch_envelopes(program_id)
        other = uow.ledger.envelopes_to_hold(program_id, {"city": 1}, s.YEAR)
        uow.ledger.prefetch_envelopes(program_id)
        same = uow.ledger.envelopes_to_hold(
            program_id, {"city": 5_000_000, "education_office": 1_000_000}, s.YEAR
        )
        return sorted(other), sorted(same)

    assert bus.query(work) == (["city"], ["city", "education_office"])
    assert (
        bus.query(lambda uow: uow.ledger.envelopes_to_hold(program_id, {"city": 1}, s.YEAR + 1))
        == {}
    )
