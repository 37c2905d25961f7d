"""Inbox query time for one approver with a short and a very long queue (issue 4).

Run from the repository root::

    python bench/inbox.py                      # 1,000 and 100,000 programs, 200 runs each
    python bench/inbox.py --programs-large 20000 --runs 50   # a quicker run

Issue 4 (PostgreSQL; databases created and dropped per run): the time of the city
approver's ``jointflow inbox`` read, the first page of 50 tasks, with 1,000 and with
100,000 open programs in review waiting on the city. Goal: the 100,000 case within 2x
of the 1,000 case, which only an index-ordered read of the page can give.

Each size gets a scratch database of its own, migrated with the project's ``upgrade``.
The directory and the envelopes are seeded through the bus, and one program of each
kind is taken through the real engine (embedded bus, holds placed in-process): in
review with both parties pending; in review with the education office's approval
given; approved by both (commit-funds tasks for the budget officers); rejected by the
city (every task closed); a draft (the coordinator's submit task). Then the bulk is
cloned from those programs by hand with INSERT ... SELECT over generate_series: their
programs, program_requests, party_decisions and tasks rows (what the inbox reads, and
what the rows it reads hang on), the envelopes' held amounts raised to match. Clones'
due times are spread over 60 days before the original's (ends of Seoul days, so many
tasks share a due time, as they do in life). Events, reminders and outbox rows are not
cloned: the inbox reads none of them.

For ``N`` = ``--programs-small`` and ``--programs-large``: N programs in review have a
live task in the city approver queue (a tenth already approved by the education
office), and a twentieth of those tasks is claimed by a deputy; beside them N/4
approved programs (whose city commit task sits in the budget officer's queue), N/4
rejected ones (only closed tasks) and N/4 drafts (a school's queue). The approver has
claimed 10 tasks herself, and the city's budget officer, on leave, has delegated to her
(대결), so her inbox merges three ranges: her queue, the budget officer's, her claims.
Then ANALYZE.

Timed: ``bus.query(lambda uow: queues.inbox(uow, approver))``, the read path of
``jointflow inbox`` (a unit of work's transaction: the user, the delegations, the page
of tasks, their programs, the envelopes), ``--runs`` times per size after a warm-up,
the two sizes alternating in rounds so that whatever else the machine does falls on
both alike. The next page (``after`` the first page's last task) is timed the same way.
The tasks query of the large run is run once more under EXPLAIN ANALYZE: its plan's
node types, whether any node scans ``tasks`` sequentially, and how many task rows the
index scans returned (about three pages' worth when the page is read from the indexes;
the whole queue when it is not).

Figures are printed as ``name=value`` lines; the last line is
``ratio=<median at large / median at small>`` (goal <= 2).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Connection, create_engine, event, text  # noqa: E402

from config.settings import Settings  # noqa: E402
from workflow.adapters import queues  # noqa: E402
from workflow.adapters.database import engine_for, upgrade  # noqa: E402
from workflow.adapters.orm import party_decisions, program_requests, programs, tasks  # noqa: E402
from workflow.bootstrap import bootstrap  # noqa: E402
from workflow.domain import commands as c  # noqa: E402
from workflow.domain.calendar import seoul_date  # noqa: E402
from workflow.service_layer.messagebus import MessageBus  # noqa: E402

PG_ADMIN_URL = os.environ.get("JOINTFLOW_BENCH_PG_ADMIN_URL") or os.environ.get(
    "JOINTFLOW_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

COORDINATOR = "coord@munsan-high.kr"
APPROVER = "approver@paju.go.kr"  # whose inbox is timed
DEPUTY = "deputy@paju.go.kr"
OE_APPROVER = "approver@goepj.kr"
CITY_OFFICER = "budget@paju.go.kr"  # on leave: delegates to APPROVER
OE_OFFICER = "budget@goepj.kr"
YEAR = 2026
REQUESTS = {"city": 50_000_000, "education_office": 10_000_000}
ENVELOPE = 9_000_000_000_000  # room for the holds of well over 100,000 programs
TITLE, CATEGORY, ORG = "High school–university linkage", "linkage", "munsan-high"
OWN_CLAIMS = 10
ROUNDS = 10


def emit(name: str, value: object) -> None:
    if isinstance(value, float):
        value = f"{value:.4g}" if abs(value) < 1 else f"{value:.2f}"
    print(f"{name}={value}", flush=True)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the database --

@contextlib.contextmanager
def scratch_postgres(suffix: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this run, dropped afterwards."""
    name = f"jointflow_inbox_{os.getpid()}{suffix}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(engine_for(url))
        yield url
    finally:
        engine_for(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed_directory(bus: MessageBus) -> None:
    for key, name, funder in [("city", "Paju City", True),
                              ("education_office", "Paju Office of Education", True),
                              (ORG, "Munsan High School", False)]:
        bus.handle(c.AddOrganization(actor=None, key=key, name=name, funder=funder))
    for email, org, role in [(COORDINATOR, ORG, "coordinator"), (APPROVER, "city", "approver"),
                             (DEPUTY, "city", "approver"),
                             (OE_APPROVER, "education_office", "approver"),
                             (CITY_OFFICER, "city", "budget_officer"),
                             (OE_OFFICER, "education_office", "budget_officer")]:
        bus.handle(c.AddUser(actor=None, email=email, name=email.split("@")[0], org=org,
                             roles=(role,)))
    for officer, party in [(CITY_OFFICER, "city"), (OE_OFFICER, "education_office")]:
        bus.handle(c.AddEnvelope(actor=officer, party=party, year=YEAR, amount=ENVELOPE))
    today = seoul_date(bus.query(lambda uow: uow.now))
    bus.handle(c.SetDelegation(actor=CITY_OFFICER, to=APPROVER, starts_on=today,
                               ends_on=today + timedelta(days=30)))


def originals(bus: MessageBus) -> dict[str, int]:
    """One program of each kind, through the real engine: the clones' originals."""
    def created() -> int:
        program_id: int = bus.handle(c.CreateProgram(
            actor=COORDINATOR, title=TITLE, org=ORG, category=CATEGORY, requests=REQUESTS,
            year=YEAR))
        return program_id

    def in_review() -> int:
        program_id = created()
        bus.handle(c.SubmitProgram(actor=COORDINATOR, program_id=program_id))
        return program_id

    def decided(program_id: int, actor: str, decision: str = "approve") -> int:
        bus.handle(c.DecideReview(actor=actor, program_id=program_id, decision=decision))
        return program_id

    return {"pending": in_review(),
            "oe_approved": decided(in_review(), OE_APPROVER),
            "approved": decided(decided(in_review(), OE_APPROVER), APPROVER),
            "rejected": decided(in_review(), APPROVER, "reject"),
            "draft": created()}


def clone(conn: Connection, original: int, count: int) -> None:
    """``count`` copies of a program's rows, due times spread over 60 days before its own."""
    if count <= 0:
        return
    columns = [col.name for col in programs.columns if col.name != "id"]
    first, last = conn.execute(text(
        f"WITH new AS (INSERT INTO programs ({', '.join(columns)}) "
        f"SELECT {', '.join('p.' + name for name in columns)} FROM programs p "
        "CROSS JOIN generate_series(1, :n) WHERE p.id = :o RETURNING id) "
        "SELECT min(id), max(id) FROM new"), {"n": count, "o": original}).one()
    span = {"o": original, "lo": first, "hi": last}
    for table in (program_requests, party_decisions):
        names = [col.name for col in table.columns if col.name != "program_id"]
        conn.execute(text(
            f"INSERT INTO {table.name} (program_id, {', '.join(names)}) "
            f"SELECT p.id, {', '.join('x.' + name for name in names)} FROM programs p "
            f"JOIN {table.name} x ON x.program_id = :o WHERE p.id BETWEEN :lo AND :hi"), span)
    names = [col.name for col in tasks.columns if col.name not in ("id", "program_id")]
    shifted = {"due_at": "t.due_at - (p.id % 60) * interval '1 day'",
               "created_at": "t.created_at - (p.id % 60) * interval '1 day'"}
    conn.execute(text(
        f"INSERT INTO tasks (program_id, {', '.join(names)}) "
        f"SELECT p.id, {', '.join(shifted.get(n, 't.' + n) for n in names)} FROM programs p "
        "JOIN tasks t ON t.program_id = :o WHERE p.id BETWEEN :lo AND :hi ORDER BY p.id, t.id"),
        span)
    conn.execute(text(
        "UPDATE envelopes e SET held = e.held + :n * r.held FROM program_requests r "
        "WHERE r.program_id = :o AND e.party = r.party AND e.fiscal_year = :y"),
        {"n": count, "o": original, "y": YEAR})


def claim_some(conn: Connection) -> None:
    """A twentieth of the city approver queue claimed by the deputy, 10 by the approver."""
    queue = "queue_org = 'city' AND queue_role = 'approver' AND state = 'open'"
    conn.execute(text(f"UPDATE tasks SET state = 'claimed', claimed_by = :d "
                      f"WHERE {queue} AND id % 20 = 0"), {"d": DEPUTY})
    conn.execute(text(f"UPDATE tasks SET state = 'claimed', claimed_by = :a WHERE id IN "
                      f"(SELECT id FROM tasks WHERE {queue} AND id % 20 = 7 "
                      "ORDER BY id DESC LIMIT :n)"), {"a": APPROVER, "n": OWN_CLAIMS})


def build(url: str, size: int) -> MessageBus:
    """The database for ``size`` programs in the approver's queue; its embedded bus."""
    started = time.perf_counter()
    bus = bootstrap(Settings(database_url=url, broker_url=None, auto_migrate=False))
    seed_directory(bus)
    made = originals(bus)
    quarter, with_oe = size // 4, size // 10
    counts = {"pending": size - with_oe - 1, "oe_approved": with_oe - 1,
              "approved": quarter - 1, "rejected": quarter - 1, "draft": quarter - 1}
    engine = engine_for(url)
    with engine.begin() as conn:
        for kind, count in counts.items():
            clone(conn, made[kind], count)
        claim_some(conn)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    log(f"built {size}: {time.perf_counter() - started:.1f} s")
    return bus


def describe(url: str, size: int) -> None:
    with engine_for(url).connect() as conn:
        queue, live, total = conn.execute(text(
            "SELECT count(*) FILTER (WHERE queue_org = 'city' AND queue_role = 'approver' "
            "AND state IN ('open', 'claimed')), "
            "count(*) FILTER (WHERE state IN ('open', 'claimed')), count(*) FROM tasks")).one()
    emit(f"queue_tasks_{size}", queue)
    emit(f"live_tasks_{size}", live)
    emit(f"tasks_{size}", total)


# -- timing --

def reader(after: int | None) -> Callable[[Any], list[dict[str, Any]]]:
    def read(uow: Any) -> list[dict[str, Any]]:
        return queues.inbox(uow, uow.directory.user(APPROVER), after=after)
    return read


def timed(bus: MessageBus, read: Callable[[Any], Any], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        bus.query(read)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]


# -- the plan --

def tasks_statement(bus: MessageBus, url: str) -> tuple[str, Any]:
    """The SQL and parameters the inbox sends for its page of tasks."""
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "UNION" in statement and "FROM tasks" in statement:
            seen.append((statement, parameters))

    engine = engine_for(url)
    event.listen(engine, "before_cursor_execute", keep)
    try:
        bus.query(reader(None))
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert len(seen) == 1, seen
    return seen[0]


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def explain(bus: MessageBus, url: str) -> None:
    statement, parameters = tasks_statement(bus, url)
    with engine_for(url).connect() as conn:
        [[result]] = conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters).all()
    top = (json.loads(result) if isinstance(result, str) else result)[0]
    plan = top["Plan"]
    found = list(nodes(plan))
    on_tasks = [n for n in found if n.get("Relation Name") == "tasks"]
    emit("plan_node_types", ",".join(sorted({n["Node Type"] for n in found})))
    emit("plan_tasks_indexes", ",".join(sorted({n.get("Index Name", "-") for n in on_tasks})))
    emit("seq_scan_on_tasks", any(n["Node Type"] == "Seq Scan" for n in on_tasks))
    emit("tasks_rows_read", sum(n["Actual Rows"] * n["Actual Loops"] for n in on_tasks))
    emit("plan_sorted_rows_max", max((n["Actual Rows"] for n in found
                                      if n["Node Type"] in ("Sort", "Incremental Sort")),
                                     default=0))
    emit("plan_execution_ms", float(top["Execution Time"]))


