"""Delegation (대결) through the bus on the fakes: the delegate decides for someone on
leave, the audit says whom they acted for, and the rules bind them both."""

from __future__ import annotations

from datetime import date

from tests import support as s
from tests.fakes import Clock, FakeUnitOfWorkFactory
from tests.handlers import helpers as h
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.errors import NotFound, NotPermitted
from workflow.service_layer.messagebus import MessageBus


def away(
    bus: MessageBus,
    who: str,
    to: str,
    start: date = date(2026, 1, 1),
    until: date = date(2026, 1, 31),
) -> None:
    bus.handle(c.SetDelegation(actor=who, to=to, starts_on=start, ends_on=until))


def test_a_delegate_decides_for_someone_on_leave_recorded_as_acting_for(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.submitted(bus)
    h.refused(
        bus,
        c.DecideReview(actor=h.OE_STANDIN, program_id=program_id, decision="approve"),
        NotPermitted,
        "needs the approver role",
    )
    away(bus, s.OE_APPROVER, h.OE_STANDIN)

    s.decide(bus, program_id, h.OE_STANDIN)

    assert h.program(fakes, program_id).decisions["education_office"].by == h.OE_STANDIN
    assert [d for t, d in h.history(fakes, program_id) if t == ev.PARTY_APPROVED] == [
        {"party": "education_office", "comment": "", "round": 1, "acting_for": s.OE_APPROVER}
    ]
    assert h.tasks(fakes, program_id)[2] == (
        "review",
        "education_office/approver",
        "completed",
        h.OE_STANDIN,
    )
    assert h.types(fakes, "directory")[-1] == ev.DELEGATION_SET


def test_a_delegation_runs_only_in_its_period(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory, clock: Clock
) -> None:
    program_id = s.submitted(bus)
    away(bus, s.OE_APPROVER, h.OE_STANDIN, start=date(2026, 1, 6), until=date(2026, 1, 7))

    h.refused(
        bus,
        c.DecideReview(actor=h.OE_STANDIN, program_id=program_id, decision="approve"),
        NotPermitted,
        "needs the approver role",
    )
    clock.at = clock.at.replace(day=6)
    s.decide(bus, program_id, h.OE_STANDIN)
    assert h.program(fakes, program_id).pending_parties() == ["city"]


def test_separation_of_duties_binds_the_delegate(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    theirs = s.submitted(bus, actor=h.CITY_TEAM, org="city")
    away(bus, s.CITY_APPROVER, h.CITY_TEAM)

    h.refused(
        bus,
        c.DecideReview(actor=h.CITY_TEAM, program_id=theirs, decision="approve"),
        NotPermitted,
        "separation of duties",
    )
    assert h.program(fakes, theirs).decisions["city"].decision == "pending"


def test_clearing_a_delegation_ends_it_and_there_is_nothing_to_clear_twice(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.submitted(bus)
    away(bus, s.OE_APPROVER, h.OE_STANDIN)
    bus.handle(c.ClearDelegation(actor=s.OE_APPROVER))

    h.refused(
        bus,
        c.DecideReview(actor=h.OE_STANDIN, program_id=program_id, decision="approve"),
        NotPermitted,
        "needs the approver role",
    )
    h.refused(
        bus,
        c.ClearDelegation(actor=s.OE_APPROVER),
        NotFound,
        f"{s.OE_APPROVER} has no delegation to clear",
    )
