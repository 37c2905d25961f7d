"""Quiet hours and the daily digest hold when deliveries go in batches (issue 14): a
real SMTP server (aiosmtpd), SQLite and PostgreSQL, batches of two. Mail decided
22:00-08:00 Seoul waits for 08:00 and then goes out, each once, in batches; a digest is
one per person per day however many sweeps run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from tests import support as s
from tests.fakes import Clock
from tests.integration.test_mail import EN_APPROVER, mail_bus, seoul
from tests.mail_sink import Sink, smtp_server
from workflow.domain import commands as c
from workflow.service_layer.messagebus import MessageBus
from workflow.service_layer.scheduler import run_due_work

BATCH = 2
MONDAY = date(2026, 11, 2)


@pytest.fixture
def server() -> Iterator[tuple[Sink, int]]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock(seoul(MONDAY, 9))


@pytest.fixture
def bus(database_url: str, clock: Clock, server: tuple[Sink, int]) -> MessageBus:
    return mail_bus(database_url, clock, server[1], delivery_batch_size=BATCH)


def test_mail_decided_in_quiet_hours_waits_for_eight_then_goes_in_batches_each_once(
    bus: MessageBus, server: tuple[Sink, int], clock: Clock
) -> None:
    sink, _ = server
    programs = [s.submitted(bus, city=10_000_000 * (i + 1)) for i in range(3)]
    requests = len(sink.mails)
    clock.at = seoul(MONDAY, 22)
    bus.handle(c.DecideReview(actor=s.CITY_APPROVER, program_id=programs[0], decision="reject"))
    for program_id in programs[1:]:
        bus.handle(
            c.DecideReview(actor=s.CITY_APPROVER, program_id=program_id, decision="request-changes")
        )
    for moment in (seoul(MONDAY, 23, 59), seoul(MONDAY + timedelta(days=1), 7, 59)):
        clock.at = moment
        run_due_work(bus)
        assert len(sink.mails) == requests, f"mailed in quiet hours, at {moment}"

    clock.at = seoul(MONDAY + timedelta(days=1), 8)
    assert bus.courier.deliver_due(bus, passes=1) == {"delivery sent": BATCH}  # one batch
    assert bus.courier.deliver_due(bus, passes=1) == {"delivery sent": 1}
    run_due_work(bus)
    decided = sink.mails[requests:]
    assert [m["To"] for m in decided] == [s.COORDINATOR] * 3
    assert len({m["Message-ID"] for m in decided}) == 3


def test_the_digest_is_one_per_person_per_day_and_none_in_quiet_hours_when_batched(
    bus: MessageBus, server: tuple[Sink, int], clock: Clock
) -> None:
    sink, _ = server
    s.submitted(bus)
    s.submitted(bus, city=50_000_000, education_office=30_000_000)
    requests = len(sink.mails)
    overdue_day = date(2026, 11, 18)  # both reviews 2 business days overdue
    for moment in (seoul(overdue_day - timedelta(days=1), 22, 30), seoul(overdue_day, 7, 59)):
        clock.at = moment
        run_due_work(bus)
        assert len(sink.mails) == requests, f"mailed in quiet hours, at {moment}"
    for hour in (8, 12, 21):
        clock.at = seoul(overdue_day, hour)
        run_due_work(bus)
    clock.at = seoul(overdue_day, 23)
    run_due_work(bus)
    digests = Counter(str(m["To"]) for m in sink.mails[requests:])
    assert digests == Counter({s.CITY_APPROVER: 1, s.OE_APPROVER: 1, EN_APPROVER: 1})

    clock.at = seoul(overdue_day + timedelta(days=2), 9)  # the next rung: a new day's digest
    run_due_work(bus)
    run_due_work(bus)
    digests = Counter(str(m["To"]) for m in sink.mails[requests:])
    assert digests == Counter({s.CITY_APPROVER: 2, s.OE_APPROVER: 2, EN_APPROVER: 2})
