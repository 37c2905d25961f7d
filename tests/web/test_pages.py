"""A program's whole joint review in the browser, and the refusals the pages must hold.

The coordinator proposes and submits; the city approver asks for changes; the
coordinator revises and resubmits; the approver sees what changed and approves; the
Office of Education approves; both budget officers commit; the budget page shows the
money moved from held to committed. Every step through the pages a person uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, func, select

from tests import support as s
from tests.web.conftest import Site, shot
from workflow.adapters.orm import events, programs

Open = Callable[..., Page]


def program_id(page: Page) -> int:
    found = re.search(r"/programs/(\d+)$", page.url)
    assert found, page.url
    return int(found.group(1))


def counts(site: Site) -> tuple[int, int]:
    engine = create_engine(site.database_url)
    with engine.connect() as conn:
        found = (conn.scalar(select(func.count()).select_from(programs)) or 0,
                 conn.scalar(select(func.count()).select_from(events)) or 0)  # fmt: skip
    engine.dispose()
    return found


def test_a_joint_review_from_proposal_to_committed_money(sign_in: Open, site: Site) -> None:
    coordinator = sign_in(s.COORDINATOR)
    shot(coordinator, "01-coordinator-my-work")
    coordinator.get_by_role("link", name="새 사업 제안").click()
    coordinator.get_by_label("사업명").fill("로봇 동아리")
    coordinator.get_by_label("Paju City 요청 금액").fill("8000만")
    coordinator.get_by_label("Paju Office of Education 요청 금액").fill("20,000,000")
    coordinator.get_by_label("회계연도").fill("2026")
    coordinator.get_by_label("사업 내용").fill("고등학생 로봇 제작 활동")
    shot(coordinator, "02-new-proposal")
    coordinator.get_by_role("button", name="제안 저장").click()
    pid = program_id(coordinator)
    expect(coordinator.locator("h1")).to_contain_text("작성 중")
    coordinator.get_by_role("button", name="제출").click()
    expect(coordinator.locator("h1")).to_contain_text("검토 중")
    shot(coordinator, "03-submitted")

    city = sign_in(s.CITY_APPROVER)
    row = city.locator("tr", has_text="로봇 동아리")
    expect(row).to_contain_text("승인 시 잔액 18억 5,000만 원")  # 19.3억 less its 8,000만 held
    shot(city, "04-approver-my-work")
    row.get_by_role("link", name="로봇 동아리").click()
    # The city's side only: its legend names the city, never the Office of Education.
    expect(city.get_by_role("group", name=re.compile("Paju City"))).to_be_visible()
    expect(city.get_by_role("group", name=re.compile("Office of Education"))).to_have_count(0)
    city.get_by_label("의견").fill("예산 산출 근거를 보완해 주세요")
    city.get_by_role("button", name="보완 요청").click()
    expect(city.locator("h1")).to_contain_text("보완 요청")

    coordinator.reload()
    expect(coordinator.locator("h1")).to_contain_text("보완 요청")
    expect(coordinator.locator("ol.timeline")).to_contain_text("예산 산출 근거를 보완해 주세요")
    coordinator.get_by_role("link", name="수정").click()
    coordinator.get_by_label("Paju City 요청 금액").fill("7,000만")
    coordinator.get_by_role("button", name="저장").click()
    coordinator.get_by_role("button", name="제출").click()
    expect(coordinator.locator("h1")).to_contain_text("검토 중")

    city.reload()
    changes = city.get_by_role("region", name="마지막 결정 이후 바뀐 내용")
    expect(changes).to_contain_text("8,000만 원")
    expect(changes).to_contain_text("7,000만 원")
    shot(city, "05-approver-sees-the-changes")
    city.get_by_role("button", name="승인", exact=True).click()
    expect(city.locator("h1")).to_contain_text("검토 중")  # waits for the Office of Education

    education = sign_in(s.OE_APPROVER)
    education.goto(f"/programs/{pid}")
    education.get_by_role("button", name="승인", exact=True).click()
    expect(education.locator("h1")).to_contain_text("승인")
    shot(education, "06-approved")

    for officer, party in ((s.CITY_OFFICER, "city"), (s.OE_OFFICER, "education_office")):
        page = sign_in(officer)
        page.goto("/budget")
        held_before = page.locator(f'tr[data-party="{party}"] td.held').inner_text()
        page.goto(f"/programs/{pid}")
        page.get_by_role("button", name=re.compile("예산 확정")).click()
        page.goto("/budget")
        assert page.locator(f'tr[data-party="{party}"] td.held').inner_text() != held_before
    expect(page.locator('tr[data-party="education_office"] td.committed')).to_have_text(
        "2,000만 원"
    )
    shot(page, "07-budget-after-commitments")
    coordinator.goto(f"/programs/{pid}")
    expect(coordinator.locator("h1")).to_contain_text("예산 확정")
    expect(coordinator.locator("pre.mermaid svg, .mermaid svg").first).to_be_visible()
    shot(coordinator, "08-funded-with-diagram")


def test_refusals_change_nothing(sign_in: Open, site: Site) -> None:
    coordinator = sign_in(s.COORDINATOR)
    coordinator.goto("/programs/new")
    coordinator.get_by_label("사업명").fill("다른 학교가 보면 안 되는 초안")
    coordinator.get_by_label("Paju City 요청 금액").fill("1000만")
    coordinator.get_by_role("button", name="제안 저장").click()
    expect(coordinator.locator("h1")).to_contain_text("작성 중")
    draft = program_id(coordinator)
    other = sign_in(s.OTHER_COORDINATOR)
    before = counts(site)

    # Another school's draft does not exist for them.
    response = other.goto(f"/programs/{draft}")
    assert response is not None and response.status == 404
    # A forged POST (no CSRF token) with the coordinator's own session cookie: refused.
    cookies = {c["name"]: c["value"] for c in coordinator.context.cookies()}
    forged = httpx.post(f"{site.base}/programs/{draft}/submit", cookies=cookies)
    assert forged.status_code == 403
    wrong = httpx.post(f"{site.base}/programs/{draft}/submit", cookies=cookies,
                       data={"csrf_token": "0" * 64})  # fmt: skip
    assert wrong.status_code == 403
    assert counts(site) == before  # nothing changed (a 404 read is no refusal to audit)
    coordinator.reload()
    expect(coordinator.locator("h1")).to_contain_text("작성 중")


def test_a_bad_amount_is_shown_next_to_its_field_and_stores_nothing(
    sign_in: Open, site: Site
) -> None:
    coordinator = sign_in(s.COORDINATOR)
    before = counts(site)
    coordinator.goto("/programs/new")
    coordinator.get_by_label("사업명").fill("금액 오류")
    coordinator.get_by_label("Paju City 요청 금액").fill("팔천만")
    coordinator.get_by_role("button", name="제안 저장").click()
    field = coordinator.get_by_label("Paju City 요청 금액")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(coordinator.locator("#err-request_city")).to_contain_text("8000만처럼")
    shot(coordinator, "09-form-error")
    assert counts(site) == before


def test_english_for_whoever_switches_and_sign_out_ends_the_session(
    sign_in: Open, site: Site
) -> None:
    page = sign_in(s.CITY_OFFICER)
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My work")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    page.goto("/inbox")
    page.wait_for_url(re.compile(r"/login\?next=/inbox"))


def test_five_wrong_passwords_lock_the_account(browser_page: Page, site: Site) -> None:
    page = browser_page
    for _ in range(5):
        page.goto("/login")
        page.get_by_label("이메일").fill(s.ADMIN)
        page.get_by_label("비밀번호").fill("not the password")
        page.get_by_role("button", name="로그인").click()
    expect(page.get_by_role("alert")).to_contain_text("5회")
    shot(page, "10-locked")


def test_messages_are_read_on_their_page_and_required_kinds_stay_on(
    sign_in: Open, site: Site
) -> None:
    coordinator = sign_in(s.COORDINATOR)
    coordinator.goto("/programs/new")
    coordinator.get_by_label("사업명").fill("알림 확인용 사업")
    coordinator.get_by_label("Paju City 요청 금액").fill("1000만")
    coordinator.get_by_role("button", name="제안 저장").click()
    coordinator.get_by_role("button", name="제출").click()
    pid = program_id(coordinator)
    city = sign_in(s.CITY_APPROVER)
    city.goto(f"/programs/{pid}")
    city.get_by_label("의견").fill("일정을 다시 확인해 주세요")
    city.get_by_role("button", name="보완 요청").click()

    coordinator.get_by_role("link", name="알림").click()
    message = coordinator.locator("ol.messages li", has_text="보완 요청: 알림 확인용 사업")
    expect(message).to_contain_text("읽지 않음")
    shot(coordinator, "11-messages")
    coordinator.get_by_role("button", name="모두 읽음으로 표시").click()
    expect(coordinator.locator("ol.messages li.unread")).to_have_count(0)

    coordinator.get_by_role("link", name="알림 받는 방법").click()
    updates = coordinator.get_by_label("사업 진행 소식: 이메일")
    updates.uncheck()
    coordinator.get_by_role("button", name="저장").click()
    expect(coordinator.get_by_label("사업 진행 소식: 이메일")).not_to_be_checked()
    for channel in ("이메일", "화면 알림"):  # decisions on one's programs can't be turned off
        coordinator.get_by_label(f"내 사업에 대한 결정: {channel}").uncheck()
    coordinator.get_by_role("button", name="저장").click()
    expect(coordinator.get_by_role("alert")).to_contain_text("알림은 끌 수 없습니다")
    coordinator.reload()
    expect(coordinator.get_by_label("내 사업에 대한 결정: 이메일")).to_be_checked()
    shot(coordinator, "12-preferences")
