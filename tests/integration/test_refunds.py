"""Refunds, envelope amendments and partial request edits through the real bus, on
SQLite and PostgreSQL, to the last won; refusals change nothing and are audited.

``Books.check`` (test_funding) proves the ledger's invariants after each test: every
won of every envelope and program share accounted for by its entries, refunds and
amendments included.
"""

# ruff: noqa: F811 - the fixtures test_funding defines are imported, then asked for by name
from __future__ import annotations

import json
from datetime import date

import pytest

from tests import support as s
from tests.integration.test_funding import (  # noqa: F401 - fixtures
    CITY_EVALUATOR,
    CITY_STAFF,
    FULL,
    OE_EVALUATOR,
    Books,
    Clock,
    books,
    bus,
    clock,
    detail,
    disburse,
    entries,
    evaluate,
    everything,
    funded,
    new_program,
    position,
    report,
    run_to_evaluation,
    state,
    submit,
    types,
)
from workflow.adapters import views
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.errors import (
    Conflict,
    InsufficientBudget,
    InvalidInput,
    NotFound,
    NotPermitted,
    TransitionNotAllowed,
    WorkflowError,
)
from workflow.domain.events import envelope_stream
from workflow.service_layer.messagebus import MessageBus


def underspent(bus: MessageBus, clock: Clock) -> int:
    """Paid 60,000,000 by the city and 20,000,000 by the office; reports 45,000,000 and
    20,000,000 spent: 15,000,000 is due back to the city."""
    pid = funded(bus, new_program(bus))
    disburse(bus, pid, s.CITY_OFFICER, 60_000_000)
    disburse(bus, pid, s.OE_OFFICER, 20_000_000)
    run_to_evaluation(bus, clock, pid)
    report(bus, pid, {"city": 45_000_000, "education_office": 20_000_000})
    return pid


def refund(bus: MessageBus, pid: int, amount: int, actor: str = s.CITY_OFFICER, **kw: object):  # type: ignore[no-untyped-def]
    return bus.handle(c.RecordRefund(actor=actor, program_id=pid, amount=amount, **kw))  # type: ignore[arg-type]


def refund_due(bus: MessageBus) -> dict[str, int]:
    rows = bus.view(lambda uow, who: views.budget_report(uow, who, s.YEAR), None)
    return {r["party"]: r["refund_due"] for r in rows}


def test_an_underspent_program_is_settled_by_refunds_in_parts_and_then_closes(
    bus: MessageBus, clock: Clock, books: Books
) -> None:
    pid = underspent(bus, clock)
    assert detail(bus, pid)["refunds_due"] == {"city": 15_000_000}
    assert refund_due(bus) == {"city": 15_000_000, "education_office": 0}

    evaluate(bus, pid, CITY_EVALUATOR)
    evaluate(bus, pid, OE_EVALUATOR)
    assert state(bus, pid) == "under_evaluation"  # accepted, the refund still due

    first = refund(bus, pid, 5_000_000, party="city", memo="first transfer")
    assert (first.still_due, first.state) == (10_000_000, "under_evaluation")
    city = position(bus)["city"]
    assert city == (0, 75_000_000, 55_000_000, FULL["city"] - 75_000_000)

    last = refund(bus, pid, 10_000_000)
    assert (last.still_due, last.state) == (0, "closed")
    assert detail(bus, pid)["refunds_due"] == {}
    assert refund_due(bus) == {"city": 0, "education_office": 0}
    # Closing released the 20,000,000 never paid out; the city's share is what was spent.
    assert position(bus)["city"] == (0, 45_000_000, 45_000_000, FULL["city"] - 45_000_000)
    kinds = [(k, src, party, amount) for k, src, party, amount, _ in entries(bus, pid)]
    assert kinds[-3:] == [
        ("refund", None, "city", 5_000_000),
        ("refund", None, "city", 10_000_000),
        ("release", "committed", "city", 20_000_000),
    ]
    assert types(bus, pid)[-4:] == [
        ev.REFUND_RECORDED,
        ev.REFUND_RECORDED,
        ev.PROGRAM_CLOSED,
        ev.COMMITMENT_RELEASED,
    ]
    books.check(bus)


