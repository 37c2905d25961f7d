"""Mail and webhooks on the deployment path, with real processes (issue 14): PostgreSQL,
a Redis server of the test's own (so it can be restarted), ``celery`` worker and the relay,
an SMTP server (aiosmtpd) and a webhook receiver in this process. A worker SIGKILLed
mid-batch and started again, Redis restarted mid-batch, the SMTP server down for a while
then up: every mail and every post arrives, counted at the SMTP server and at the
receiver.

The one window where a crash can send twice -- a worker killed after the server took
the mail and before the delivery's outcome was written -- is allowed for, and only it:
a repeat carries the same ``Message-ID`` / ``X-Jointflow-Delivery`` as the first, so
the receiving side drops it; there are never more repeats than a batch per worker
process in flight. Deliveries go in batches here (``BATCH``), and each test checks that
some did.

The worker runs with its clock shifted into Seoul office hours (``shifted_celery``):
quiet hours would otherwise hold the mail until 08:00 whenever the suite runs at night.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config.settings import Settings
from tests import support as s
from tests.e2e.test_worker import Processes, outbox_undone, procfile_command, wait_until
from tests.mail_sink import Sink, free_port, smtp_server
from tests.webhook_receiver import Receiver, webhook_receiver
from workflow.adapters.database import engine_for
from workflow.adapters.orm import deliveries
from workflow.adapters.relay import GROUP_SIZE
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain.calendar import SEOUL
from workflow.service_layer.messagebus import MessageBus

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

PROGRAMS = 12
MAILS = 2 * PROGRAMS  # a review request to each party's approver
POSTS = PROGRAMS  # the city's webhook hears of each submission
SECRET = "city-groupware-webhook-secret"
IN_FLIGHT = 2  # the worker's concurrency: the most batches a kill can cut short
BATCH = 4  # deliveries claimed, sent and reconciled together (small: several per test)


def office_hours_shift() -> timedelta:
    """How far ahead 10:00 Seoul of today is (or behind): the worker's clock shift."""
    now = datetime.now(UTC)
    local = now.astimezone(SEOUL)
    return local.replace(hour=10, minute=0, second=0, microsecond=0) - local


