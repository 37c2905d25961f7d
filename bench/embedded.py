"""Full joint reviews per second on the embedded default, against SpiffWorkflow.

Run from the repository root (SpiffWorkflow comes with the ``bench`` extra)::

    python bench/embedded.py                       # 5 rounds of 200 reviews a side
    python bench/embedded.py --reviews 50 --rounds 3 --profile   # cProfile (stderr)

Issue 17, goal 1. A review is what a newcomer's SQLite file goes through: create,
submit, the budget holds (in-process, as the embedded dispatcher runs them), and both
funders' approvals, each a command through jointflow's bus writing its durable rows
(program, ledger, audit chain, tasks, reminders, outbox, notifications). The peer is
SpiffWorkflow running the same joint approval as BPMN (``joint_review.bpmn``: submit,
holds, a parallel gateway opening two reviews, the join), the instance serialized to
JSON and saved in one SQLite row after each of the five steps, one transaction per step,
with jointflow's SQLite settings (WAL, ``synchronous=NORMAL``, ``BEGIN IMMEDIATE``).

Each side has a file of its own in /tmp; the sides alternate within every round.
Figures are ``name=value`` lines; the last is ``ratio=<jointflow/spiff>`` (median
reviews per second).
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import os
import pstats
import sqlite3
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from engine_baseline import REQUESTS, YEAR
from sqlalchemy import event, text
from support import (
    CATEGORY,
    CITY_APPROVER,
    COORDINATOR,
    OE_APPROVER,
    ORG,
    STAFF,
    TITLE,
    add_directory,
    arguments,
    emit,
    exit_on_sigterm,
    fund_both,
    in_turn,
    make_bus,
    store_definition,
)

from workflow.adapters.database import engine_for, upgrade
from workflow.adapters.event_store import EventStore
from workflow.adapters.orm import metadata
from workflow.domain import commands as c
from workflow.domain.reminders import is_quiet
from workflow.service_layer.messagebus import MessageBus

BPMN = Path(__file__).resolve().parent / "joint_review.bpmn"
SAMPLE = 20  # reviews a side whose statements and rows are counted (the warm-up)
# jointflow's SQLite settings (workflow/adapters/database.py), for the peer's file too
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=60000",
)


def scratch_file(stack: contextlib.ExitStack, name: str) -> Path:
    """A SQLite file in /tmp for this run, removed (with its WAL) when ``stack`` closes."""
    path = Path(f"/tmp/jointflow_bench_embedded_{os.getpid()}_{name}.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
        stack.callback(Path(f"{path}{suffix}").unlink, missing_ok=True)
    return path


# -- jointflow --


class Jointflow:
    """The embedded default: ``bootstrap``'s bus on a SQLite file, no broker."""

    name = "jointflow"

    def __init__(self, path: Path) -> None:
        self.url = f"sqlite:///{path}"
        upgrade(engine_for(self.url))
        self.bus: MessageBus = make_bus(self.url, deployment=False)
        add_directory(self.bus, STAFF)
        fund_both(self.bus, YEAR)
        store_definition(self.bus, "joint-program")

    def review(self) -> None:
        bus = self.bus
        program_id = bus.handle(
            c.CreateProgram(
                actor=COORDINATOR,
                title=TITLE,
                org=ORG,
                category=CATEGORY,
                requests=dict(REQUESTS),
                year=YEAR,
            )
        )
        bus.handle(c.SubmitProgram(actor=COORDINATOR, program_id=program_id))  # holds inline
        for approver in (CITY_APPROVER, OE_APPROVER):
            bus.handle(c.DecideReview(actor=approver, program_id=program_id, decision="approve"))

    @contextlib.contextmanager
    def counting(self) -> Iterator[Counter[str]]:
        """Every statement SQLAlchemy sends, by kind, and each transaction begun (the
        engine's BEGIN goes to the driver directly: counted by the ``begin`` event)."""
        counts: Counter[str] = Counter()
        engine = engine_for(self.url)

        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            counts[statement.split(None, 1)[0].lower()] += 1

        def begun(_conn: Any) -> None:
            counts["begin"] += 1

        event.listen(engine, "before_cursor_execute", count)
        event.listen(engine, "begin", begun)
        try:
            yield counts
        finally:
            event.remove(engine, "before_cursor_execute", count)
            event.remove(engine, "begin", begun)

    def rows(self) -> int:
        with engine_for(self.url).connect() as conn:
            return sum(
                conn.execute(text(f'SELECT count(*) FROM "{t.name}"')).scalar_one()
                for t in metadata.sorted_tables
            )

    def rows_by_table(self) -> dict[str, int]:
        with engine_for(self.url).connect() as conn:
            return {
                t.name: conn.execute(text(f'SELECT count(*) FROM "{t.name}"')).scalar_one()
                for t in metadata.sorted_tables
            }

    def check(self, reviews: int) -> bool:
        """Every review ended approved and every audit chain verifies."""
        with engine_for(self.url).connect() as conn:
            approved = conn.execute(
                text("SELECT count(*) FROM programs WHERE state = 'approved'")
            ).scalar_one()
            checked, broken = EventStore(conn).verify()
        return approved == reviews and broken is None and checked > 0