def test_a_refund_before_the_evaluations_leaves_the_last_acceptance_to_close(
    bus: MessageBus, clock: Clock, books: Books
) -> None:
    pid = underspent(bus, clock)
    refund(bus, pid, 15_000_000)
    evaluate(bus, pid, CITY_EVALUATOR)
    assert state(bus, pid) == "under_evaluation"
    evaluate(bus, pid, OE_EVALUATOR)
    assert state(bus, pid) == "closed"
    books.check(bus)


@pytest.mark.parametrize(
    ("actor", "kwargs", "error", "message"),
    [
        (s.OE_OFFICER, {"amount": 1}, Conflict, "owes education_office nothing back"),
        (s.CITY_OFFICER, {"amount": 15_000_001}, InvalidInput, "only 15,000,000 KRW is due"),
        (s.CITY_OFFICER, {"amount": 0}, InvalidInput, "greater than 0"),
        (s.CITY_OFFICER, {"amount": -1}, InvalidInput, "greater than 0"),
        (s.CITY_APPROVER, {"amount": 1}, NotPermitted, "budget_officer"),
        (s.COORDINATOR, {"amount": 1}, NotPermitted, "budget_officer"),
        (s.CITY_OFFICER, {"amount": 1, "party": "education_office"}, NotPermitted, "act for city"),
    ],
)
def test_a_refund_not_due_or_not_theirs_is_refused_audited_and_changes_nothing(
    bus: MessageBus,
    clock: Clock,
    books: Books,
    actor: str,
    kwargs: dict[str, object],
    error: type[WorkflowError],
    message: str,
) -> None:
    pid = underspent(bus, clock)
    before = everything(bus, pid)
    with pytest.raises(error, match=message):
        refund(bus, pid, actor=actor, **kwargs)  # type: ignore[arg-type]
    after = everything(bus, pid)
    assert after[:4] == before[:4]
    assert after[4] == [*before[4], ev.ACTION_REFUSED]
    books.check(bus)


def test_a_budget_officer_records_no_refund_on_their_own_program(
    bus: MessageBus, clock: Clock, books: Books
) -> None:
    pid = new_program(bus, actor=CITY_STAFF, org="city")
    funded(bus, pid, CITY_STAFF)
    disburse(bus, pid, s.CITY_OFFICER, 10_000_000)
    run_to_evaluation(bus, clock, pid)
    report(bus, pid, {"city": 0, "education_office": 0}, actor=CITY_STAFF)
    with pytest.raises(NotPermitted, match="separation of duties"):
        refund(bus, pid, 1, actor=CITY_STAFF)
    refund(bus, pid, 10_000_000)  # another officer of the city may
    books.check(bus)


def test_no_refund_is_recorded_on_a_program_that_owes_nothing(
    bus: MessageBus, clock: Clock
) -> None:
    pid = funded(bus, new_program(bus))
    with pytest.raises(TransitionNotAllowed, match="it is funded"):
        refund(bus, pid, 1)


# -- amendments ------------------------------------------------------------------------


def amend(bus: MessageBus, by: int, actor: str = s.CITY_OFFICER, party: str = "city"):  # type: ignore[no-untyped-def]
    return bus.handle(
        c.AmendEnvelope(actor=actor, party=party, year=s.YEAR, by=by, reason="제1회 추경")
    )


def test_an_amendment_is_a_ledger_entry_and_an_event_with_its_reason(
    bus: MessageBus, books: Books
) -> None:
    done = amend(bus, 70_000_000)
    assert (done.amount, done.available) == (2_000_000_000, 2_000_000_000)
    amend(bus, -500_000_000)
    found = bus.query(lambda uow: uow.ledger.entries(party="city"))
    assert [(e["kind"], e["source"], e["amount"], e["program_id"]) for e in found] == [
        ("amend", "raise", 70_000_000, None),
        ("amend", "lower", 500_000_000, None),
    ]
    assert [e["idempotency_key"] for e in found] == ["amend:city:2026:1", "amend:city:2026:2"]
    events = s.history(bus, envelope_stream("city", s.YEAR))
    assert [e.type for e in events][-2:] == [ev.ENVELOPE_AMENDED] * 2
    assert json.loads(events[-1].data) == {
        "party": "city",
        "year": s.YEAR,
        "by": -500_000_000,
        "amount": 1_500_000_000,
        "reason": "제1회 추경",
    }
    books.check(bus)


