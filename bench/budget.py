"""Budget holds under contention: many clients racing for one envelope, against a baseline.

Run from the repository root::

    python bench/budget.py                     # 32 clients, 4 rounds of 900 attempts a side
    python bench/budget.py --clients 8 --attempts 200 --rounds 2   # a quicker run
    python bench/budget.py --trace             # also time what runs under the envelope lock

Issue 3: holds per second with ``--clients`` clients racing for ONE envelope with room
for a third of the attempts (``--fit``), through the engine (``bus.handle_message`` on
each submission's outbox row, the Celery worker's path) and by hand (the conditional
UPDATE + INSERT), each side on a database of its own, round by round in alternating
order. Issue 3's goal: >= 0.5 (``bare_hold_ratio``, kept as information) and no
over-commitment, ever. Issue 17 adds a third side racing in turn, ``same_writes``
(``bench/budget_same_writes.py``): the same rows as the engine's hold transaction
(state, events and stream head, tasks, reminders, outbox, hold and entry) written by
hand in plain SQL, one transaction each; goal ``ratio`` >= 0.7. Every round is checked;
a failed check exits non-zero after the figures. ``bench/budget_replay.py`` adds a
fourth side.

``*_cpu_ms_per_attempt`` is the CPU one attempt costs during the race, the whole
machine's and the clients' process's: on 2 cores it, not the envelope's lock, bounds the
engine.

Figures are ``name=value`` lines; the last is ``ratio=<engine/same_writes>`` (attempts
per second, placed and waitlisted alike).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import psycopg
from budget_trace import LockTrace
from sqlalchemy import Connection, Engine, text
from support import (
    CATEGORY,
    CITY_OFFICER,
    COORDINATOR,
    ORG,
    TITLE,
    Raced,
    add_directory,
    analyze,
    arguments,
    emit,
    emit_machine,
    exit_on_sigterm,
    in_turn,
    make_bus,
    psycopg_url,
    race,
    scratch_postgres,
    store_definition,
    work_off,
)

from workflow.adapters.database import make_engine
from workflow.adapters.unit_of_work import SqlUnitOfWorkFactory
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.service_layer.handlers import PLACE_HOLDS
from workflow.service_layer.messagebus import MessageBus

DB = "jointflow_budget"
PARTY = "city"
AMOUNT = 10_000_000  # every program asks the city for this much
WORKFLOW = ("joint-program", 1)
FIRST_YEAR = 2030  # round r races for the envelope of FIRST_YEAR + r; the warm-up, one before
HOLD_SQL = (
    "UPDATE envelopes SET held = held + %s WHERE party = %s AND fiscal_year = %s "
    "AND amount - held - committed >= %s RETURNING id"
)
ENTRY_SQL = (
    "INSERT INTO ledger_entries (envelope_id, program_id, kind, amount, "
    "idempotency_key, actor, created_at) VALUES (%s, %s, 'hold', %s, %s, 'system', %s)"
)


# -- the databases --


def racing_bus(url: str, clients: int) -> tuple[MessageBus, Engine]:
    """The deployment bus of ``bootstrap``, on an engine whose pool has room for every client.

    ``engine_for``'s default pool (5 + 10 overflow) would make most clients queue for a
    connection instead of for the envelope; only the engine's pool size differs.
    """
    bus = make_bus(url)
    engine = make_engine(url, pool_size=clients + 2, max_overflow=2, pool_timeout=300)
    assert isinstance(bus.uow, SqlUnitOfWorkFactory)
    bus.uow.engine = engine
    bus.uow.wake_relay = False  # as a worker's bus: it publishes its follow-ups itself
    return bus, engine


def seed_directory(bus: MessageBus) -> None:
    add_directory(bus, [(COORDINATOR, ORG, "coordinator"), (CITY_OFFICER, PARTY, "budget_officer")])
    store_definition(bus, WORKFLOW[0])


def add_envelope(bus: MessageBus, year: int, fit: int) -> None:
    """The round's envelope, with room for exactly ``fit`` holds."""
    bus.handle(c.AddEnvelope(actor=CITY_OFFICER, party=PARTY, year=year, amount=fit * AMOUNT))
    work_off(bus)  # adding an envelope leaves a waitlist retry


