"""The engine benchmark's scenario, and its baseline: the engine's row writes by hand.

One psycopg transaction per action with the same row locks, inserts, updates and
sha256 event chain as the engine, reading only what it needs: the most that SQL can
reach, for ``bench/engine.py`` to measure the engine against.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from support import CATEGORY, COORDINATOR, ORG, TITLE

from workflow.domain.audit import GENESIS, canonical_json, event_hash
from workflow.domain.calendar import add_business_days
from workflow.domain.messaging import NOTIFIED_EVENTS
from workflow.domain.reminders import ReminderLadder, first_rungs
from workflow.service_layer.handlers import PLACE_HOLDS
from workflow.service_layer.outgoing import NOTIFY

YEAR = 2026
REQUESTS = {"city": 80_000_000, "education_office": 20_000_000}
WORKFLOW = ("joint-program", 4)
# joint-program@4's reminder ladder (business days) and hold_expiry_days
LADDER = ReminderLadder(before_due_days=1, on_due=True, overdue_every_days=2, escalate_after_days=5)
HOLD_EXPIRY = timedelta(days=120)


class Baseline:
    """One psycopg connection; every method is one transaction, like one engine action."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def _append(
        self,
        stream: str,
        new: list[tuple[str, dict[str, Any]]],
        actor: str,
        at: datetime,
        head: tuple[int, str] | None,
    ) -> None:
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
        self.conn.execute(
            "INSERT INTO events (stream, seq, type, actor, at, data, prev_hash, "
            f"hash) VALUES {values}",
            rows,
        )
        if head is None:
            self.conn.execute(
                "INSERT INTO event_streams (stream, seq, head) VALUES (%s, %s, %s)",
                (stream, seq, prev),
            )
        else:
            self.conn.execute(
                "UPDATE event_streams SET seq = %s, head = %s WHERE stream = %s",
                (seq, prev, stream),
            )

    def _head(self, stream: str) -> tuple[int, str]:
        row = self.conn.execute(
            "SELECT seq, head FROM event_streams WHERE stream = %s FOR UPDATE", (stream,)
        ).fetchone()
        assert row is not None
        return row[0], row[1]

    def _open_tasks(
        self,
        program_id: int,
        kind: str,
        queues: list[tuple[str, str | None, str]],
        sla_days: int,
        now: datetime,
    ) -> None:
        """(queue org, party, role) per task, due after ``sla_days`` business days, each
        with the first reminder rows of the definition's ladder (``first_rungs``)."""
        due = add_business_days(now, sla_days)
        values = ", ".join(["(%s, %s, %s, %s, %s, 'open', %s, %s)"] * len(queues))
        task_ids = [
            r[0]
            for r in self.conn.execute(
                "INSERT INTO tasks (program_id, kind, party, queue_org, queue_role, state, due_at, "
                f"created_at) VALUES {values} RETURNING id",
                [
                    v
                    for org, party, role in queues
                    for v in (program_id, kind, party, org, role, due, now)
                ],
            ).fetchall()
        ]
        rungs = first_rungs(LADDER, due, now)
        self.conn.execute(
            "INSERT INTO reminders (task_id, rung, due_at, status, created_at) VALUES "
            + ", ".join(["(%s, %s, %s, 'pending', %s)"] * (len(task_ids) * len(rungs))),
            [
                v
                for task_id in task_ids
                for rung, at in rungs.items()
                for v in (task_id, rung, at, now)
            ],
        )

    def _complete_task(self, program_id: int, kind: str, org: str, by: str, now: datetime) -> None:
        cur = self.conn.execute(
            "UPDATE tasks SET state = 'completed', closed_at = %s, closed_by = %s "
            "WHERE program_id = %s AND kind = %s AND queue_org = %s "
            "AND state IN ('open', 'claimed') AND (claimed_by IS NULL OR claimed_by = %s) "
            "RETURNING id",
            (now, by, program_id, kind, org, by),
        )
        closed = [r[0] for r in cur.fetchall()]
        assert len(closed) == 1
        self.conn.execute(
            "UPDATE reminders SET status = 'void' WHERE task_id = ANY(%s) AND status = 'pending'",
            (closed,),
        )

    def create(self) -> int:
        now = datetime.now(UTC)
        row = self.conn.execute(
            "INSERT INTO programs (title, description, category, org_key, workflow_key, "
            "workflow_version, state, fiscal_year, review_round, created_by, submitted_by, "
            "version, created_at, updated_at) VALUES (%s, '', %s, %s, %s, %s, 'draft', %s, 1, "
            "%s, '[]', 1, %s, %s) RETURNING id",
            (TITLE, CATEGORY, ORG, *WORKFLOW, YEAR, COORDINATOR, now, now),
        ).fetchone()
        assert row is not None
        program_id = int(row[0])
        parties = sorted(REQUESTS)
        self.conn.execute(
            "INSERT INTO program_requests (program_id, party, amount, held) "
            "VALUES (%s, %s, %s, 0), (%s, %s, %s, 0)",
            [v for p in parties for v in (program_id, p, REQUESTS[p])],
        )
        self.conn.execute(
            "INSERT INTO party_decisions (program_id, party, decision, comment) "
            "VALUES (%s, %s, 'pending', ''), (%s, %s, 'pending', '')",
            [v for p in parties for v in (program_id, p)],
        )
        data = {
            "org": ORG,
            "workflow": f"{WORKFLOW[0]}@{WORKFLOW[1]}",
            "title": TITLE,
            "category": CATEGORY,
            "requests": dict(sorted(REQUESTS.items())),
            "year": YEAR,
            "start": None,
            "end": None,
            "description": "",
        }
        self._append(f"program:{program_id}", [("ProgramCreated", data)], COORDINATOR, now, None)
        self._open_tasks(program_id, "submit", [(ORG, None, "coordinator")], 20, now)
        self.conn.commit()
        return program_id

    def _lock_program(self, program_id: int) -> tuple[str, int, int, int]:
        """Lock the program row, then read its children in statements of their own.

        Not one locking join: at READ COMMITTED, after waiting for the lock PostgreSQL
        re-checks only the locked row, and the joined rows would be the ones from
        before the other transaction committed (the engine takes the lock the same way).
        """
        row = self.conn.execute(
            "SELECT state, version, review_round, fiscal_year "
            "FROM programs WHERE id = %s FOR UPDATE",
            (program_id,),
        ).fetchone()
        assert row is not None
        return row[0], row[1], row[2], row[3]

    def _bump(
        self,
        program_id: int,
        version: int,
        state: str,
        now: datetime,
        extra: str = "",
        params: tuple[Any, ...] = (),
    ) -> None:
        cur = self.conn.execute(
            f"UPDATE programs SET state = %s, version = %s, updated_at = %s{extra} "
            "WHERE id = %s AND version = %s",
            (state, version + 1, now, *params, program_id, version),
        )
        assert cur.rowcount == 1

    def submit(self, program_id: int) -> None:
        now = datetime.now(UTC)
        state, version, _, _ = self._lock_program(program_id)
        assert state == "draft"
        self._bump(
            program_id,
            version,
            "submitted",
            now,
            ", submitted_by = %s",
            (json.dumps([COORDINATOR]),),
        )
        stream = f"program:{program_id}"
        submitted = [("ProgramSubmitted", _moved("submit", "draft", "submitted"))]
        self._append(stream, submitted, COORDINATOR, now, self._head(stream))
        self.conn.execute(
            "INSERT INTO outbox (task, payload, created_at, attempts) VALUES (%s, %s, %s, 0)",
            (PLACE_HOLDS, json.dumps({"program_id": program_id}, sort_keys=True), now),
        )
        self._notify(program_id, submitted, COORDINATOR, now)
        self._complete_task(program_id, "submit", ORG, COORDINATOR, now)
        self.conn.commit()

    def hold(self, message_id: int) -> None:
        now = datetime.now(UTC)
        msg = self.conn.execute(
            "SELECT payload, done_at FROM outbox WHERE id = %s FOR UPDATE", (message_id,)
        ).fetchone()
        assert msg is not None and msg[1] is None
        program_id = int(json.loads(msg[0])["program_id"])
        state, version, round_, year = self._lock_program(program_id)
        assert state == "submitted"
        requests = {
            party: int(amount)
            for party, amount in self.conn.execute(
                "SELECT party, amount FROM program_requests WHERE program_id = %s ORDER BY party",
                (program_id,),
            )
        }
        envelopes = self.conn.execute(
            "SELECT id, party, amount - held - committed FROM envelopes "
            "WHERE party = ANY(%s) AND fiscal_year = %s ORDER BY party FOR UPDATE",
            (list(requests), year),
        ).fetchall()
        room = {party: (env_id, available) for env_id, party, available in envelopes}
        entries: list[Any] = []
        held: list[tuple[str, dict[str, Any]]] = []
        for party, amount in requests.items():
            env_id, available = room[party]
            assert available >= amount
            cur = self.conn.execute(
                "UPDATE envelopes SET held = held + %s WHERE id = %s "
                "AND amount - held - committed >= %s",
                (amount, env_id, amount),
            )
            assert cur.rowcount == 1
            self.conn.execute(
                "UPDATE program_requests SET held = held + %s WHERE program_id = %s AND party = %s",
                (amount, program_id, party),
            )
            entries += [
                env_id,
                program_id,
                "hold",
                amount,
                f"hold:{program_id}:{round_}:{party}",
                "system",
                now,
            ]
            held.append(("BudgetHeld", {"party": party, "amount": amount, "year": year}))
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(requests))
        self.conn.execute(
            "INSERT INTO ledger_entries (envelope_id, program_id, kind, amount, "
            f"idempotency_key, actor, created_at) VALUES {values}",
            entries,
        )
        expires = now + HOLD_EXPIRY
        self._bump(
            program_id,
            version,
            "in_review",
            now,
            ", waitlisted_at = NULL, holds_expire_at = %s",
            (expires,),
        )
        self.conn.execute(
            "INSERT INTO scheduled_work (program_id, action, key, due_at, "
            "created_at) VALUES (%s, 'expire', %s, %s, %s)",
            (program_id, f"expire:{program_id}:{round_}", expires, now),
        )
        stream = f"program:{program_id}"
        held.append(("ReviewStarted", _moved("hold", "submitted", "in_review")))
        self._append(stream, held, "system", now, self._head(stream))
        self._notify(program_id, held, "system", now)
        self.conn.execute("UPDATE outbox SET done_at = %s WHERE id = %s", (now, message_id))
        self._open_tasks(program_id, "review", [(p, p, "approver") for p in requests], 10, now)
        self.conn.commit()

    def decide(self, program_id: int, party: str, approver: str) -> None:
        now = datetime.now(UTC)
        state, version, round_, _ = self._lock_program(program_id)
        decisions: dict[str, str] = dict(
            self.conn.execute(
                "SELECT party, decision FROM party_decisions WHERE program_id = %s", (program_id,)
            ).fetchall()
        )
        assert state == "in_review" and decisions[party] == "pending"
        self.conn.execute(
            "UPDATE party_decisions SET decision = 'approved', decided_by = %s, comment = '', "
            "decided_at = %s WHERE program_id = %s AND party = %s",
            (approver, now, program_id, party),
        )
        decisions[party] = "approved"
        new: list[tuple[str, dict[str, Any]]] = [
            ("PartyApproved", {"party": party, "comment": "", "round": round_})
        ]
        if all(d == "approved" for d in decisions.values()):
            state = "approved"
            new.append(("ProgramApproved", _moved("approve", "in_review", "approved")))
        self._bump(program_id, version, state, now)
        stream = f"program:{program_id}"
        self._append(stream, new, approver, now, self._head(stream))
        self._notify(program_id, new, approver, now)
        self._complete_task(program_id, "review", party, approver, now)
        if state == "approved":
            self._open_tasks(
                program_id,
                "commit_funds",
                [(p, p, "budget_officer") for p in sorted(decisions)],
                10,
                now,
            )
        self.conn.commit()

    def _notify(
        self, program_id: int, new: list[tuple[str, dict[str, Any]]], by: str, at: datetime
    ) -> None:
        """The notification worker's message: the change's notable events, as the engine
        hands them over (``common.route_notifications``)."""
        notable = [{"type": t, "data": d} for t, d in new if t in NOTIFIED_EVENTS]
        if notable:
            payload = {"program_id": program_id, "by": by, "at": at.isoformat(), "events": notable}
            self.conn.execute(
                "INSERT INTO outbox (task, payload, created_at, attempts) VALUES (%s, %s, %s, 0)",
                (NOTIFY, json.dumps(payload, sort_keys=True), at),
            )


def _moved(trigger: str, source: str, dest: str) -> dict[str, str]:
    return {"trigger": trigger, "from": source, "to": dest}
