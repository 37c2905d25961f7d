"""The record in the browser: a waitlisted program's page says which funder is short and
by how much, the "waiting on whom" page lists it with that reason, and the timeline
reads as sentences (who, of which organization, did what, with the figures)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests import support as s
from tests.conftest import make_settings
from tests.web.conftest import NOW, Site, shot
from workflow.adapters.database import engine_for
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c

Open = Callable[..., Page]
SHORT = "Paju Office of Education 예산 부족: 요청 6억 원, 가용 5억 3,000만 원 — 7,000만 원 부족"


def waitlisted_and_sent_back(site: Site) -> tuple[int, int]:
    """One program asking the Office of Education for more than its envelope holds, one
    the city sent back with a comment (made through the bus on the site's database)."""
    bus = bootstrap(make_settings(site.database_url, now=NOW))
    waiting = s.submitted(bus, city=10_000_000, education_office=600_000_000)
    back = s.submitted(bus, city=80_000_000, education_office=0)
    bus.handle(c.DecideReview(actor=s.CITY_APPROVER, program_id=back, decision="request-changes",
                              comment="예산 내역 보완 바람"))  # fmt: skip
    engine_for(site.database_url).dispose()
    return waiting, back


def test_the_program_page_and_the_waiting_board_say_why_it_waits(sign_in: Open, site: Site) -> None:
    waiting, back = waitlisted_and_sent_back(site)
    approver = sign_in(s.OE_APPROVER)

    approver.goto(f"/programs/{waiting}")
    reason = approver.get_by_role("region", name="예산 대기 사유")
    expect(reason).to_contain_text(SHORT)
    timeline = approver.locator("ol.timeline")
    expect(timeline).to_contain_text("coord(Munsan High School) 제출")
    expect(timeline).to_contain_text("가확보 실패 — " + SHORT)
    shot(approver, "records-01-waitlisted-program")

    approver.goto("/waiting")
    row = approver.locator("tr", has_text="High school–university linkage").filter(
        has_text="예산 대기"
    )
    expect(row.first).to_contain_text(SHORT)
    shot(approver, "records-02-waiting-board")

    approver.goto(f"/programs/{back}")
    expect(approver.locator("ol.timeline")).to_contain_text(
        "approver(Paju City) 보완 요청: 예산 내역 보완 바람"
    )
    expect(approver.get_by_role("region", name="결정 사유")).to_contain_text("예산 내역 보완 바람")
    expect(approver.get_by_role("heading", name="처리 이력 (서울 시각)")).to_be_visible()