# -- a side of the race --


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

    def figures(self, base: Side) -> None:
        """Figures of this side's own, printed after every side's common ones."""

    def round(self, items: list[Any], year: int, fit: int, timed: bool) -> None:
        raced = self.run(items, year)
        placed, waitlisted, failures = self.outcome(year, raced.outcomes)
        failures += self.check(year, fit, placed)
        if placed + waitlisted != len(items):
            failures.append(f"{placed} placed + {waitlisted} waitlisted != {len(items)} attempts")
        label = f"{self.name} year {year}" + ("" if timed else " (warm-up)")
        self.failures += [f"{label}: {f}" for f in failures]
        if timed:
            self.count(raced, len(items), placed, waitlisted)
        print(
            f"{label}: {len(items)} attempts in {raced.seconds:.2f} s "
            f"({len(items) / raced.seconds:.0f}/s), {placed} placed, {waitlisted} waitlisted",
            file=sys.stderr,
            flush=True,
        )

    def check(self, year: int, fit: int, placed: int) -> list[str]:
        """The round's envelope, and no envelope over-committed (counted, too)."""
        with self.connect() as conn:
            failures = check_envelope(conn, year, fit, placed)
            over = int(
                conn.execute(
                    text("SELECT count(*) FROM envelopes WHERE held + committed > amount")
                ).scalar_one()
            )
        if over:
            failures.append(f"{over} over-committed envelope(s)")
        self.overcommitments += over
        return failures

    def count(self, raced: Raced, attempts: int, placed: int, waitlisted: int) -> None:
        self.seconds += raced.seconds
        self.machine_cpu += raced.machine_cpu
        self.clients_cpu += raced.clients_cpu
        self.attempts += attempts
        self.placed += placed
        self.waitlisted += waitlisted
        self.round_rates.append(attempts / raced.seconds)


def check_envelope(conn: Connection, year: int, fit: int, placed: int) -> list[str]:
    """The envelope's balance against its entries, and exactly ``fit`` holds in it."""
    row = conn.execute(
        text(
            "SELECT id, amount, held, committed FROM envelopes "
            "WHERE party = :p AND fiscal_year = :y"
        ),
        {"p": PARTY, "y": year},
    ).one()
    entries, total = conn.execute(
        text(
            "SELECT count(*), coalesce(sum(amount), 0) FROM ledger_entries "
            "WHERE envelope_id = :e AND kind = 'hold'"
        ),
        {"e": row.id},
    ).one()
    failures = []
    if row.held != total:
        failures.append(f"envelope held {row.held} != sum of hold entries {total}")
    if not entries == placed == fit:
        failures.append(f"{entries} hold entries, {placed} placed; exactly {fit} fit")
    if row.held + row.committed > row.amount:
        failures.append(
            f"envelope over-committed: held {row.held} + committed {row.committed} > {row.amount}"
        )
    return failures


# -- the engine --


class EngineSide(Side):
    """Submitted programs' place_holds messages, carried out by the clients through the bus."""

    name = "engine"

    def __init__(self, url: str, clients: int) -> None:
        super().__init__(url, clients)
        self.bus, self.engine = racing_bus(url, clients)
        # What an attempt runs and what wraps a race: budget_replay records through them.
        self.attempt: Callable[[Any], object] = self.bus.handle_message
        self.recording: Callable[[], contextlib.AbstractContextManager[object]] = (
            contextlib.nullcontext
        )
        seed_directory(self.bus)

    def connect(self) -> Connection:
        return self.engine.connect()

    def prepare(self, year: int, attempts: int, fit: int) -> list[Any]:
        """The envelope, and ``attempts`` submitted programs: their place_holds messages."""
        add_envelope(self.bus, year, fit)
        for _ in range(attempts):
            program_id = self.bus.handle(
                c.CreateProgram(
                    actor=COORDINATOR,
                    title=TITLE,
                    org=ORG,
                    category=CATEGORY,
                    requests={PARTY: AMOUNT},
                    year=year,
                )
            )
            self.bus.handle(c.SubmitProgram(actor=COORDINATOR, program_id=program_id))
        with self.connect() as conn:
            message_ids = list(
                conn.execute(
                    text("SELECT id FROM outbox WHERE task = :t AND done_at IS NULL ORDER BY id"),
                    {"t": PLACE_HOLDS},
                ).scalars()
            )
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
            with self.recording():
                return race(self.clients, items, lambda: contextlib.nullcontext(self.attempt))
        finally:
            self.engine.dispose()  # free the server's connections for the other side

    def outcome(self, year: int, outcomes: list[object]) -> tuple[int, int, list[str]]:
        with self.connect() as conn:
            return engine_outcome(conn, year)

    def close(self) -> None:
        self.engine.dispose()


