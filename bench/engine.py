"""Engine throughput against a hand-written psycopg baseline, and memory over many programs.

Run from the repository root::

    python bench/engine.py                    # 1,000 programs; memory over 100,000 (slow)
    python bench/engine.py --programs 500 --memory-programs 20000   # a quicker run
    python bench/engine.py --memory-programs 0 --profile   # cProfile the engine (stderr)

Issue 2: what the engine costs over the SQL it must send. Programs go through submit ->
holds -> both decisions on a deployment-style bus (holds by ``bus.handle_message``, the
Celery worker's path), and the same row writes go by hand (``engine_baseline``); each
side has a database of its own, they run in alternating chunks, and must leave the same
rows. The memory run, in a child process (SQLite in /tmp unless ``--memory-backend
postgresql``), reports how the resident set grows over ``--memory-programs`` programs.

Figures are ``name=value`` lines; the last is ``ratio=<engine/baseline>`` (actions per
second, create left out).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import hashlib
import io
import json
import os
import pstats
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from engine_baseline import REQUESTS, WORKFLOW, YEAR, Baseline
from sqlalchemy import text
from support import (
    CATEGORY,
    CITY_APPROVER,
    COORDINATOR,
    OE_APPROVER,
    ORG,
    ROOT,
    STAFF,
    TITLE,
    add_directory,
    analyze,
    arguments,
    emit,
    emit_machine,
    exit_on_sigterm,
    fund_both,
    in_turn,
    make_bus,
    psycopg_url,
    psycopg_wrapped,
    scratch_postgres,
    sql_text,
    store_definition,
    work_off,
)

from workflow.adapters.database import engine_for, upgrade
from workflow.adapters.event_store import EventStore
from workflow.adapters.orm import metadata
from workflow.domain import commands as c
from workflow.service_layer.handlers import PLACE_HOLDS
from workflow.service_layer.messagebus import MessageBus

DB = "jointflow_bench"
ACTIONS = ("create", "submit", "hold", "decide_city", "decide_education_office")
HEADLINE = ACTIONS[1:]  # the path: submit -> holds -> both decisions
ROUND_TRIP_SAMPLE = 20  # programs whose statements are counted (during the warm-up)
UNCOUNTED = ("begin", "commit", "rollback", "ping")  # round trips that are not SQL


class Phases:
    """Times each phase (and, when given a live counter, what it sent to the server)."""

    def __init__(self, counts: Counter[str] | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self.counts = counts
        self.sent: dict[str, Counter[str]] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        before = Counter(self.counts) if self.counts is not None else None
        start = time.perf_counter()
        yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
        if self.counts is not None and before is not None:
            self.sent[name] = self.sent.get(name, Counter()) + (self.counts - before)


# -- the database --


def seed(bus: MessageBus) -> None:
    add_directory(bus, STAFF)
    fund_both(bus, YEAR)
    work_off(bus)  # envelope additions leave retry messages
    store_definition(bus, WORKFLOW[0])


def reset(url: str) -> MessageBus:
    """Empty every table (PostgreSQL), seed it through the engine, and return a fresh bus."""
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine_for(url).begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    bus = make_bus(url)
    seed(bus)
    analyze(engine_for(url), vacuum=True)
    return bus


# -- the two sides --


def create_command() -> c.CreateProgram:
    return c.CreateProgram(
        actor=COORDINATOR,
        title=TITLE,
        org=ORG,
        category=CATEGORY,
        requests=dict(REQUESTS),
        year=YEAR,
    )


def run_engine(bus: MessageBus, n: int, phase: Phases) -> None:
    """The five phases through the bus; the relay's part (finding the ids) is untimed."""
    with phase("create"):
        ids = [bus.handle(create_command()) for _ in range(n)]
    with phase("submit"):
        for program_id in ids:
            bus.handle(c.SubmitProgram(actor=COORDINATOR, program_id=program_id))
    message_ids = holds_pending(bus)
    with phase("hold"):
        for message_id in message_ids:
            bus.handle_message(message_id)
    for name, approver in [
        ("decide_city", CITY_APPROVER),
        ("decide_education_office", OE_APPROVER),
    ]:
        with phase(name):
            for program_id in ids:
                bus.handle(
                    c.DecideReview(actor=approver, program_id=program_id, decision="approve")
                )