# -- SpiffWorkflow --


class Spiff:
    """SpiffWorkflow's BPMN engine, its instance as JSON in a SQLite row, a transaction
    per step: what a Spiff user would write for the same review."""

    name = "spiff"
    STEPS = ("submit", "hold", "review_city", "review_education_office")

    def __init__(self, path: Path) -> None:
        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState

        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN))
        self.spec = parser.get_spec("joint_review")
        self.serializer = BpmnWorkflowSerializer()
        self.workflow_class, self.ready = BpmnWorkflow, TaskState.READY
        self.db = sqlite3.connect(path, isolation_level=None, timeout=60)
        for pragma in PRAGMAS:
            self.db.execute(pragma)
        self.db.execute(
            "CREATE TABLE instances (id INTEGER PRIMARY KEY, state TEXT NOT NULL, "
            "updated_at TEXT NOT NULL)"
        )
        self.statements: Counter[str] | None = None

    def _step(self, work: Callable[[], Any]) -> Any:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            result = work()
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return result

    def _create(self) -> int:
        workflow = self.workflow_class(self.spec)
        workflow.data.update(title=TITLE, org=ORG, requests=dict(REQUESTS), year=YEAR)
        workflow.do_engine_steps()
        cursor = self.db.execute(
            "INSERT INTO instances (state, updated_at) VALUES (?, ?)",
            (self.serializer.serialize_json(workflow), now()),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def _complete(self, instance: int, step: str, by: str) -> None:
        (state,) = self.db.execute(
            "SELECT state FROM instances WHERE id = ?", (instance,)
        ).fetchone()
        workflow = self.serializer.deserialize_json(state)
        (task,) = [t for t in workflow.get_tasks(state=self.ready) if t.task_spec.name == step]
        task.data.update(by=by, decision="approve", at=now())
        task.run()
        workflow.do_engine_steps()
        self.db.execute(
            "UPDATE instances SET state = ?, updated_at = ? WHERE id = ?",
            (self.serializer.serialize_json(workflow), now(), instance),
        )

    def review(self) -> None:
        instance = self._step(self._create)
        by = (COORDINATOR, "budget-worker", CITY_APPROVER, OE_APPROVER)
        for step, actor in zip(self.STEPS, by, strict=True):
            self._step(partial(self._complete, instance, step, actor))

    @contextlib.contextmanager
    def counting(self) -> Iterator[Counter[str]]:
        counts: Counter[str] = Counter()
        self.db.set_trace_callback(lambda sql: counts.update([sql.split(None, 1)[0].lower()]))
        try:
            yield counts
        finally:
            self.db.set_trace_callback(None)

    def rows(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM instances").fetchone()[0])

    def check(self, reviews: int) -> bool:
        done = 0
        for (state,) in self.db.execute("SELECT state FROM instances"):
            done += self.serializer.deserialize_json(state).is_completed()
        return done == reviews


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


# -- the run --

Side = Jointflow | Spiff


def sample(side: Side) -> tuple[Counter[str], int]:
    """Statements (by kind) and rows a review leaves, over ``SAMPLE`` reviews."""
    before = side.rows()
    with side.counting() as counts:
        for _ in range(SAMPLE):
            side.review()
    return counts, side.rows() - before


def timed(side: Side, reviews: int, profiler: cProfile.Profile | None) -> float:
    """Reviews per second over ``reviews`` reviews."""
    start = time.perf_counter()
    if profiler is not None and side.name == "jointflow":
        profiler.enable()
    try:
        for _ in range(reviews):
            side.review()
    finally:
        if profiler is not None:
            profiler.disable()
    return reviews / (time.perf_counter() - start)


def report_counts(side: Side, counts: Counter[str], rows: int) -> None:
    transactions = counts["begin"]
    statements = sum(counts.values()) - transactions - counts["commit"] - counts["rollback"]
    detail = ",".join(f"{k}:{v / SAMPLE:g}" for k, v in sorted(counts.items()))
    emit(f"{side.name}_statements_per_review", statements / SAMPLE)
    emit(f"{side.name}_transactions_per_review", transactions / SAMPLE)
    emit(f"{side.name}_statement_kinds_per_review", detail)
    emit(f"{side.name}_rows_per_review", rows / SAMPLE)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--reviews", type=int, default=200, help="reviews a side per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile jointflow (stderr)")
    args = parser.parse_args()
    exit_on_sigterm()
    profiler = cProfile.Profile() if args.profile else None
    with contextlib.ExitStack() as stack:
        jointflow = Jointflow(scratch_file(stack, "jointflow"))
        spiff = Spiff(scratch_file(stack, "spiff"))
        stack.callback(spiff.db.close)
        stack.callback(engine_for(jointflow.url).dispose)
        counted = {side.name: sample(side) for side in (jointflow, spiff)}
        load_before = os.getloadavg()[0]
        rates: dict[str, list[float]] = {"jointflow": [], "spiff": []}
        for round_ in range(args.rounds):
            for side in in_turn([jointflow, spiff], round_):
                rates[side.name].append(timed(side, args.reviews, profiler))
        total = SAMPLE + args.reviews * args.rounds
        emit("database", "sqlite-file-in-tmp")
        # During Seoul's quiet hours an email delivery waits for 08:00: no attempt made.
        emit("seoul_quiet_hours", is_quiet(datetime.now(UTC)))
        emit("load_average_1m_before", load_before)
        emit("load_average_1m_after", os.getloadavg()[0])
        emit("cpus", os.cpu_count())
        emit("reviews_per_round", args.reviews)
        emit("rounds", args.rounds)
        for side in (jointflow, spiff):
            emit(f"{side.name}_reviews_per_s", statistics.median(rates[side.name]))
            emit(f"{side.name}_rounds", " ".join(f"{r:.1f}" for r in rates[side.name]))
            emit(f"{side.name}_ms_per_review", 1000 / statistics.median(rates[side.name]))
        for side in (jointflow, spiff):
            report_counts(side, *counted[side.name])
        emit(
            "jointflow_rows_per_table",
            ",".join(f"{k}:{v}" for k, v in jointflow.rows_by_table().items() if v),
        )
        emit("all_reviews_complete", jointflow.check(total) and spiff.check(total))
        ratio = statistics.median(rates["jointflow"]) / statistics.median(rates["spiff"])
    if profiler is not None:
        buf = io.StringIO()
        for order in ("tottime", "cumulative"):
            pstats.Stats(profiler, stream=buf).sort_stats(order).print_stats(35)
        print(buf.getvalue(), file=sys.stderr)
        profiler.dump_stats("/tmp/jointflow_bench_embedded.prof")
    emit("ratio", f"{ratio:.3f}")


if __name__ == "__main__":
    main()
