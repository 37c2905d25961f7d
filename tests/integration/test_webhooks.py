"""Webhooks to a real local HTTP receiver that verifies the signature and the timestamp
window (issue 14), SQLite and PostgreSQL: 500 twice then 200 is delivered exactly once
with three attempts recorded; a 410 is dead at once; an organization only hears of the
programs its staff may see; hostile input is refused and stores nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import support as s
from tests.conftest import make_settings
from tests.fakes import Clock
from tests.webhook_receiver import webhook_receiver
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain.errors import InvalidInput, NotFound, NotPermitted
from workflow.service_layer.messagebus import MessageBus

SECRET = "s3cret-of-the-city-groupware"


@pytest.fixture
def clock() -> Clock:
    return Clock()  # a Monday 09:00 in Seoul


@pytest.fixture
def bus(database_url: str, clock: Clock) -> MessageBus:
    bus = bootstrap(make_settings(database_url, delivery_retry_seconds=30), clock=clock)
    s.seed(bus)
    return bus


def hook(bus: MessageBus, url: str, events: tuple[str, ...], org: str = "city") -> int:
    added = bus.handle(c.AddWebhook(actor=None, org=org, url=url, events=events, secret=SECRET))
    found: int = added.id
    return found


def webhook_rows(bus: MessageBus) -> list[dict]:
    return [d for d in bus.query(lambda uow: uow.deliveries.listing()) if d["channel"] == "webhook"]


def test_500_twice_then_200_is_delivered_once_with_three_attempts(
    bus: MessageBus, clock: Clock
) -> None:
    with webhook_receiver(SECRET, script=[500, 500]) as receiver:
        hook(bus, receiver.url, ("ProgramSubmitted",))
        program_id = s.submitted(bus)
        clock.at += timedelta(seconds=30)
        assert bus.courier.deliver_due(bus) == {"delivery pending": 1}
        clock.at += timedelta(seconds=60)
        assert bus.courier.deliver_due(bus) == {"delivery sent": 1}
        clock.at += timedelta(hours=1)
        assert bus.courier.deliver_due(bus) == {}

    assert [r.status for r in receiver.received] == [500, 500, 200]
    assert all(r.signed for r in receiver.received)
    assert len({r.delivery for r in receiver.received}) == 1  # the same delivery id each time
    assert len({r.timestamp for r in receiver.received}) >= 1
    [(delivery, body)] = receiver.accepted.items()
    assert body["type"] == "ProgramSubmitted" and body["program"]["id"] == program_id
    assert set(body) == {"id", "type", "occurred_at", "program", "data"}
    assert body["program"]["requests"] == {"city": 80_000_000, "education_office": 20_000_000}
    [row] = webhook_rows(bus)
    assert (str(row["id"]), row["status"], row["attempts"]) == (delivery, "sent", 3)
    assert receiver.received[0].event == "ProgramSubmitted"


def test_a_410_goes_to_the_dead_letter_list_at_once(bus: MessageBus, clock: Clock) -> None:
    with webhook_receiver(SECRET, script=[410]) as receiver:
        hook(bus, receiver.url, ("ProgramSubmitted", "ReviewStarted"))
        s.submitted(bus)  # two events: one answered 410, the other 200
        clock.at += timedelta(days=1)
        assert bus.courier.deliver_due(bus) == {}
    statuses = sorted((r["what"], r["status"], r["attempts"]) for r in webhook_rows(bus))
    assert statuses == [("ProgramSubmitted", "dead", 1), ("ReviewStarted", "sent", 1)]
    [dead] = bus.query(lambda uow: uow.deliveries.listing(failed_only=True))
    assert dead["last_error"] == "HTTP 410"


def test_an_organization_hears_only_of_programs_its_staff_may_see(
    bus: MessageBus, clock: Clock
) -> None:
    with (
        webhook_receiver(SECRET) as school,
        webhook_receiver(SECRET) as other_school,
        webhook_receiver(SECRET) as city,
    ):
        hook(bus, school.url, ("ProgramSubmitted", "PartyApproved"), org="munsan-high")
        hook(bus, other_school.url, ("ProgramSubmitted",), org="paju-youth")
        hook(bus, city.url, ("PartyApproved",), org="city")
        program_id = s.submitted(bus)
        s.decide(bus, program_id, s.CITY_APPROVER)
    assert [r.event for r in school.received] == ["ProgramSubmitted", "PartyApproved"]
    assert other_school.received == []  # another school's program
    assert [r.body["data"]["party"] for r in city.received] == ["city"]


def test_a_receiver_that_is_down_gets_the_delivery_later_once(
    bus: MessageBus, clock: Clock
) -> None:
    with webhook_receiver(SECRET) as receiver:
        url = receiver.url
    hook(bus, url, ("ProgramSubmitted",))  # nothing listens there any more
    s.submitted(bus)
    [waiting] = webhook_rows(bus)
    assert waiting["status"] == "pending" and "Connect" in waiting["last_error"]
    port = int(url.split(":")[2].split("/")[0])
    with webhook_receiver(SECRET, port=port) as receiver:  # back up
        clock.at += timedelta(seconds=30)
        assert bus.courier.deliver_due(bus) == {"delivery sent": 1}
        assert bus.courier.deliver_due(bus) == {}
    assert len(receiver.accepted) == 1 and [r.status for r in receiver.received] == [200]


@pytest.mark.parametrize(
    ("url", "events", "error", "match"),
    [
        ("file:///etc/passwd", ("ProgramSubmitted",), InvalidInput, "http:// or https://"),
        ("ftp://example.org/hook", ("ProgramSubmitted",), InvalidInput, "http:// or https://"),
        ("javascript:alert(1)", ("ProgramSubmitted",), InvalidInput, "http:// or https://"),
        ("https://", ("ProgramSubmitted",), InvalidInput, "with a host"),
        ("https://example.org/hook", ("ProgramTeleported",), InvalidInput, "ProgramTeleported"),
        ("https://example.org/hook", (), InvalidInput, "none given"),
    ],
)
def test_hostile_webhooks_are_refused_and_store_nothing(
    bus: MessageBus, url: str, events: tuple[str, ...], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        bus.handle(c.AddWebhook(actor=None, org="city", url=url, events=events))
    assert bus.query(lambda uow: uow.webhooks.listing()) == []


def test_only_the_operator_or_an_admin_manages_webhooks_and_a_removed_one_is_not_posted(
    bus: MessageBus,
) -> None:
    with pytest.raises(NotPermitted, match="needs the admin role"):
        bus.handle(
            c.AddWebhook(
                actor=s.CITY_APPROVER,
                org="city",
                url="https://x.example",
                events=("ProgramFunded",),
            )
        )
    with pytest.raises(NotFound, match="organization 'nowhere' does not exist"):
        bus.handle(
            c.AddWebhook(
                actor=None, org="nowhere", url="https://x.example", events=("ProgramFunded",)
            )
        )
    with webhook_receiver(SECRET) as receiver:
        webhook_id = hook(bus, receiver.url, ("ProgramSubmitted",))
        bus.handle(c.RemoveWebhook(actor=s.ADMIN, webhook_id=webhook_id))
        s.submitted(bus)
        with pytest.raises(NotFound, match=f"no webhook {webhook_id}"):
            bus.handle(c.RemoveWebhook(actor=None, webhook_id=webhook_id))
    assert receiver.received == [] and webhook_rows(bus) == []


def test_a_test_post_is_signed_and_delivered_like_any_event(bus: MessageBus) -> None:
    with webhook_receiver(SECRET) as receiver:
        webhook_id = hook(bus, receiver.url, ("ProgramFunded",))
        delivery_id = bus.handle(c.TestWebhook(actor=None, webhook_id=webhook_id))
    [got] = receiver.received
    assert (got.event, got.signed, got.delivery) == ("WebhookTest", True, str(delivery_id))
    assert got.body["data"] == {"webhook": webhook_id} and got.body["program"] is None
