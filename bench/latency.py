"""From a command's commit to its worker's effect, in a deployment, against bare Celery.

Run from the repository root (PostgreSQL on 127.0.0.1:5432, Redis)::

    python bench/latency.py                       # 200 samples a side, 30 s of idle CPU
    python bench/latency.py --samples 50 --idle-seconds 10 --redis redis://127.0.0.1:6386

Issue 17, goal 2. The Procfile's processes (``web``, ``worker``, ``relay``) run as real
subprocesses on a scratch PostgreSQL database and Redis databases 3 (jointflow) and 4
(the baseline). One sample of jointflow: a program is submitted through a deployment's
bus in this process; from the moment the command returns (its transaction committed,
its outbox rows with it) until the worker's transaction that placed the holds commits.
One sample of the baseline: a bare Celery app (``bench/latency_bare.py``, the same
worker options as the Procfile's) is sent one task that UPDATEs one row of the same
database; from before ``send_task`` until that UPDATE commits. A third side, for
reading: the same bare app is sent a submitted program's ``place_holds`` message and
writes the rows of the engine's hold transaction by hand (``budget_same_writes``, on a
second database whose programs were submitted with no relay running), timed as the
bare one. Each effect is seen the same way: a trigger on the row sends NOTIFY,
delivered at its commit, to a connection of this process listening (no polling).
Samples go a side at a time, the order alternating, with a pause between for the
follow-ups (jointflow's review requests) to finish.

Then every process is left idle for ``--idle-seconds`` and the CPU of each Procfile
process (its whole process group: uvicorn's and Celery's children too) is read from
``/proc/<pid>/stat``: ``idle_cpu_percent`` is their sum in % of one core (goal <= 1).

Figures are ``name=value`` lines; ``same_writes_ratio=`` (jointflow's p50 over the
same-writes side's, information), ``p95_ratio=`` and, last, ``ratio=`` (jointflow's p50
over the bare baseline's). Goals: p50 <= 2x, p95 <= 3x.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import redis
from celery import Celery
from support import (
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
    procfile,
    psycopg_url,
    scratch_postgres,
    store_definition,
)

from config.settings import Settings
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.service_layer.handlers import PLACE_HOLDS
from workflow.service_layer.messagebus import MessageBus

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
DB = "jf_bench_latency"
NOW = "2026-02-02T09:00"  # the review season, as the README's deployment runs
SIDES = ("jointflow", "bare", "same_writes")
JOINTFLOW_DB, BARE_DB = 3, 4
SEEN = "latency_seen"


def triggers(programs_side: str) -> str:
    """The baseline's table, and the triggers announcing each side's effect: a program
    put in review (by ``programs_side``), a baseline row updated."""
    return f"""
CREATE TABLE latency_bare (id integer PRIMARY KEY, n integer NOT NULL DEFAULT 0);
CREATE FUNCTION latency_seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('{SEEN}', TG_ARGV[0] || ':' || NEW.id);
  RETURN NULL;
END $$;
CREATE TRIGGER latency_seen AFTER UPDATE ON programs FOR EACH ROW
  WHEN (NEW.state = 'in_review' AND OLD.state IS DISTINCT FROM 'in_review')
  EXECUTE FUNCTION latency_seen('{programs_side}');
CREATE TRIGGER latency_seen AFTER UPDATE ON latency_bare FOR EACH ROW
  EXECUTE FUNCTION latency_seen('bare');
"""


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--samples", type=int, default=200, help="timed samples a side")
    parser.add_argument("--warm-up", type=int, default=10, help="untimed samples a side")
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between samples")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--logs", help="keep the processes' logs in this directory")
    parser.add_argument(
        "--redis",
        default=os.environ.get("JOINTFLOW_BENCH_REDIS", "redis://127.0.0.1:6379"),
        help="the Redis server (databases 3 and 4 are used and emptied)",
    )
    args = parser.parse_args()
    exit_on_sigterm()
    load_before = os.getloadavg()[0]
    brokers = {"jointflow": f"{args.redis}/{JOINTFLOW_DB}", "bare": f"{args.redis}/{BARE_DB}"}
    for url in brokers.values():
        redis.Redis.from_url(url).flushdb()
    total = args.samples + args.warm_up
    with scratch_postgres(DB) as url, scratch_postgres(DB, "_same_writes") as by_hand:
        bus = set_up(url, brokers["jointflow"], total, "jointflow")
        programs = created(bus, total)
        by_hand_bus = set_up(by_hand, brokers["jointflow"], total, "same_writes")
        held_by_hand = submitted(by_hand_bus, by_hand, total)
        with (
            tempfile.TemporaryDirectory() as tmp,
            Processes(Path(args.logs or tmp)) as procs,
        ):
            start_all(procs, url, brokers, by_hand)
            samples = measure(bus, (url, by_hand), brokers["bare"], programs, held_by_hand, args)
            time.sleep(2)  # the last follow-ups
            idle = idle_cpu(procs, (*procs.procfile, "bare"), args.idle_seconds)
            procs.check_alive()
        bus.uow.engine.dispose()  # type: ignore[attr-defined]
    report(samples, idle, args, load_before)


# -- the database and the commands --


def set_up(url: str, broker: str, rows: int, programs_side: str) -> MessageBus:
    """People, budgets and the definition; the baseline's table; the triggers that
    announce each side's effect."""
    bus = bootstrap(Settings(database_url=url, broker_url=broker, auto_migrate=False, now=NOW))  # type: ignore[call-arg]
    add_directory(bus, STAFF)
    fund_both(bus, 2026)
    store_definition(bus, "joint-program")
    with psycopg.connect(psycopg_url(url), autocommit=True) as conn:
        conn.execute(triggers(programs_side))
        conn.execute("INSERT INTO latency_bare (id) SELECT generate_series(1, %s)", (rows,))
        conn.execute("ANALYZE")
    return bus