def test_lowering_below_what_is_held_and_committed_is_refused_naming_the_figures(
    bus: MessageBus, books: Books
) -> None:
    funded(bus, new_program(bus, city=1_000_000_000))
    s.submitted(bus, city=500_000_000, education_office=10_000_000)
    before = position(bus)
    with pytest.raises(InsufficientBudget) as refused:
        amend(bus, -430_000_001)
    assert "holds 500,000,000 KRW and has committed 1,000,000,000 KRW" in str(refused.value)
    assert "at most 430,000,000 KRW can be taken off" in str(refused.value)
    assert position(bus) == before
    amend(bus, -430_000_000)  # exactly down to what is promised
    assert position(bus)["city"][3] == 0
    books.check(bus)


@pytest.mark.parametrize(
    ("actor", "party", "by", "error"),
    [
        (s.CITY_APPROVER, "city", 1, NotPermitted),
        (s.OE_OFFICER, "city", 1, NotPermitted),
        (s.CITY_OFFICER, "city", 0, InvalidInput),
        (s.CITY_OFFICER, "city", 10**13, InvalidInput),
        (s.ADMIN, "paju-youth", 1, NotFound),
    ],
)
def test_an_amendment_not_theirs_or_malformed_is_refused_and_audited(
    bus: MessageBus, actor: str, party: str, by: int, error: type[WorkflowError]
) -> None:
    before = position(bus)
    refusals = len(s.history(bus, "system"))
    with pytest.raises(error):
        amend(bus, by, actor=actor, party=party)
    assert position(bus) == before
    assert len(s.history(bus, "system")) == refusals + 1


def test_a_supplementary_budget_lets_the_waitlisted_program_in(
    bus: MessageBus, books: Books
) -> None:
    first = s.submitted(bus, city=1_900_000_000, education_office=10_000_000)
    waiting = s.submitted(bus, city=100_000_000, education_office=10_000_000)
    assert (state(bus, first), state(bus, waiting)) == ("in_review", "waitlisted")
    amend(bus, 70_000_000, actor=s.ADMIN)  # an admin may, as for opening an envelope
    assert state(bus, waiting) == "in_review"
    books.check(bus)


def test_a_refund_lets_the_waitlisted_program_in(
    bus: MessageBus, clock: Clock, books: Books
) -> None:
    pid = underspent(bus, clock)
    left = FULL["city"] - 80_000_000
    s.submitted(bus, city=left, education_office=1, start=date(2026, 12, 1))
    waiting = s.submitted(bus, city=10_000_000, education_office=1, start=date(2026, 12, 1))
    assert state(bus, waiting) == "waitlisted"
    refund(bus, pid, 10_000_000)
    assert state(bus, waiting) == "in_review"
    books.check(bus)


# -- partial request edits -------------------------------------------------------------


def test_a_request_edit_changes_only_the_funder_named_and_a_drop_is_explicit(
    bus: MessageBus, books: Books
) -> None:
    pid = new_program(bus)
    bus.handle(c.UpdateProgram(actor=s.COORDINATOR, program_id=pid, requests={"city": 70_000_000}))
    assert detail(bus, pid)["requested"] == {"city": 70_000_000, "education_office": 20_000_000}
    bus.handle(
        c.UpdateProgram(actor=s.COORDINATOR, program_id=pid, drop_requests=("education_office",))
    )
    assert detail(bus, pid)["requested"] == {"city": 70_000_000}
    with pytest.raises(InvalidInput, match="at least one funder"):
        bus.handle(c.UpdateProgram(actor=s.COORDINATOR, program_id=pid, drop_requests=("city",)))
    submit(bus, pid)
    books.check(bus)


def test_dropping_a_funder_in_revision_releases_only_its_hold(
    bus: MessageBus, books: Books
) -> None:
    pid = s.submitted(bus)
    bus.handle(c.DecideReview(actor=s.CITY_APPROVER, program_id=pid, decision="request-changes"))
    bus.handle(c.UpdateProgram(actor=s.COORDINATOR, program_id=pid, requests={"city": 70_000_000}))
    assert detail(bus, pid)["holds"] == {"city": 80_000_000, "education_office": 20_000_000}
    bus.handle(
        c.UpdateProgram(actor=s.COORDINATOR, program_id=pid, drop_requests=("education_office",))
    )
    assert detail(bus, pid)["holds"] == {"city": 80_000_000}
    books.check(bus)
