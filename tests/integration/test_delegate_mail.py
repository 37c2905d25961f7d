"""Review requests reach an approver's delegate (issue 14), through a real SMTP server
(aiosmtpd on a free port), SQLite and PostgreSQL: the delegate is mailed and told in-app
whom they stand in for, once even when they serve the queue themselves; a delegation
not running today routes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests import support as s
from tests.fakes import Clock
from tests.integration.test_mail import mail_bus, seoul
from tests.mail_sink import Sink, html_of, smtp_server, text_of
from workflow.adapters.orm import deliveries, notifications
from workflow.domain import commands as c
from workflow.service_layer.messagebus import MessageBus

DEPUTY = "deputy@paju.go.kr"  # a city colleague who is no approver
EN_DEPUTY = "en.deputy@paju.go.kr"
SECOND_APPROVER = "second.approver@paju.go.kr"
TODAY = date(2026, 11, 2)


@pytest.fixture
def server() -> Iterator[tuple[Sink, int]]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def bus(database_url: str, server: tuple[Sink, int]) -> MessageBus:
    return mail_bus(database_url, Clock(seoul(TODAY, 9)), server[1])


def add_city_user(
    bus: MessageBus, email: str, name: str, roles: tuple[str, ...], locale: str = "ko"
) -> None:
    bus.handle(
        c.AddUser(actor=None, email=email, name=name, org="city", roles=roles, locale=locale)
    )


def delegate(bus: MessageBus, who: str, to: str, start: date = TODAY, days: int = 5) -> None:
    bus.handle(
        c.SetDelegation(actor=who, to=to, starts_on=start, ends_on=start + timedelta(days=days))
    )


def in_app(bus: MessageBus, email: str) -> list[str]:
    """The bodies of the in-app messages ``email`` was delivered."""

    def read(uow: Any) -> list[str]:
        rows = uow.conn.execute(
            select(notifications.c.body)
            .join(deliveries, deliveries.c.notification_id == notifications.c.id)
            .where(deliveries.c.recipient == email, deliveries.c.channel == "inapp")
        )
        return [str(r.body) for r in rows]

    found: list[str] = bus.query(read)
    return found


def test_a_review_request_also_reaches_the_delegate_saying_whom_they_stand_in_for(
    bus: MessageBus,
    server: tuple[Sink, int],
) -> None:
    sink, _ = server
    add_city_user(bus, DEPUTY, "김대리", ("supervisor",))
    delegate(bus, s.CITY_APPROVER, DEPUTY)
    program_id = s.submitted(bus)

    [own] = sink.to(s.CITY_APPROVER)  # the approver on leave is still told
    assert "대결" not in text_of(own)
    [mail] = sink.to(DEPUTY)
    assert mail["Subject"].startswith("[jointflow] 검토 요청: High school–university linkage")
    assert "approver님의 대결자로서 받는 알림입니다" in text_of(mail)
    assert "approver님의 대결자로서" in html_of(mail)
    assert f"/programs/{program_id}" in text_of(mail)
    [notice] = in_app(bus, DEPUTY)
    assert "approver님의 대결자로서" in notice
    # The education office's approver delegated nothing: nobody else is told.
    assert sorted(r for rcpt in sink.recipients for r in rcpt) == sorted(
        [s.CITY_APPROVER, DEPUTY, s.OE_APPROVER, "en.approver@goepj.kr"]
    )


def test_a_delegate_who_serves_the_queue_too_gets_one_mail(
    bus: MessageBus,
    server: tuple[Sink, int],
) -> None:
    sink, _ = server
    add_city_user(bus, SECOND_APPROVER, "박주무관", ("approver",))
    delegate(bus, s.CITY_APPROVER, SECOND_APPROVER)
    s.submitted(bus)

    assert len(sink.to(SECOND_APPROVER)) == 1
    assert len(sink.to(s.CITY_APPROVER)) == 1
    assert len(in_app(bus, SECOND_APPROVER)) == 1
    emails = [
        d
        for d in bus.query(lambda uow: uow.deliveries.listing())
        if d["recipient"] == SECOND_APPROVER
    ]
    assert sorted(d["channel"] for d in emails) == ["email", "inapp"]


def test_an_english_delegate_reads_whom_they_stand_in_for_in_english(
    bus: MessageBus,
    server: tuple[Sink, int],
) -> None:
    sink, _ = server
    add_city_user(bus, EN_DEPUTY, "Sam Lee", ("supervisor",), locale="en")
    delegate(bus, s.CITY_APPROVER, EN_DEPUTY)
    s.submitted(bus)

    [mail] = sink.to(EN_DEPUTY)
    assert mail["Subject"].startswith("[jointflow] Review requested:")
    assert "You receive this standing in for approver (delegation)" in text_of(mail)


def test_a_chain_of_delegations_reaches_its_end_and_a_future_one_nobody(
    bus: MessageBus,
    server: tuple[Sink, int],
) -> None:
    sink, _ = server
    add_city_user(bus, DEPUTY, "김대리", ("supervisor",))
    add_city_user(bus, EN_DEPUTY, "Sam Lee", ("supervisor",), locale="en")
    delegate(bus, s.CITY_APPROVER, DEPUTY, start=TODAY + timedelta(days=7))
    s.submitted(bus)
    assert sink.to(DEPUTY) == []  # the leave has not begun

    delegate(bus, s.CITY_APPROVER, DEPUTY)
    delegate(bus, DEPUTY, EN_DEPUTY)  # the deputy is away too: on to Sam
    s.submitted(bus, city=50_000_000, education_office=30_000_000)
    assert sink.to(DEPUTY) == []
    [mail] = sink.to(EN_DEPUTY)
    assert "standing in for approver (delegation)" in text_of(mail)
