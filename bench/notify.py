"""Mail through the worker (issue 14): deliveries per second and the latency from the
deciding command's commit to the mail's arrival, against a plain smtplib loop.

Run from the repository root (PostgreSQL on 127.0.0.1:5432; aiosmtpd and redis-server
installed)::

    python bench/notify.py                 # 300 decisions, each mailing the coordinator
    python bench/notify.py --mails 100     # a quicker run

A scratch PostgreSQL database, a Redis server of the run's own, a ``celery`` worker
(two processes) and the relay process, and an SMTP server in this process
(aiosmtpd, ``tests/mail_sink.py``). The programs are set up in review first; then the
city's approver rejects each in turn, as fast as the bus takes it, and each rejection
mails the program's coordinator: the command commits its change and its outbox row, the
relay hands the worker the notification, the worker decides the message and its
delivery, the relay hands a worker the delivery, the worker marks the attempt, sends it
and records the outcome. ``latency`` is from a command's commit to its mail arriving,
the first 20 decisions one at a time on an idle worker; the rest go at once, and
``engine_mails_per_second`` is theirs, from the first commit to the last arrival.
In the same run a plain smtplib loop sends the same mails (one connection, the same
MIME) to the same server: ``ratio=`` is the worker's mails per second over the loop's
(goal >= 0.5). The worker's clock is shifted into Seoul office hours (quiet hours would
hold the mail until 08:00).
"""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from support import (
    CITY_APPROVER,
    COORDINATOR,
    ORG,
    STAFF,
    add_directory,
    arguments,
    emit,
    emit_machine,
    exit_on_sigterm,
    fund_both,
    make_bus,
    scratch_postgres,
)

from config.settings import Settings
from tests.e2e.test_notify_worker import office_hours_shift
from tests.mail_sink import Sink, free_port, smtp_server
from workflow.adapters.database import engine_for
from workflow.adapters.mail import SmtpConfig, build_message
from workflow.adapters.orm import deliveries, notifications, outbox
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.service_layer.ports import Attempt

ROOT = Path(__file__).resolve().parent.parent
RELAY_INTERVAL = 1.0  # the relay's sweep (a commit wakes it at once)
LATENCY_SAMPLES = 20


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--mails", type=int, default=300)
    args = parser.parse_args()
    exit_on_sigterm()
    load_before = os.getloadavg()[0]
    with scratch_postgres("jf_bench_notify") as url, smtp_server() as (sink, port):
        ids = set_up(url, args.mails)
        redis_port = free_port()
        with tempfile.TemporaryDirectory() as tmp, processes(url, redis_port, port, tmp):
            engine_rate, latencies = through_the_worker(url, redis_port, ids, sink)
        baseline_rate = plain_smtplib(url, port)
    emit("mails", args.mails)
    emit("engine_mails_per_second", engine_rate)
    emit("smtplib_mails_per_second", baseline_rate)
    emit("latency_p50_ms", statistics.median(latencies) * 1000)
    emit("latency_p95_ms", statistics.quantiles(latencies, n=20)[-1] * 1000)
    emit("relay_interval_seconds", RELAY_INTERVAL)
    emit_machine(load_before)
    emit("ratio", engine_rate / baseline_rate)


def set_up(url: str, count: int) -> list[int]:
    """Programs in review on the embedded bus (no mail server: review requests in-app)."""
    bus = make_bus(url, deployment=False)
    add_directory(bus, STAFF)
    fund_both(bus, 2026)
    ids = []
    for i in range(count):
        program_id = bus.handle(
            c.CreateProgram(
                actor=COORDINATOR,
                title=f"Bench {i}",
                org=ORG,
                category="linkage",
                requests={"city": 1_000_000, "education_office": 1_000_000},
                year=2026,
            )
        )
        bus.handle(c.SubmitProgram(actor=COORDINATOR, program_id=program_id))
        ids.append(program_id)
    return ids


