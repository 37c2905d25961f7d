"""Engine throughput against a hand-written psycopg baseline, and memory over many programs.

Run from the repository root::

    python bench/engine.py                    # 1,000 programs; memory over 100,000 (slow)
    python bench/engine.py --programs 500 --memory-programs 20000   # a quicker run
    python bench/engine.py --memory-programs 0 --profile   # cProfile the engine (stderr)

Throughput (PostgreSQL; databases created and dropped per run): programs go through
create -> submit -> holds -> city decision -> education office decision on a
deployment-style bus (a broker URL is set, so a submission only writes its outbox row;
the holds are carried out by ``bus.handle_message(outbox_id)``, the Celery worker's
code path, without Celery). Each phase runs for a whole chunk of programs before the
next, which gives the per-action figures. The headline counts the four actions of the
issue (submit, hold, decide, decide); create is reported beside it.

The baseline does the same row writes by hand with psycopg: one transaction per
action, the same row locks (program, envelopes, stream head, outbox message), the same
inserts and updates, the same sha256 event chain. It reads only what it needs (no user
or organization look-ups, only the columns it uses; a program's requests or decisions
are read after its row lock, as the engine does, because a locking join is not safe at
READ COMMITTED). Engine and baseline each get a database of their own, start from emptied
tables, and run in alternating chunks (``--rounds``) so that whatever else the machine
is doing falls on both alike. Afterwards the script checks that both left the same
rows (per-table counts, event streams, types, actors and data, envelope balances) and
valid chains, and reports what each action sent to the server (counted in psycopg,
BEGIN, COMMIT and SQLAlchemy's pool pings included) for a sample of programs.

Memory runs in a child process of its own, so its peak is not the benchmark's: the
same deployment-style bus drives ``--memory-programs`` programs through the whole path
and the growth of the resident set (peak after, minus current after a warm-up) is
reported, with samples along the way. Each program costs tens of milliseconds on a
2-core machine whichever the database, so 100,000 take the better part of an hour;
the memory run uses a SQLite file in /tmp by default to spare the shared PostgreSQL
server (``--memory-backend postgresql`` to use it anyway).

Figures are printed as ``name=value`` lines; the last line is ``ratio=<engine/baseline>``
(actions per second, engine over baseline).
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
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from config.settings import Settings  # noqa: E402
from workflow.adapters.database import engine_for, upgrade  # noqa: E402
from workflow.adapters.event_store import EventStore  # noqa: E402
from workflow.adapters.orm import metadata  # noqa: E402
from workflow.bootstrap import bootstrap  # noqa: E402
from workflow.domain import commands as c  # noqa: E402
from workflow.domain.audit import GENESIS, canonical_json, event_hash  # noqa: E402
from workflow.domain.calendar import add_business_days  # noqa: E402
from workflow.domain.reminders import ReminderLadder, rungs_for  # noqa: E402
from workflow.service_layer.messagebus import MessageBus  # noqa: E402

PG_ADMIN_URL = os.environ.get("JOINTFLOW_BENCH_PG_ADMIN_URL") or os.environ.get(
    "JOINTFLOW_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# Never contacted: a broker URL only switches the bus to the deployment dispatcher.
DUMMY_BROKER = "redis://127.0.0.1:6379/14"

COORDINATOR = "coord@munsan-high.kr"
CITY_APPROVER = "approver@paju.go.kr"
OE_APPROVER = "approver@goepj.kr"
YEAR = 2026
REQUESTS = {"city": 80_000_000, "education_office": 20_000_000}
ENVELOPE = 9_000_000_000_000  # room for well over 100,000 programs' holds
TITLE, CATEGORY, ORG = "High school–university linkage", "linkage", "munsan-high"
WORKFLOW = ("joint-program", 4)
# joint-program@4's reminder ladder (business days)
LADDER = ReminderLadder(before_due_days=1, on_due=True, overdue_every_days=2,
                        escalate_after_days=5)
HOLD_EXPIRY = timedelta(days=120)  # joint-program@4: hold_expiry_days
PLACE_HOLDS = "jointflow.place_holds"

ACTIONS = ("create", "submit", "hold", "decide_city", "decide_education_office")
HEADLINE = ACTIONS[1:]  # the path: submit -> holds -> both decisions
ROUND_TRIP_SAMPLE = 20  # programs whose statements are counted (during the warm-up)


def emit(name: str, value: object) -> None:
    if isinstance(value, float):
        value = f"{value:.4g}" if abs(value) < 1 else f"{value:.1f}"
    print(f"{name}={value}", flush=True)


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

@contextlib.contextmanager
def scratch_postgres(suffix: str = "") -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this run, dropped afterwards."""
    name = f"jointflow_bench_{os.getpid()}{suffix}"
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


