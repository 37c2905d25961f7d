"""The deployment path for real: PostgreSQL, Redis and ``celery`` worker and relay processes.

Commands go through a bus built with a broker URL, so the request path only writes
outbox rows; the relay (the Procfile's ``relay`` process, or the test calling
``relay_once``) publishes them to Redis and a separate ``celery -A tasks.app worker``
process places the holds. Nothing is mocked. Every subprocess runs in its own
process group and is killed with it when the test ends.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import pytest
import redis
from sqlalchemy import Connection, func, select, text

from config.celery import make_celery
from config.settings import Settings
from tests import support as s
from tests.conftest import REDIS_URL
from workflow.adapters.database import engine_for
from workflow.adapters.orm import (
    envelopes,
    events,
    ledger_entries,
    outbox,
    program_requests,
    programs,
)
from workflow.adapters.relay import OutboxRelay
from workflow.bootstrap import bootstrap, make_relay
from workflow.service_layer.handlers import PLACE_HOLDS
from workflow.service_layer.messagebus import MessageBus

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0
REDELIVER_SECONDS = 2
QUEUE = "celery"  # Celery's default queue: the Redis list the relay publishes to


class Processes:
    """Celery subprocesses of one test: started in their own session, always stopped."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = self.tmp_path / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                argv,
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append((proc, log))
        return proc

    def worker(self, name: str, concurrency: int = 2) -> subprocess.Popen[bytes]:
        return self.start(
            name,
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tasks.app",
                "worker",
                "--loglevel=INFO",
                f"--concurrency={concurrency}",
                *self.worker_options(name),
            ],
        )

    @staticmethod
    def worker_options(name: str) -> list[str]:
        # A unique node name; no mingle/gossip so startup does not wait for other nodes.
        return [
            "-n",
            f"jf-{name}-{uuid.uuid4().hex[:8]}@%h",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ]

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the whole group (the worker and its pool children): a machine dying."""
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=TIMEOUT)

    def stop_all(self) -> None:
        for proc, _log in self.started:
            if proc.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc, _log in self.started:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill(proc)
            with suppress(ProcessLookupError):  # pool children that outlived their parent
                os.killpg(proc.pid, signal.SIGKILL)

    def check_alive(self) -> None:
        for proc, log in self.started:
            code = proc.poll()
            if code is not None and code != -signal.SIGKILL:
                raise AssertionError(f"{log.stem} exited with {code}:\n{self.tail(log)}")

    def logs(self) -> str:
        return "\n".join(f"--- {log.stem} ---\n{self.tail(log)}" for _p, log in self.started)

    @staticmethod
    def tail(log: Path, lines: int = 40) -> str:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    """Redis db 15, emptied before and after: no stale messages from another run."""
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def procs(tmp_path: Path, postgres_url: str, broker: redis.Redis) -> Iterator[Processes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOINTFLOW_")}
    env.update(
        {
            "JOINTFLOW_DATABASE_URL": postgres_url,
            "JOINTFLOW_BROKER_URL": REDIS_URL,
            "JOINTFLOW_OUTBOX_REDELIVER_SECONDS": str(REDELIVER_SECONDS),
            "JOINTFLOW_OUTBOX_RELAY_INTERVAL": "0.5",
            "JOINTFLOW_WORKER_CONCURRENCY": "2",
            "PYTHONUNBUFFERED": "1",
        }
    )
    processes = Processes(tmp_path, env)
    try:
        yield processes
    finally:
        processes.stop_all()


def deployed(url: str, **overrides: object) -> Settings:
    """Settings of a deployment: this database, the Redis broker, quick re-sends."""
    return Settings(
        database_url=url,
        broker_url=REDIS_URL,
        auto_migrate=False,
        outbox_redeliver_seconds=REDELIVER_SECONDS,
        **overrides,
    )  # type: ignore[arg-type]


def deployed_bus(url: str) -> MessageBus:
    return bootstrap(deployed(url))


def relay_for(url: str, batch_size: int = 500) -> OutboxRelay:
    return make_relay(deployed(url, outbox_batch_size=batch_size))


def wait_until(
    what: str,
    condition: Callable[[], bool],
    procs: Processes,
    tick: Callable[[], object] | None = None,
    timeout: float = TIMEOUT,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tick is not None:
            tick()
        if condition():
            return
        procs.check_alive()
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{procs.logs()}")


def procfile_command(process: str, env: dict[str, str]) -> list[str]:
    """The Procfile's line for ``process``, its ${VAR:-default}s expanded, run by this Python."""
    for line in (REPO / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            expanded = re.sub(
                r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m.group(1), m.group(2)), command
            )
            argv = shlex.split(expanded)
            if argv[0] == "python":
                return [sys.executable, *argv[1:]]
            assert argv[0] == "celery", f"Procfile {process} runs neither celery nor python"
            return [sys.executable, "-m", "celery", *argv[1:]]
    raise AssertionError(f"Procfile has no {process} process")


