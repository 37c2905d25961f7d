"""Every page, as the people who use it see it, checked by axe-core in Chromium: no
critical and no serious violation (colour contrast at WCAG AA among them).

The programs stand in every state a page draws differently (a draft with its forms, a
review with the decision form and the changes since the last decision, money to commit,
to pay out, a report to write and one to evaluate, a waitlist, overdue tasks); the
forms are also checked after a refusal, with the message next to its field.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from tests import support as s
from tests.api.helpers import CITY_EVALUATOR
from tests.conftest import make_settings
from tests.web.conftest import NOW, PASSWORD, Site
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.service_layer.messagebus import MessageBus
from workflow.service_layer.scheduler import run_scheduled_work

AXE = Axe()
BLOCKING = ("critical", "serious")
EARLIER = "2026-01-05T09:00"  # tasks made then are overdue by NOW
LATER = "2026-02-06T09:00"  # past the one-day runs: the scheduled worker moves them on


def bus_at(site: Site, now: str) -> MessageBus:
    return bootstrap(make_settings(site.database_url, now=now))


def program(bus: MessageBus, title: str, city: int = 80_000_000, **fields: Any) -> int:
    pid: int = bus.handle(c.CreateProgram(actor=s.COORDINATOR, title=title, org="munsan-high",
                                          category="linkage", year=s.YEAR,
                                          requests={"city": city, "education_office": 20_000_000},
                                          description="고등학생 대상 대학 연계 프로그램",
                                          **fields))  # fmt: skip
    return pid


def approved(bus: MessageBus, pid: int) -> int:
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=pid))
    for approver in (s.CITY_APPROVER, s.OE_APPROVER):
        bus.handle(c.DecideReview(actor=approver, program_id=pid, decision="approve",
                                  comment="확인했습니다"))  # fmt: skip
    return pid


def funded(bus: MessageBus, pid: int) -> int:
    for officer in (s.CITY_OFFICER, s.OE_OFFICER):
        bus.handle(c.CommitFunds(actor=officer, program_id=pid))
    return pid


@pytest.fixture(scope="module")
def made(site: Site) -> dict[str, int]:
    """A program in each state a page draws differently."""
    bus = bus_at(site, NOW)
    ids = {"draft": program(bus, "코딩 캠프 초안")}
    ids["review"] = program(bus, "로봇 동아리")
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=ids["review"]))
    asked = "산출 근거를 보완해 주세요"
    bus.handle(c.DecideReview(actor=s.CITY_APPROVER, program_id=ids["review"],
                              decision="request-changes", comment=asked))  # fmt: skip
    less = {"city": 70_000_000, "education_office": 20_000_000}
    bus.handle(c.UpdateProgram(actor=s.COORDINATOR, program_id=ids["review"], requests=less))
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=ids["review"]))
    ids["approved"] = approved(bus, program(bus, "진로 상담 주간"))
    ids["waitlisted"] = program(bus, "대규모 시설 사업", city=5_000_000_000)
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=ids["waitlisted"]))
    tomorrow, day_after = date(2026, 2, 3), date(2026, 2, 4)
    ids["active"] = funded(bus, approved(bus, program(bus, "지역 연계 교육과정", start=tomorrow,
                                                      end=date(2026, 12, 18))))  # fmt: skip
    ids["report"] = funded(bus, approved(bus, program(bus, "기초학력 캠프", start=tomorrow,
                                                      end=day_after)))  # fmt: skip
    ids["evaluate"] = funded(bus, approved(bus, program(bus, "미래 역량 캠프", start=tomorrow,
                                                        end=day_after)))  # fmt: skip
    later = bus_at(site, LATER)
    run_scheduled_work(later)
    nothing_spent = {"city": 0, "education_office": 0}
    later.handle(c.SubmitReport(actor=s.COORDINATOR, program_id=ids["evaluate"],
                                spent=nothing_spent, summary="계획대로 마쳤습니다"))  # fmt: skip
    early = bus_at(site, EARLIER)
    for title in ("창의 체험 활동", "진학 설명회"):
        early.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=program(early, title)))
    return ids


@pytest.fixture(scope="module")
def people(site: Site, browser: Browser) -> Iterator[Any]:
    """One signed-in browser per person (and locale), kept for the module."""
    opened: dict[tuple[str | None, str], Page] = {}

    def as_(email: str | None, locale: str = "ko") -> Page:
        if (email, locale) not in opened:
            context = browser.new_context(base_url=site.base, locale="ko-KR")
            page = context.new_page()
            if locale == "en":
                context.add_cookies([{"name": "jf_lang", "value": "en", "url": site.base}])
            if email:
                page.goto("/login")
                page.locator("#email").fill(email)
                page.locator("#password").fill(PASSWORD)
                page.locator("form.stack button[type=submit]").click()
                page.wait_for_url("**/inbox")
            opened[(email, locale)] = page
        return opened[(email, locale)]

    yield as_
    for page in opened.values():
        page.context.close()


def assert_accessible(page: Page) -> None:
    """axe-core over the whole page as drawn (the diagram too): nothing serious."""
    if page.locator("pre.mermaid").count():
        page.locator("pre.mermaid svg").first.wait_for()
    found = AXE.run(page).response["violations"]
    blocking = [v for v in found if v["impact"] in BLOCKING]
    assert not blocking, f"{page.url}:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in blocking
    )


PAGES = [  # (who, locale, path): {name} is a program of ``made``
    (None, "ko", "/login"),
    (s.CITY_APPROVER, "ko", "/inbox"),
    (s.CITY_APPROVER, "en", "/inbox"),
    (s.OTHER_COORDINATOR, "ko", "/inbox"),
    (s.ADMIN, "ko", "/programs"),
    (s.COORDINATOR, "ko", "/programs/{draft}"),
    (s.CITY_APPROVER, "ko", "/programs/{review}"),
    (s.OE_APPROVER, "en", "/programs/{review}"),
    (s.CITY_OFFICER, "ko", "/programs/{approved}"),
    (s.CITY_OFFICER, "ko", "/programs/{active}"),
    (s.ADMIN, "ko", "/programs/{active}"),
    (s.COORDINATOR, "ko", "/programs/{report}"),
    (CITY_EVALUATOR, "ko", "/programs/{evaluate}"),
    (s.COORDINATOR, "ko", "/programs/{waitlisted}"),
    (s.COORDINATOR, "ko", "/programs/new"),
    (s.COORDINATOR, "ko", "/programs/{draft}/edit"),
    (s.CITY_OFFICER, "ko", "/budget"),
    (s.ADMIN, "en", "/budget?year=2026"),
    (s.ADMIN, "ko", "/waiting"),
    (s.ADMIN, "ko", "/waiting?party=city&overdue=true"),
    (s.COORDINATOR, "ko", "/notifications"),
    (s.COORDINATOR, "en", "/settings/notifications"),
    (s.COORDINATOR, "ko", "/programs/999999"),
]


@pytest.mark.parametrize(
    ("who", "locale", "path"), PAGES, ids=[f"{p}-{who}-{lang}" for who, lang, p in PAGES]
)
def test_every_page_has_no_serious_accessibility_violation(
    made: dict[str, int], people: Any, who: str | None, locale: str, path: str
) -> None:
    page = people(who, locale)
    page.goto(path.format(**made))
    assert_accessible(page)


CONTROLS = """() => [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea')]
    .filter(e => e.getClientRects().length).length"""
FOCUSED = """() => { const e = document.activeElement, s = getComputedStyle(e);
    return [e.outerHTML.slice(0, 120), s.outlineStyle, parseFloat(s.outlineWidth),
            s.outlineColor]; }"""


def luminance(rgb: str) -> float:
    """The relative luminance (WCAG 2) of a computed ``rgb(r, g, b)``."""
    channels = [int(v) / 255 for v in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize("path", ["/inbox", "/programs/{review}", "/programs/new"])
def test_the_keyboard_reaches_every_control_and_its_focus_ring_shows(
    made: dict[str, int], people: Any, path: str
) -> None:
    page = people(s.CITY_APPROVER if "new" not in path else s.COORDINATOR)
    page.goto(path.format(**made))
    controls = page.evaluate(CONTROLS)
    reached = set()
    for _ in range(4 * controls):  # a date field has four stops: year, month, day, calendar
        page.keyboard.press("Tab")
        html, style, width, color = page.evaluate(FOCUSED)
        if html.startswith("<body"):  # past the last control
            break
        reached.add(html)
        assert style != "none" and width >= 2, html
        assert 1.05 / (luminance(color) + 0.05) >= 3, (html, color)  # against the white page
    assert len(reached) == controls


def test_pages_after_a_refusal_show_it_accessibly(
    made: dict[str, int], people: Any, browser: Browser, site: Site
) -> None:
    # The sign-in form after a wrong password.
    context = browser.new_context(base_url=site.base, locale="ko-KR")
    anonymous = context.new_page()
    anonymous.goto("/login")
    anonymous.locator("#email").fill(s.OE_OFFICER)
    anonymous.locator("#password").fill("not the password")
    anonymous.locator("form.stack button[type=submit]").click()
    anonymous.get_by_role("alert").wait_for()
    assert_accessible(anonymous)
    context.close()
    # The proposal form with a bad amount next to its field.
    coordinator = people(s.COORDINATOR)
    coordinator.goto("/programs/new")
    coordinator.locator("#title").fill("금액 오류")
    coordinator.locator("#request-city").fill("팔천만")
    coordinator.locator("form.stack button[type=submit]").click()
    coordinator.locator("#err-request_city").wait_for()
    assert_accessible(coordinator)
    # A program page with its action refused (a tranche that is no amount).
    officer = people(s.CITY_OFFICER)
    officer.goto(f"/programs/{made['active']}")
    officer.locator("#amount").fill("많이")
    officer.locator("form[action$='/disburse'] button[type=submit]").click()
    officer.get_by_role("alert").first.wait_for()
    assert_accessible(officer)


def test_my_work_after_a_bulk_decision_is_accessible(made: dict[str, int], people: Any) -> None:
    approver = people(s.OE_APPROVER)
    approver.goto("/inbox")
    approver.locator("input[name=task]").first.check()
    approver.locator("button[value=reject]").click()
    approver.locator("#results-h").wait_for()
    assert_accessible(approver)
