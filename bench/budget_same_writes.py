"""``bench/budget.py``'s second baseline: the engine's hold transaction written by hand.

The same rows the engine's ``place_holds`` transaction writes, in plain SQL, one psycopg
statement at a time in one transaction, on submitted programs made by the engine (so
each starts from the same rows): the message taken (outbox ``done_at``), the program
locked and read with its stream head, the conditional hold on the envelope and its
ledger entry, the request's ``held``; then, placed, the program's state and version,
the hold's expiry as scheduled work, one review task per funder with its first reminder rows,
two events chained by SHA-256 and the stream head, the ``notify`` message; or, no room,
the program waitlisted, its two events, the head, the budget notice and ``notify``.

Python does only what SQL can't: the hashes of the audit chain and the JSON payloads.
If the engine's hold transaction changes the rows it writes (reminders stored another
way, say), ``RUNGS`` and the statements here follow it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import psycopg
from budget import AMOUNT, PARTY, EngineSide, engine_outcome
from sqlalchemy import Connection
from support import Raced, psycopg_url, race

FUNDERS = ("city", "education_office")  # each gets a review task, requested or not
# A task's first rows: its first reminder and its escalation (days from due; the later
# reminder rungs are written as each is sent, ``domain/reminders.py``).
RUNGS = (("before", -2), ("escalate", 6))
SYSTEM = "system"

TAKE = (
    "UPDATE outbox SET done_at = %s WHERE id = %s AND done_at IS NULL "
    "RETURNING (payload::json ->> 'program_id')::bigint"
)
LOCK = (
    "SELECT p.version, p.fiscal_year, s.seq, s.head FROM programs p "
    "JOIN event_streams s ON s.stream = 'program:' || p.id WHERE p.id = %s FOR UPDATE OF p"
)
HOLD = (
    "UPDATE envelopes SET held = held + %s WHERE party = %s AND fiscal_year = %s "
    "AND amount - held - committed >= %s RETURNING id"
)
AVAILABLE = "SELECT amount - held - committed FROM envelopes WHERE party = %s AND fiscal_year = %s"
ENTRY = (
    "INSERT INTO ledger_entries (envelope_id, program_id, kind, amount, idempotency_key, "
    "actor, created_at) VALUES (%s, %s, 'hold', %s, %s, 'system', %s)"
)
REQUEST = "UPDATE program_requests SET held = held + %s WHERE program_id = %s AND party = %s"
PROGRAM = (
    "UPDATE programs SET state = %s, version = version + 1, holds_expire_at = %s, "
    "waitlisted_at = %s, updated_at = %s WHERE id = %s AND version = %s"
)
EXPIRY = (
    "INSERT INTO scheduled_work (program_id, action, key, due_at, created_at) "
    "VALUES (%s, 'expire', %s, %s, %s)"
)
TASKS = (
    "INSERT INTO tasks (program_id, kind, party, queue_org, queue_role, state, due_at, "
    "created_at) VALUES (%s, 'review', %s, %s, 'approver', 'open', %s, %s), "
    "(%s, 'review', %s, %s, 'approver', 'open', %s, %s) RETURNING id"
)
REMINDER = (
    "INSERT INTO reminders (task_id, rung, due_at, status, created_at) "
    "VALUES (%s, %s, %s, 'pending', %s)"
)
EVENT = (
    "INSERT INTO events (stream, seq, type, actor, at, data, prev_hash, hash) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)
HEAD = "UPDATE event_streams SET seq = %s, head = %s WHERE stream = %s AND seq = %s"
MESSAGE = "INSERT INTO outbox (task, payload, created_at, attempts) VALUES (%s, %s, %s, 0)"


def chained(
    stream: str, seq: int, head: str, at: str, new: list[tuple[str, dict[str, Any]]]
) -> list[tuple[Any, ...]]:
    """The events' rows, each hashed over the one before (as the audit chain is)."""
    rows = []
    for type_, data in new:
        seq += 1
        body = json.dumps(data, sort_keys=True, separators=(",", ":"))
        payload = json.dumps([head, stream, seq, type_, SYSTEM, at, body], separators=(",", ":"))
        digest = hashlib.sha256(payload.encode()).hexdigest()
        rows.append((stream, seq, type_, SYSTEM, at, body, head, digest))
        head = digest
    return rows


def as_message(event: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"type": event[0], "data": event[1]}


def hold_same_writes(conn: psycopg.Connection[Any], year: int, message_id: int) -> bool:
    """One place_holds message carried out by hand: placed? As the engine does, the
    envelope's row is locked last (its conditional UPDATE, just before COMMIT), so the
    lock covers that statement, the entry and the commit; a read that was overtaken is
    rolled back and done again with the envelope locked first."""
    for contended in (False, True):
        placed = _hold_transaction(conn, year, message_id, contended)
        if placed is not None:
            return placed
        conn.rollback()
    raise AssertionError("the envelope locked up front cannot be overtaken")


