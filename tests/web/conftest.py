"""The pages in a real browser: Debian's Chromium driven by Playwright, against the app
served by a real uvicorn process on a seeded SQLite file.

Each test module gets its own database and server; each person signs in through the
sign-in page like anyone would. Screenshots go to ``build/screenshots/`` (or
``JOINTFLOW_TEST_ARTIFACTS``) so a run can be looked at afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests import support as s
from tests.api.helpers import CITY_EVALUATOR, EXTRA_USERS
from tests.api.test_web_process import free_port, stop
from tests.conftest import make_settings
from workflow.adapters.database import engine_for, upgrade
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NOW = "2026-02-02T09:00"
PASSWORD = "paju-2026-pages"
ARTIFACTS = Path(os.environ.get("JOINTFLOW_TEST_ARTIFACTS", ROOT / "build" / "screenshots"))
PEOPLE = [s.COORDINATOR, s.OTHER_COORDINATOR, s.CITY_APPROVER, s.OE_APPROVER, s.CITY_OFFICER,
          s.OE_OFFICER, s.ADMIN, CITY_EVALUATOR]  # fmt: skip


class Site:
    def __init__(self, base: str, url: str) -> None:
        self.base = base
        self.database_url = url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A seeded database, everyone's password set, and uvicorn serving it."""
    folder = tmp_path_factory.mktemp("site")
    url = f"sqlite:///{folder / 'jointflow.db'}"
    upgrade(engine_for(url))
    bus = bootstrap(make_settings(url, now=NOW))
    s.seed(bus)
    for email, org, roles in EXTRA_USERS:
        bus.handle(c.AddUser(actor=None, email=email, name=email.split("@")[0], org=org,
                             roles=roles))  # fmt: skip
    for email in PEOPLE:
        bus.handle(c.SetPassword(actor=None, email=email, password=PASSWORD))
    engine_for(url).dispose()
    yield from serve(url, folder, NOW)


def serve(
    url: str, folder: Path, now: str | None, settings: dict[str, str] | None = None
) -> Iterator[Site]:
    """uvicorn serving ``url`` (``now``: JOINTFLOW_NOW, None for the real clock;
    ``settings``: more JOINTFLOW_* for the process)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOINTFLOW_")}
    env.update(JOINTFLOW_DATABASE_URL=url, JOINTFLOW_SECRET_KEY="s" * 48,
               XDG_DATA_HOME=str(folder), **(settings or {}))  # fmt: skip
    if now:
        env["JOINTFLOW_NOW"] = now
    log = folder / "uvicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "workflow.entrypoints.api:app", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield Site(base, url)
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module: Playwright's sync API keeps an event loop running in
    this thread until it stops, and a later test's ``asyncio.run`` would find it."""
    with sync_playwright() as p:
        # As root (CI) Chromium needs --no-sandbox; the pages are our own.
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox"])  # fmt: skip
        yield launched
        launched.close()


@pytest.fixture
def sign_in(site: Site, browser: Browser) -> Iterator[Callable[[str], Page]]:
    """A fresh browser (its own cookies) per person, signed in through the form."""
    contexts: list[BrowserContext] = []

    def open_as(email: str, password: str = PASSWORD) -> Page:
        context = browser.new_context(base_url=site.base, locale="ko-KR")
        contexts.append(context)
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("이메일").fill(email)
        page.get_by_label("비밀번호").fill(password)
        page.get_by_role("button", name="로그인").click()
        page.wait_for_url("**/inbox")
        return page

    yield open_as
    for context in contexts:
        context.close()


def http_as(site: Site, email: str) -> httpx.Client:
    """An HTTP client signed in through the sign-in form (its CSRF cookie and token
    first), for what a browser would download rather than show."""
    client = httpx.Client(base_url=site.base, timeout=30)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    form_data = {"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
    signed = client.post("/login", data={**form_data, "next": "/inbox"})
    assert signed.status_code == 303 and signed.headers["location"] == "/inbox", signed.text
    return client


def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def browser_page(site: Site, browser: Browser) -> Iterator[Page]:
    """A browser nobody signed in to."""
    context = browser.new_context(base_url=site.base, locale="ko-KR")
    yield context.new_page()
    context.close()
