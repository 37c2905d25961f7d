"""After `jointflow demo`, the web pages on the demo's database: a demo person signs in
with the password the demo printed and acts on what the demo left open."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.runner import run_in_process
from tests.web.conftest import Site, serve, shot
from workflow.entrypoints import demo_data as d


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("demo")
    played = run_in_process(["demo"], {"XDG_DATA_HOME": str(folder)})
    assert played.code == 0, played.err
    assert f"password is {d.PASSWORD}" in played.out
    yield from serve(f"sqlite:///{folder / 'jointflow' / 'jointflow.db'}", folder, None)


def test_a_demo_approver_signs_in_and_decides_a_waiting_review(
    sign_in: Callable[..., Page],
) -> None:
    approver = sign_in(d.APPROVERS["city"], d.PASSWORD)
    reviews = approver.locator("tbody tr", has_text="검토")
    expect(reviews).to_have_count(2)  # the third the city approved already
    shot(approver, "20-demo-approver-my-work")
    reviews.first.get_by_role("link").click()
    approver.get_by_role("button", name="승인", exact=True).click()
    expect(approver.locator("h1")).to_contain_text("검토 중")  # the Office of Education next
    name = next(name for email, name, _, _ in d.PEOPLE if email == d.APPROVERS["city"])
    expect(approver.get_by_role("region", name="기관별 결정")).to_contain_text(
        f"{name}(파주시 Paju City)"  # the person, named with their organization
    )
    shot(approver, "21-demo-program-after-approval")
