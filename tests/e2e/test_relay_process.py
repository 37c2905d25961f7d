"""The relay process's faults, for real: PostgreSQL, Redis, the Procfile's ``relay`` and a
``celery`` worker, nothing mocked.

- A command's effect arrives with the relay woken by its commit: no beat, and the
  relay's own sweep set far beyond the test's patience.
- With no worker running nothing piles up in Redis: each command's message waits there
  once (re-sent only when the queue is empty, i.e. lost), plus at most one due-work
  sweep; a worker started later carries every message out once.
- A relay killed after handing a batch to Redis but before its commit (its marks roll
  back) leaves the rest to the next relay's sweep; nothing is done twice.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy import func, select, text

from config.celery import SWEEP_TASK
from config.settings import Settings
from tests import support as s
from tests.conftest import redis_db
from tests.e2e.test_worker import (
    Processes,
    assert_audit_chain_holds,
    assert_money_adds_up,
    event_counts,
    procfile_command,
    settled,
    states,
    wait_until,
)
from workflow.adapters.database import engine_for
from workflow.adapters.orm import outbox
from workflow.adapters.outbox import WAKE_CHANNEL
from workflow.adapters.relay_process import DueWorkTrigger
from workflow.bootstrap import bootstrap, make_relay, make_sweep_gate
from workflow.service_layer.messagebus import MessageBus

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

BROKER_URL = redis_db(11)  # test_web_process.py has 12, test_worker.py 15
QUEUE = "celery"


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(BROKER_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def env_of(url: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOINTFLOW_")}
    env.update(
        {
            "JOINTFLOW_DATABASE_URL": url,
            "JOINTFLOW_BROKER_URL": BROKER_URL,
            "JOINTFLOW_WORKER_CONCURRENCY": "2",
            "PYTHONUNBUFFERED": "1",
            **{f"JOINTFLOW_{k.upper()}": v for k, v in settings.items()},
        }
    )
    return env


@pytest.fixture
def procs(tmp_path: Path, postgres_url: str, broker: redis.Redis) -> Iterator[Processes]:
    processes = Processes(tmp_path, env_of(postgres_url))
    try:
        yield processes
    finally:
        processes.stop_all()


def command_bus(url: str) -> MessageBus:
    """The request path of a deployment: its commits wake the relay."""
    return bootstrap(Settings(database_url=url, broker_url=BROKER_URL, auto_migrate=False))  # type: ignore[call-arg]


def start(procs: Processes, name: str) -> None:
    argv = procfile_command(name, procs.env)
    if name == "worker":
        argv += Processes.worker_options(name)
    procs.start(name, argv)


def logged(procs: Processes, name: str, line: str) -> bool:
    return any(
        line in log.read_text(errors="replace") for _p, log in procs.started if log.stem == name
    )


def published(url: str) -> int:
    with engine_for(url).connect() as conn:
        query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_not(None))
        return int(conn.execute(query).scalar_one())


def written(url: str) -> int:
    with engine_for(url).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())


def assert_each_held_once(url: str, bus: MessageBus, ids: list[int]) -> None:
    assert states(url) == Counter({"in_review": len(ids)})
    assert_money_adds_up(url)
    with engine_for(url).connect() as conn:
        assert event_counts(conn, "BudgetHeld") == Counter({f"program:{p}": 2 for p in ids})
        assert event_counts(conn, "ReviewStarted") == Counter({f"program:{p}": 1 for p in ids})
    assert_audit_chain_holds(bus)


def test_a_commands_effect_arrives_at_once_with_no_beat_and_no_sweep_due(
    postgres_url: str, procs: Processes
) -> None:
    procs.env.update(JOINTFLOW_OUTBOX_RELAY_INTERVAL="600", JOINTFLOW_SWEEP_INTERVAL="600")
    bus = command_bus(postgres_url)
    s.seed(bus)
    start(procs, "worker")
    start(procs, "relay")
    wait_until("the worker to be ready", lambda: logged(procs, "worker", "ready."), procs)
    wait_until("the relay to listen", lambda: logged(procs, "relay", "relay ready"), procs)
    time.sleep(0.5)  # the relay's first sweep, at start, is over: from now on only NOTIFY wakes it

    ids, waits = [], []
    for _ in range(3):
        ids.append(s.submitted(bus))
        began = time.monotonic()
        wait_until("the holds", lambda: states(postgres_url)["submitted"] == 0, procs, timeout=20)
        waits.append(time.monotonic() - began)

    assert max(waits) < 10, waits  # the relay's sweep would come after 600 s
    assert_each_held_once(postgres_url, bus, ids)


def test_with_no_worker_nothing_piles_up_in_redis_and_a_worker_started_later_does_all_once(
    postgres_url: str, procs: Processes, broker: redis.Redis
) -> None:
    procs.env.update(
        JOINTFLOW_OUTBOX_RELAY_INTERVAL="0.2",
        JOINTFLOW_SWEEP_INTERVAL="0.2",
        JOINTFLOW_OUTBOX_REDELIVER_SECONDS="1",
    )
    bus = command_bus(postgres_url)
    s.seed(bus)
    start(procs, "relay")
    ids = [s.submitted(bus) for _ in range(5)]
    wait_until(
        "every message published",
        lambda: published(postgres_url) == written(postgres_url),
        procs,
    )

    # Fifteen sweeps of the outbox and of due work, three re-delivery deadlines: each
    # message waits once (notices a group to a Celery message), with one due-work sweep.
    time.sleep(3)
    waiting = broker.llen(QUEUE)
    time.sleep(2)
    assert broker.llen(QUEUE) == waiting, procs.logs()
    assert queued_ids(broker) == published_ids(postgres_url), procs.logs()

    start(procs, "worker")
    wait_until("the worker to do everything", lambda: settled(postgres_url), procs)
    wait_until("the queue to drain", lambda: broker.llen(QUEUE) == 0, procs)
    assert_each_held_once(postgres_url, bus, ids)


def queued_ids(broker: redis.Redis) -> list[int]:
    """The outbox ids the Celery messages waiting in the queue carry, sorted (a sweep's
    message carries none)."""
    ids = []
    for raw in broker.lrange(QUEUE, 0, -1):
        _, kwargs, _ = json.loads(base64.b64decode(json.loads(raw)["body"]))
        ids += [kwargs["outbox_id"]] if "outbox_id" in kwargs else kwargs.get("outbox_ids", [])
    return sorted(ids)


def published_ids(url: str) -> list[int]:
    with engine_for(url).connect() as conn:
        found = conn.scalars(select(outbox.c.id).where(outbox.c.published_at.is_not(None)))
        return sorted(int(i) for i in found)


BRAKE = """
CREATE TABLE relay_brake (engaged boolean);
CREATE FUNCTION relay_brake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM relay_brake) THEN PERFORM pg_sleep(120); END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER relay_brake AFTER UPDATE OF published_at ON outbox
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relay_brake();
INSERT INTO relay_brake VALUES (true);
"""


def test_a_relay_killed_between_publishing_and_committing_leaves_the_rest_to_the_sweep(
    postgres_url: str, procs: Processes, broker: redis.Redis
) -> None:
    procs.env.update(
        JOINTFLOW_OUTBOX_BATCH_SIZE="3",
        JOINTFLOW_OUTBOX_RELAY_INTERVAL="0.3",
        JOINTFLOW_SWEEP_INTERVAL="600",
        JOINTFLOW_OUTBOX_REDELIVER_SECONDS="2",
    )
    bus = command_bus(postgres_url)
    s.seed(bus)
    engine = engine_for(postgres_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM outbox"))  # seeding's retries: only holds below
        conn.exec_driver_sql(BRAKE)  # a commit of the relay's marks now hangs
    ids = [s.submitted(bus) for _ in range(9)]

    start(procs, "relay")
    # Its first batch is in Redis; its COMMIT hangs, then the machine dies.
    wait_until("a batch in Redis", lambda: broker.llen(QUEUE) >= 3, procs)
    wait_until("the relay's commit to hang", lambda: _sleeping(postgres_url) == 1, procs)
    relay = procs.started[-1][0]
    procs.kill(relay)
    with engine.begin() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event = 'PgSleep'"
            )
        )
        conn.execute(text("DELETE FROM relay_brake"))
    wait_until("the hung commit to roll back", lambda: _sleeping(postgres_url) == 0, procs)
    assert published(postgres_url) == 0  # its marks rolled back; 3 messages are in Redis
    assert broker.llen(QUEUE) == 3

    start(procs, "worker")
    procs.start("relay-again", procfile_command("relay", procs.env))
    wait_until("everything done", lambda: settled(postgres_url), procs)
    assert_each_held_once(postgres_url, bus, ids)


def _sleeping(url: str) -> int:
    with engine_for(url).connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event = 'PgSleep'"
                )
            ).scalar_one()
        )


def test_the_relay_refuses_to_start_without_a_broker(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOINTFLOW_")}
    env["JOINTFLOW_DATABASE_URL"] = f"sqlite:///{tmp_path / 'jf.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "workflow.entrypoints.relay"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "jointflow: the relay needs JOINTFLOW_BROKER_URL "
        "(without a broker the outbox runs in-process)"
    ]


def test_a_commands_commit_wakes_the_relay_and_a_workers_does_not(
    postgres_url: str, broker: redis.Redis
) -> None:
    """The request path's transaction sends NOTIFY (delivered at its commit); a worker's
    bus, which publishes its follow-ups itself, sends none."""
    bus = command_bus(postgres_url)
    s.seed(bus)
    worker = bootstrap(
        Settings(database_url=postgres_url, broker_url=BROKER_URL, auto_migrate=False),  # type: ignore[call-arg]
        worker=True,
    )
    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as listener:
        listener.execute(f"LISTEN {WAKE_CHANNEL}")
        s.submitted(bus)
        assert [n.channel for n in listener.notifies(timeout=1)][:1] == [WAKE_CHANNEL]
        for message in worker.pending_messages():
            worker.handle_message(message)  # the holds, and publishing what they wrote
        assert list(listener.notifies(timeout=1)) == []
    assert states(postgres_url)["in_review"] == 1


def test_the_sweep_gate_lets_one_due_work_sweep_wait_at_a_time(broker: redis.Redis) -> None:
    gate = make_sweep_gate(Settings(database_url="sqlite://", broker_url=BROKER_URL))  # type: ignore[call-arg]
    assert gate.claim()
    assert not gate.claim()  # one is waiting: the next interval queues nothing
    assert 0 < broker.ttl(gate.KEY) <= 3600
    gate.release()  # a worker started it
    assert gate.claim()


def test_a_sweep_lost_with_its_worker_does_not_keep_the_gate_shut(broker: redis.Redis) -> None:
    """The gate is closed but nothing waits in the broker (a worker was killed holding
    the sweep): the next interval queues one; while that one waits, nothing more."""
    settings = Settings(database_url="sqlite://", broker_url=BROKER_URL)  # type: ignore[call-arg]
    relay = make_relay(settings)
    trigger = DueWorkTrigger(relay.celery_app, SWEEP_TASK, make_sweep_gate(settings),
                             relay.queue_is_empty)  # fmt: skip
    assert trigger.gate.claim()  # queued once, then taken by a worker that died
    assert relay.queue_is_empty()
    assert trigger.send()  # reopened, and one queued
    assert not trigger.send()  # it waits in the broker: nothing more
    assert broker.llen("celery") == 1