# -- main --

def run(args: argparse.Namespace) -> float:
    sizes = (args.programs_small, args.programs_large)
    with contextlib.ExitStack() as stack:
        buses = {}
        for size in sizes:
            url = stack.enter_context(scratch_postgres(f"_{size}"))
            buses[size] = (build(url, size), url)
            describe(url, size)
        first_page = {size: bus.query(reader(None)) for size, (bus, _) in buses.items()}
        samples: dict[tuple[int, str], list[float]] = {}
        for size, (bus, _) in buses.items():  # warm-up: caches, pools, compiled statements
            timed(bus, reader(None), 20)
            timed(bus, reader(first_page[size][-1]["task"]), 20)
        per_round = max(1, args.runs // ROUNDS)
        for _ in range(ROUNDS):
            for size, (bus, _) in buses.items():
                after = first_page[size][-1]["task"]
                for page, read in (("first", reader(None)), ("next", reader(after))):
                    samples.setdefault((size, page), []).extend(timed(bus, read, per_round))
        for size in sizes:
            emit(f"inbox_{size}_rows", len(first_page[size]))
            emit(f"inbox_{size}_median_ms", statistics.median(samples[(size, "first")]))
            emit(f"inbox_{size}_p95_ms", p95(samples[(size, "first")]))
            emit(f"inbox_{size}_next_page_median_ms", statistics.median(samples[(size, "next")]))
        emit("runs_per_size", len(samples[(sizes[0], "first")]))
        explain(*buses[sizes[1]])
        return (statistics.median(samples[(sizes[1], "first")])
                / statistics.median(samples[(sizes[0], "first")]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--programs-small", type=int, default=1_000)
    parser.add_argument("--programs-large", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200, help="timed inbox reads per size")
    args = parser.parse_args()
    if not 100 <= args.programs_small < args.programs_large:
        parser.error("need 100 <= --programs-small < --programs-large")
    # `timeout` and friends send SIGTERM: exit through the finally blocks, so the scratch
    # databases are dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    emit("load_before", f"{os.getloadavg()[0]:.2f}")
    ratio = run(args)
    emit("load_after", f"{os.getloadavg()[0]:.2f}")
    emit("ratio", round(ratio, 3))


if __name__ == "__main__":
    main()
