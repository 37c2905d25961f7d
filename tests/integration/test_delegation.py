"""Delegation (대결): routing to the delegate, "decided by B acting for A", chains and loops."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from tests import support as s
from tests.conftest import make_settings
from workflow.adapters import queues
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain.errors import InvalidInput, NotPermitted
from workflow.domain.events import program_stream
from workflow.service_layer.messagebus import MessageBus

DEPUTY = "deputy@goepj.kr"  # an Office of Education colleague without the approver role
BACKUP = "backup@goepj.kr"
CITY_STAFF = "staff@paju.go.kr"


@pytest.fixture
def clock() -> list[datetime]:
    return [datetime(2026, 9, 23, 1, tzinfo=UTC)]  # Wednesday 10:00 in Seoul


@pytest.fixture
def office(database_url: str, clock: list[datetime]) -> MessageBus:
    bus = bootstrap(make_settings(database_url), clock=lambda: clock[0])
    s.seed(bus)
    for email, org in (
        (DEPUTY, "education_office"),
        (BACKUP, "education_office"),
        (CITY_STAFF, "city"),
    ):
        bus.handle(
            c.AddUser(
                actor=None, email=email, name=email.split("@")[0], org=org, roles=("supervisor",)
            )
        )
    return bus


def away(
    bus: MessageBus,
    who: str,
    to: str,
    start: date = date(2026, 9, 21),
    until: date = date(2026, 9, 30),
) -> None:
    bus.handle(c.SetDelegation(actor=who, to=to, starts_on=start, ends_on=until))


def inbox(bus: MessageBus, email: str) -> list[dict[str, object]]:
    found: list[dict[str, object]] = bus.query(
        lambda uow: queues.inbox(uow, uow.directory.user(email))
    )
    return found


def test_the_delegate_sees_and_decides_the_delegators_work_and_the_audit_says_so(
    office: MessageBus,
) -> None:
    program_id = s.submitted(office)
    with pytest.raises(NotPermitted, match="needs the approver role"):
        s.decide(office, program_id, DEPUTY)
    away(office, s.OE_APPROVER, DEPUTY)

    [task] = inbox(office, DEPUTY)
    assert (task["program"], task["party"], task["acting_for"]) == (
        program_id,
        "education_office",
        s.OE_APPROVER,
    )
    s.decide(office, program_id, DEPUTY)

    program = office.query(lambda uow: uow.programs.get(program_id))
    assert program.decisions["education_office"].by == DEPUTY
    approved = [
        json.loads(e.data)
        for e in office.query(lambda uow: uow.events.history(program_stream(program_id)))
        if e.type == "PartyApproved"
    ]
    assert approved == [
        {"party": "education_office", "comment": "", "round": 1, "acting_for": s.OE_APPROVER}
    ]
    closed = {
        t["party"]: t
        for t in office.query(lambda uow: uow.tasks.of_program(program_id))
        if t["kind"] == "review"
    }
    assert (closed["education_office"]["state"], closed["education_office"]["closed_by"]) == (
        "completed",
        DEPUTY,
    )


def test_a_delegation_only_runs_in_its_period(office: MessageBus, clock: list[datetime]) -> None:
    program_id = s.submitted(office)
    away(office, s.OE_APPROVER, DEPUTY, start=date(2026, 9, 24), until=date(2026, 9, 25))
    assert inbox(office, DEPUTY) == []
    with pytest.raises(NotPermitted):
        s.decide(office, program_id, DEPUTY)
    clock[0] = datetime(2026, 9, 24, 1, tzinfo=UTC)
    assert [t["program"] for t in inbox(office, DEPUTY)] == [program_id]
    clock[0] = datetime(2026, 9, 26, 1, tzinfo=UTC)
    assert inbox(office, DEPUTY) == []
    office.handle(c.ClearDelegation(actor=s.OE_APPROVER))
    with pytest.raises(Exception, match="no delegation to clear"):
        office.handle(c.ClearDelegation(actor=s.OE_APPROVER))


def test_separation_of_duties_binds_the_delegate(office: MessageBus) -> None:
    team = "team@goepj.kr"  # an Office of Education coordinator with a program of their own
    office.handle(
        c.AddUser(
            actor=None, email=team, name="team", org="education_office", roles=("coordinator",)
        )
    )
    theirs = s.submitted(office, actor=team, org="education_office")
    other = s.submitted(office)
    away(office, s.OE_APPROVER, team)

    with pytest.raises(NotPermitted, match="separation of duties"):
        s.decide(office, theirs, team)
    s.decide(office, other, team)
    assert (
        office.query(lambda uow: uow.programs.get(theirs)).decisions["education_office"].decision
        == "pending"
    )


def test_a_chain_routes_to_its_end_and_a_loop_is_refused(office: MessageBus) -> None:
    program_id = s.submitted(office)
    away(office, s.OE_APPROVER, DEPUTY)
    away(office, DEPUTY, BACKUP)  # the deputy is away too: the approver's work goes on

    assert inbox(office, DEPUTY) == []
    [task] = inbox(office, BACKUP)
    assert task["acting_for"] == s.OE_APPROVER
    with pytest.raises(
        InvalidInput,
        match="delegation loop: backup@goepj.kr -> approver@goepj.kr -> deputy@goepj.kr",
    ):
        away(office, BACKUP, s.OE_APPROVER)
    s.decide(office, program_id, BACKUP)
    assert (
        office.query(lambda uow: uow.programs.get(program_id)).decisions["education_office"].by
        == BACKUP
    )


def test_delegation_stays_inside_the_organization_and_never_to_oneself(office: MessageBus) -> None:
    with pytest.raises(NotPermitted, match="may only delegate to a colleague"):
        away(office, s.OE_APPROVER, CITY_STAFF)
    with pytest.raises(InvalidInput, match="themselves"):
        away(office, s.OE_APPROVER, s.OE_APPROVER)
    with pytest.raises(InvalidInput, match="before it starts"):
        away(office, s.OE_APPROVER, DEPUTY, start=date(2026, 9, 30), until=date(2026, 9, 1))