def engine_outcome(conn: Connection, year: int) -> tuple[int, int, list[str]]:
    """(placed, waitlisted, failed checks) of the engine's programs of ``year``."""
    states: dict[str, int] = dict(
        conn.execute(
            text("SELECT state, count(*) FROM programs WHERE fiscal_year = :y GROUP BY state"),
            {"y": year},
        ).all()
    )
    # The waitlistings' budget notices are left for a worker that isn't racing.
    pending = conn.execute(
        text("SELECT count(*) FROM outbox WHERE task = :t AND done_at IS NULL"), {"t": PLACE_HOLDS}
    ).scalar_one()
    refused = conn.execute(
        text("SELECT count(*) FROM events WHERE type = :t"), {"t": ev.ACTION_REFUSED}
    ).scalar_one()
    requests_held, envelope_held = conn.execute(
        text(
            "SELECT (SELECT coalesce(sum(r.held), 0) FROM program_requests r "
            "JOIN programs p ON p.id = r.program_id WHERE p.fiscal_year = :y), "
            "(SELECT held FROM envelopes WHERE party = :p AND fiscal_year = :y)"
        ),
        {"y": year, "p": PARTY},
    ).one()
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


# -- the baseline --


class BaselineSide(Side):
    """The same envelope and bare program rows; psycopg clients hold by hand."""

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
            program_ids = list(
                conn.execute(
                    text(
                        "INSERT INTO programs (title, description, category, org_key, "
                        "workflow_key, workflow_version, state, fiscal_year, review_round, "
                        "created_by, "
                        "submitted_by, version, created_at, updated_at) "
                        "SELECT :title, '', :category, :org, :wf, :wfv, 'submitted', :y, 1, :by, "
                        "'[]', 1, now(), now() FROM generate_series(1, :n) RETURNING id"
                    ),
                    {
                        "title": TITLE,
                        "category": CATEGORY,
                        "org": ORG,
                        "wf": WORKFLOW[0],
                        "wfv": WORKFLOW[1],
                        "y": year,
                        "by": COORDINATOR,
                        "n": attempts,
                    },
                ).scalars()
            )
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
        conn.execute(
            ENTRY_SQL,
            (row[0], program_id, AMOUNT, f"hold:{program_id}:1:{PARTY}", datetime.now(UTC)),
        )
    conn.commit()
    return row is not None


# -- the run --

Follower = Callable[[EngineSide], Side]  # a side that races after the engine each round


