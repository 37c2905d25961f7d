"""The refund and amendment handlers on the in-memory fakes: rights checked, the ledger
moved, the waitlist retried; the probe ``bus.allowed`` answers as the handler would."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests import support as s
from tests.fakes import Clock, FakeUnitOfWorkFactory
from tests.handlers import helpers as h
from workflow.domain import commands as c
from workflow.domain.errors import InsufficientBudget, NotPermitted
from workflow.service_layer.messagebus import MessageBus
from workflow.service_layer.scheduler import run_due_work

EVALUATORS = {"city": "eval@paju.go.kr", "education_office": "eval@goepj.kr"}


@pytest.fixture
def owing(bus: MessageBus, clock: Clock) -> int:
    for party, email in EVALUATORS.items():
        bus.handle(c.AddUser(actor=None, email=email, name="e", org=party, roles=("evaluator",)))
    pid = s.submitted(bus, start=date(2026, 3, 2), end=date(2026, 3, 3))
    s.decide(bus, pid, s.CITY_APPROVER)
    s.decide(bus, pid, s.OE_APPROVER)
    bus.handle(c.CommitFunds(actor=s.CITY_OFFICER, program_id=pid))
    bus.handle(c.CommitFunds(actor=s.OE_OFFICER, program_id=pid))
    bus.handle(c.DisburseFunds(actor=s.CITY_OFFICER, program_id=pid, amount=50_000_000))
    clock.at = datetime(2026, 3, 10, tzinfo=UTC)
    run_due_work(bus)
    run_due_work(bus)
    spent = {"city": 30_000_000, "education_office": 0}
    bus.handle(c.SubmitReport(actor=s.COORDINATOR, program_id=pid, spent=spent, summary="s"))
    return pid


def test_a_refund_is_offered_to_the_funder_owed_and_moves_its_balances(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory, owing: int
) -> None:
    probe = [c.RecordRefund(actor=who, program_id=owing, amount=1)
             for who in (s.CITY_OFFICER, s.OE_OFFICER, s.COORDINATOR)]  # fmt: skip
    assert bus.allowed(probe) == [True, False, False]
    done = bus.handle(c.RecordRefund(actor=s.CITY_OFFICER, program_id=owing, amount=20_000_000))
    assert (done.party, done.still_due) == ("city", 0)
    program = h.program(fakes, owing)
    assert (program.committed["city"], program.disbursed["city"]) == (60_000_000, 30_000_000)
    assert [e.kind for e in fakes.store.entries][-1] == "refund"
    for evaluator in EVALUATORS.values():
        bus.handle(c.EvaluateReport(actor=evaluator, program_id=owing, verdict="accept"))
    assert h.state(fakes, owing) == "closed"
    assert h.program(fakes, owing).committed["city"] == 30_000_000  # the rest released


def test_an_amendment_is_probed_for_the_party_s_officer_and_a_raise_retries_the_waitlist(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    probes = [c.AmendEnvelope(actor=who, party="city", year=2026, by=1, reason="-")
              for who in (s.CITY_OFFICER, s.OE_OFFICER, s.ADMIN)]  # fmt: skip
    assert bus.allowed(probes) == [True, False, True]
    waiting = s.submitted(bus, city=1_940_000_000)
    assert h.state(fakes, waiting) == "waitlisted"
    with pytest.raises(NotPermitted):
        bus.handle(c.AmendEnvelope(actor=s.OE_OFFICER, party="city", year=2026, by=1, reason="x"))
    bus.handle(c.AmendEnvelope(actor=s.CITY_OFFICER, party="city", year=2026, by=10_000_000,
                               reason="추경"))  # fmt: skip
    assert h.state(fakes, waiting) == "in_review"
    with pytest.raises(InsufficientBudget, match="holds 1,940,000,000 KRW"):
        bus.handle(c.AmendEnvelope(actor=s.CITY_OFFICER, party="city", year=2026, by=-1,
                                   reason="감액"))  # fmt: skip
    assert [(e.kind, e.source) for e in fakes.store.entries if e.kind == "amend"] == [
        ("amend", "raise")
    ]
