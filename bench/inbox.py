"""Inbox query time for one approver with a short and a very long queue (issue 4).

Run from the repository root::

    python bench/inbox.py                      # 1,000 and 100,000 programs, 200 runs each
    python bench/inbox.py --programs-large 20000 --runs 50   # a quicker run

Issue 4: the city approver's ``jointflow inbox`` read, the first page of 50 tasks, with
1,000 and with 100,000 programs in review waiting on the city. Goal: the large case
within 2x of the small one, which only an index-ordered read of the page can give.

Each size gets a database of its own: one program of each kind goes through the engine
and the bulk is cloned from them in SQL (only the rows the inbox reads, and what they
hang on); her inbox merges her queue, her claims and a delegating budget officer's
queue. The sizes alternate in rounds. The large run's tasks query is run once more under
EXPLAIN ANALYZE: ``tasks_rows_read`` is about three pages when the page is read from the
indexes, the whole queue when it is not.

Figures are ``name=value`` lines; the last is ``ratio=<median at large / median at
small>`` (goal <= 2).
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, event, text
from support import (
    CATEGORY,
    CITY_APPROVER,
    CITY_OFFICER,
    COORDINATOR,
    OE_APPROVER,
    ORG,
    STAFF,
    TITLE,
    add_directory,
    analyze,
    arguments,
    emit,
    exit_on_sigterm,
    fund_both,
    make_bus,
    scratch_postgres,
)

from workflow.adapters import queues
from workflow.adapters.database import engine_for
from workflow.adapters.orm import party_decisions, program_requests, programs, tasks
from workflow.domain import commands as c
from workflow.domain.calendar import seoul_date
from workflow.service_layer.messagebus import MessageBus

DB = "jointflow_inbox"
APPROVER = CITY_APPROVER  # whose inbox is timed
DEPUTY = "deputy@paju.go.kr"
YEAR = 2026
REQUESTS = {"city": 50_000_000, "education_office": 10_000_000}
OWN_CLAIMS = 10
ROUNDS = 10


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the database --


def seed_directory(bus: MessageBus) -> None:
    add_directory(bus, [*STAFF, (DEPUTY, "city", "approver")])
    fund_both(bus, YEAR)
    # The city's budget officer, on leave, delegates to the approver (대결).
    today = seoul_date(bus.query(lambda uow: uow.now))
    bus.handle(
        c.SetDelegation(
            actor=CITY_OFFICER, to=APPROVER, starts_on=today, ends_on=today + timedelta(days=30)
        )
    )


def originals(bus: MessageBus) -> dict[str, int]:
    """One program of each kind, through the real engine: the clones' originals."""

    def created() -> int:
        program_id: int = bus.handle(
            c.CreateProgram(
                actor=COORDINATOR,
                title=TITLE,
                org=ORG,
                category=CATEGORY,
                requests=REQUESTS,
                year=YEAR,
            )
        )
        return program_id

    def in_review() -> int:
        program_id = created()
        bus.handle(c.SubmitProgram(actor=COORDINATOR, program_id=program_id))
        return program_id

    def decided(program_id: int, actor: str, decision: str = "approve") -> int:
        bus.handle(c.DecideReview(actor=actor, program_id=program_id, decision=decision))
        return program_id

    return {
        "pending": in_review(),
        "oe_approved": decided(in_review(), OE_APPROVER),
        "approved": decided(decided(in_review(), OE_APPROVER), APPROVER),
        "rejected": decided(in_review(), APPROVER, "reject"),
        "draft": created(),
    }


def clone(conn: Connection, original: int, count: int) -> None:
    """``count`` copies of a program's rows, due times spread over 60 days before its own."""
    if count <= 0:
        return
    columns = [col.name for col in programs.columns if col.name != "id"]
    first, last = conn.execute(
        text(
            f"WITH new AS (INSERT INTO programs ({', '.join(columns)}) "
            f"SELECT {', '.join('p.' + name for name in columns)} FROM programs p "
            "CROSS JOIN generate_series(1, :n) WHERE p.id = :o RETURNING id) "
            "SELECT min(id), max(id) FROM new"
        ),
        {"n": count, "o": original},
    ).one()
    span = {"o": original, "lo": first, "hi": last}
    for table in (program_requests, party_decisions):
        names = [col.name for col in table.columns if col.name != "program_id"]
        conn.execute(
            text(
                f"INSERT INTO {table.name} (program_id, {', '.join(names)}) "
                f"SELECT p.id, {', '.join('x.' + name for name in names)} FROM programs p "
                f"JOIN {table.name} x ON x.program_id = :o WHERE p.id BETWEEN :lo AND :hi"
            ),
            span,
        )
    names = [col.name for col in tasks.columns if col.name not in ("id", "program_id")]
    shifted = {
        "due_at": "t.due_at - (p.id % 60) * interval '1 day'",
        "created_at": "t.created_at - (p.id % 60) * interval '1 day'",
    }
    conn.execute(
        text(
            f"INSERT INTO tasks (program_id, {', '.join(names)}) "
            f"SELECT p.id, {', '.join(shifted.get(n, 't.' + n) for n in names)} FROM programs p "
            "JOIN tasks t ON t.program_id = :o WHERE p.id BETWEEN :lo AND :hi ORDER BY p.id, t.id"
        ),
        span,
    )
    conn.execute(
        text(
            "UPDATE envelopes e SET held = e.held + :n * r.held FROM program_requests r "
            "WHERE r.program_id = :o AND e.party = r.party AND e.fiscal_year = :y"
        ),
        {"n": count, "o": original, "y": YEAR},
    )


