"""Mail through the worker (issue 14): deliveries per second and the latency from the
deciding command's commit to the mail's arrival, against a plain smtplib loop.

Run from the repository root (PostgreSQL on 127.0.0.1:5432; aiosmtpd and redis-server
installed)::

    python bench/notify.py                  # 3 rounds of 100 decisions, each one mail
    python bench/notify.py --rounds 1 --mails 50    # a quicker run

A scratch PostgreSQL database, a Redis server of the run's own, a ``celery`` worker (as
many processes as the Procfile's) and the relay process, and an SMTP server in a process of its own
(aiosmtpd, ``tests/mail_sink.py``; in the bench's process it would share one core's lock
with the smtplib loop, and slow that side only). The programs are set up in review
first; then the city's approver sends each back for changes, and each decision mails the
program's coordinator (a rejection would also release the holds and retry the waitlist:
budget work in the worker that is no part of mailing): the relay hands the worker the
notification, the worker decides the message and its delivery, and a worker claims the
due deliveries in a batch, sends and reconciles them.

``latency``: from a command's commit to its mail's arrival, 20 decisions one at a time
on an idle worker (a commit wakes the relay at once), after a first one
(``first_mail_ms``, information) that waits for the worker's processes to start.
``engine_mails_per_second``: the worker's rate. Each round's decisions are committed
with the relay paused, then published at once (one relay pass, as the relay would),
and timed from that pass to the last mail's arrival: the worker's work, not the speed of
the bench's own loop of commands. ``smtplib_mails_per_second``: a plain loop sending as
many of the same mails (one connection, the same MIME) to the same server. The sides
alternate round by round; ``ratio=`` is the worker's over the loop's (goal >= 0.5).
The worker's clock is shifted into Seoul office hours (quiet hours would hold the mail
until 08:00).
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
import threading
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event, func, select
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
    in_turn,
    make_bus,
    procfile,
    scratch_postgres,
)

from config.settings import Settings
from tests.e2e.test_notify_worker import office_hours_shift
from tests.mail_sink import Sink, free_port, smtp_server
from workflow.adapters.database import engine_for
from workflow.adapters.mail import SmtpConfig, build_message
from workflow.adapters.orm import deliveries, notifications, outbox
from workflow.bootstrap import bootstrap, make_relay
from workflow.domain import commands as c
from workflow.service_layer.ports import Attempt

ROOT = Path(__file__).resolve().parent.parent
RELAY_INTERVAL = 1.0  # the relay's sweep (a commit wakes it at once)
LATENCY_SAMPLES = 20


class RemoteSink:
    """The SMTP server in a child process, which prints each mail's arrival time."""

    def __init__(self) -> None:
        self.port = free_port()
        self.arrived: list[float] = []
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-sink", str(self.port)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.arrived.append(float(line))

    def __enter__(self) -> RemoteSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def serve_sink(port: int) -> None:
    class Printing(Sink):
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
            reply = await super().handle_DATA(server, session, envelope)
            print(self.arrived[-1], flush=True)
            self.mails.clear()  # counted by the parent: keep nothing here
            self.recipients.clear()
            return reply

    with smtp_server(port, Printing()):
        print("ready", flush=True)
        threading.Event().wait()


def main() -> None:
    if sys.argv[1:2] == ["--serve-sink"]:
        serve_sink(int(sys.argv[2]))
        return
    parser = arguments(__doc__)
    parser.add_argument("--mails", type=int, default=100, help="decisions per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    exit_on_sigterm()
    load_before = os.getloadavg()[0]
    total = 1 + LATENCY_SAMPLES + args.rounds * args.mails
    with scratch_postgres("jf_bench_notify") as url, RemoteSink() as sink:
        port = sink.port
        ids = set_up(url, total)
        redis_port = free_port()
        with tempfile.TemporaryDirectory() as tmp, processes(url, redis_port, port, tmp) as procs:
            run = Run(url, redis_port, port, sink, procs)
            first, *latencies = run.latencies(ids[: LATENCY_SAMPLES + 1])
            rest = ids[LATENCY_SAMPLES + 1 :]
            for r in range(args.rounds):
                batch = rest[r * args.mails : (r + 1) * args.mails]
                for side in in_turn(("engine", "smtplib"), r):
                    run.side(side, batch)
    engine, baseline = run.rate("engine"), run.rate("smtplib")
    emit("mails_per_side", args.rounds * args.mails)
    emit("rounds", args.rounds)
    emit("engine_mails_per_second", engine)
    emit("smtplib_mails_per_second", baseline)
    emit("latency_p50_ms", statistics.median(latencies) * 1000)
    emit("latency_p95_ms", statistics.quantiles(latencies, n=20)[-1] * 1000)
    emit("first_mail_ms", first * 1000)  # waits for the worker processes to start
    emit("relay_interval_seconds", RELAY_INTERVAL)
    emit_machine(load_before)
    emit("ratio", engine / baseline)


def set_up(url: str, count: int) -> list[int]:
    """Programs in review on the embedded bus (no mail server: review requests in-app),
    in office hours: in quiet hours the review requests would wait as due mail for 08:00,
    and the worker's shifted clock would send them during the run."""
    make_bus(url, deployment=False)  # migrated
    shift = office_hours_shift()
    bus = bootstrap(
        Settings(database_url=url, auto_migrate=False),  # type: ignore[call-arg]
        clock=lambda: datetime.now(UTC) + shift,
    )
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

    def start(self, argv: list[str]) -> subprocess.Popen[bytes]:
        log = open(Path(self.tmp) / f"{len(self.started)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append(proc)
        return proc

    def pause_relay(self) -> None:
        os.killpg(self.relay_process.pid, signal.SIGSTOP)

    def resume_relay(self) -> None:
        os.killpg(self.relay_process.pid, signal.SIGCONT)

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
                *concurrency(procfile(self.env)["worker"]),
                "--loglevel=WARNING",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                "-n",
                f"bench-{os.getpid()}@%h",
            ]
        )
        self.relay_process = self.start([sys.executable, "-m", "workflow.entrypoints.relay"])
        return self

    def __exit__(self, *exc: object) -> None:
        with suppress(ProcessLookupError):
            self.resume_relay()
        for proc in reversed(self.started):
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self.started):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