# -- reading the database --


def states(url: str) -> Counter[str]:
    with engine_for(url).connect() as conn:
        return Counter(
            dict(
                conn.execute(
                    select(programs.c.state, func.count()).group_by(programs.c.state)
                ).all()
            )
        )


def outbox_undone(url: str) -> int:
    with engine_for(url).connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(outbox).where(outbox.c.done_at.is_(None))
            ).scalar_one()
        )


def settled(url: str) -> bool:
    return states(url)["submitted"] == 0 and outbox_undone(url) == 0


def assert_money_adds_up(url: str) -> dict[int, dict[str, int]]:
    """One hold entry per (program, party) held, and every balance equal to its entries."""
    with engine_for(url).connect() as conn:
        holds = conn.execute(
            select(ledger_entries.c.program_id, envelopes.c.party, ledger_entries.c.amount)
            .join(envelopes, envelopes.c.id == ledger_entries.c.envelope_id)
            .where(ledger_entries.c.kind == "hold")
        ).all()
        kinds = set(conn.scalars(select(ledger_entries.c.kind).distinct()))
        per_pair = Counter((r.program_id, r.party) for r in holds)
        assert max(per_pair.values(), default=1) == 1, f"doubled holds: {per_pair}"
        assert kinds <= {"hold"}, f"unexpected ledger entries: {kinds}"
        held: dict[int, dict[str, int]] = {}
        for r in holds:
            held.setdefault(r.program_id, {})[r.party] = int(r.amount)
        for req in conn.execute(select(program_requests)):
            assert req.held == held.get(req.program_id, {}).get(req.party, 0), req
        for env in conn.execute(select(envelopes)):
            assert env.held == sum(r.amount for r in holds if r.party == env.party), env
            assert env.amount - env.held - env.committed >= 0, env
        requested = {}
        for req in conn.execute(select(program_requests)):
            requested.setdefault(req.program_id, {})[req.party] = int(req.amount)
        for program_id, state in conn.execute(select(programs.c.id, programs.c.state)):
            expected = requested[program_id] if state == "in_review" else {}
            assert held.get(program_id, {}) == expected, (program_id, state)
        return held


def event_counts(conn: Connection, event_type: str) -> Counter[str]:
    return Counter(conn.scalars(select(events.c.stream).where(events.c.type == event_type)))


def assert_audit_chain_holds(bus: MessageBus) -> None:
    checked, broken = bus.query(lambda uow: uow.events.verify())
    assert broken is None, broken.describe()
    assert checked > 0


# -- the tests --


def test_procfile_worker_and_relay_take_submitted_programs_into_review_with_one_hold_each(
    postgres_url: str, procs: Processes, broker: redis.Redis
) -> None:
    bus = deployed_bus(postgres_url)
    s.seed(bus)
    ids = [
        s.submitted(bus, city=10_000_000 * (i + 1), education_office=5_000_000) for i in range(8)
    ]

    # The request path wrote outbox rows and published nothing: Redis is still empty.
    assert states(postgres_url) == Counter({"submitted": 8})
    assert broker.llen(QUEUE) == 0
    with engine_for(postgres_url).connect() as conn:
        assert (
            conn.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_not(None))
            )
            == 0
        )

    procs.start(
        "worker", procfile_command("worker", procs.env) + Processes.worker_options("procfile")
    )
    procs.start("relay", procfile_command("relay", procs.env))
    wait_until("the relay and the worker to place every hold", lambda: settled(postgres_url), procs)

    assert states(postgres_url) == Counter({"in_review": 8})
    held = assert_money_adds_up(postgres_url)
    assert held == {
        pid: {"city": 10_000_000 * (i + 1), "education_office": 5_000_000}
        for i, pid in enumerate(ids)
    }
    with engine_for(postgres_url).connect() as conn:
        assert set(event_counts(conn, "BudgetHeld").values()) == {2}
    assert_audit_chain_holds(bus)


