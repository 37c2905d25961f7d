"""Refunds and amendments in the pages: the forms show only to whom ``bus.allowed``
says may act, post with the CSRF token, and carry out the same commands as every door.

A program ran in January (before the site's clock), was paid 10,000,000 by the city and
reported nothing spent: the city's budget officer finds a "record refund" form on it.
The budget page shows refunds due per party and an amendment form per envelope to the
officers of its party; the coordinator sees neither.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from tests import support as s
from tests.conftest import make_settings
from tests.web.conftest import NOW, Site, http_as
from workflow.adapters import views
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.service_layer.messagebus import MessageBus
from workflow.service_layer.scheduler import run_due_work


@pytest.fixture(scope="module")
def bus(site: Site) -> MessageBus:
    return bootstrap(make_settings(site.database_url, now=NOW))


@pytest.fixture(scope="module")
def owing(bus: MessageBus) -> int:
    pid: int = bus.handle(
        c.CreateProgram(
            actor=s.COORDINATOR,
            title="겨울 과학 캠프",
            org="munsan-high",
            category="linkage",
            requests={"city": 30_000_000},
            year=s.YEAR,
            start=date(2026, 1, 5),
            end=date(2026, 1, 9),
        )  # fmt: skip
    )
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=pid))
    for approver in (s.CITY_APPROVER, s.OE_APPROVER):
        s.decide(bus, pid, approver)
    bus.handle(c.CommitFunds(actor=s.CITY_OFFICER, program_id=pid))
    bus.handle(c.DisburseFunds(actor=s.CITY_OFFICER, program_id=pid, amount=10_000_000))
    run_due_work(bus)  # the run started and ended before the site's clock
    run_due_work(bus)
    bus.handle(c.SubmitReport(actor=s.COORDINATOR, program_id=pid, spent={"city": 0},
                              summary="취소된 일정"))  # fmt: skip
    return pid


@pytest.fixture
def client(site: Site) -> Iterator[Any]:
    opened: list[httpx.Client] = []

    def as_(email: str) -> httpx.Client:
        opened.append(http_as(site, email))
        return opened[-1]

    yield as_
    for one in opened:
        one.close()


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def detail(bus: MessageBus, pid: int) -> dict[str, Any]:
    found: dict[str, Any] = bus.view(lambda uow, who: views.program_detail(uow, who, pid), None)
    return found


def test_the_city_officer_records_the_refund_from_the_program_page(
    bus: MessageBus, owing: int, client: Any
) -> None:
    coordinator = client(s.COORDINATOR).get(f"/programs/{owing}")
    assert f'action="/programs/{owing}/refund"' not in coordinator.text
    assert "반납 예정액" in coordinator.text
    officer = client(s.CITY_OFFICER)
    page = officer.get(f"/programs/{owing}")
    assert f'action="/programs/{owing}/refund"' in page.text
    assert client(s.OE_OFFICER).get(f"/programs/{owing}").text.count('/refund"') == 0

    too_much = officer.post(f"/programs/{owing}/refund",
                            data={"csrf_token": csrf(page), "amount": "1001만"})  # fmt: skip
    assert too_much.status_code == 422 and "10,000,000 KRW is due" in too_much.text
    first = {"csrf_token": csrf(page), "amount": "400만", "memo": "1차 반납"}
    part = officer.post(f"/programs/{owing}/refund", data=first)
    assert part.status_code == 303
    assert detail(bus, owing)["refunds_due"] == {"city": 6_000_000}
    forged = officer.post(f"/programs/{owing}/refund", data={"amount": "1"})
    assert forged.status_code in (400, 403)
    assert detail(bus, owing)["refunds_due"] == {"city": 6_000_000}


def test_the_budget_page_shows_refunds_due_and_the_amend_form_to_the_party_s_officer(
    bus: MessageBus, owing: int, client: Any
) -> None:
    officer = client(s.CITY_OFFICER)
    page = officer.get("/budget")
    assert page.status_code == 200 and "반납 예정액" in page.text
    assert 'name="party" value="city"' in page.text
    assert 'name="party" value="education_office"' not in page.text
    assert 'action="/budget/amend"' not in client(s.COORDINATOR).get("/budget").text

    refused = officer.post("/budget/amend", data={"csrf_token": csrf(page), "party": "city",
                                                  "year": "2026", "by": "-19억 3,000만",
                                                  "reason": "감액"})  # fmt: skip
    assert refused.status_code == 409 and "has committed" in refused.text
    raised = officer.post("/budget/amend", data={"csrf_token": csrf(page), "party": "city",
                                                 "year": "2026", "by": "+1억",
                                                 "reason": "제1회 추경"})  # fmt: skip
    assert raised.status_code == 303
    report = bus.view(lambda uow, who: views.budget_report(uow, who, s.YEAR), None)
    assert {r["party"]: r["amount"] for r in report}["city"] == 1_930_000_000 + 100_000_000