class Run:
    """The two sides' rounds, timed; mails and seconds summed per side."""

    def __init__(
        self, url: str, redis_port: int, smtp_port: int, sink: RemoteSink, procs: processes
    ) -> None:
        self.url, self.smtp_port, self.sink, self.procs = url, smtp_port, sink, procs
        settings = Settings(  # type: ignore[call-arg]
            database_url=url, broker_url=f"redis://127.0.0.1:{redis_port}/0", auto_migrate=False
        )
        shift = office_hours_shift()
        self.bus = bootstrap(settings, clock=lambda: datetime.now(UTC) + shift)
        self.relay = make_relay(settings)
        self.committed = 0.0  # when the bench's last transaction committed
        event.listen(engine_for(url), "commit", self._committing)
        self.mails: dict[str, int] = {"engine": 0, "smtplib": 0}
        self.seconds: dict[str, float] = {"engine": 0.0, "smtplib": 0.0}
        wait_for(lambda: undone(url) == 0, "the set-up's messages")

    def _committing(self, conn: object) -> None:
        self.committed = time.time()

    def decide(self, program_id: int) -> float:
        """Decide; when the decision committed (not when the command returned: on a busy
        machine that can be after the mail has arrived)."""
        self.bus.handle(
            c.DecideReview(actor=CITY_APPROVER, program_id=program_id, decision="request-changes")
        )
        return self.committed

    def latencies(self, ids: list[int]) -> list[float]:
        """One decision at a time on an idle worker: commit to arrival."""
        found = []
        for program_id in ids:
            before = len(self.sink.arrived)
            committed = self.decide(program_id)
            wait_for(lambda n=before: len(self.sink.arrived) > n, "a mail")  # type: ignore[misc]
            found.append(self.sink.arrived[-1] - committed)
        return found

    def side(self, side: str, ids: list[int]) -> None:
        seconds = self.engine(ids) if side == "engine" else self.smtplib(len(ids))
        self.mails[side] += len(ids)
        self.seconds[side] += seconds

    def engine(self, ids: list[int]) -> float:
        """The round's decisions committed with the relay paused, then handed over at once;
        timed from the first of them published (a worker's own relay pass may have
        published some during the commits: then the commits count against the engine)."""
        before = len(self.sink.arrived)
        first = last_outbox_id(self.url)
        self.procs.pause_relay()
        time.sleep(0.5)  # what the relay took just before is carried out by now
        try:
            for program_id in ids:
                self.decide(program_id)
            while self.relay.relay_once():
                pass
        finally:
            self.procs.resume_relay()
        want = before + len(ids)
        wait_for(lambda: len(self.sink.arrived) >= want, f"{len(ids)} mails", timeout=600)
        return self.sink.arrived[want - 1] - first_published(self.url, first)

    def smtplib(self, count: int) -> float:
        """As many of the mails the engine has sent, by a bare loop over one connection."""
        with engine_for(self.url).connect() as conn:
            rows = conn.execute(
                select(
                    deliveries.c.id,
                    deliveries.c.recipient,
                    notifications.c.subject,
                    notifications.c.body,
                    notifications.c.html,
                )
                .join(notifications, notifications.c.id == deliveries.c.notification_id)
                .where(deliveries.c.channel == "email", deliveries.c.status == "sent")
                .order_by(deliveries.c.id.desc())
                .limit(count)
            ).all()
        config = SmtpConfig("127.0.0.1", self.smtp_port)
        mails = [
            build_message(
                Attempt(r.id, "email", r.recipient, 1, None, r.subject, r.body, r.html), config
            )
            for r in rows
        ]
        mails = (mails * (count // len(mails) + 1))[:count]
        started = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", self.smtp_port) as smtp:
            for mail in mails:
                smtp.send_message(mail)
        return time.perf_counter() - started

    def rate(self, side: str) -> float:
        return self.mails[side] / self.seconds[side]


def concurrency(worker: list[str]) -> list[str]:
    """The Procfile worker's ``--concurrency`` option (its processes), as it is given."""
    return [arg for arg in worker if arg.startswith("--concurrency")]


def last_outbox_id(url: str) -> int:
    with engine_for(url).connect() as conn:
        return int(conn.scalar(select(func.max(outbox.c.id))) or 0)


def first_published(url: str, after: int) -> float:
    """When the first outbox message after ``after`` went to the broker (Unix time)."""
    with engine_for(url).connect() as conn:
        at = conn.scalar(select(func.min(outbox.c.published_at)).where(outbox.c.id > after))
    assert at is not None
    return float(at.timestamp())


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