def test_worker_killed_mid_run_loses_and_doubles_nothing(
    postgres_url: str, procs: Processes
) -> None:
    bus = deployed_bus(postgres_url)
    s.seed(bus)  # the city's 1.93 bn holds 24 programs of 80 m; the rest must wait
    ids = [s.submitted(bus) for _ in range(40)]
    relay = relay_for(postgres_url, batch_size=10)
    engine = engine_for(postgres_url)

    first = procs.worker("first")
    relay.relay_once()
    wait_until(
        "the first worker to place some holds",
        lambda: len(ids) - states(postgres_url)["submitted"] >= 3,
        procs,
    )

    # Hold the city envelope's row lock so the worker's next tasks stop half way
    # through their transactions, then kill the worker while they wait.
    with engine.connect() as blocker:
        blocker.execute(select(envelopes.c.id).where(envelopes.c.party == "city").with_for_update())
        relay.relay_once()
        wait_until(
            "a worker transaction to wait on the envelope lock",
            lambda: _waiting_on_locks(postgres_url) >= 1,
            procs,
        )
        procs.kill(first)
        blocker.rollback()
    killed_at = states(postgres_url)
    assert 0 < killed_at["submitted"] < len(ids)

    procs.worker("second")
    wait_until(
        "the second worker and the relay's re-sends to finish everything",
        lambda: settled(postgres_url),
        procs,
        tick=relay.sweep,
    )

    assert states(postgres_url) == Counter({"in_review": 24, "waitlisted": 16})
    assert_money_adds_up(postgres_url)
    with engine.connect() as conn:
        in_review = set(conn.scalars(select(programs.c.id).where(programs.c.state == "in_review")))
        held_events = event_counts(conn, "BudgetHeld")
        assert held_events == Counter({f"program:{pid}": 2 for pid in in_review})
        unavailable = event_counts(conn, "BudgetUnavailable")
        assert unavailable == Counter({f"program:{pid}": 1 for pid in set(ids) - in_review})
        resent = conn.scalar(select(func.count()).select_from(outbox).where(outbox.c.attempts > 1))
    assert resent, "the relay never re-sent what the killed worker had taken"
    assert_audit_chain_holds(bus)


def test_the_same_message_delivered_twice_holds_once(postgres_url: str, procs: Processes) -> None:
    bus = deployed_bus(postgres_url)
    s.seed(bus)
    program_id = s.submitted(bus)
    with engine_for(postgres_url).connect() as conn:
        outbox_id = conn.scalar(select(outbox.c.id).where(outbox.c.task == PLACE_HOLDS))
    celery_app = make_celery(deployed(postgres_url))
    sent = [celery_app.send_task(PLACE_HOLDS, kwargs={"outbox_id": outbox_id}) for _ in range(2)]

    procs.worker("dup")  # two pool processes: both copies may run at the same time
    wait_until("both deliveries to succeed", lambda: _succeeded(procs, [r.id for r in sent]), procs)
    late = celery_app.send_task(PLACE_HOLDS, kwargs={"outbox_id": outbox_id})
    wait_until("a late third delivery to succeed", lambda: _succeeded(procs, [late.id]), procs)

    assert states(postgres_url) == Counter({"in_review": 1})
    assert assert_money_adds_up(postgres_url) == {
        program_id: {"city": 80_000_000, "education_office": 20_000_000}
    }
    with engine_for(postgres_url).connect() as conn:
        assert event_counts(conn, "BudgetHeld") == Counter({f"program:{program_id}": 2})
        assert event_counts(conn, "ReviewStarted") == Counter({f"program:{program_id}": 1})
    assert_audit_chain_holds(bus)


def _waiting_on_locks(url: str) -> int:
    with engine_for(url).connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )


def _succeeded(procs: Processes, task_ids: list[str]) -> bool:
    text_ = "".join(log.read_text(errors="replace") for _p, log in procs.started)
    return all(re.search(rf"\[{re.escape(tid)}\] succeeded", text_) for tid in task_ids)
