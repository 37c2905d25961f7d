"""The joint review end to end through the embedded bus, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests import support as s
from workflow.service_layer.messagebus import MessageBus


def test_both_parties_approving_moves_program_to_approved_with_holds(bus: MessageBus) -> None:
    s.seed(bus)
    program_id = s.submitted(bus)
    s.decide(bus, program_id, s.CITY_APPROVER)
    s.decide(bus, program_id, s.OE_APPROVER)
    detail = s.detail(bus, program_id)
    assert detail["state"] == "approved"
    assert detail["holds"] == {"city": 80_000_000, "education_office": 20_000_000}
    checked, broken = bus.query(lambda uow: uow.events.verify())
    assert broken is None and checked > 0
