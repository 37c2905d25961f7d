"""In-app messages through the bus on the fakes: a person marks only their own read."""

from __future__ import annotations

from tests import support as s
from tests.fakes import FakeUnitOfWorkFactory
from tests.handlers import helpers as h
from workflow.domain import commands as c
from workflow.domain.errors import NotFound
from workflow.service_layer.messagebus import SYSTEM_STREAM, MessageBus


def waitlisting_notice(bus: MessageBus, fakes: FakeUnitOfWorkFactory) -> int:
    """The coordinator's budget notice of a program no envelope had room for."""
    s.submitted(bus, city=1_930_000_001)
    [notice] = fakes.reader().notifications.of_user(s.COORDINATOR)
    found: int = notice["id"]
    return found


def test_marking_someone_elses_message_read_is_not_found_and_audited(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    notice = waitlisting_notice(bus, fakes)

    err = h.refused(
        bus,
        c.MarkNotificationRead(actor=s.CITY_APPROVER, notification_id=notice),
        NotFound,
        f"no message {notice} for {s.CITY_APPROVER}",
    )

    assert fakes.reader().notifications.of_user(s.COORDINATOR)[0]["read_at"] is None
    assert h.last_refusal(fakes, SYSTEM_STREAM) == {
        "command": "MarkNotificationRead",
        "code": "not-found",
        "reason": err.message,
        "notification": notice,
    }


def test_marking_ones_own_message_read_counts_it_once(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    notice = waitlisting_notice(bus, fakes)

    assert bus.handle(c.MarkNotificationRead(actor=s.COORDINATOR, notification_id=notice)) == 1
    assert bus.handle(c.MarkNotificationRead(actor=s.COORDINATOR, notification_id=notice)) == 0
    assert bus.handle(c.MarkNotificationRead(actor=s.COORDINATOR, notification_id=None)) == 0
    assert fakes.reader().notifications.of_user(s.COORDINATOR)[0]["read_at"] is not None