def run(args: argparse.Namespace, follower: Follower | None = None) -> list[str]:
    """The rounds, then the figures; the failed checks."""
    clients, attempts, fit = args.clients, args.attempts, args.fit or max(1, args.attempts // 3)
    if not 0 < fit < attempts:
        raise SystemExit("--fit must leave some attempts without room (0 < fit < attempts)")
    if not 1 <= args.rounds <= 60:
        raise SystemExit("--rounds must be 1..60 (one fiscal year each)")
    load_before = os.getloadavg()[0]
    traces: dict[str, LockTrace] | None = {} if args.trace else None
    with (
        scratch_postgres(DB, "_engine") as engine_url,
        scratch_postgres(DB, "_baseline") as base_url,
        scratch_postgres(DB, "_same") as same_url,
    ):
        from budget_same_writes import SameWritesSide  # it imports this module

        engine, base = EngineSide(engine_url, clients), BaselineSide(base_url, clients)
        racers: list[Side] = [engine, base, SameWritesSide(same_url, clients)]
        followers: list[Side] = []
        try:
            warm_up(racers, clients, attempts)
            followers += [follower(engine)] if follower else []
            for r in range(args.rounds):
                race_round(racers, followers, r, attempts, fit, traces)
        finally:
            for side in racers + followers:
                side.close()
    emit_machine(load_before)
    emit("clients", clients)
    emit("rounds", args.rounds)
    emit("attempts_per_round", attempts)
    emit("fit_per_round", fit)
    emit("traced", bool(args.trace))
    return report(racers + followers, traces or {})


def warm_up(sides: list[Side], clients: int, attempts: int) -> None:
    """An untimed round a side: caches, the definition row, the code paths."""
    warm = max(clients, min(attempts, 4 * clients))
    fit = max(1, warm // 3)
    for side in sides:
        side.round(side.prepare(FIRST_YEAR - 1, warm, fit), FIRST_YEAR - 1, fit, timed=False)


def race_round(
    racers: list[Side],
    followers: list[Side],
    r: int,
    attempts: int,
    fit: int,
    traces: dict[str, LockTrace] | None,
) -> None:
    """Round ``r``, a fiscal year of its own: every side prepared, the racers in turn
    (traced if asked), then the followers on what the engine's race left."""
    year = FIRST_YEAR + r
    items = {side.name: side.prepare(year, attempts, fit) for side in racers + followers}
    for side in in_turn(racers, r):
        with contextlib.ExitStack() as stack:
            if traces is not None:
                stack.enter_context(traces.setdefault(side.name, LockTrace()).installed())
            side.round(items[side.name], year, fit, timed=True)
    for side in followers:
        side.round(items[side.name], year, fit, timed=True)


def report(sides: list[Side], traces: dict[str, LockTrace]) -> list[str]:
    """Each side's figures (engine and baseline first), the checks, and the ratio last;
    the failed checks."""
    for side in sides:
        emit(f"{side.name}_attempts", side.attempts)
        emit(f"{side.name}_placed", side.placed)
        emit(f"{side.name}_waitlisted", side.waitlisted)
        emit(f"{side.name}_seconds", side.seconds)
        emit(f"{side.name}_holds_per_s_rounds", " ".join(f"{r:.0f}" for r in side.round_rates))
        emit(f"{side.name}_holds_per_s", rate(side))
        emit(
            f"{side.name}_cpu_ms_per_attempt",
            f"machine:{1000 * side.machine_cpu / side.attempts:.2f} "
            f"clients:{1000 * side.clients_cpu / side.attempts:.2f}",
        )
        if side.name in traces:  # --trace: the engine and the baseline, not a follower
            traces[side.name].report(side.name, side.seconds)
    engine, base = sides[:2]
    for side in sides:
        side.figures(base)
    failures = [failure for side in sides for failure in side.failures]
    emit("overcommitments", sum(side.overcommitments for side in sides))
    emit("checks_ok", not failures)
    # Information: against the bare conditional UPDATE + INSERT (issue 3's goal, 0.5).
    emit("bare_hold_ratio", f"{rate(engine) / rate(base):.3f}")
    same = next(side for side in sides if side.name == "same_writes")
    emit("ratio", f"{rate(engine) / rate(same):.3f}")  # issue 17: the same rows by hand
    return failures


def rate(side: Side) -> float:
    """Attempts per second over the timed rounds."""
    return side.attempts / side.seconds


def main(doc: str | None = __doc__, follower: Follower | None = None) -> None:
    parser = arguments(doc)
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients a side")
    parser.add_argument(
        "--attempts", type=int, default=900, help="hold attempts (programs) per side per round"
    )
    parser.add_argument(
        "--fit",
        type=int,
        default=0,
        help="holds the envelope has room for (default: a third of attempts)",
    )
    parser.add_argument(
        "--rounds", type=int, default=4, help="timed rounds; the sides alternate which goes first"
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="time what each transaction does under the envelope lock",
    )
    args = parser.parse_args()
    exit_on_sigterm()
    failures = run(args, follower)
    if failures:
        for failure in failures:
            print(f"CHECK FAILED: {failure}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