def holds_pending(bus: MessageBus) -> list[int]:
    """The budget worker's messages waiting (the notices are the notification worker's:
    ``bench/notify.py``)."""
    query = text("SELECT id FROM outbox WHERE done_at IS NULL AND task = :task ORDER BY id")
    return bus.query(lambda uow: [r[0] for r in uow.conn.execute(query, {"task": PLACE_HOLDS})])


def one_program(bus: MessageBus) -> None:
    """The whole path for one program, as the memory run drives it."""
    program_id = bus.handle(create_command())
    bus.handle(c.SubmitProgram(actor=COORDINATOR, program_id=program_id))
    for message_id in bus.pending_messages(limit=10):
        bus.handle_message(message_id)
    for approver in (CITY_APPROVER, OE_APPROVER):
        bus.handle(c.DecideReview(actor=approver, program_id=program_id, decision="approve"))


def run_baseline(base: Baseline, n: int, phase: Phases) -> None:
    with phase("create"):
        ids = [base.create() for _ in range(n)]
    with phase("submit"):
        for program_id in ids:
            base.submit(program_id)
    message_ids = [
        r[0]
        for r in base.conn.execute(
            "SELECT id FROM outbox WHERE done_at IS NULL AND task = %s ORDER BY id", (PLACE_HOLDS,)
        )
    ]
    base.conn.commit()
    with phase("hold"):
        for message_id in message_ids:
            base.hold(message_id)
    for name, party, approver in [
        ("decide_city", "city", CITY_APPROVER),
        ("decide_education_office", "education_office", OE_APPROVER),
    ]:
        with phase(name):
            for program_id in ids:
                base.decide(program_id, party, approver)


# -- what each side sent to the server, and left in it --


def statement_kind(query: Any) -> str:
    sql = sql_text(query)
    word = sql.split(None, 1)[0].upper()
    if sql.strip().upper() in (";", "SELECT 1"):
        return "ping"  # SQLAlchemy's pool_pre_ping
    if word == "SELECT" and "FOR UPDATE" in sql.upper():
        return "select_for_update"
    return word.lower()