class RedisServer:
    """A redis-server of this test's own on a free port: stopped and started at will."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.tmp_path = tmp_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with suppress(OSError):
                import socket

                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    with smtp_server() as running:
        running[0].delay = 0.15  # slow enough to kill a worker mid-batch
        yield running


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver(SECRET) as running:
        yield running


def env_of(
    url: str, broker: str, smtp_port: int, tmp_path: Path, shift: timedelta
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOINTFLOW_")}
    env.update(
        {
            "JOINTFLOW_DATABASE_URL": url,
            "JOINTFLOW_BROKER_URL": broker,
            "JOINTFLOW_OUTBOX_REDELIVER_SECONDS": "2",
            "JOINTFLOW_OUTBOX_RELAY_INTERVAL": "0.3",
            "JOINTFLOW_SWEEP_INTERVAL": "1",
            "JOINTFLOW_SMTP_HOST": "127.0.0.1",
            "JOINTFLOW_SMTP_PORT": str(smtp_port),
            "JOINTFLOW_SMTP_FROM": "jointflow <noreply@paju.go.kr>",
            "JOINTFLOW_DELIVERY_RETRY_SECONDS": "1",
            "JOINTFLOW_DELIVERY_STALE_SECONDS": "4",
            "JOINTFLOW_DELIVERY_BATCH_SIZE": str(BATCH),
            "JOINTFLOW_TEST_CLOCK_SHIFT": str(shift.total_seconds()),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


class Deployment:
    def __init__(self, url: str, redis: RedisServer, smtp_port: int, tmp_path: Path) -> None:
        self.url = url
        self.shift = office_hours_shift()
        self.procs = Processes(tmp_path, env_of(url, redis.url, smtp_port, tmp_path, self.shift))
        settings = Settings(database_url=url, broker_url=redis.url, auto_migrate=False)  # type: ignore[call-arg]
        self.bus: MessageBus = bootstrap(settings, clock=lambda: datetime.now(UTC) + self.shift)

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        return self.procs.start(
            name,
            [
                sys.executable,
                "-m",
                "tests.e2e.shifted_celery",
                "-A",
                "tasks.app",
                "worker",
                "--loglevel=INFO",
                f"--concurrency={IN_FLIGHT}",
                *Processes.worker_options(name),
            ],
        )

    def relay(self) -> None:
        self.procs.start("relay", procfile_command("relay", self.procs.env))

    def wait(self, what: str, condition: Callable[[], bool], timeout: float = 90) -> None:
        wait_until(what, condition, self.procs, timeout=timeout)

    def sent(self) -> Counter[str]:
        with engine_for(self.url).connect() as conn:
            rows = conn.execute(
                select(deliveries.c.channel, func.count())
                .where(deliveries.c.status == "sent", deliveries.c.channel != "inapp")
                .group_by(deliveries.c.channel)
            )
            return Counter(dict(rows.all()))

    def everything_sent(self) -> bool:
        return self.sent() == Counter({"email": MAILS, "webhook": POSTS}) and (
            outbox_undone(self.url) == 0
        )


@pytest.fixture
def deployment(
    postgres_url: str,
    redis_server: RedisServer,
    sink: tuple[Sink, int],
    tmp_path: Path,
    receiver: Receiver,
) -> Iterator[Deployment]:
    running = Deployment(postgres_url, redis_server, sink[1], tmp_path)
    s.seed(running.bus)
    running.bus.handle(
        c.AddWebhook(
            actor=None, org="city", url=receiver.url, events=("ProgramSubmitted",), secret=SECRET
        )
    )
    try:
        yield running
    finally:
        running.procs.stop_all()


def assert_each_once(sink: Sink, receiver: Receiver, repeats_allowed: int) -> None:
    ids = sink.message_ids()
    assert len(set(ids)) == MAILS, Counter(ids)
    assert len(ids) - len(set(ids)) <= repeats_allowed, Counter(ids)
    assert len(receiver.accepted) == POSTS
    assert all(r.signed for r in receiver.received)
    assert len(receiver.received) - POSTS <= repeats_allowed
    per_person = Counter(str(m["To"]) for m in sink.mails)
    assert set(per_person) == {s.CITY_APPROVER, s.OE_APPROVER}


def assert_batched(url: str) -> None:
    """Some attempts were marked together: a relay's group of notices marks their mails
    in one transaction (two a submission), a claimed batch of retries likewise."""
    with engine_for(url).connect() as conn:
        sizes = (
            conn.execute(
                select(func.count())
                .select_from(deliveries)
                .where(deliveries.c.channel != "inapp")
                .group_by(deliveries.c.attempted_at)
            )
            .scalars()
            .all()
        )
        assert 1 < max(sizes) <= max(BATCH, 2 * GROUP_SIZE)


def test_a_worker_sigkilled_mid_batch_and_started_again_delivers_each_mail_and_post(
    deployment: Deployment, sink: tuple[Sink, int], receiver: Receiver
) -> None:
    mails, _ = sink
    for _ in range(PROGRAMS):
        s.submitted(deployment.bus)
    first = deployment.worker("first")
    deployment.relay()
    deployment.wait("some mail to arrive", lambda: len(mails.mails) >= 4)
    deployment.procs.kill(first)  # mid-batch: mails in flight and queued
    killed_at = len(mails.mails)
    assert killed_at < MAILS

    deployment.worker("second")
    deployment.wait("every mail and post", deployment.everything_sent)
    time.sleep(2)  # anything sent twice would have arrived by now
    assert_each_once(mails, receiver, repeats_allowed=IN_FLIGHT * BATCH)
    assert_batched(deployment.url)
    # What the kill cut short was made again: after the stale interval (attempt 2), or
    # by the relay re-sending a task the dead worker had taken but not begun.
    print(
        f"killed after {killed_at} mails; attempts: {Counter(_attempts(deployment.url))}; "
        f"received {len(mails.mails)} for {MAILS} deliveries"
    )


def test_redis_restarted_mid_batch_loses_nothing(
    deployment: Deployment,
    sink: tuple[Sink, int],
    receiver: Receiver,
    redis_server: RedisServer,
) -> None:
    mails, _ = sink
    for _ in range(PROGRAMS):
        s.submitted(deployment.bus)
    deployment.worker("worker")
    deployment.relay()
    deployment.wait("some mail to arrive", lambda: len(mails.mails) >= 4)
    redis_server.kill()  # every queued message is gone with it (no persistence)
    time.sleep(1)
    redis_server.start()
    deployment.wait("every mail and post", deployment.everything_sent, timeout=120)
    time.sleep(2)
    assert_each_once(mails, receiver, repeats_allowed=0)
    assert_batched(deployment.url)


def test_smtp_down_for_a_while_then_up_gets_every_mail_once(
    postgres_url: str, redis_server: RedisServer, tmp_path: Path, receiver: Receiver
) -> None:
    port = free_port()  # no mail server there yet
    deployment = Deployment(postgres_url, redis_server, port, tmp_path)
    s.seed(deployment.bus)
    deployment.bus.handle(
        c.AddWebhook(
            actor=None, org="city", url=receiver.url, events=("ProgramSubmitted",), secret=SECRET
        )
    )
    try:
        for _ in range(PROGRAMS):
            s.submitted(deployment.bus)
        deployment.worker("worker")
        deployment.relay()
        deployment.wait(
            "every mail to have failed once (connection refused)",
            lambda: _failed_once(postgres_url) == MAILS,
        )
        with smtp_server(port) as (mails, _):
            deployment.wait("every mail and post", deployment.everything_sent)
            time.sleep(2)
            assert_each_once(mails, receiver, repeats_allowed=0)
            assert_batched(postgres_url)
    finally:
        deployment.procs.stop_all()


def _failed_once(url: str) -> int:
    with engine_for(url).connect() as conn:
        return int(
            conn.scalar(
                select(func.count())
                .select_from(deliveries)
                .where(
                    deliveries.c.channel == "email",
                    deliveries.c.attempts >= 1,
                    deliveries.c.last_error.is_not(None),
                )
            )
            or 0
        )


def _attempts(url: str) -> list[int]:
    with engine_for(url).connect() as conn:
        return [
            int(a)
            for a in conn.scalars(
                select(deliveries.c.attempts).where(deliveries.c.channel != "inapp")
            )
        ]
