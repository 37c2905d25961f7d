"""The admins' people page in the browser (issue 16): the admin deactivates a signed-in
evaluator (whose session ends at once and who cannot sign in again), reactivates them,
changes a deputy's roles and language and renames an organization; a refusal is shown
on the page; a coordinator is refused the page and sees no link to it. axe-core finds
no serious violation, in Korean and in English."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests import support as s
from tests.api.helpers import CITY_EVALUATOR, DEPUTY
from tests.web.conftest import PASSWORD, shot
from tests.web.test_accessibility import assert_accessible

Open = Callable[..., Page]


def test_an_admin_deactivates_reactivates_and_changes_people(sign_in: Open) -> None:
    evaluator = sign_in(CITY_EVALUATOR)
    admin = sign_in(s.ADMIN)
    admin.get_by_role("link", name="사용자와 기관").click()
    expect(admin.locator("h1")).to_have_text("사용자와 기관")
    assert_accessible(admin)
    shot(admin, "people-01-page")

    person = admin.locator(f"tr[data-email='{CITY_EVALUATOR}']")
    person.get_by_role("button", name="사용 중지").click()
    person = admin.locator(f"tr[data-email='{CITY_EVALUATOR}']")
    expect(person).to_contain_text("사용 중지됨")
    expect(person.get_by_role("button", name="다시 사용")).to_be_visible()
    shot(admin, "people-02-deactivated")

    evaluator.goto("/inbox")
    evaluator.wait_for_url("**/login**")  # the session ended with the deactivation
    evaluator.get_by_label("이메일").fill(CITY_EVALUATOR)
    evaluator.get_by_label("비밀번호").fill(PASSWORD)
    evaluator.get_by_role("button", name="로그인").click()
    expect(evaluator.get_by_role("alert")).to_contain_text("사용이 중지된 계정입니다")

    admin.locator(f"tr[data-email='{CITY_EVALUATOR}']").get_by_role(
        "button", name="다시 사용"
    ).click()
    expect(admin.locator(f"tr[data-email='{CITY_EVALUATOR}']")).to_contain_text("사용 중")

    deputy = admin.locator(f"tr[data-email='{DEPUTY}']")
    deputy.get_by_label("부서장").check()
    deputy.get_by_role("button", name="역할 저장").click()
    expect(admin.locator(f"tr[data-email='{DEPUTY}']").get_by_label("부서장")).to_be_checked()
    admin.locator(f"tr[data-email='{DEPUTY}'] select").select_option("en")
    admin.locator(f"tr[data-email='{DEPUTY}']").get_by_role("button", name="언어 저장").click()
    expect(admin.locator(f"tr[data-email='{DEPUTY}'] select")).to_have_value("en")

    admin.locator("#name-paju-youth").fill("파주시청소년센터")
    admin.locator("#org-paju-youth").get_by_role("button", name="이름 변경").click()
    expect(admin.locator("#org-paju-youth-h")).to_contain_text("파주시청소년센터")

    # A refusal: no role left at all.
    deputy = admin.locator(f"tr[data-email='{DEPUTY}']")
    for role in ("승인 담당자", "부서장"):
        deputy.get_by_label(role).uncheck()
    deputy.get_by_role("button", name="역할 저장").click()
    expect(admin.get_by_role("alert")).to_contain_text("none given")
    assert_accessible(admin)
    shot(admin, "people-03-refused")


def test_the_page_in_english_is_accessible(sign_in: Open) -> None:
    admin = sign_in(s.ADMIN)
    admin.context.add_cookies([{"name": "jf_lang", "value": "en", "url": admin.url}])
    admin.goto("/people")
    expect(admin.locator("h1")).to_have_text("People and organizations")
    assert_accessible(admin)


def test_a_coordinator_has_no_people_page(sign_in: Open) -> None:
    coordinator = sign_in(s.COORDINATOR)
    expect(coordinator.get_by_role("link", name="사용자와 기관")).to_have_count(0)
    response = coordinator.goto("/people")
    assert response is not None and response.status == 403
    expect(coordinator.get_by_role("alert")).to_contain_text("admin")
