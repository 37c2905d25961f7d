"""Budget holds under contention: many clients racing for one envelope, against a baseline.

Run from the repository root::

    python bench/budget.py                     # 32 clients, 4 rounds of 900 attempts a side
    python bench/budget.py --clients 8 --attempts 200 --rounds 2   # a quicker run
    python bench/budget.py --trace             # also time what runs under the envelope lock
    python bench/budget.py --replay            # also replay the engine's SQL without the engine

Issue 3 (PostgreSQL; databases created and dropped per run): holds per second with
``--clients`` concurrent clients racing for ONE envelope, against a baseline that does
the same conditional UPDATE + INSERT by hand in the same run; goal ratio >= 0.5 and no
over-commitment, ever.

Engine side: organizations, users and the envelope are seeded through a
deployment-style bus (a broker URL is set, so nothing runs in-process and nothing
contacts Redis); ``--attempts`` programs are created and submitted, each asking the
city for the same share, with an envelope that has room for only a third of them
(``--fit``). Each submission leaves a ``jointflow.place_holds`` outbox row. Then the
clients (threads, each on a connection of its own from a pool sized for them) race to
carry the rows out with ``bus.handle_message(outbox_id)``, the Celery worker's code
path without Celery: take the row, lock and load the program, read the envelope, hold
or waitlist; then the transaction's writes (program, tasks and reminders, events,
and last the conditional UPDATE of the envelope and the entry) go in one round trip
(the unit of work's deferred writes), or for a waitlisting are followed by a ``FOR
SHARE`` re-read, then COMMIT; a worker whose read was overtaken does it all again with
the envelope locked up front.

Baseline side: a second scratch database with the same schema, the same directory and
envelope (seeded through the bus) and as many bare program rows (inserted by hand, for
the ledger's foreign key). The same number of psycopg connections race through the same
number of attempts, one transaction each: the conditional ``UPDATE envelopes SET held =
held + amount ... WHERE amount - held - committed >= amount RETURNING id`` and, when a
row comes back, ``INSERT INTO ledger_entries`` with a unique idempotency key.

``--replay`` adds a third side that measures what the engine's SQL costs by itself:
the statements each engine attempt sent are recorded (wrapping psycopg) and sent again
by as many bare psycopg clients, transaction by transaction, in the same round trips,
on a copy of the engine's database as it was when its race began. No engine code runs
there, so ``ceiling_ratio`` (replay over baseline) is the most the engine could reach
with the statements it sends now; the gap between ``ratio`` and it is the engine's
Python (state machine, audit chain, SQLAlchemy, the driver's binding).

Only the race is timed (from all clients released together to the last one done);
holds/s counts attempts, placed and waitlisted alike. Every round uses a fiscal year,
hence an envelope, of its own; the two sides run in alternating order round by round so
that whatever else the machine is doing falls on both alike, after an untimed warm-up
round. After each race the script checks the database: no envelope with held +
committed > amount (``overcommitments``), the envelope's held equal to the sum of its
hold entries, exactly ``--fit`` holds placed and the rest waitlisted (and, engine side,
every outbox row done, nothing refused, the programs' held amounts equal to the
envelope's). A failed check exits non-zero after the figures.

``--trace`` times every statement the clients send (wrapping psycopg, both sides) and
reports, per outcome, how long a transaction keeps the envelope row locked (from the
statement that took the lock returning to COMMIT returning) and what that time went
on: each statement's round trip, and the Python time before it (GIL waits included:
the clients are threads of one process, where Celery's prefork pool would use
processes). The engine's batches (its deferred writes and queued reads, one round trip)
are booked under the statement in them that locks the envelope, else their first.
``*_lock_busy_share`` is the summed lock time over the race time: near 1,
the envelope row lock is what limits the rate. The wrapping costs a little, so a traced
run's rates are not the headline.

``*_cpu_ms_per_attempt`` is the CPU time one attempt costs during the race: the whole
machine's (PostgreSQL's backends, the clients and anything else running) and the
clients' process's own. On this 2-core machine the engine's rate is bound by it, not by
the envelope's lock.

Absolute rates move a lot with the machine's load (printed before and after); the ratio
much less, since both sides share it round by round.

Figures are printed as ``name=value`` lines; the last line is ``ratio=<engine/baseline>``
(attempts per second, engine over baseline).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import sys
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import Connection, Engine, create_engine, text  # noqa: E402

from config.settings import Settings  # noqa: E402
from workflow.adapters.database import engine_for, make_engine, upgrade  # noqa: E402
from workflow.adapters.unit_of_work import SqlUnitOfWorkFactory  # noqa: E402
from workflow.bootstrap import bootstrap  # noqa: E402
from workflow.domain import commands as c  # noqa: E402
from workflow.domain import events as ev  # noqa: E402
from workflow.service_layer.handlers import PLACE_HOLDS  # noqa: E402
from workflow.service_layer.messagebus import MessageBus  # noqa: E402

PG_ADMIN_URL = os.environ.get("JOINTFLOW_BENCH_PG_ADMIN_URL") or os.environ.get(
    "JOINTFLOW_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# Never contacted: a broker URL only switches the bus to the deployment dispatcher.
DUMMY_BROKER = "redis://127.0.0.1:6379/14"

COORDINATOR = "coord@munsan-high.kr"
CITY_OFFICER = "budget@paju.go.kr"
PARTY = "city"
AMOUNT = 10_000_000  # every program asks the city for this much
TITLE, CATEGORY, ORG = "High school–university linkage", "linkage", "munsan-high"
WORKFLOW = ("joint-program", 1)
FIRST_YEAR = 2030  # round r races for the envelope of FIRST_YEAR + r; the warm-up, one before
HOLD_SQL = ("UPDATE envelopes SET held = held + %s WHERE party = %s AND fiscal_year = %s "
            "AND amount - held - committed >= %s RETURNING id")
ENTRY_SQL = ("INSERT INTO ledger_entries (envelope_id, program_id, kind, amount, "
             "idempotency_key, actor, created_at) VALUES (%s, %s, 'hold', %s, %s, 'system', %s)")


def emit(name: str, value: object) -> None:
    if isinstance(value, float):
        value = f"{value:.4g}" if abs(value) < 1 else f"{value:.1f}"
    print(f"{name}={value}", flush=True)


# -- the databases --

@contextlib.contextmanager
def scratch_postgres(suffix: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this run, dropped afterwards."""
    name = f"jointflow_budget_{os.getpid()}{suffix}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(engine_for(url))
        engine_for(url).dispose()
        yield url
    finally:
        engine_for(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def racing_bus(url: str, clients: int) -> tuple[MessageBus, Engine]:
    """The deployment bus of ``bootstrap``, on an engine whose pool has room for every client.

    ``engine_for``'s default pool (5 + 10 overflow) would make most clients queue for a
    connection instead of for the envelope; only the engine's pool size differs.
    """
    bus = bootstrap(Settings(database_url=url, broker_url=DUMMY_BROKER, auto_migrate=False))
    engine = make_engine(url, pool_size=clients + 2, max_overflow=2, pool_timeout=300)
    assert isinstance(bus.uow, SqlUnitOfWorkFactory)
    bus.uow.engine = engine
    return bus, engine


def seed_directory(bus: MessageBus) -> None:
    for key, name, funder in [(PARTY, "Paju City", True),
                              ("education_office", "Paju Office of Education", True),
                              (ORG, "Munsan High School", False)]:
        bus.handle(c.AddOrganization(actor=None, key=key, name=name, funder=funder))
    for email, org, role in [(COORDINATOR, ORG, "coordinator"),
                             (CITY_OFFICER, PARTY, "budget_officer")]:
        bus.handle(c.AddUser(actor=None, email=email, name=email.split("@")[0], org=org,
                             roles=(role,)))
    bus.query(lambda uow: uow.current_workflow(WORKFLOW[0]))  # stores the definition row


def add_envelope(bus: MessageBus, year: int, fit: int) -> None:
    """The round's envelope, with room for exactly ``fit`` holds."""
    bus.handle(c.AddEnvelope(actor=CITY_OFFICER, party=PARTY, year=year, amount=fit * AMOUNT))
    # Adding an envelope leaves a waitlist retry; a worker would carry it out now.
    for message_id in bus.pending_messages():
        bus.handle_message(message_id)


def analyze(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


# -- the race --

@dataclass
class Raced:
    """One race: its seconds, the CPU seconds the whole machine (PostgreSQL included) and
    the clients' own process spent in them, and each item's outcome."""

    seconds: float
    machine_cpu: float
    clients_cpu: float
    outcomes: list[object]


def machine_busy_seconds() -> float:
    """CPU seconds every core has spent busy since boot (Linux ``/proc/stat``)."""
    with open("/proc/stat") as stat:
        ticks = [int(t) for t in stat.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # less idle, iowait


def race(clients: int, items: list[Any],
         client: Callable[[], contextlib.AbstractContextManager[Callable[[Any], object]]]
         ) -> Raced:
    """Carry out ``items`` on ``clients`` threads released together.

    ``client()`` sets up one client (outside the timing) and yields what it does with
    one item; the threads take items from one shared queue until it is empty.
    """
    queue = deque(items)
    barrier = threading.Barrier(clients + 1)
    outcomes: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with client() as attempt:
                barrier.wait()
                while True:
                    try:
                        item = queue.popleft()
                    except IndexError:
                        return
                    outcomes.append(attempt(item))
        except threading.BrokenBarrierError:
            pass
        except BaseException as err:  # reported by the main thread
            errors.append(err)
            barrier.abort()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    start, busy, own = time.perf_counter(), machine_busy_seconds(), time.process_time()
    for thread in threads:
        thread.join()
    raced = Raced(time.perf_counter() - start, machine_busy_seconds() - busy,
                  time.process_time() - own, outcomes)
    if errors:
        raise errors[0]
    return raced


class Side:
    """One side's database, its figures over the timed rounds and its failed checks."""

    name: str

    def __init__(self, url: str, clients: int) -> None:
        self.url = url
        self.clients = clients
        self.seconds = self.machine_cpu = self.clients_cpu = 0.0
        self.attempts = self.placed = self.waitlisted = 0
        self.round_rates: list[float] = []
        self.overcommitments = 0
        self.failures: list[str] = []

    def prepare(self, year: int, attempts: int, fit: int) -> list[Any]:
        raise NotImplementedError

    def run(self, items: list[Any], year: int) -> Raced:
        raise NotImplementedError

    def outcome(self, year: int, outcomes: list[object]) -> tuple[int, int, list[str]]:
        """(placed, waitlisted, failed checks of this side's own)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def connect(self) -> Connection:
        raise NotImplementedError

    def round(self, items: list[Any], year: int, fit: int, timed: bool) -> None:
        raced = self.run(items, year)
        seconds = raced.seconds
        placed, waitlisted, failures = self.outcome(year, raced.outcomes)
        with self.connect() as conn:
            failures += check_envelope(conn, year, fit, placed)
            over = int(conn.execute(text(
                "SELECT count(*) FROM envelopes WHERE held + committed > amount")).scalar_one())
        if over:
            failures.append(f"{over} over-committed envelope(s)")
        if placed + waitlisted != len(items):
            failures.append(f"{placed} placed + {waitlisted} waitlisted != {len(items)} attempts")
        label = f"{self.name} year {year}" + ("" if timed else " (warm-up)")
        self.failures += [f"{label}: {f}" for f in failures]
        self.overcommitments += over
        if timed:
            self.seconds += seconds
            self.machine_cpu += raced.machine_cpu
            self.clients_cpu += raced.clients_cpu
            self.attempts += len(items)
            self.placed += placed
            self.waitlisted += waitlisted
            self.round_rates.append(len(items) / seconds)
        print(f"{label}: {len(items)} attempts in {seconds:.2f} s ({len(items) / seconds:.0f}/s), "
              f"{placed} placed, {waitlisted} waitlisted", file=sys.stderr, flush=True)


def check_envelope(conn: Connection, year: int, fit: int, placed: int) -> list[str]:
    """The envelope's balance against its entries, and exactly ``fit`` holds in it."""
    row = conn.execute(text("SELECT id, amount, held, committed FROM envelopes "
                            "WHERE party = :p AND fiscal_year = :y"),
                       {"p": PARTY, "y": year}).one()
    entries, total = conn.execute(text(
        "SELECT count(*), coalesce(sum(amount), 0) FROM ledger_entries "
        "WHERE envelope_id = :e AND kind = 'hold'"), {"e": row.id}).one()
    failures = []
    if row.held != total:
        failures.append(f"envelope held {row.held} != sum of hold entries {total}")
    if not entries == placed == fit:
        failures.append(f"{entries} hold entries, {placed} placed; exactly {fit} fit")
    if row.held + row.committed > row.amount:
        failures.append(f"envelope over-committed: held {row.held} + committed "
                        f"{row.committed} > {row.amount}")
    return failures


class EngineSide(Side):
    name = "engine"

    def __init__(self, url: str, clients: int) -> None:
        super().__init__(url, clients)
        self.bus, self.engine = racing_bus(url, clients)
        self.capture: Capture | None = None
        seed_directory(self.bus)

    def connect(self) -> Connection:
        return self.engine.connect()

    def prepare(self, year: int, attempts: int, fit: int) -> list[Any]:
        """The envelope, and ``attempts`` submitted programs: their place_holds messages."""
        add_envelope(self.bus, year, fit)
        for _ in range(attempts):
            program_id = self.bus.handle(c.CreateProgram(
                actor=COORDINATOR, title=TITLE, org=ORG, category=CATEGORY,
                requests={PARTY: AMOUNT}, year=year))
            self.bus.handle(c.SubmitProgram(actor=COORDINATOR, program_id=program_id))
        with self.connect() as conn:
            message_ids = list(conn.execute(text(
                "SELECT id FROM outbox WHERE task = :t AND done_at IS NULL ORDER BY id"),
                {"t": PLACE_HOLDS}).scalars())
        assert len(message_ids) == attempts, (len(message_ids), attempts)
        analyze(self.engine)
        self.engine.dispose()
        return message_ids

    def run(self, items: list[Any], year: int) -> Raced:
        # Open every client's connection before the start (the pool keeps them).
        with contextlib.ExitStack() as stack:
            for _ in range(self.clients):
                stack.enter_context(self.engine.connect())
        try:
            handle = self.bus.handle_message
            if self.capture is not None:  # --replay: what each attempt sends, recorded
                handle = self.capture.attempt(handle)  # type: ignore[assignment]
            return race(self.clients, items, lambda: contextlib.nullcontext(handle))
        finally:
            self.engine.dispose()  # free the server's connections for the other side

    def outcome(self, year: int, outcomes: list[object]) -> tuple[int, int, list[str]]:
        with self.connect() as conn:
            return engine_outcome(conn, year)

    def close(self) -> None:
        self.engine.dispose()


def engine_outcome(conn: Connection, year: int) -> tuple[int, int, list[str]]:
    """(placed, waitlisted, failed checks) of the engine's programs of ``year``."""
    states: dict[str, int] = dict(conn.execute(text(
        "SELECT state, count(*) FROM programs WHERE fiscal_year = :y GROUP BY state"),
        {"y": year}).all())
    # The waitlistings' budget notices are left for a worker that isn't racing.
    pending = conn.execute(text(
        "SELECT count(*) FROM outbox WHERE task = :t AND done_at IS NULL"),
        {"t": PLACE_HOLDS}).scalar_one()
    refused = conn.execute(text("SELECT count(*) FROM events WHERE type = :t"),
                           {"t": ev.ACTION_REFUSED}).scalar_one()
    requests_held, envelope_held = conn.execute(text(
        "SELECT (SELECT coalesce(sum(r.held), 0) FROM program_requests r "
        "JOIN programs p ON p.id = r.program_id WHERE p.fiscal_year = :y), "
        "(SELECT held FROM envelopes WHERE party = :p AND fiscal_year = :y)"),
        {"y": year, "p": PARTY}).one()
    placed, waitlisted = states.pop("in_review", 0), states.pop("waitlisted", 0)
    failures = []
    if states:
        failures.append(f"programs left in other states: {states}")
    if pending:
        failures.append(f"{pending} place_holds message(s) not done")
    if refused:
        failures.append(f"{refused} refused action(s) recorded")
    if requests_held != envelope_held:
        failures.append(f"programs hold {requests_held}, the envelope {envelope_held}")
    return placed, waitlisted, failures


class BaselineSide(Side):
    name = "baseline"

    def __init__(self, url: str, clients: int) -> None:
        super().__init__(url, clients)
        self.bus, self.engine = racing_bus(url, 1)
        seed_directory(self.bus)

    def connect(self) -> Connection:
        return self.engine.connect()

    def prepare(self, year: int, attempts: int, fit: int) -> list[Any]:
        """The envelope (through the bus) and bare program rows for the entries to name."""
        add_envelope(self.bus, year, fit)
        with self.engine.begin() as conn:
            program_ids = list(conn.execute(text(
                "INSERT INTO programs (title, description, category, org_key, workflow_key, "
                "workflow_version, state, fiscal_year, review_round, created_by, "
                "submitted_by, version, created_at, updated_at) "
                "SELECT :title, '', :category, :org, :wf, :wfv, 'submitted', :y, 1, :by, "
                "'[]', 1, now(), now() FROM generate_series(1, :n) RETURNING id"),
                {"title": TITLE, "category": CATEGORY, "org": ORG, "wf": WORKFLOW[0],
                 "wfv": WORKFLOW[1], "y": year, "by": COORDINATOR, "n": attempts}).scalars())
        analyze(self.engine)
        self.engine.dispose()
        return program_ids

    @contextlib.contextmanager
    def client(self, year: int) -> Iterator[Callable[[Any], object]]:
        with psycopg.connect(psycopg_url(self.url)) as conn:
            yield partial(hold_by_hand, conn, year)

    def run(self, items: list[Any], year: int) -> Raced:
        return race(self.clients, items, partial(self.client, year))

    def outcome(self, year: int, outcomes: list[object]) -> tuple[int, int, list[str]]:
        placed = sum(1 for placed in outcomes if placed)
        return placed, len(outcomes) - placed, []

    def close(self) -> None:
        self.engine.dispose()


def hold_by_hand(conn: psycopg.Connection[Any], year: int, program_id: int) -> bool:
    """One transaction: the conditional hold and, if it landed, its ledger entry."""
    row = conn.execute(HOLD_SQL, (AMOUNT, PARTY, year, AMOUNT)).fetchone()
    if row is not None:
        conn.execute(ENTRY_SQL, (row[0], program_id, AMOUNT, f"hold:{program_id}:1:{PARTY}",
                                 datetime.now(UTC)))
    conn.commit()
    return row is not None


# -- what runs under the envelope lock --

_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?(\w+)', re.IGNORECASE)
LOCKING = ("SELECT envelopes FOR UPDATE", "SELECT envelopes FOR SHARE", "UPDATE envelopes")


def statement_label(query: Any) -> str:
    """"VERB table [lock]"; a batch of statements (the engine's deferred writes and
    queued reads) goes by the first of them that locks the envelope, else its first."""
    sql = query.decode() if isinstance(query, bytes) else str(query)
    parts = [_one_label(part) for part in sql.split(";\n")]
    return next((label for label in parts if label in LOCKING), parts[0])


def _one_label(sql: str) -> str:
    verb = sql.split(None, 1)[0].upper()
    table = _TABLE.search(sql)
    lock = next((f" {kind}" for kind in ("FOR UPDATE", "FOR SHARE")
                 if verb == "SELECT" and kind in sql.upper()), "")
    return f"{verb} {table.group(1) if table else '?'}{lock}"


@contextlib.contextmanager
def psycopg_wrapped(**wrap: Callable[[Callable[..., Any]], Callable[..., Any]]
                    ) -> Iterator[None]:
    """psycopg's cursor (``execute``, ``executemany``) and connection (``commit``,
    ``rollback``) methods replaced while inside: ``wrap[name](original)`` makes each
    stand-in; the originals come back on leaving."""
    with contextlib.ExitStack() as stack:
        for name, make in wrap.items():
            owner = psycopg.Cursor if name.startswith("execute") else psycopg.Connection
            stack.enter_context(mock.patch.object(owner, name, make(getattr(owner, name))))
        yield


class LockTrace:
    """Times each transaction from taking the envelope row lock to COMMIT returning.

    Wraps psycopg's execute, executemany, commit and rollback. Inside the locked span,
    each statement's round trip is booked under ``sql <label>`` and the time since the
    previous call returned under ``py> <label>`` (Python, the GIL included). A
    transaction counts as placed when it wrote a ledger entry.
    """

    def __init__(self) -> None:
        self.local = threading.local()
        self.mutex = threading.Lock()
        self.spans: dict[str, list[float]] = {"placed": [], "waitlisted": []}
        self.parts: dict[str, defaultdict[str, float]] = {
            "placed": defaultdict(float), "waitlisted": defaultdict(float)}
        self.labels: dict[Any, tuple[str, bool]] = {}  # query -> label, writes an entry

    def _statement(self, query: Any, started: float, rowcount: int) -> None:
        now = time.perf_counter()
        known = self.labels.get(query)
        if known is None:
            known = self.labels[query] = (statement_label(query),
                                          "INSERT INTO ledger_entries" in str(query))
        label, writes_entry = known
        state = self.local.__dict__
        if state.get("locked_at") is None:
            if label in LOCKING and rowcount > 0:  # a batch: its hold's entry is in it
                state.update(locked_at=now, last=now, parts=defaultdict(float),
                             placed=writes_entry)
            return
        parts: defaultdict[str, float] = state["parts"]
        parts[f"py> {label}"] += started - state["last"]
        parts[f"sql {label}"] += now - started
        state["last"] = now
        if writes_entry:
            state["placed"] = True

    def _end(self, started: float, word: str) -> None:
        state = self.local.__dict__
        locked_at = state.get("locked_at")
        if locked_at is None:
            return
        now = time.perf_counter()
        parts: defaultdict[str, float] = state["parts"]
        parts[f"py> {word}"] += started - state["last"]
        parts[f"sql {word}"] += now - started
        outcome = "placed" if state["placed"] else "waitlisted"
        with self.mutex:
            self.spans[outcome].append(now - locked_at)
            for key, seconds in parts.items():
                self.parts[outcome][key] += seconds
        state["locked_at"] = None

    @contextlib.contextmanager
    def installed(self) -> Iterator[LockTrace]:
        def statement(real: Callable[..., Any]) -> Callable[..., Any]:
            def timed(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                result = real(cursor, query, *args, **kwargs)
                self._statement(query, started, cursor.rowcount)
                return result
            return timed

        def end(word: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
            def wrap(real: Callable[..., Any]) -> Callable[..., Any]:
                def timed(conn: Any) -> None:
                    started = time.perf_counter()
                    real(conn)
                    self._end(started, word)
                return timed
            return wrap

        with psycopg_wrapped(execute=statement, executemany=statement,
                             commit=end("COMMIT"), rollback=end("ROLLBACK")):
            yield self

    def report(self, side: str, seconds: float) -> None:
        held = sum(sum(spans) for spans in self.spans.values())
        emit(f"{side}_lock_busy_share", held / seconds if seconds else 0.0)
        for outcome, spans in self.spans.items():
            if not spans:
                continue
            spans = sorted(spans)
            emit(f"{side}_lock_held_ms_{outcome}",
                 f"mean:{1000 * sum(spans) / len(spans):.3f} "
                 f"p50:{1000 * spans[len(spans) // 2]:.3f} "
                 f"p95:{1000 * spans[int(len(spans) * 0.95)]:.3f} n:{len(spans)}")
            parts = self.parts[outcome]
            sql = sum(v for k, v in parts.items() if k.startswith("sql "))
            emit(f"{side}_lock_{outcome}_split_ms",
                 f"sql:{1000 * sql / len(spans):.3f} "
                 f"python:{1000 * (sum(parts.values()) - sql) / len(spans):.3f}")
            ranked = sorted(parts.items(), key=lambda kv: -kv[1])
            emit(f"{side}_lock_{outcome}_parts_ms", " | ".join(
                f"{k}:{1000 * v / len(spans):.3f}" for k, v in ranked))


# -- the engine's own SQL, replayed (--replay) --

# What one transaction sent: (query, parameters, sent by a client-side cursor), then
# COMMIT or ROLLBACK as the engine ended it.
Sent = tuple[str, Any, bool]
END = ("COMMIT", "ROLLBACK")


class Capture:
    """Records what each engine attempt sends, transaction by transaction.

    Wraps psycopg's execute, commit and rollback (``psycopg_wrapped``); the recording
    is per thread, each attempt's transactions in order.
    """

    def __init__(self) -> None:
        self.local = threading.local()
        self.mutex = threading.Lock()
        self.attempts: list[list[list[Sent]]] = []
        self.active = False  # while installed

    def attempt(self, handle: Callable[[Any], object]) -> Callable[[Any], object]:
        """``handle`` with what it sends recorded as one attempt (while installed)."""
        def recorded(item: Any) -> object:
            if not self.active:
                return handle(item)
            self.local.attempt = [[]]
            try:
                return handle(item)
            finally:
                transactions = [t for t in self.local.attempt if t]
                self.local.attempt = None
                with self.mutex:
                    self.attempts.append(transactions)
        return recorded

    def _sent(self, entry: Sent) -> None:
        attempt = getattr(self.local, "attempt", None)
        if attempt is None:
            return
        attempt[-1].append(entry)
        if entry[0] in END:
            attempt.append([])

    def take(self) -> list[list[list[Sent]]]:
        attempts, self.attempts = self.attempts, []
        return attempts

    @contextlib.contextmanager
    def installed(self) -> Iterator[Capture]:
        def execute(real: Callable[..., Any]) -> Callable[..., Any]:
            def recorded(cursor: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
                sql = query.decode() if isinstance(query, bytes) else str(query)
                self._sent((sql, params, isinstance(cursor, psycopg.ClientCursor)))
                return real(cursor, query, params, **kwargs)
            return recorded

        def end(word: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
            def wrap(real: Callable[..., Any]) -> Callable[..., Any]:
                def recorded(conn: Any) -> None:
                    self._sent((word, None, False))
                    real(conn)
                return recorded
            return wrap

        with psycopg_wrapped(execute=execute, commit=end("COMMIT"),
                             rollback=end("ROLLBACK")):
            self.active = True
            try:
                yield self
            finally:
                self.active = False


class ReplaySide(Side):
    """The engine's statements of a round, sent again by bare psycopg clients.

    Each round runs on a copy of the engine's database as it was when the engine's race
    began (``CREATE DATABASE ... TEMPLATE``): the same programs, messages and envelope.
    The clients send each captured transaction's statements as the engine sent them
    (server-side parameters or one client-side batch, the same round trips) and end it
    as the engine did. No engine code runs: its rate is the most the engine could reach
    with the SQL it sends now, on this machine, in this run.
    """

    name = "replay"

    def __init__(self, engine_url: str, clients: int) -> None:
        super().__init__(engine_url + "_replay", clients)
        self.source = engine_url.rsplit("/", 1)[1]
        self.engine: Engine | None = None
        self.round_trips = 0

    def copy_engine_database(self) -> None:
        """Call between the engine side's ``prepare`` and its race."""
        self.close()
        name = self.url.rsplit("/", 1)[1]
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.source}"'))
        admin.dispose()

    def connect(self) -> Connection:
        if self.engine is None:
            self.engine = create_engine(self.url)
        return self.engine.connect()

    @contextlib.contextmanager
    def client(self) -> Iterator[Callable[[Any], object]]:
        with psycopg.connect(psycopg_url(self.url)) as conn:
            yield partial(replay_attempt, conn)

    def run(self, items: list[Any], year: int) -> Raced:
        self.round_trips += sum(round_trips(sent) for attempt in items for sent in attempt)
        return race(self.clients, items, self.client)

    def outcome(self, year: int, outcomes: list[object]) -> tuple[int, int, list[str]]:
        with self.connect() as conn:
            return engine_outcome(conn, year)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None

    def drop(self) -> None:
        self.close()
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.url.rsplit("/", 1)[1]}" '
                              "WITH (FORCE)"))
        admin.dispose()


def round_trips(transaction: list[Sent]) -> int:
    """Its statements, with BEGIN and its end (a pool's ROLLBACK of an idle connection
    sends nothing)."""
    statements = sum(1 for sql, _, _ in transaction if sql not in END)
    return statements + 2 if statements else 0


def replay_attempt(conn: psycopg.Connection[Any], transactions: list[list[Sent]]) -> None:
    """Send one attempt's transactions again; one that failed fails again or rolls back."""
    for transaction in transactions:
        try:
            for sql, params, client_side in transaction:
                if sql == "COMMIT":
                    conn.commit()
                elif sql == "ROLLBACK":
                    conn.rollback()
                elif client_side:
                    psycopg.ClientCursor(conn).execute(sql)
                else:
                    conn.execute(sql, params)
        except psycopg.Error:
            conn.rollback()


# -- the run --

def run(args: argparse.Namespace) -> list[str]:
    clients, attempts = args.clients, args.attempts
    fit = args.fit or max(1, attempts // 3)
    if not 0 < fit < attempts:
        raise SystemExit("--fit must leave some attempts without room (0 < fit < attempts)")
    if not 1 <= args.rounds <= 60:
        raise SystemExit("--rounds must be 1..60 (one fiscal year each)")
    warm = max(clients, min(attempts, 4 * clients))
    load_before = os.getloadavg()[0]
    traces: dict[str, LockTrace] = {}
    capture = Capture()
    with scratch_postgres("_engine") as engine_url, \
            scratch_postgres("_baseline") as base_url:
        engine, base = EngineSide(engine_url, clients), BaselineSide(base_url, clients)
        replay = ReplaySide(engine_url, clients) if args.replay else None
        engine.capture = capture if replay else None
        try:
            sides: list[Side] = [engine, base]
            for side in sides:  # untimed: caches, the definition row, the code paths
                side.round(side.prepare(FIRST_YEAR - 1, warm, max(1, warm // 3)),
                           FIRST_YEAR - 1, max(1, warm // 3), timed=False)
            for r in range(args.rounds):
                year = FIRST_YEAR + r
                items = {side.name: side.prepare(year, attempts, fit) for side in sides}
                if replay:
                    replay.copy_engine_database()
                for side in sides if r % 2 else reversed(sides):
                    with contextlib.ExitStack() as stack:
                        if args.trace:
                            stack.enter_context(
                                traces.setdefault(side.name, LockTrace()).installed())
                        if replay and side is engine:
                            stack.enter_context(capture.installed())
                        side.round(items[side.name], year, fit, timed=True)
                if replay:
                    replay.round(capture.take(), year, fit, timed=True)
        finally:
            engine.close()
            base.close()
            if replay:
                replay.drop()

    emit("database", "postgresql")
    emit("load_average_1m_before", load_before)
    emit("load_average_1m_after", os.getloadavg()[0])
    emit("cpus", os.cpu_count())
    emit("clients", clients)
    emit("rounds", args.rounds)
    emit("attempts_per_round", attempts)
    emit("fit_per_round", fit)
    emit("traced", bool(args.trace))
    for side in (engine, base, *([replay] if replay else [])):
        emit(f"{side.name}_attempts", side.attempts)
        emit(f"{side.name}_placed", side.placed)
        emit(f"{side.name}_waitlisted", side.waitlisted)
        emit(f"{side.name}_seconds", side.seconds)
        emit(f"{side.name}_holds_per_s_rounds", " ".join(f"{r:.0f}" for r in side.round_rates))
        emit(f"{side.name}_holds_per_s", rate(side))
        emit(f"{side.name}_cpu_ms_per_attempt",
             f"machine:{1000 * side.machine_cpu / side.attempts:.2f} "
             f"clients:{1000 * side.clients_cpu / side.attempts:.2f}")
        if side.name in traces:  # --trace: the engine and the baseline, not the replay
            traces[side.name].report(side.name, side.seconds)
    failures = engine.failures + base.failures
    if replay:
        emit("replay_round_trips_per_attempt", replay.round_trips / replay.attempts)
        emit("ceiling_ratio", f"{rate(replay) / rate(base):.3f}")
        failures += replay.failures
    emit("overcommitments", engine.overcommitments + base.overcommitments
         + (replay.overcommitments if replay else 0))
    emit("checks_ok", not failures)
    emit("ratio", f"{rate(engine) / rate(base):.3f}")
    return failures


def rate(side: Side) -> float:
    """Attempts per second over the timed rounds."""
    return side.attempts / side.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients a side")
    parser.add_argument("--attempts", type=int, default=900,
                        help="hold attempts (programs) per side per round")
    parser.add_argument("--fit", type=int, default=0,
                        help="holds the envelope has room for (default: a third of attempts)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="timed rounds; the sides alternate which goes first")
    parser.add_argument("--trace", action="store_true",
                        help="time what each transaction does under the envelope lock")
    parser.add_argument("--replay", action="store_true",
                        help="also replay the engine's own statements with bare psycopg")
    args = parser.parse_args()
    # `timeout` and friends send SIGTERM: exit through the finally blocks, so the scratch
    # databases are dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    failures = run(args)
    if failures:
        for failure in failures:
            print(f"CHECK FAILED: {failure}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
