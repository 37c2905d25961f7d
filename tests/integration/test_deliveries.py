"""Deliveries on the real adapters, SQLite and PostgreSQL (issue 14): written with the
message, each once; attempts taken once; quiet hours, back-off and the dead-letter list
as rows; preferences stored; old in-app messages still shown."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests import support as s
from tests.conftest import make_settings
from tests.fakes import Clock, FakeChannels
from workflow.adapters.orm import deliveries
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain.calendar import SEOUL
from workflow.domain.delivery import Outcome, RetryPolicy
from workflow.domain.errors import InvalidInput
from workflow.service_layer.courier import Courier
from workflow.service_layer.messagebus import MessageBus, RelayDispatcher
from workflow.service_layer.ports import AttemptBatch


def seoul(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SEOUL).astimezone(UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(seoul(date(2026, 3, 2), 9))


@pytest.fixture
def bus(database_url: str, clock: Clock) -> MessageBus:
    bus = bootstrap(make_settings(database_url), clock=clock)
    bus.courier = Courier(FakeChannels(), RetryPolicy(base_seconds=30), jitter=lambda: 1.0)
    s.seed(bus)
    return bus


def channels(bus: MessageBus) -> FakeChannels:
    found = bus.courier.channels
    assert isinstance(found, FakeChannels)
    return found


def rows(bus: MessageBus, channel: str = "email") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = bus.query(
        lambda uow: [
            dict(r._mapping)
            for r in uow.conn.execute(
                select(deliveries).where(deliveries.c.channel == channel).order_by(deliveries.c.id)
            )
        ]
    )
    return found


def test_a_submission_writes_one_delivery_per_message_recipient_and_channel(
    bus: MessageBus,
) -> None:
    s.submitted(bus)

    assert sorted(channels(bus).sent_to()) == [s.OE_APPROVER, s.CITY_APPROVER]
    assert Counter(r["status"] for r in rows(bus)) == Counter({"sent": 2})
    assert Counter(r["status"] for r in rows(bus, "inapp")) == Counter({"sent": 2})
    [shown] = bus.query(lambda uow: uow.notifications.of_user(s.CITY_APPROVER))
    assert shown["subject"].startswith("[jointflow] 검토 요청: High school–university linkage")
    assert "8,000만 원" in shown["subject"]
    listed = bus.query(lambda uow: uow.deliveries.listing())
    assert {(d["channel"], d["what"]) for d in listed} == {
        ("email", "review_request"),
        ("inapp", "review_request"),
    }


def test_a_notify_message_carried_out_twice_makes_no_second_message_or_mail(
    bus: MessageBus,
) -> None:
    worker = MessageBus(bus.uow, RelayDispatcher(), bus.courier)
    s.submitted(worker)
    while pending := worker.pending_messages():
        for message_id in pending:  # each carried out twice, as a re-sent message would be
            worker.handle_message(message_id)
            worker.handle_message(message_id)
    assert sorted(channels(bus).sent_to()) == [s.OE_APPROVER, s.CITY_APPROVER]
    assert len(rows(bus)) == 2


def test_quiet_hours_defer_the_mail_to_eight_and_a_retry_backs_off(
    bus: MessageBus, clock: Clock
) -> None:
    program_id = s.submitted(bus)
    clock.at = seoul(date(2026, 3, 2), 22, 15)
    channels(bus).script += [Outcome.retry("421 service not available")]
    bus.handle(c.DecideReview(actor=s.CITY_APPROVER, program_id=program_id, decision="reject"))

    [waiting] = [r for r in rows(bus) if r["recipient"] == s.COORDINATOR]
    assert (waiting["status"], waiting["due_at"]) == ("pending", seoul(date(2026, 3, 3), 8))
    assert bus.courier.deliver_due(bus) == {}
    clock.at = seoul(date(2026, 3, 3), 8)
    assert bus.courier.deliver_due(bus) == {"delivery pending": 1}  # 421: try again
    [waiting] = [r for r in rows(bus) if r["recipient"] == s.COORDINATOR]
    assert waiting["attempts"] == 1 and waiting["last_error"] == "421 service not available"
    assert waiting["due_at"] == clock.at + timedelta(seconds=30)
    clock.at += timedelta(seconds=30)
    assert bus.courier.deliver_due(bus) == {"delivery sent": 1}
    assert bus.courier.deliver_due(bus) == {}
    [sent] = [r for r in rows(bus) if r["recipient"] == s.COORDINATOR]
    assert (sent["status"], sent["attempts"], sent["sent_at"]) == ("sent", 2, clock.at)


def test_an_attempt_whose_outcome_never_came_back_is_retaken_once_stale(
    bus: MessageBus, clock: Clock
) -> None:
    program_id = s.submitted(bus)
    bus.courier.channels.script.append(Outcome.fail("550"))  # type: ignore[attr-defined]
    bus.handle(c.DecideReview(actor=s.CITY_APPROVER, program_id=program_id, decision="reject"))
    [dead] = [r for r in rows(bus) if r["status"] == "dead"]
    [redriven] = bus.handle(c.RetryDeliveries(actor=None, delivery_ids=None))
    assert redriven == dead["id"]
    assert [r["status"] for r in rows(bus) if r["id"] == dead["id"]] == ["sent"]

    # A worker marks an attempt (deciding the message) and dies before making it.
    other = s.submitted(bus)
    worker = MessageBus(bus.uow, RelayDispatcher(), _DiesBeforeSending(channels(bus)))
    worker.handle(c.DecideReview(actor=s.CITY_APPROVER, program_id=other, decision="reject"))
    killed = 0
    for message_id in worker.pending_messages():
        try:
            worker.handle_message(message_id)
        except _Killed:
            killed += 1
    assert killed == 1  # the notice's step: the decision mails the coordinator
    [marked] = [r for r in rows(bus) if r["status"] == "sending"]
    assert marked["attempts"] == 1
    delivery_id = marked["id"]
    assert worker.handle(c.BeginDelivery(actor=None, delivery_id=delivery_id)) is None  # taken
    clock.at += timedelta(seconds=bus.courier.policy.stale_seconds - 1)
    assert bus.courier.deliver_due(bus) == {}
    clock.at += timedelta(seconds=2)
    assert bus.courier.deliver_due(bus) == {"delivery sent": 1}
    numbers = [a.number for a in channels(bus).attempts if a.delivery_id == delivery_id]
    assert numbers == [2]  # the dead worker's attempt 1 never reached the channel here


class _Killed(BaseException):
    """The worker's process ending between a commit and the next step."""


