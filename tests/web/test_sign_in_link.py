"""Signing in by a link mailed to the person, in Chromium, with the app's mail going to
a real SMTP server (aiosmtpd): the link arrives in Korean, signs in once, and the form
tells nobody who has an account. Where no SMTP server is configured, nothing offers a
link."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from email.message import EmailMessage

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests import support as s
from tests.conftest import make_settings
from tests.mail_sink import Sink, smtp_server, text_of
from tests.web.conftest import PEOPLE, Site, serve, shot
from tests.web.test_accessibility import assert_accessible
from workflow.adapters.database import engine_for, upgrade
from workflow.bootstrap import bootstrap

LINK = re.compile(r"(http://\S+/login/link/open#jf_[A-Za-z0-9_-]{43})")


@pytest.fixture(scope="module")
def mail() -> Iterator[Sink]:
    with smtp_server() as (sink, port):
        sink.port = port  # type: ignore[attr-defined]
        yield sink


@pytest.fixture(scope="module")
def mailing_site(tmp_path_factory: pytest.TempPathFactory, mail: Sink) -> Iterator[Site]:
    """The seeded directory served by a process that mails through ``mail`` (the real
    clock: a link lives 15 real minutes)."""
    folder = tmp_path_factory.mktemp("mailing-site")
    url = f"sqlite:///{folder / 'jointflow.db'}"
    upgrade(engine_for(url))
    s.seed(bootstrap(make_settings(url)))
    engine_for(url).dispose()
    port = str(mail.port)  # type: ignore[attr-defined]
    yield from serve(url, folder, None, {"JOINTFLOW_SMTP_HOST": "127.0.0.1",
                                          "JOINTFLOW_SMTP_PORT": port,
                                          "JOINTFLOW_BASE_URL": "http://127.0.0.1:9"})  # fmt: skip


def mails_to(sink: Sink, email: str, count: int, timeout: float = 20) -> list[EmailMessage]:
    deadline = time.monotonic() + timeout
    while len(sink.to(email)) < count:
        assert time.monotonic() < deadline, f"{len(sink.to(email))} mails to {email}"
        time.sleep(0.1)
    return sink.to(email)


def ask_for_link(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_role("link", name="메일로 로그인 링크 받기").click()
    page.get_by_label("이메일").fill(email)
    page.get_by_role("button", name="링크 보내기").click()
    expect(page.get_by_role("status")).to_contain_text("로그인 링크를 보냈습니다")


def test_a_mailed_link_signs_in_once(mailing_site: Site, mail: Sink, browser: Browser) -> None:
    context = browser.new_context(base_url=mailing_site.base, locale="ko-KR")
    page = context.new_page()
    ask_for_link(page, s.OE_APPROVER)
    assert_accessible(page)
    shot(page, "sign-in-link-sent")
    (sent,) = mails_to(mail, s.OE_APPROVER, 1)
    assert sent["Subject"] == "[jointflow] 로그인 링크"
    body = text_of(sent)
    assert "15분 동안 한 번만" in body
    link = LINK.search(body)
    assert link, body
    # The mail links to JOINTFLOW_BASE_URL; this test's server is on another port.
    opened = mailing_site.base + link.group(1).split("127.0.0.1:9", 1)[1]

    page.goto(opened)
    assert "#" not in page.url  # the secret left the address bar and the history
    assert_accessible(page)
    shot(page, "sign-in-link-open")
    page.get_by_role("button", name="로그인").click()
    page.wait_for_url("**/inbox")
    expect(page.get_by_text("approver 님")).to_be_visible()

    again = browser.new_context(base_url=mailing_site.base, locale="ko-KR").new_page()
    again.goto(opened)
    again.get_by_role("button", name="로그인").click()
    expect(again.get_by_role("alert")).to_contain_text("만료되었거나 이미 사용")
    assert "/login" in again.url
    again.context.close()
    context.close()


def test_an_unknown_address_is_told_the_same_and_mailed_nothing(
    mailing_site: Site, mail: Sink, browser: Browser
) -> None:
    context = browser.new_context(base_url=mailing_site.base, locale="ko-KR")
    page = context.new_page()
    ask_for_link(page, "nobody@nowhere.kr")
    ask_for_link(page, s.CITY_OFFICER)  # a known one after it: its mail arrives,
    mails_to(mail, s.CITY_OFFICER, 1)  # so the unknown one had its chance to
    assert not mail.to("nobody@nowhere.kr")
    page.goto("/login/link/open")  # a link with its secret cut off
    expect(page.get_by_role("alert")).to_contain_text("링크가 온전하지 않습니다")
    context.close()


def test_no_link_is_offered_without_mail(site: Site) -> None:
    assert "/login/link" not in httpx.get(site.base + "/login").text
    assert httpx.get(site.base + "/login/link").status_code == 404
    assert PEOPLE  # the pages' usual site: seeded, no SMTP server