def deployment_bus(url: str) -> MessageBus:
    return bootstrap(Settings(database_url=url, broker_url=DUMMY_BROKER, auto_migrate=False))


def reset(url: str) -> MessageBus:
    """Empty every table (PostgreSQL), seed it through the engine, and return a fresh bus."""
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine_for(url).begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    bus = deployment_bus(url)
    seed(bus)
    with engine_for(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return bus


def seed(bus: MessageBus) -> None:
    for key, name, funder in [("city", "Paju City", True),
                              ("education_office", "Paju Office of Education", True),
                              ("munsan-high", "Munsan High School", False)]:
        bus.handle(c.AddOrganization(actor=None, key=key, name=name, funder=funder))
    for email, org, role in [(COORDINATOR, "munsan-high", "coordinator"),
                             (CITY_APPROVER, "city", "approver"),
                             (OE_APPROVER, "education_office", "approver"),
                             ("budget@paju.go.kr", "city", "budget_officer"),
                             ("budget@goepj.kr", "education_office", "budget_officer")]:
        bus.handle(c.AddUser(actor=None, email=email, name=email.split("@")[0], org=org,
                             roles=(role,)))
    for officer, party in [("budget@paju.go.kr", "city"),
                           ("budget@goepj.kr", "education_office")]:
        bus.handle(c.AddEnvelope(actor=officer, party=party, year=YEAR, amount=ENVELOPE))
    # Envelope additions leave retry messages; a worker would carry them out now.
    for message_id in bus.pending_messages():
        bus.handle_message(message_id)
    bus.query(lambda uow: uow.current_workflow(WORKFLOW[0]))  # stores the definition row


# -- the engine --

def create_command() -> c.CreateProgram:
    return c.CreateProgram(actor=COORDINATOR, title=TITLE, org=ORG, category=CATEGORY,
                           requests=dict(REQUESTS), year=YEAR)


def run_engine(bus: MessageBus, n: int, phase: Phases) -> None:
    """The five phases through the bus; the relay's part (finding the ids) is untimed."""
    with phase("create"):
        ids = [bus.handle(create_command()) for _ in range(n)]
    with phase("submit"):
        for program_id in ids:
            bus.handle(c.SubmitProgram(actor=COORDINATOR, program_id=program_id))
    message_ids = bus.pending_messages(limit=n)
    with phase("hold"):
        for message_id in message_ids:
            bus.handle_message(message_id)
    for name, approver in [("decide_city", CITY_APPROVER),
                           ("decide_education_office", OE_APPROVER)]:
        with phase(name):
            for program_id in ids:
                bus.handle(c.DecideReview(actor=approver, program_id=program_id,
                                          decision="approve"))


def one_program(bus: MessageBus) -> None:
    """The whole path for one program, as the memory run drives it."""
    program_id = bus.handle(create_command())
    bus.handle(c.SubmitProgram(actor=COORDINATOR, program_id=program_id))
    for message_id in bus.pending_messages(limit=10):
        bus.handle_message(message_id)
    for approver in (CITY_APPROVER, OE_APPROVER):
        bus.handle(c.DecideReview(actor=approver, program_id=program_id, decision="approve"))


# -- the baseline: the same rows, written by hand --

class Baseline:
    """One psycopg connection; every method is one transaction, like one engine action."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def _append(self, stream: str, new: list[tuple[str, dict[str, Any]]], actor: str,
                at: datetime, head: tuple[int, str] | None) -> None:
        """Chain and insert events; ``head`` None means the stream is new."""
        seq, prev = head or (0, GENESIS)
        stamp = at.isoformat(timespec="microseconds")
        rows: list[Any] = []
        for type_, data in new:
            seq += 1
            body = canonical_json(data)
            digest = event_hash(prev, stream, seq, type_, actor, stamp, body)
            rows += [stream, seq, type_, actor, stamp, body, prev, digest]
            prev = digest
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(new))
        self.conn.execute("INSERT INTO events (stream, seq, type, actor, at, data, prev_hash, "
                          f"hash) VALUES {values}", rows)
        if head is None:
            self.conn.execute("INSERT INTO event_streams (stream, seq, head) "
                              "VALUES (%s, %s, %s)", (stream, seq, prev))
        else:
            self.conn.execute("UPDATE event_streams SET seq = %s, head = %s WHERE stream = %s",
                              (seq, prev, stream))

    def _head(self, stream: str) -> tuple[int, str]:
        row = self.conn.execute("SELECT seq, head FROM event_streams WHERE stream = %s "
                                "FOR UPDATE", (stream,)).fetchone()
        assert row is not None
        return row[0], row[1]

    def _open_tasks(self, program_id: int, kind: str, queues: list[tuple[str, str | None, str]],
                    sla_days: int, now: datetime) -> None:
        """(queue org, party, role) per task, due after ``sla_days`` business days, each
        with the reminder rows of the definition's ladder."""
        due = add_business_days(now, sla_days)
        values = ", ".join(["(%s, %s, %s, %s, %s, 'open', %s, %s)"] * len(queues))
        task_ids = [r[0] for r in self.conn.execute(
            "INSERT INTO tasks (program_id, kind, party, queue_org, queue_role, state, due_at, "
            f"created_at) VALUES {values} RETURNING id",
            [v for org, party, role in queues
             for v in (program_id, kind, party, org, role, due, now)]).fetchall()]
        rungs = rungs_for(LADDER, due, now)
        self.conn.execute(
            "INSERT INTO reminders (task_id, rung, due_at, status, created_at) VALUES "
            + ", ".join(["(%s, %s, %s, 'pending', %s)"] * (len(task_ids) * len(rungs))),
            [v for task_id in task_ids for rung, at in rungs.items()
             for v in (task_id, rung, at, now)])

    def _complete_task(self, program_id: int, kind: str, org: str, by: str,
                       now: datetime) -> None:
        cur = self.conn.execute(
            "UPDATE tasks SET state = 'completed', closed_at = %s, closed_by = %s "
            "WHERE program_id = %s AND kind = %s AND queue_org = %s "
            "AND state IN ('open', 'claimed') AND (claimed_by IS NULL OR claimed_by = %s) "
            "RETURNING id", (now, by, program_id, kind, org, by))
        closed = [r[0] for r in cur.fetchall()]
        assert len(closed) == 1
        self.conn.execute("UPDATE reminders SET status = 'void' "
                          "WHERE task_id = ANY(%s) AND status = 'pending'", (closed,))

    def create(self) -> int:
        now = datetime.now(UTC)
        row = self.conn.execute(
            "INSERT INTO programs (title, description, category, org_key, workflow_key, "
            "workflow_version, state, fiscal_year, review_round, created_by, submitted_by, "
            "version, created_at, updated_at) VALUES (%s, '', %s, %s, %s, %s, 'draft', %s, 1, "
            "%s, '[]', 1, %s, %s) RETURNING id",
            (TITLE, CATEGORY, ORG, *WORKFLOW, YEAR, COORDINATOR, now, now)).fetchone()
        assert row is not None
        program_id = int(row[0])
        parties = sorted(REQUESTS)
        self.conn.execute(
            "INSERT INTO program_requests (program_id, party, amount, held) "
            "VALUES (%s, %s, %s, 0), (%s, %s, %s, 0)",
            [v for p in parties for v in (program_id, p, REQUESTS[p])])
        self.conn.execute(
            "INSERT INTO party_decisions (program_id, party, decision, comment) "
            "VALUES (%s, %s, 'pending', ''), (%s, %s, 'pending', '')",
            [v for p in parties for v in (program_id, p)])
        data = {"org": ORG, "workflow": f"{WORKFLOW[0]}@{WORKFLOW[1]}", "title": TITLE,
                "category": CATEGORY, "requests": dict(sorted(REQUESTS.items())),
                "year": YEAR, "start": None, "end": None, "description": ""}
        self._append(f"program:{program_id}", [("ProgramCreated", data)], COORDINATOR, now,
                     None)
        self._open_tasks(program_id, "submit", [(ORG, None, "coordinator")], 20, now)
        self.conn.commit()
        return program_id

    def _lock_program(self, program_id: int) -> tuple[str, int, int, int]:
        """Lock the program row, then read its children in statements of their own.

        Not one locking join: at READ COMMITTED, after waiting for the lock PostgreSQL
        re-checks only the locked row, and the joined rows would be the ones from
        before the other transaction committed (the engine takes the lock the same way).
        """
        row = self.conn.execute("SELECT state, version, review_round, fiscal_year "
                                "FROM programs WHERE id = %s FOR UPDATE",
                                (program_id,)).fetchone()
        assert row is not None
        return row[0], row[1], row[2], row[3]

    def _bump(self, program_id: int, version: int, state: str, now: datetime,
              extra: str = "", params: tuple[Any, ...] = ()) -> None:
        cur = self.conn.execute(
            f"UPDATE programs SET state = %s, version = %s, updated_at = %s{extra} "
            "WHERE id = %s AND version = %s",
            (state, version + 1, now, *params, program_id, version))
        assert cur.rowcount == 1

    def submit(self, program_id: int) -> None:
        now = datetime.now(UTC)
        state, version, _, _ = self._lock_program(program_id)
        assert state == "draft"
        self._bump(program_id, version, "submitted", now, ", submitted_by = %s",
                   (json.dumps([COORDINATOR]),))
        stream = f"program:{program_id}"
        self._append(stream, [("ProgramSubmitted", _moved("submit", "draft", "submitted"))],
                     COORDINATOR, now, self._head(stream))
        self.conn.execute(
            "INSERT INTO outbox (task, payload, created_at, attempts) VALUES (%s, %s, %s, 0)",
            (PLACE_HOLDS, json.dumps({"program_id": program_id}, sort_keys=True), now))
        self._complete_task(program_id, "submit", ORG, COORDINATOR, now)
        self.conn.commit()

    def hold(self, message_id: int) -> None:
        now = datetime.now(UTC)
        msg = self.conn.execute("SELECT payload, done_at FROM outbox WHERE id = %s "
                                "FOR UPDATE", (message_id,)).fetchone()
        assert msg is not None and msg[1] is None
        program_id = int(json.loads(msg[0])["program_id"])
        state, version, round_, year = self._lock_program(program_id)
        assert state == "submitted"
        requests = {party: int(amount) for party, amount in self.conn.execute(
            "SELECT party, amount FROM program_requests WHERE program_id = %s ORDER BY party",
            (program_id,))}
        envelopes = self.conn.execute(
            "SELECT id, party, amount - held - committed FROM envelopes "
            "WHERE party = ANY(%s) AND fiscal_year = %s ORDER BY party FOR UPDATE",
            (list(requests), year)).fetchall()
        room = {party: (env_id, available) for env_id, party, available in envelopes}
        entries: list[Any] = []
        held: list[tuple[str, dict[str, Any]]] = []
        for party, amount in requests.items():
            env_id, available = room[party]
            assert available >= amount
            cur = self.conn.execute(
                "UPDATE envelopes SET held = held + %s WHERE id = %s "
                "AND amount - held - committed >= %s", (amount, env_id, amount))
            assert cur.rowcount == 1
            self.conn.execute("UPDATE program_requests SET held = held + %s "
                              "WHERE program_id = %s AND party = %s",
                              (amount, program_id, party))
            entries += [env_id, program_id, "hold", amount,
                        f"hold:{program_id}:{round_}:{party}", "system", now]
            held.append(("BudgetHeld", {"party": party, "amount": amount, "year": year}))
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(requests))
        self.conn.execute("INSERT INTO ledger_entries (envelope_id, program_id, kind, amount, "
                          f"idempotency_key, actor, created_at) VALUES {values}", entries)
        expires = now + HOLD_EXPIRY
        self._bump(program_id, version, "in_review", now,
                   ", waitlisted_at = NULL, holds_expire_at = %s", (expires,))
        self.conn.execute("INSERT INTO scheduled_work (program_id, action, key, due_at, "
                          "created_at) VALUES (%s, 'expire', %s, %s, %s)",
                          (program_id, f"expire:{program_id}:{round_}", expires, now))
        stream = f"program:{program_id}"
        held.append(("ReviewStarted", _moved("hold", "submitted", "in_review")))
        self._append(stream, held, "system", now, self._head(stream))
        self.conn.execute("UPDATE outbox SET done_at = %s WHERE id = %s", (now, message_id))
        self._open_tasks(program_id, "review", [(p, p, "approver") for p in requests], 10, now)
        self.conn.commit()

    def decide(self, program_id: int, party: str, approver: str) -> None:
        now = datetime.now(UTC)
        state, version, round_, _ = self._lock_program(program_id)
        decisions: dict[str, str] = dict(self.conn.execute(
            "SELECT party, decision FROM party_decisions WHERE program_id = %s",
            (program_id,)).fetchall())
        assert state == "in_review" and decisions[party] == "pending"
        self.conn.execute(
            "UPDATE party_decisions SET decision = 'approved', decided_by = %s, comment = '', "
            "decided_at = %s WHERE program_id = %s AND party = %s",
            (approver, now, program_id, party))
        decisions[party] = "approved"
        new: list[tuple[str, dict[str, Any]]] = [
            ("PartyApproved", {"party": party, "comment": "", "round": round_})]
        if all(d == "approved" for d in decisions.values()):
            state = "approved"
            new.append(("ProgramApproved", _moved("approve", "in_review", "approved")))
        self._bump(program_id, version, state, now)
        stream = f"program:{program_id}"
        self._append(stream, new, approver, now, self._head(stream))
        self._complete_task(program_id, "review", party, approver, now)
        if state == "approved":
            self._open_tasks(program_id, "commit_funds",
                             [(p, p, "budget_officer") for p in sorted(decisions)], 10, now)
        self.conn.commit()