class _DiesBeforeSending(Courier):
    def carry_out_batch(self, bus: MessageBus, batch: AttemptBatch) -> list[str]:
        raise _Killed


def test_preferences_round_trip_and_required_kinds_refuse_to_go_silent(bus: MessageBus) -> None:
    chosen = bus.handle(
        c.SetPreferences(
            actor=s.CITY_APPROVER,
            choices=(("review_request", ("inapp",)), ("reminder_digest", ("email", "inapp"))),
        )
    )
    assert chosen == {"reminder_digest": ("email", "inapp"), "review_request": ("inapp",)}
    bus.handle(c.SetPreferences(actor=s.CITY_APPROVER, choices=(("review_request", ()),)))
    with pytest.raises(InvalidInput, match="escalation messages are required"):
        bus.handle(c.SetPreferences(actor=s.CITY_APPROVER, choices=(("escalation", ()),)))
    assert bus.query(lambda uow: uow.preferences.of(s.CITY_APPROVER)) == {
        "reminder_digest": ("email", "inapp"),
        "review_request": (),
    }
    s.submitted(bus)
    assert channels(bus).sent_to() == [s.OE_APPROVER]
    assert bus.query(lambda uow: uow.notifications.of_user(s.CITY_APPROVER)) == []


def test_without_a_mail_server_email_is_delivered_in_app_and_the_log_says_so_once(
    database_url: str, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    bus = bootstrap(make_settings(database_url), clock=clock)  # no JOINTFLOW_SMTP_HOST
    s.seed(bus)
    bus.handle(c.SetPreferences(actor=s.CITY_APPROVER, choices=(("review_request", ("email",)),)))
    with caplog.at_level("WARNING", logger="workflow.adapters.channels"):
        s.submitted(bus)
        s.submitted(bus)
    said = [r.getMessage() for r in caplog.records if "no SMTP server configured" in r.message]
    assert said == [
        "email: no SMTP server configured (JOINTFLOW_SMTP_HOST): delivered in-app instead"
    ]
    assert Counter(r["status"] for r in rows(bus)) == Counter({"fallback": 4})
    assert len(bus.query(lambda uow: uow.notifications.of_user(s.CITY_APPROVER))) == 2
