"""What a page offers is what the handlers allow: each action probed through its handler
in a read-only transaction (PostgreSQL: no row lock), on both databases."""

from __future__ import annotations

from tests import support as s
from workflow.domain import commands as c
from workflow.domain.events import program_stream
from workflow.service_layer.actions import available
from workflow.service_layer.messagebus import MessageBus


def offered(bus: MessageBus, who: str, program_id: int) -> frozenset[str]:
    return available(bus, who, s.detail(bus, program_id))


def test_each_person_is_offered_exactly_their_steps_as_the_program_moves(bus: MessageBus) -> None:
    s.seed(bus)
    pid = s.create(bus)
    assert offered(bus, s.COORDINATOR, pid) == {"edit", "submit", "withdraw"}
    assert offered(bus, s.CITY_APPROVER, pid) == set()
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=pid))
    assert offered(bus, s.COORDINATOR, pid) == {"withdraw"}
    assert offered(bus, s.CITY_APPROVER, pid) == {"decide"}
    assert offered(bus, s.ADMIN, pid) == set()  # an admin is no party of the review
    s.decide(bus, pid, s.CITY_APPROVER)
    assert offered(bus, s.CITY_APPROVER, pid) == set()  # the city has decided
    s.decide(bus, pid, s.OE_APPROVER)
    assert offered(bus, s.CITY_OFFICER, pid) == {"commit"}
    bus.handle(c.CommitFunds(actor=s.CITY_OFFICER, program_id=pid))
    bus.handle(c.CommitFunds(actor=s.OE_OFFICER, program_id=pid))
    assert offered(bus, s.CITY_OFFICER, pid) == {"disburse"}
    assert offered(bus, s.ADMIN, pid) == {"cancel"}
    assert offered(bus, s.COORDINATOR, pid) == set()


def test_a_probe_changes_nothing(bus: MessageBus) -> None:
    s.seed(bus)
    pid = s.submitted(bus)
    before = s.detail(bus, pid)
    history = bus.query(lambda uow: len(uow.events.history(program_stream(pid))))
    assert history > 0
    for who in (s.COORDINATOR, s.CITY_APPROVER, s.CITY_OFFICER, s.ADMIN):
        offered(bus, who, pid)
    assert s.detail(bus, pid) == before
    assert bus.query(lambda uow: len(uow.events.history(program_stream(pid)))) == history