def created(bus: MessageBus, count: int) -> list[int]:
    """Programs ready to submit (created before the timing starts)."""
    return [
        bus.handle(
            c.CreateProgram(
                actor=COORDINATOR,
                title=f"Latency {i}",
                org=ORG,
                category="linkage",
                requests={"city": 1_000_000, "education_office": 1_000_000},
                year=2026,
            )
        )
        for i in range(count)
    ]


def submitted(bus: MessageBus, url: str, count: int) -> list[tuple[int, int]]:
    """The same-writes side's programs, submitted (no relay publishes this database):
    (program, its ``place_holds`` message) each."""
    for program_id in created(bus, count):
        bus.handle(c.SubmitProgram(actor=COORDINATOR, program_id=program_id))
    bus.uow.engine.dispose()  # type: ignore[attr-defined]
    with psycopg.connect(psycopg_url(url)) as conn:
        rows = conn.execute(
            "SELECT (payload::json ->> 'program_id')::bigint, id FROM outbox "
            "WHERE task = %s AND done_at IS NULL ORDER BY id",
            (PLACE_HOLDS,),
        ).fetchall()
    assert len(rows) == count, f"{len(rows)} place_holds messages for {count} programs"
    return [(int(program), int(message)) for program, message in rows]


# -- the processes --


class Processes:
    """Subprocesses, each in a session of its own; the groups killed on exit."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.started: dict[str, subprocess.Popen[bytes]] = {}
        self.procfile: list[str] = []  # the names of the Procfile's processes

    def __enter__(self) -> Processes:
        return self

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> None:
        with (self.tmp / f"{name}.log").open("wb") as log:
            self.started[name] = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def wait_for(self, name: str, line: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while line not in self.log(name):
            self.check_alive()
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} did not log {line!r}:\n{self.log(name)[-3000:]}")
            time.sleep(0.1)

    def check_alive(self) -> None:
        for name, proc in self.started.items():
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited with {proc.returncode}:\n{self.log(name)[-3000:]}")

    def __exit__(self, *exc: object) -> None:
        for proc in self.started.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.started.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def start_all(procs: Processes, url: str, brokers: dict[str, str], by_hand: str) -> None:
    """``web``, ``worker`` and ``relay`` as the Procfile says, and the baselines' worker
    with the Procfile worker's options; back once each is ready."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOINTFLOW_")}
    env.update(
        JOINTFLOW_DATABASE_URL=url,
        JOINTFLOW_BROKER_URL=brokers["jointflow"],
        JOINTFLOW_NOW=NOW,
        PORT=str(port),
        PYTHONPATH=str(ROOT),
        JOINTFLOW_BEAT_SCHEDULE_FILE=str(procs.tmp / "beat-schedule"),  # an older Procfile's
    )
    lines = procfile(env)
    assert {"web", "worker"} <= set(lines), f"the Procfile's processes: {set(lines)}"
    for name, argv in lines.items():
        procs.start(name, argv, env)
    procs.procfile = list(lines)
    bare = [arg if arg != "tasks.app" else "latency_bare" for arg in lines["worker"]]
    bare_env = {
        **env,
        "LATENCY_BARE_BROKER": brokers["bare"],
        "LATENCY_BARE_DSN": psycopg_url(url),
        "LATENCY_SAME_WRITES_DSN": psycopg_url(by_hand),
    }
    procs.start("bare", bare, bare_env, cwd=BENCH)
    for name in ("worker", "bare"):
        procs.wait_for(name, " ready.")
    if "relay" in lines:
        procs.wait_for("relay", "relay ready")
    deadline = time.monotonic() + 120
    while True:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2),
        ):
            break
        procs.check_alive()
        if time.monotonic() > deadline:
            raise SystemExit("web did not become ready:\n" + procs.log("web")[-3000:])
        time.sleep(0.2)
    time.sleep(3)  # the workers' first tasks (the envelopes' waitlist retries, a sweep)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the samples --


