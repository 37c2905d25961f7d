"""Mail through a real SMTP server (aiosmtpd on a free port), SQLite and PostgreSQL:
recipients, subject and body in both languages, KRW as people write it, the link, one
digest per person per day, Message-IDs from the delivery; 4xx retried, 5xx dead-lettered,
a server that is down for a while then up gets every mail once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from tests import support as s
from tests.conftest import make_settings
from tests.fakes import Clock
from tests.mail_sink import Sink, free_port, html_of, smtp_server, text_of
from workflow.adapters.mail import Mailer, SmtpConfig
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain.calendar import SEOUL
from workflow.domain.delivery import Outcome
from workflow.service_layer.messagebus import MessageBus
from workflow.service_layer.ports import Attempt
from workflow.service_layer.scheduler import run_due_work

BASE = "https://jointflow.paju.go.kr"
EN_APPROVER = "en.approver@goepj.kr"


def seoul(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SEOUL).astimezone(UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(seoul(date(2026, 11, 2), 9))


@pytest.fixture
def server() -> Iterator[tuple[Sink, int]]:
    with smtp_server() as running:
        yield running


def mail_bus(url: str, clock: Clock, port: int, **settings_given: object) -> MessageBus:
    settings = make_settings(
        url,
        base_url=BASE,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="jointflow <noreply@paju.go.kr>",
        delivery_retry_seconds=30,
        **settings_given,
    )
    bus = bootstrap(settings, clock=clock)
    s.seed(bus)
    bus.handle(
        c.AddUser(
            actor=None,
            email=EN_APPROVER,
            name="Jane Park",
            org="education_office",
            roles=("approver",),
            locale="en",
        )
    )
    return bus


@pytest.fixture
def bus(database_url: str, clock: Clock, server: tuple[Sink, int]) -> MessageBus:
    return mail_bus(database_url, clock, server[1])


def delivery_ids(bus: MessageBus, status: str) -> list[int]:
    return [
        d["id"] for d in bus.query(lambda uow: uow.deliveries.listing()) if d["status"] == status
    ]


def test_a_review_request_arrives_in_korean_and_in_english_with_the_amount_and_the_link(
    bus: MessageBus, server: tuple[Sink, int]
) -> None:
    sink, _ = server
    program_id = s.submitted(bus)

    assert sorted(r for rcpt in sink.recipients for r in rcpt) == sorted(
        [s.CITY_APPROVER, s.OE_APPROVER, EN_APPROVER]
    )
    [ko] = sink.to(s.CITY_APPROVER)
    assert ko["Subject"] == (
        "[jointflow] 검토 요청: High school–university linkage — 8,000만 원, 마감 11월 16일"
    )
    assert ko["From"] == "jointflow <noreply@paju.go.kr>" and ko["To"] == s.CITY_APPROVER
    assert "Paju City 요청 금액: 8,000만 원" in text_of(ko)
    assert f"검토하기: {BASE}/programs/{program_id}" in text_of(ko)
    assert f'<a href="{BASE}/programs/{program_id}">검토하기</a>' in html_of(ko)
    [en] = sink.to(EN_APPROVER)
    assert en["Subject"] == (
        "[jointflow] Review requested: High school–university linkage — ₩20,000,000, "
        "due 16 November"
    )
    assert "Requested of Paju Office of Education: ₩20,000,000" in text_of(en)
    # The Message-ID is the delivery's: a re-sent mail is recognisable.
    sent = {
        d["recipient"]: d["id"]
        for d in bus.query(lambda uow: uow.deliveries.listing())
        if d["channel"] == "email"
    }
    assert ko["Message-ID"] == f"<jointflow-delivery-{sent[s.CITY_APPROVER]}@paju.go.kr>"
    assert en["X-Jointflow-Delivery"] == str(sent[EN_APPROVER])


def test_a_decision_reaches_the_coordinator_with_the_comment(
    bus: MessageBus, server: tuple[Sink, int]
) -> None:
    sink, _ = server
    program_id = s.submitted(bus)
    bus.handle(
        c.DecideReview(
            actor=s.CITY_APPROVER,
            program_id=program_id,
            decision="request-changes",
            comment="운영 계획을 보완해 주세요 <표 포함>",
        )
    )
    [mail] = sink.to(s.COORDINATOR)
    assert mail["Subject"] == "[jointflow] 보완 요청: High school–university linkage"
    assert "운영 계획을 보완해 주세요 <표 포함>" in text_of(mail)
    assert "운영 계획을 보완해 주세요 &lt;표 포함&gt;" in html_of(mail)


def test_one_digest_per_person_per_day(
    bus: MessageBus, server: tuple[Sink, int], clock: Clock
) -> None:
    sink, _ = server
    s.submitted(bus)
    s.submitted(bus, city=50_000_000, education_office=30_000_000)
    requests = len(sink.mails)
    clock.at = seoul(date(2026, 11, 18), 9)  # both reviews 2 business days overdue
    run_due_work(bus)
    clock.at = seoul(date(2026, 11, 18), 15)
    run_due_work(bus)
    digests = sink.mails[requests:]
    assert sorted(r for rcpt in sink.recipients[requests:] for r in rcpt) == sorted(
        [s.CITY_APPROVER, s.OE_APPROVER, EN_APPROVER]
    )
    [ko] = [m for m in digests if m["To"] == s.OE_APPROVER]
    assert ko["Subject"] == "[jointflow] 처리할 업무 2건 알림 (11월 18일)"
    assert "(2,000만 원) 검토, 마감 2영업일 경과 (마감일 11월 16일)" in text_of(ko)
    assert f"확인: {BASE}/inbox" in text_of(ko)
    [en] = [m for m in digests if m["To"] == EN_APPROVER]
    assert en["Subject"] == "[jointflow] 2 tasks need your attention (18 November)"
    assert "(₩30,000,000), overdue 2 business days" in text_of(en)
    clock.at = seoul(date(2026, 11, 20), 9)  # the next overdue rung: a new day's digest
    run_due_work(bus)
    digest_days = [m["Subject"] for m in sink.to(s.OE_APPROVER) if "처리할 업무" in m["Subject"]]
    assert digest_days == [
        "[jointflow] 처리할 업무 2건 알림 (11월 18일)",
        "[jointflow] 처리할 업무 2건 알림 (11월 20일)",
    ]


def test_a_4xx_is_tried_again_later_and_a_5xx_goes_to_the_dead_letter_list(
    bus: MessageBus, server: tuple[Sink, int], clock: Clock
) -> None:
    sink, _ = server
    program_id = s.submitted(bus)
    sink.data_replies.append("451 4.3.0 try again later")
    bus.handle(c.DecideReview(actor=s.CITY_APPROVER, program_id=program_id, decision="reject"))
    assert sink.to(s.COORDINATOR) == []
    [waiting] = [d for d in bus.query(lambda uow: uow.deliveries.listing(failed_only=True))]
    assert (waiting["status"], waiting["attempts"]) == ("pending", 1)
    assert "451" in waiting["last_error"]
    clock.at += timedelta(seconds=30)
    assert bus.courier.deliver_due(bus) == {"delivery sent": 1}
    [mail] = sink.to(s.COORDINATOR)
    assert mail["Subject"] == "[jointflow] 반려: High school–university linkage"

    other = s.submitted(bus)
    sink.refuse[s.COORDINATOR] = "550 5.1.1 no such mailbox"
    bus.handle(c.DecideReview(actor=s.CITY_APPROVER, program_id=other, decision="reject"))
    [dead] = [
        d
        for d in bus.query(lambda uow: uow.deliveries.listing(failed_only=True))
        if d["status"] == "dead"
    ]
    assert dead["attempts"] == 1 and "550 5.1.1 no such mailbox" in dead["last_error"]
    clock.at += timedelta(days=1)
    assert bus.courier.deliver_due(bus) == {}  # dead stays dead until re-driven
    del sink.refuse[s.COORDINATOR]
    bus.handle(c.RetryDeliveries(actor=None, delivery_ids=(dead["id"],)))
    assert len(sink.to(s.COORDINATOR)) == 2


def test_a_server_down_for_a_while_then_up_gets_every_mail_once(
    database_url: str, clock: Clock
) -> None:
    port = free_port()  # nothing listens yet: connection refused
    bus = mail_bus(database_url, clock, port)
    ids = [s.submitted(bus) for _ in range(3)]
    for program_id in ids:
        bus.handle(c.DecideReview(actor=s.CITY_APPROVER, program_id=program_id, decision="reject"))
    waiting = bus.query(lambda uow: uow.deliveries.listing(failed_only=True))
    assert len(waiting) == 3 * 3 + 3  # review requests (3 people each) and 3 rejections
    assert {d["status"] for d in waiting} == {"pending"}
    assert all("Connection refused" in d["last_error"] or "111" in d["last_error"] for d in waiting)
    clock.at += timedelta(seconds=31)
    bus.courier.deliver_due(bus)  # still down: attempt 2 each, backed off again
    with smtp_server(port) as (sink, _):
        clock.at += timedelta(minutes=10)
        assert bus.courier.deliver_due(bus) == {"delivery sent": 12}
        assert bus.courier.deliver_due(bus) == {}
        assert len(sink.mails) == 12
        assert len({m["Message-ID"] for m in sink.mails}) == 12
        assert len(sink.to(s.COORDINATOR)) == 3


def test_a_kept_connection_the_server_closed_is_opened_again_and_the_mail_sent_once() -> None:
    port = free_port()
    mailer = Mailer(SmtpConfig("127.0.0.1", port))
    mail = Attempt(7, "email", s.COORDINATOR, 1, None, "subject", "text", "<p>html</p>")
    with smtp_server(port):
        assert mailer.send(mail) == Outcome.ok()
    with smtp_server(port) as (sink, _):  # the server restarted: the kept connection is dead
        assert mailer.send(mail) == Outcome.ok()
        assert len(sink.mails) == 1 and sink.mails[0]["Message-ID"] == (
            "<jointflow-delivery-7@localhost>"
        )
    refused = mailer.send(mail)
    assert refused.transient and "Connection refused" in refused.error