def claim_some(conn: Connection) -> None:
    """A twentieth of the city approver queue claimed by the deputy, 10 by the approver."""
    queue = "queue_org = 'city' AND queue_role = 'approver' AND state = 'open'"
    conn.execute(
        text(f"UPDATE tasks SET state = 'claimed', claimed_by = :d WHERE {queue} AND id % 20 = 0"),
        {"d": DEPUTY},
    )
    conn.execute(
        text(
            f"UPDATE tasks SET state = 'claimed', claimed_by = :a WHERE id IN "
            f"(SELECT id FROM tasks WHERE {queue} AND id % 20 = 7 "
            "ORDER BY id DESC LIMIT :n)"
        ),
        {"a": APPROVER, "n": OWN_CLAIMS},
    )


def build(url: str, size: int) -> MessageBus:
    """The database for ``size`` programs in the approver's queue (a tenth approved by the
    education office already) and a quarter as many approved, rejected and drafts; its
    embedded bus."""
    started = time.perf_counter()
    bus = make_bus(url, deployment=False)  # holds placed in-process
    seed_directory(bus)
    made = originals(bus)
    quarter, with_oe = size // 4, size // 10
    counts = {
        "pending": size - with_oe - 1,
        "oe_approved": with_oe - 1,
        "approved": quarter - 1,
        "rejected": quarter - 1,
        "draft": quarter - 1,
    }
    engine = engine_for(url)
    with engine.begin() as conn:
        for kind, count in counts.items():
            clone(conn, made[kind], count)
        claim_some(conn)
    analyze(engine, vacuum=True)
    log(f"built {size}: {time.perf_counter() - started:.1f} s")
    return bus


def describe(url: str, size: int) -> None:
    with engine_for(url).connect() as conn:
        queue, live, total = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE queue_org = 'city' AND queue_role = 'approver' "
                "AND state IN ('open', 'claimed')), "
                "count(*) FILTER (WHERE state IN ('open', 'claimed')), count(*) FROM tasks"
            )
        ).one()
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
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters
        ).all()
    top = (json.loads(result) if isinstance(result, str) else result)[0]
    plan = top["Plan"]
    found = list(nodes(plan))
    on_tasks = [n for n in found if n.get("Relation Name") == "tasks"]
    emit("plan_node_types", ",".join(sorted({n["Node Type"] for n in found})))
    emit("plan_tasks_indexes", ",".join(sorted({n.get("Index Name", "-") for n in on_tasks})))
    emit("seq_scan_on_tasks", any(n["Node Type"] == "Seq Scan" for n in on_tasks))
    emit("tasks_rows_read", sum(n["Actual Rows"] * n["Actual Loops"] for n in on_tasks))
    emit(
        "plan_sorted_rows_max",
        max(
            (n["Actual Rows"] for n in found if n["Node Type"] in ("Sort", "Incremental Sort")),
            default=0,
        ),
    )
    emit("plan_execution_ms", float(top["Execution Time"]), places=2)


# -- main --

Samples = dict[tuple[int, str], list[float]]  # (size, "first" or "next") -> milliseconds
Page = list[dict[str, Any]]


def sample(buses: dict[int, MessageBus], first_page: dict[int, Page], runs: int) -> Samples:
    """After a warm-up, ``runs`` reads of each page a size, the sizes taking turns."""
    for size, bus in buses.items():  # warm-up: caches, pools, compiled statements
        timed(bus, reader(None), 20)
        timed(bus, reader(first_page[size][-1]["task"]), 20)
    samples: Samples = {}
    per_round = max(1, runs // ROUNDS)
    for _ in range(ROUNDS):
        for size, bus in buses.items():
            after = first_page[size][-1]["task"]
            for page, read in (("first", reader(None)), ("next", reader(after))):
                samples.setdefault((size, page), []).extend(timed(bus, read, per_round))
    return samples


def report(first_page: dict[int, Page], samples: Samples) -> None:
    for size, page in first_page.items():
        emit(f"inbox_{size}_rows", len(page))
        emit(f"inbox_{size}_median_ms", statistics.median(samples[(size, "first")]), places=2)
        emit(f"inbox_{size}_p95_ms", p95(samples[(size, "first")]), places=2)
        emit(
            f"inbox_{size}_next_page_median_ms",
            statistics.median(samples[(size, "next")]),
            places=2,
        )
    emit("runs_per_size", len(samples[(next(iter(first_page)), "first")]))


def run(small: int, large: int, runs: int) -> float:
    """The large size's median over the small one's; the figures behind it printed."""
    with contextlib.ExitStack() as stack:
        urls, buses = {}, {}
        for size in (small, large):
            urls[size] = stack.enter_context(scratch_postgres(DB, f"_{size}"))
            buses[size] = build(urls[size], size)
            describe(urls[size], size)
        first_page = {size: bus.query(reader(None)) for size, bus in buses.items()}
        samples = sample(buses, first_page, runs)
        report(first_page, samples)
        explain(buses[large], urls[large])
        return statistics.median(samples[(large, "first")]) / statistics.median(
            samples[(small, "first")]
        )


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--programs-small", type=int, default=1_000)
    parser.add_argument("--programs-large", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200, help="timed inbox reads per size")
    args = parser.parse_args()
    if not 100 <= args.programs_small < args.programs_large:
        parser.error("need 100 <= --programs-small < --programs-large")
    exit_on_sigterm()
    emit("load_before", f"{os.getloadavg()[0]:.2f}")
    ratio = run(args.programs_small, args.programs_large, args.runs)
    emit("load_after", f"{os.getloadavg()[0]:.2f}")
    emit("ratio", round(ratio, 3), places=2)


if __name__ == "__main__":
    main()