def _moved(trigger: str, source: str, dest: str) -> dict[str, str]:
    return {"trigger": trigger, "from": source, "to": dest}


def run_baseline(base: Baseline, n: int, phase: Phases) -> None:
    with phase("create"):
        ids = [base.create() for _ in range(n)]
    with phase("submit"):
        for program_id in ids:
            base.submit(program_id)
    message_ids = [r[0] for r in base.conn.execute(
        "SELECT id FROM outbox WHERE done_at IS NULL ORDER BY id")]
    base.conn.commit()
    with phase("hold"):
        for message_id in message_ids:
            base.hold(message_id)
    for name, party, approver in [("decide_city", "city", CITY_APPROVER),
                                  ("decide_education_office", "education_office",
                                   OE_APPROVER)]:
        with phase(name):
            for program_id in ids:
                base.decide(program_id, party, approver)


def psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


# -- what each side sent to the server --

@contextlib.contextmanager
def counting_round_trips() -> Iterator[Counter[str]]:
    """Count every statement psycopg sends, by kind, including BEGIN/COMMIT and pings."""
    counts: Counter[str] = Counter()

    def kind(query: Any) -> str:
        sql = query.decode() if isinstance(query, bytes) else str(query)
        word = sql.split(None, 1)[0].upper()
        if sql.strip().upper() in (";", "SELECT 1"):
            return "ping"  # SQLAlchemy's pool_pre_ping
        if word == "SELECT" and "FOR UPDATE" in sql.upper():
            return "select_for_update"
        return word.lower()

    originals = (psycopg.Cursor.execute, psycopg.Cursor.executemany,
                 psycopg.Connection._exec_command)

    def execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        counts[kind(query)] += 1
        return originals[0](self, query, *args, **kwargs)

    def executemany(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        counts[kind(query)] += 1
        return originals[1](self, query, *args, **kwargs)

    def exec_command(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        counts[kind(command)] += 1
        return originals[2](self, command, *args, **kwargs)

    psycopg.Cursor.execute = execute  # type: ignore[method-assign]
    psycopg.Cursor.executemany = executemany  # type: ignore[method-assign]
    psycopg.Connection._exec_command = exec_command  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        (psycopg.Cursor.execute, psycopg.Cursor.executemany,  # type: ignore[method-assign]
         psycopg.Connection._exec_command) = originals  # type: ignore[method-assign]


def table_fingerprint(url: str) -> dict[str, Any]:
    """Row counts per table and a digest of the events' content, plus the chains' check."""
    with engine_for(url).connect() as conn:
        counts = {t.name: conn.execute(text(f'SELECT count(*) FROM "{t.name}"')).scalar()
                  for t in metadata.sorted_tables}
        digest = hashlib.sha256()
        for row in conn.execute(text("SELECT stream, seq, type, actor, data FROM events "
                                     "ORDER BY stream, seq")):
            digest.update(repr(tuple(row)).encode())
        held = conn.execute(text("SELECT party, held FROM envelopes ORDER BY party")).all()
        checked, broken = EventStore(conn).verify()
    return {"rows": counts, "events": digest.hexdigest(), "held": [tuple(r) for r in held],
            "chain_ok": broken is None and checked == counts["events"]}


# -- memory, in a child process --

def rss_kb(field: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory_worker(n: int, backend: str) -> None:
    """Child process: drive ``n`` programs through one bus and report RSS as JSON."""
    with contextlib.ExitStack() as stack:
        if backend == "postgresql":
            url = stack.enter_context(scratch_postgres())
        else:
            path = Path(f"/tmp/jointflow_bench_mem_{os.getpid()}.db")
            for suffix in ("", "-wal", "-shm"):
                stack.callback(Path(f"{path}{suffix}").unlink, missing_ok=True)
            url = f"sqlite:///{path}"
            upgrade(engine_for(url))
        bus = deployment_bus(url)
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
        report = {"rss_before_kb": before, "rss_after_kb": rss_kb(),
                  "rss_peak_kb": rss_kb("VmHWM"), "seconds": elapsed, "samples": samples}
        engine_for(url).dispose()
    print(json.dumps(report), flush=True)


def measure_memory(n: int, backend: str) -> None:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--memory-worker",
         "--memory-programs", str(n), "--memory-backend", backend],
        check=True, stdout=subprocess.PIPE, text=True, cwd=ROOT)
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
    emit("rss_samples_mb", " ".join(f"{done}:{kb / 1024:.1f}"
                                    for done, _, kb in report["samples"]))


# -- the run --

def report_counts(side: str, per_action: dict[str, Counter[str]], programs: int) -> None:
    for action in ACTIONS:
        counts = per_action[action]
        trips = sum(counts.values())
        sql = trips - sum(counts[k] for k in ("begin", "commit", "rollback", "ping"))
        detail = ",".join(f"{k}:{v / programs:g}" for k, v in sorted(counts.items()))
        emit(f"{side}_statements_{action}", sql / programs)
        emit(f"{side}_round_trips_{action}", f"{trips / programs:g} ({detail})")
    emit(f"{side}_statements_per_action",
         sum(sum(per_action[a].values()) - sum(per_action[a][k] for k in
             ("begin", "commit", "rollback", "ping")) for a in HEADLINE)
         / (programs * len(HEADLINE)))
    emit(f"{side}_round_trips_per_action",
         sum(sum(per_action[a].values()) for a in HEADLINE) / (programs * len(HEADLINE)))


def report_rates(side: str, seconds: dict[str, float], programs: int) -> float:
    for action in ACTIONS:
        emit(f"{side}_{action}_ms", 1000 * seconds[action] / programs)
    total = sum(seconds[a] for a in HEADLINE)
    emit(f"{side}_actions", programs * len(HEADLINE))
    emit(f"{side}_seconds", total)
    rate = programs * len(HEADLINE) / total
    emit(f"{side}_actions_per_s", rate)
    emit(f"{side}_actions_per_s_with_create",
         programs * len(ACTIONS) / sum(seconds.values()))
    return rate


def counted(drive: Callable[[Phases], None]) -> dict[str, Counter[str]]:
    """Run ``drive`` with every statement counted; what each phase sent."""
    with counting_round_trips() as counts:
        phase = Phases(counts)
        drive(phase)
    return phase.sent


def throughput(args: argparse.Namespace) -> float:
    """Engine and baseline in alternating chunks, each on its own database.

    Alternating spreads whatever else the machine is doing over both sides alike; the
    two databases grow in step, each from freshly emptied tables.
    """
    n, chunks = args.programs, max(1, min(args.rounds, args.programs))
    load_before = os.getloadavg()[0]
    engine_phase, base_phase = Phases(), Phases()
    profiler = cProfile.Profile() if args.profile else None
    with scratch_postgres("_engine") as engine_url, \
            scratch_postgres("_baseline") as base_url, \
            psycopg.connect(psycopg_url(base_url)) as conn:
        bus, base = reset(engine_url), Baseline(conn)
        engine_counts = counted(lambda phase: run_engine(bus, ROUND_TRIP_SAMPLE, phase))
        reset(base_url)
        base_counts = counted(lambda phase: run_baseline(base, ROUND_TRIP_SAMPLE, phase))
        bus = reset(engine_url)
        reset(base_url)
        for chunk in range(chunks):
            size = n // chunks + (1 if chunk < n % chunks else 0)
            sides = [partial(run_baseline, base, size, base_phase),
                     partial(profiled, profiler, partial(run_engine, bus, size, engine_phase))]
            for side in sides if chunk % 2 else reversed(sides):
                side()
        engine_print, base_print = table_fingerprint(engine_url), table_fingerprint(base_url)
        engine_for(engine_url).dispose()
        engine_for(base_url).dispose()

    emit("database", "postgresql")
    # The ratio moves with the machine's load (waits grow on both sides, diluting the
    # engine's own CPU time): read it against these, and compare runs at like load.
    emit("load_average_1m_before", load_before)
    emit("load_average_1m_after", os.getloadavg()[0])
    emit("cpus", os.cpu_count())
    emit("programs", n)
    emit("rounds", chunks)
    emit("actions_counted", "submit+hold+decide_city+decide_education_office "
         "(4 per program; create reported apart and in *_with_create)")
    engine_rate = report_rates("engine", engine_phase.seconds, n)
    base_rate = report_rates("baseline", base_phase.seconds, n)
    report_counts("engine", engine_counts, ROUND_TRIP_SAMPLE)
    report_counts("baseline", base_counts, ROUND_TRIP_SAMPLE)
    same = all(engine_print[k] == base_print[k] for k in ("rows", "events", "held"))
    emit("same_rows_written", same)
    emit("rows_per_table", ",".join(f"{k}:{v}" for k, v in engine_print["rows"].items()))
    emit("event_chains_valid", engine_print["chain_ok"] and base_print["chain_ok"])
    emit("ratio_with_create", sum(base_phase.seconds.values())
         / sum(engine_phase.seconds.values()))
    if profiler:
        print_profile(profiler)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--programs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10,
                        help="alternate engine and baseline in this many chunks")
    parser.add_argument("--memory-programs", type=int, default=100_000,
                        help="programs for the memory run (0 skips it)")
    parser.add_argument("--memory-backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the engine's timed run (report on stderr)")
    parser.add_argument("--memory-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # `timeout` and friends send SIGTERM: exit through the finally blocks, so the scratch
    # databases are dropped, the SQLite files removed and the memory child killed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.memory_worker:
        memory_worker(args.memory_programs, args.memory_backend)
        return
    ratio = throughput(args)
    if args.memory_programs:
        measure_memory(args.memory_programs, args.memory_backend)
    emit("ratio", f"{ratio:.3f}")


if __name__ == "__main__":
    main()