@contextlib.contextmanager
def counting_round_trips() -> Iterator[Counter[str]]:
    """Count every statement psycopg sends, by kind, including BEGIN/COMMIT and pings."""
    counts: Counter[str] = Counter()

    def counting(real: Callable[..., Any]) -> Callable[..., Any]:
        def send(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            counts[statement_kind(query)] += 1
            return real(self, query, *args, **kwargs)

        return send

    with psycopg_wrapped(execute=counting, executemany=counting, _exec_command=counting):
        yield counts


def counted(drive: Callable[[Phases], None]) -> dict[str, Counter[str]]:
    """Run ``drive`` with every statement counted; what each phase sent."""
    with counting_round_trips() as counts:
        phase = Phases(counts)
        drive(phase)
    return phase.sent


def table_fingerprint(url: str) -> dict[str, Any]:
    """Row counts per table and a digest of the events' content, plus the chains' check."""
    with engine_for(url).connect() as conn:
        counts = {
            t.name: conn.execute(text(f'SELECT count(*) FROM "{t.name}"')).scalar()
            for t in metadata.sorted_tables
        }
        digest = hashlib.sha256()
        for row in conn.execute(
            text("SELECT stream, seq, type, actor, data FROM events ORDER BY stream, seq")
        ):
            digest.update(repr(tuple(row)).encode())
        held = conn.execute(text("SELECT party, held FROM envelopes ORDER BY party")).all()
        checked, broken = EventStore(conn).verify()
    return {
        "rows": counts,
        "events": digest.hexdigest(),
        "held": [tuple(r) for r in held],
        "chain_ok": broken is None and checked == counts["events"],
    }


# -- throughput --


@dataclass
class Measured:
    """One side's figures: seconds per action (timed chunks), statements per action (the
    counted sample), and the rows it left."""

    seconds: dict[str, float]
    sent: dict[str, Counter[str]]
    rows: dict[str, Any]


def timed_chunks(
    bus: MessageBus, base: Baseline, n: int, chunks: int, profiler: cProfile.Profile | None
) -> tuple[Phases, Phases]:
    """``n`` programs a side in ``chunks`` chunks, the sides taking turns to go first."""
    engine_phase, base_phase = Phases(), Phases()
    for chunk in range(chunks):
        size = n // chunks + (1 if chunk < n % chunks else 0)
        sides = [
            partial(run_baseline, base, size, base_phase),
            partial(profiled, profiler, partial(run_engine, bus, size, engine_phase)),
        ]
        for side in in_turn(sides, chunk):
            side()
    return engine_phase, base_phase


def measure(n: int, chunks: int, profiler: cProfile.Profile | None) -> tuple[Measured, Measured]:
    """Engine and baseline, each on a database of its own from freshly emptied tables."""
    with (
        scratch_postgres(DB, "_engine") as engine_url,
        scratch_postgres(DB, "_baseline") as base_url,
        psycopg.connect(psycopg_url(base_url)) as conn,
    ):
        bus, base = reset(engine_url), Baseline(conn)
        engine_sent = counted(lambda phase: run_engine(bus, ROUND_TRIP_SAMPLE, phase))
        reset(base_url)
        base_sent = counted(lambda phase: run_baseline(base, ROUND_TRIP_SAMPLE, phase))
        bus = reset(engine_url)
        reset(base_url)
        engine_phase, base_phase = timed_chunks(bus, base, n, chunks, profiler)
        engine = Measured(engine_phase.seconds, engine_sent, table_fingerprint(engine_url))
        baseline = Measured(base_phase.seconds, base_sent, table_fingerprint(base_url))
        engine_for(engine_url).dispose()
        engine_for(base_url).dispose()
    return engine, baseline


def report_rates(side: str, seconds: dict[str, float], programs: int) -> float:
    for action in ACTIONS:
        emit(f"{side}_{action}_ms", 1000 * seconds[action] / programs)
    total = sum(seconds[a] for a in HEADLINE)
    emit(f"{side}_actions", programs * len(HEADLINE))
    emit(f"{side}_seconds", total)
    rate = programs * len(HEADLINE) / total
    emit(f"{side}_actions_per_s", rate)
    emit(f"{side}_actions_per_s_with_create", programs * len(ACTIONS) / sum(seconds.values()))
    return rate


def report_counts(side: str, per_action: dict[str, Counter[str]], programs: int) -> None:
    def statements(action: str) -> int:
        counts = per_action[action]
        return sum(counts.values()) - sum(counts[k] for k in UNCOUNTED)

    for action in ACTIONS:
        counts = per_action[action]
        detail = ",".join(f"{k}:{v / programs:g}" for k, v in sorted(counts.items()))
        emit(f"{side}_statements_{action}", statements(action) / programs)
        emit(f"{side}_round_trips_{action}", f"{sum(counts.values()) / programs:g} ({detail})")
    emit(
        f"{side}_statements_per_action",
        sum(statements(a) for a in HEADLINE) / (programs * len(HEADLINE)),
    )
    emit(
        f"{side}_round_trips_per_action",
        sum(sum(per_action[a].values()) for a in HEADLINE) / (programs * len(HEADLINE)),
    )


def throughput(programs: int, rounds: int, profiler: cProfile.Profile | None) -> float:
    """Engine over baseline in actions per second; the figures behind it printed."""
    chunks = max(1, min(rounds, programs))
    load_before = os.getloadavg()[0]
    engine, baseline = measure(programs, chunks, profiler)
    emit_machine(load_before)
    emit("programs", programs)
    emit("rounds", chunks)
    emit(
        "actions_counted",
        "submit+hold+decide_city+decide_education_office "
        "(4 per program; create reported apart and in *_with_create)",
    )
    engine_rate = report_rates("engine", engine.seconds, programs)
    base_rate = report_rates("baseline", baseline.seconds, programs)
    report_counts("engine", engine.sent, ROUND_TRIP_SAMPLE)
    report_counts("baseline", baseline.sent, ROUND_TRIP_SAMPLE)
    emit(
        "same_rows_written",
        all(engine.rows[k] == baseline.rows[k] for k in ("rows", "events", "held")),
    )
    emit("rows_per_table", ",".join(f"{k}:{v}" for k, v in engine.rows["rows"].items()))
    emit("event_chains_valid", engine.rows["chain_ok"] and baseline.rows["chain_ok"])
    emit("ratio_with_create", sum(baseline.seconds.values()) / sum(engine.seconds.values()))
    return engine_rate / base_rate


def profiled(profiler: cProfile.Profile | None, work: Callable[[], None]) -> None:
    if profiler is None:
        work()
        return
    profiler.enable()
    try:
        work()
    finally:
        profiler.disable()


def print_profile(profiler: cProfile.Profile) -> None:
    profiler.dump_stats("/tmp/jointflow_bench_engine.prof")
    for order in ("tottime", "cumulative"):
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats(order).print_stats(30)
        print(buf.getvalue(), file=sys.stderr)
    print("profile saved to /tmp/jointflow_bench_engine.prof", file=sys.stderr)


# -- memory, in a child process --


def rss_kb(field: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory_database(stack: contextlib.ExitStack, backend: str) -> str:
    """A migrated database for the memory run, removed when ``stack`` closes."""
    if backend == "postgresql":
        return stack.enter_context(scratch_postgres(DB))
    path = Path(f"/tmp/jointflow_bench_mem_{os.getpid()}.db")
    for suffix in ("", "-wal", "-shm"):
        stack.callback(Path(f"{path}{suffix}").unlink, missing_ok=True)
    url = f"sqlite:///{path}"
    upgrade(engine_for(url))
    return url


def memory_worker(n: int, backend: str) -> None:
    """Child process: drive ``n`` programs through one bus and report RSS as JSON."""
    with contextlib.ExitStack() as stack:
        url = memory_database(stack, backend)
        bus = make_bus(url)
        seed(bus)
        for _ in range(500):  # warm caches (compiled SQL, machines, pools) first
            one_program(bus)
        gc.collect()
        before = rss_kb()
        samples: list[tuple[int, float, int]] = []  # (programs done, seconds, VmRSS kB)
        start = time.perf_counter()
        for done in range(1, n + 1):
            one_program(bus)
            if done % max(1, n // 10) == 0:
                samples.append((done, time.perf_counter() - start, rss_kb()))
                print(f"memory: {samples[-1]}", file=sys.stderr, flush=True)
        elapsed = time.perf_counter() - start
        gc.collect()
        report = {
            "rss_before_kb": before,
            "rss_after_kb": rss_kb(),
            "rss_peak_kb": rss_kb("VmHWM"),
            "seconds": elapsed,
            "samples": samples,
        }
        engine_for(url).dispose()
    print(json.dumps(report), flush=True)


def measure_memory(n: int, backend: str) -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--memory-worker",
            "--memory-programs",
            str(n),
            "--memory-backend",
            backend,
        ],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    emit("memory_backend", "postgresql" if backend == "postgresql" else "sqlite-file-in-tmp")
    emit("memory_programs", n)
    emit("memory_actions", n * len(ACTIONS))
    emit("memory_seconds", report["seconds"])
    emit("memory_actions_per_s", n * len(ACTIONS) / report["seconds"])
    emit("rss_before_mb", report["rss_before_kb"] / 1024)
    emit("rss_after_mb", report["rss_after_kb"] / 1024)
    emit("rss_peak_mb", report["rss_peak_kb"] / 1024)
    emit("rss_growth_mb", (report["rss_peak_kb"] - report["rss_before_kb"]) / 1024)
    emit("rss_samples_mb", " ".join(f"{done}:{kb / 1024:.1f}" for done, _, kb in report["samples"]))


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--programs", type=int, default=1000)
    parser.add_argument(
        "--rounds", type=int, default=10, help="alternate engine and baseline in this many chunks"
    )
    parser.add_argument(
        "--memory-programs",
        type=int,
        default=100_000,
        help="programs for the memory run (0 skips it)",
    )
    parser.add_argument("--memory-backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the engine's timed run (report on stderr)"
    )
    parser.add_argument("--memory-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    exit_on_sigterm()
    if args.memory_worker:
        memory_worker(args.memory_programs, args.memory_backend)
        return
    profiler = cProfile.Profile() if args.profile else None
    ratio = throughput(args.programs, args.rounds, profiler)
    if profiler:
        print_profile(profiler)
    if args.memory_programs:
        measure_memory(args.memory_programs, args.memory_backend)
    emit("ratio", f"{ratio:.3f}")


if __name__ == "__main__":
    main()
