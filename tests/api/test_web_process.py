"""The Procfile's processes for real, driven over TCP with httpx from create to funded.

Embedded: the ``web`` line alone (uvicorn, two workers) on a SQLite file, no broker; the
work after each step runs in-process. Deployment: ``honcho start`` runs ``web``,
``worker`` and ``relay`` on PostgreSQL and a Redis database of this file's own; the
worker places the holds once the relay publishes the submission.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from tests import support as s
from tests.api.helpers import PROGRAM
from tests.conftest import make_settings, redis_db
from workflow.adapters.database import engine_for, upgrade
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-02-02T09:00"
BROKER_URL = redis_db(12)
PEOPLE = [s.COORDINATOR, s.CITY_APPROVER, s.OE_APPROVER, s.CITY_OFFICER, s.OE_OFFICER]


def procfile_line(name: str) -> str:
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith(name))
    return line.removeprefix(f"{name}:").strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Web:
    base: str
    tokens: dict[str, str]
    log: Path

    def as_(self, who: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base + "/api/v1",
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
            timeout=30,
        )


def seeded(url: str) -> dict[str, str]:
    """The seeded people and a token for each."""
    bus = bootstrap(make_settings(url, now=NOW))
    s.seed(bus)
    tokens = {e: bus.handle(c.IssueToken(actor=None, email=e)).token for e in PEOPLE}
    engine_for(url).dispose()
    return tokens


def start(argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip


def stop(proc: subprocess.Popen[bytes]) -> None:
    """The whole process group: honcho and its children, uvicorn and its workers."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=30)
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "web did not become ready:\n" + log.read_text()
        time.sleep(0.2)


DEPLOYMENT = pytest.param("deployment", marks=[pytest.mark.postgres, pytest.mark.redis])


@pytest.fixture(params=["embedded", DEPLOYMENT])
def web(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Web]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOINTFLOW_")}
    env.update(
        JOINTFLOW_NOW=NOW,
        PORT=str(port),
        WEB_CONCURRENCY="2",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
    )
    log = tmp_path / "processes.log"
    if request.param == "embedded":
        url = f"sqlite:///{tmp_path / 'jointflow.db'}"
        upgrade(engine_for(url))
        argv = ["bash", "-c", "exec " + procfile_line("web")]
    else:
        url = request.getfixturevalue("postgres_url")
        redis.Redis.from_url(BROKER_URL).flushdb()
        env.update(
            JOINTFLOW_BROKER_URL=BROKER_URL,
            JOINTFLOW_OUTBOX_RELAY_INTERVAL="0.2",
        )
        shutil.copy(ROOT / "Procfile", tmp_path / "Procfile")
        argv = [sys.executable, "-m", "honcho", "start"]
    tokens = seeded(url)
    env["JOINTFLOW_DATABASE_URL"] = url
    # The Procfile binds 0.0.0.0; the test talks to it on the loopback.
    proc = start(argv, env, tmp_path, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc, log)
        yield Web(base, tokens, log)
    finally:
        stop(proc)


def state_becomes(client: httpx.Client, pid: int, state: str, log: Path) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while True:
        found: dict[str, object] = client.get(f"/programs/{pid}").json()
        if found["state"] == state:
            return found
        assert time.monotonic() < deadline, f"{found['state']} != {state}\n{log.read_text()}"
        time.sleep(0.1)


def test_the_web_process_drives_a_program_from_create_to_funded(web: Web) -> None:
    with web.as_(s.COORDINATOR) as coordinator:
        created = coordinator.post("/programs", json=PROGRAM, headers={"Idempotency-Key": "a"})
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        submitted = coordinator.post(f"/programs/{pid}/submit")
        assert submitted.status_code == 200, submitted.text
        # Embedded: held before the answer; deployment: once the worker has run.
        assert submitted.json()["state"] in ("submitted", "in_review"), submitted.text
        held = state_becomes(coordinator, pid, "in_review", web.log)
        assert held["holds"] == PROGRAM["requests"]
    for who in (s.CITY_APPROVER, s.OE_APPROVER):
        with web.as_(who) as approver:
            tag = approver.get(f"/programs/{pid}").headers["etag"]
            decided = approver.post(
                f"/programs/{pid}/decisions", json={"decision": "approve"},
                headers={"If-Match": tag},
            )  # fmt: skip
            assert decided.status_code == 200, decided.text
    assert decided.json()["state"] == "approved"
    for who in (s.CITY_OFFICER, s.OE_OFFICER):
        with web.as_(who) as officer:
            funded = officer.post(f"/programs/{pid}/commitments")
            assert funded.status_code == 200, funded.text
    assert funded.json()["state"] == "funded"
    assert funded.json()["committed"] == PROGRAM["requests"]
    with web.as_(s.CITY_OFFICER) as officer:
        kinds = [e["kind"] for e in officer.get(f"/programs/{pid}/ledger").json()]
    assert kinds.count("hold") == 2 and kinds.count("commit") == 2, kinds