@contextlib.contextmanager
def listening(url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(psycopg_url(url), autocommit=True) as conn:
        conn.execute(f"LISTEN {SEEN}")
        yield conn


def seen(conn: psycopg.Connection[tuple[object, ...]], payload: str, timeout: float = 30) -> float:
    """When the effect named ``payload`` committed (as this process hears of it)."""
    for note in conn.notifies(timeout=timeout):
        if note.payload == payload:
            return time.perf_counter()
    raise SystemExit(f"no {payload} within {timeout:.0f} s")


def measure(
    bus: MessageBus,
    urls: tuple[str, str],
    bare_broker: str,
    programs: list[int],
    held_by_hand: list[tuple[int, int]],
    args: object,
) -> dict[str, list[float]]:
    """Seconds from commit (jointflow) or send (the baselines) to the effect, a side at a
    time."""
    from latency_bare import SAME_WRITES, TASK

    bare = Celery("bare-client", broker=bare_broker)
    bare.conf.update(task_serializer="json", task_ignore_result=True)
    warm: int = args.warm_up  # type: ignore[attr-defined]
    gap: float = args.gap  # type: ignore[attr-defined]
    samples: dict[str, list[float]] = {side: [] for side in SIDES}
    with (
        listening(urls[0]) as conn,
        listening(urls[1]) as by_hand,
        bare.producer_or_acquire() as producer,
    ):
        for i, program_id in enumerate(programs):
            for side in in_turn(SIDES, i):
                heard = conn
                if side == "jointflow":
                    bus.handle(c.SubmitProgram(actor=COORDINATOR, program_id=program_id))
                    began, effect = time.perf_counter(), program_id
                elif side == "bare":
                    began, effect = time.perf_counter(), i + 1
                    bare.send_task(TASK, args=[effect], producer=producer)
                else:
                    effect, message_id = held_by_hand[i]
                    began, heard = time.perf_counter(), by_hand
                    bare.send_task(SAME_WRITES, args=[message_id], producer=producer)
                took = seen(heard, f"{side}:{effect}") - began
                if i >= warm:
                    samples[side].append(took)
                time.sleep(gap)
    return samples


# -- idle CPU --


def group_ticks(pgid: int) -> int:
    """utime + stime of every live process in the group."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:  # pgrp (field 5 of the whole line)
                total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


def idle_cpu(procs: Processes, names: tuple[str, ...], seconds: float) -> dict[str, float]:
    """% of one core each process group used over ``seconds`` of doing nothing."""
    before = {name: group_ticks(procs.started[name].pid) for name in names}
    time.sleep(seconds)
    after = {name: group_ticks(procs.started[name].pid) for name in names}
    tick = os.sysconf("SC_CLK_TCK")
    return {name: 100 * (after[name] - before[name]) / tick / seconds for name in names}


# -- the figures --


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def report(
    samples: dict[str, list[float]], idle: dict[str, float], args: object, load_before: float
) -> None:
    emit_machine(load_before)
    emit("samples_per_side", len(samples["jointflow"]))
    emit("gap_seconds", args.gap)  # type: ignore[attr-defined]
    for side in SIDES:
        emit(f"{side}_p50_ms", statistics.median(samples[side]) * 1000, 2)
        emit(f"{side}_p95_ms", p95(samples[side]) * 1000, 2)
        emit(f"{side}_max_ms", max(samples[side]) * 1000, 2)
    for name, percent in idle.items():
        emit(f"idle_cpu_percent_{name}", percent, 2)
    emit("idle_seconds", args.idle_seconds)  # type: ignore[attr-defined]
    emit("idle_cpu_percent", sum(v for k, v in idle.items() if k != "bare"), 2)
    p50 = {side: statistics.median(samples[side]) for side in SIDES}
    emit("same_writes_ratio", p50["jointflow"] / p50["same_writes"], 2)
    emit("same_writes_p95_ratio", p95(samples["jointflow"]) / p95(samples["same_writes"]), 2)
    emit("p95_ratio", p95(samples["jointflow"]) / p95(samples["bare"]), 2)
    emit("ratio", p50["jointflow"] / p50["bare"], 2)


if __name__ == "__main__":
    main()