class processes:  # noqa: N801 - used as a context manager, like open()
    """redis-server, the worker and the relay; all stopped (by their process groups) on exit."""

    def __init__(self, url: str, redis_port: int, smtp_port: int, tmp: str) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("JOINTFLOW_")}
        self.env.update(
            JOINTFLOW_DATABASE_URL=url,
            JOINTFLOW_BROKER_URL=f"redis://127.0.0.1:{redis_port}/0",
            JOINTFLOW_OUTBOX_RELAY_INTERVAL=str(RELAY_INTERVAL),
            JOINTFLOW_SMTP_HOST="127.0.0.1",
            JOINTFLOW_SMTP_PORT=str(smtp_port),
            JOINTFLOW_TEST_CLOCK_SHIFT=str(office_hours_shift().total_seconds()),
            PYTHONPATH=str(ROOT),
        )
        self.redis_port, self.tmp = redis_port, tmp
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, argv: list[str]) -> None:
        log = open(Path(self.tmp) / f"{len(self.started)}.log", "wb")  # noqa: SIM115
        self.started.append(
            subprocess.Popen(
                argv,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def __enter__(self) -> processes:
        self.start(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.tmp,
            ]
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with suppress(OSError):
                socket.create_connection(("127.0.0.1", self.redis_port), 0.2).close()
                break
            time.sleep(0.05)
        self.start(
            [
                sys.executable,
                "-m",
                "tests.e2e.shifted_celery",
                "-A",
                "tasks.app",
                "worker",
                "--concurrency=2",
                "--loglevel=WARNING",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                "-n",
                f"bench-{os.getpid()}@%h",
            ]
        )
        self.start([sys.executable, "-m", "workflow.entrypoints.relay"])
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.started):
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self.started):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def through_the_worker(
    url: str, redis_port: int, ids: list[int], sink: Sink
) -> tuple[float, list[float]]:
    """Latency one decision at a time on an idle worker; then the rest at once, for the
    rate (from the first commit to the last mail's arrival)."""
    settings = Settings(  # type: ignore[call-arg]
        database_url=url, broker_url=f"redis://127.0.0.1:{redis_port}/0", auto_migrate=False
    )
    shift = office_hours_shift()
    bus = bootstrap(settings, clock=lambda: datetime.now(UTC) + shift)
    wait_for(lambda: undone(url) == 0, "the set-up's messages")

    def reject(program_id: int) -> float:
        bus.handle(c.DecideReview(actor=CITY_APPROVER, program_id=program_id, decision="reject"))
        return time.time()

    alone, burst = ids[:LATENCY_SAMPLES], ids[LATENCY_SAMPLES:]
    latencies = []
    for count, program_id in enumerate(alone, start=1):
        committed = reject(program_id)
        wait_for(lambda count=count: len(sink.mails) >= count, "a mail")  # type: ignore[misc]
        latencies.append(sink.arrived[-1] - committed)
    started = time.time()
    for program_id in burst:
        reject(program_id)
    wait_for(lambda: len(sink.mails) >= len(ids), f"{len(ids)} mails", timeout=600)
    return len(burst) / (sink.arrived[-1] - started), latencies


def plain_smtplib(url: str, port: int) -> float:
    """The same mails, sent by a bare loop over one connection."""
    with engine_for(url).connect() as conn:
        rows = conn.execute(
            select(
                deliveries.c.id,
                deliveries.c.recipient,
                notifications.c.subject,
                notifications.c.body,
                notifications.c.html,
            )
            .join(notifications, notifications.c.id == deliveries.c.notification_id)
            .where(deliveries.c.channel == "email")
        ).all()
    config = SmtpConfig("127.0.0.1", port)
    mails = [
        build_message(
            Attempt(r.id, "email", r.recipient, 1, None, r.subject, r.body, r.html), config
        )
        for r in rows
    ]
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for mail in mails:
            smtp.send_message(mail)
    return len(mails) / (time.perf_counter() - started)


def undone(url: str) -> int:
    with engine_for(url).connect() as conn:
        return int(
            conn.scalar(select(func.count()).select_from(outbox).where(outbox.c.done_at.is_(None)))
            or 0
        )


def wait_for(condition: object, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


if __name__ == "__main__":
    main()
