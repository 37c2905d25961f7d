"""The Procfile's ``web`` process for real: uvicorn with two workers on the embedded
default (a SQLite file, no broker), driven over TCP with httpx from create to funded."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import support as s
from tests.api.helpers import PROGRAM
from tests.conftest import make_settings
from workflow.adapters.database import engine_for, upgrade
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-02-02T09:00"


def web_command() -> str:
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web:"))
    return line.removeprefix("web:").strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The seeded database, a token per person, and the web process serving them."""
    url = f"sqlite:///{tmp_path / 'jointflow.db'}"
    upgrade(engine_for(url))
    bus = bootstrap(make_settings(url, now=NOW))
    s.seed(bus)
    people = [s.COORDINATOR, s.CITY_APPROVER, s.OE_APPROVER, s.CITY_OFFICER, s.OE_OFFICER]
    tokens = {e: bus.handle(c.IssueToken(actor=None, email=e)).token for e in people}
    engine_for(url).dispose()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOINTFLOW_")}
    env.update(
        JOINTFLOW_DATABASE_URL=url,
        JOINTFLOW_NOW=NOW,
        PORT=str(port),
        WEB_CONCURRENCY="2",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    # The Procfile binds 0.0.0.0; the test talks to it on the loopback.
    proc = subprocess.Popen(["bash", "-c", "exec " + web_command()], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "web did not become ready"
            time.sleep(0.2)
        yield base, tokens
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_web_process_drives_a_program_from_create_to_funded(
    web: tuple[str, dict[str, str]],
) -> None:
    base, tokens = web

    def as_(who: str) -> httpx.Client:
        return httpx.Client(
            base_url=base + "/api/v1", headers={"Authorization": f"Bearer {tokens[who]}"},
            timeout=30,
        )  # fmt: skip

    with as_(s.COORDINATOR) as coordinator:
        created = coordinator.post("/programs", json=PROGRAM, headers={"Idempotency-Key": "a"})
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        submitted = coordinator.post(f"/programs/{pid}/submit")
        assert submitted.json()["state"] == "in_review", submitted.text
    for who in (s.CITY_APPROVER, s.OE_APPROVER):
        with as_(who) as approver:
            tag = approver.get(f"/programs/{pid}").headers["etag"]
            decided = approver.post(
                f"/programs/{pid}/decisions", json={"decision": "approve"},
                headers={"If-Match": tag},
            )  # fmt: skip
            assert decided.status_code == 200, decided.text
    assert decided.json()["state"] == "approved"
    for who in (s.CITY_OFFICER, s.OE_OFFICER):
        with as_(who) as officer:
            funded = officer.post(f"/programs/{pid}/commitments")
            assert funded.status_code == 200, funded.text
    assert funded.json()["state"] == "funded"
    assert funded.json()["committed"] == PROGRAM["requests"]