def _hold_transaction(
    conn: psycopg.Connection[Any], year: int, message_id: int, contended: bool
) -> bool | None:
    """The transaction, committed; None (not committed) if the room read was overtaken."""
    now = datetime.now(UTC)
    at = now.isoformat(timespec="microseconds")
    taken = conn.execute(TAKE, (now, message_id)).fetchone()
    assert taken is not None, f"message {message_id} was done already"
    program_id = taken[0]
    version, fiscal_year, seq, head = conn.execute(LOCK, (program_id,)).fetchone()  # type: ignore[misc]
    stream = f"program:{program_id}"
    available = conn.execute(
        AVAILABLE + (" FOR UPDATE" if contended else ""), (PARTY, fiscal_year)
    ).fetchone()[0]  # type: ignore[index]
    placing = available >= AMOUNT
    if placing:
        expires = now + timedelta(days=120)
        conn.execute(REQUEST, (AMOUNT, program_id, PARTY))
        conn.execute(PROGRAM, ("in_review", expires, None, now, program_id, version))
        conn.execute(EXPIRY, (program_id, f"expire:{program_id}:1", expires, now))
        due = now + timedelta(days=14)
        task_rows = [v for f in FUNDERS for v in (program_id, f, f, due, now)]
        task_ids = [r[0] for r in conn.execute(TASKS, task_rows).fetchall()]
        with conn.cursor() as cur:
            cur.executemany(
                REMINDER,
                [(t, rung, due + timedelta(days=d), now) for t in task_ids for rung, d in RUNGS],
            )
        events = [
            ("BudgetHeld", {"amount": AMOUNT, "party": PARTY, "year": fiscal_year}),
            ("ReviewStarted", {"from": "submitted", "to": "in_review", "trigger": "hold"}),
        ]
        messages = [("jointflow.notify", {"events": [as_message(events[1])]})]
    else:
        conn.execute(PROGRAM, ("waitlisted", None, now, now, program_id, version))
        shortfall = f"{PARTY}: requested {AMOUNT:,}, available {available:,}"
        events = [
            ("BudgetUnavailable", {"parties": [PARTY], "shortfalls": [shortfall], "year": year}),
            ("ProgramWaitlisted", {"from": "submitted", "to": "waitlisted", "trigger": "waitlist"}),
        ]
        notice = {"details": [shortfall], "parties": [PARTY], "what": "waitlisted"}
        messages = [
            ("jointflow.budget_notice", notice),
            ("jointflow.notify", {"events": [as_message(events[1])]}),
        ]
    rows = chained(stream, seq, head, at, events)
    with conn.cursor() as cur:
        cur.executemany(EVENT, rows)
    conn.execute(HEAD, (rows[-1][1], rows[-1][-1], stream, seq))
    for task, content in messages:
        body = {**content, "program_id": program_id, "at": at, "by": SYSTEM}
        conn.execute(MESSAGE, (task, json.dumps(body, sort_keys=True), now))
    if placing:
        envelope = conn.execute(HOLD, (AMOUNT, PARTY, fiscal_year, AMOUNT)).fetchone()
        if envelope is None:
            return None
        conn.execute(ENTRY, (envelope[0], program_id, AMOUNT, f"hold:{program_id}:1:{PARTY}", now))
    elif not contended:  # no room, still? (the engine's FOR SHARE read, last)
        room = conn.execute(AVAILABLE + " FOR SHARE", (PARTY, fiscal_year)).fetchone()[0]  # type: ignore[index]
        if room >= AMOUNT:
            return None
    conn.commit()
    return placing


class SameWritesSide(EngineSide):
    """The engine's submitted programs and messages; psycopg clients write the rows."""

    name = "same_writes"

    @contextlib.contextmanager
    def client(self, year: int) -> Iterator[Callable[[Any], object]]:
        with psycopg.connect(psycopg_url(self.url)) as conn:
            yield partial(hold_same_writes, conn, year)

    def run(self, items: list[Any], year: int) -> Raced:
        return race(self.clients, items, partial(self.client, year))

    def outcome(self, year: int, outcomes: list[object]) -> tuple[int, int, list[str]]:
        placed = sum(1 for placed in outcomes if placed)
        with self.connect() as conn:
            in_db, waitlisted, failures = engine_outcome(conn, year)
        if in_db != placed:
            failures.append(f"{placed} placed by hand, {in_db} programs in review")
        return placed, waitlisted, failures

    def connect(self) -> Connection:
        return self.engine.connect()
