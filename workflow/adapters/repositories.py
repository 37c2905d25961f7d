"""Repositories: load and save aggregates and directory records with SQLAlchemy Core.

``ProgramRepository.get(..., lock=True)`` takes the program's row lock: every action
on one program runs one at a time (that is what makes the joint review's AND-join
fire exactly once), while actions on different programs never wait on each other.
A locked load also reads the head of the program's audit stream (the row lock
serialises that stream's writers, see ``event_store``). The lock is queued on the
unit of work's connection and goes to the server with the load, in one round trip,
together with the acting user (``get_locked_as``) or whatever else the caller has
queued to read with it: each round trip saved is driver and server work saved on
every action.
Saving writes only what changed since loading. Hot-path statements are built once
at import (with bind parameters): building and cache-keying a Core statement per call
cost more than the round trip to PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from workflow.adapters.batch import BatchingConnection
from workflow.adapters.directory import Directory, user_of
from workflow.adapters.event_store import EventStore
from workflow.adapters.orm import (
    event_streams,
    party_decisions,
    party_evaluations,
    program_requests,
    programs,
    scheduled_work,
    users,
)
from workflow.domain.errors import Conflict, NotFound
from workflow.domain.events import program_stream
from workflow.domain.permissions import User
from workflow.domain.program import (
    Decision,
    Evaluation,
    EvaluationReport,
    Program,
    ProgramContent,
)
from workflow.service_layer.ports import Asked

_req, _dec, _eval = program_requests.c, party_decisions.c, party_evaluations.c
_head = event_streams.c
# The program with its requests, decisions, evaluations and audit stream head in one
# round trip (one row per request x decision x evaluation: a handful). Locking is a
# statement of its own, taken first: at READ COMMITTED a locking join would re-read
# only the locked row after waiting and hand back the joined rows as they were before
# the other transaction committed.
_PROGRAM = (
    select(
        programs,
        _req.party.label("r_party"),
        _req.amount.label("r_amount"),
        _req.held.label("r_held"),
        _req.committed.label("r_committed"),
        _req.disbursed.label("r_disbursed"),
        _dec.party.label("d_party"),
        _dec.decision.label("d_decision"),
        _dec.decided_by.label("d_by"),
        _dec.comment.label("d_comment"),
        _eval.party.label("e_party"),
        _eval.verdict.label("e_verdict"),
        _eval.decided_by.label("e_by"),
        _eval.score.label("e_score"),
        _eval.comment.label("e_comment"),
        _head.seq.label("h_seq"),
        _head.head.label("h_head"),
    )
    .select_from(
        programs.outerjoin(program_requests, _req.program_id == programs.c.id)
        .outerjoin(party_decisions, _dec.program_id == programs.c.id)
        .outerjoin(party_evaluations, _eval.program_id == programs.c.id)
        .outerjoin(event_streams, _head.stream == bindparam("stream"))
    )
    .where(programs.c.id == bindparam("pid"))
    .order_by(_dec.party, _req.party, _eval.party)
)
_LOCK_PROGRAM = select(programs.c.id).where(programs.c.id == bindparam("pid")).with_for_update()
# The lock with the acting user (None columns: no such user). The user row may be as
# of before a wait for the lock, as it was when it was read before taking the lock.
_PROGRAM_AS = (  # without the lock: a read-only transaction (a probe) takes none
    select(programs.c.id.label("program_id"), users)
    .select_from(programs.outerjoin(users, users.c.email == bindparam("email")))
    .where(programs.c.id == bindparam("pid"))
)
_LOCK_PROGRAM_AS = _PROGRAM_AS.with_for_update(of=programs)
_SAVE_DECISION = (
    update(party_decisions)
    .where(
        party_decisions.c.program_id == bindparam("pid"),
        party_decisions.c.party == bindparam("p_party"),
    )
    .values(
        decision=bindparam("p_decision"),
        decided_by=bindparam("p_by"),
        comment=bindparam("p_comment"),
        decided_at=bindparam("p_at"),
    )
)
_CALL_OFF = (
    update(scheduled_work)
    .where(
        scheduled_work.c.program_id == bindparam("pid"),
        scheduled_work.c.action == bindparam("b_action"),
        scheduled_work.c.done_at.is_(None),
    )
    .values(done_at=bindparam("b_now"), outcome="called off")
)
_SCHEDULE = insert(scheduled_work)
_ROW_COLUMNS = (
    "title",
    "description",
    "category",
    "org_key",
    "workflow_key",
    "workflow_version",
    "state",
    "fiscal_year",
    "start_date",
    "end_date",
    "review_round",
    "created_by",
    "submitted_by",
    "waitlisted_at",
    "holds_expire_at",
    "tranches",
    "evaluation_round",
    "report",
)
# Optimistic check on top of the row lock: a save only lands on the version it loaded.
_SAVE_PROGRAM = (
    update(programs)
    .where(programs.c.id == bindparam("pid"), programs.c.version == bindparam("old_version"))
    .values(
        {
            **{c: bindparam(f"v_{c}") for c in _ROW_COLUMNS},
            "updated_at": bindparam("v_updated_at"),
            "version": bindparam("new_version"),
        }
    )
)

_ADD_PROGRAM = insert(programs).returning(programs.c.id)
_ADD_DECISIONS = insert(party_decisions)


@dataclass(frozen=True)
class _Snapshot:
    requests: dict[str, int]
    holds: dict[str, int]
    decisions: dict[str, Decision]
    evaluations: dict[str, Evaluation]
    asks: Asked  # state and the parties it waits on: its tasks


class ProgramRepository:
    def __init__(self, conn: BatchingConnection, events: EventStore, locking: bool = True) -> None:
        self.conn = conn
        self.events = events
        self.locking = locking  # False in a read-only transaction (a probe): no row locks
        self._seen: dict[int, _Snapshot] = {}
        self._locked: set[int] = set()  # row locks taken (or queued) in this transaction
        # A read-only transaction writes nothing, so what it read stays true for it: the
        # probes of one page (``bus.allowed``) read the program and its user once.
        self._rows_read: dict[int, Sequence[Any]] = {}
        self._users_read: dict[tuple[str, int], Any] = {}

    def get(self, program_id: int, lock: bool = False) -> Program:
        if lock:
            self.lock(program_id)
        return self._build(program_id, self._read(program_id), lock)

    def lock(self, program_id: int) -> None:
        """Queue the program's row lock: it goes to the server with the next read (the
        load, and whatever else is read with it), and is taken before that read runs."""
        if program_id not in self._locked and self.locking:
            if self.conn.row_locks:
                self.conn.defer(_LOCK_PROGRAM, {"pid": program_id})
            self._locked.add(program_id)

    def get_locked_as(self, email: str, program_id: int) -> tuple[User, Program]:
        """The acting user and the locked program; an unknown user is reported first."""
        if self.locking:
            lock = self.conn.prefetch(_LOCK_PROGRAM_AS, {"pid": program_id, "email": email.lower()})
            self._locked.add(program_id)
            rows = self._read(program_id)  # in the lock's round trip, after it
            row = lock.result().first()
        else:
            row, rows = self._read_as(email.lower(), program_id)
        user = user_of(row) if row is not None and row.id is not None else None
        if user is None:  # a look-up of its own, so an unknown user is reported first
            user = Directory(self.conn).user(email)
        return user, self._build(program_id, rows, locked=True)

    def _read(self, program_id: int) -> Sequence[Any]:
        found = self._rows_read.get(program_id)
        if found is None:
            found = self.conn.fetch(
                _PROGRAM, {"pid": program_id, "stream": program_stream(program_id)}
            ).all()
            if not self.locking:
                self._rows_read[program_id] = found
        return found

    def _read_as(self, email: str, program_id: int) -> tuple[Any, Sequence[Any]]:
        """The user's row and the program's rows, read once per read-only transaction."""
        if (email, program_id) not in self._users_read:
            user = self.conn.prefetch(_PROGRAM_AS, {"pid": program_id, "email": email})
            self._read(program_id)  # in the user's round trip
            self._users_read[email, program_id] = user.result().first()
        return self._users_read[email, program_id], self._read(program_id)

    def _build(self, program_id: int, rows: Sequence[Any], locked: bool) -> Program:
        if not rows:
            raise NotFound(
                f"program {program_id} does not exist", reason="no_program", program=program_id
            )
        if locked:  # the row lock serialises the stream's writers: its head stays put
            head = rows[0]
            self.events.known_head(
                program_stream(program_id),
                None if head.h_head is None else (head.h_seq, head.h_head),
            )
        program = _program(rows)
        self._seen[program_id] = _snapshot(program)
        return program

    def asked_when_loaded(self, program_id: int) -> Asked | None:
        """State and waiting-on parties as last loaded or saved (None: a new program)."""
        seen = self._seen.get(program_id)
        return seen.asks if seen else None

    def exists(self, program_id: int, lock: bool = False) -> bool:
        """``lock``: also take the row lock, as anyone appending to its stream must."""
        if lock:
            found = self.conn.execute(_LOCK_PROGRAM, {"pid": program_id}).first() is not None
            if found:
                self._locked.add(program_id)
            return found
        query = select(programs.c.id).where(programs.c.id == program_id)
        return self.conn.execute(query).first() is not None

    def add(self, program: Program, now: datetime) -> int:
        values = {**_row(program), "created_at": now, "updated_at": now, "version": 1}
        program.id = int(self.conn.execute(_ADD_PROGRAM, values).scalar_one())
        program.version = 1
        self.events.known_head(program_stream(program.id), None)  # a new id: a new stream
        self._write_requests(program, program.holds)
        self.conn.execute(
            _ADD_DECISIONS,
            [
                {"program_id": program.id, "party": p, "decision": d.decision, "comment": ""}
                for p, d in program.decisions.items()
            ],
        )
        self._seen[program.id] = _snapshot(program)
        return program.id

    def save(self, program: Program, now: datetime) -> None:
        assert program.id is not None
        before = self._seen[program.id]
        params = {f"v_{k}": v for k, v in _row(program).items()}
        self.conn.defer(
            _SAVE_PROGRAM,
            {
                **params,
                "v_updated_at": now,
                "pid": program.id,
                "old_version": program.version,
                "new_version": program.version + 1,
            },
            check=partial(_saved, program.id),
        )
        program.version += 1
        if program.content.requests != before.requests:
            self.conn.execute(
                delete(program_requests).where(program_requests.c.program_id == program.id)
            )
            # Rows carry the held balance as loaded: the ledger moves of this same
            # save adjust it (writing program.holds here would count a release twice).
            self._write_requests(program, before.holds)
        changed = [
            {
                "pid": program.id,
                "p_party": party,
                "p_decision": d.decision,
                "p_by": d.by,
                "p_comment": d.comment,
                "p_at": now if d.by else None,
            }
            for party, d in program.decisions.items()
            if d != before.decisions.get(party)
        ]
        if changed:
            self.conn.defer(_SAVE_DECISION, changed)
        if program.evaluations != before.evaluations:
            self._write_evaluations(program, now)
        self._write_scheduled(program, now)
        self._seen[program.id] = _snapshot(program)

    def _write_evaluations(self, program: Program, now: datetime) -> None:
        """A handful of rows, rewritten whole when a verdict lands or a new round starts."""
        self.conn.execute(
            delete(party_evaluations).where(party_evaluations.c.program_id == program.id)
        )
        self.conn.execute(
            insert(party_evaluations),
            [
                {
                    "program_id": program.id,
                    "party": party,
                    "verdict": e.verdict,
                    "score": e.score,
                    "decided_by": e.by,
                    "comment": e.comment,
                    "decided_at": now if e.by else None,
                }
                for party, e in program.evaluations.items()
            ],
        )

    def _write_scheduled(self, program: Program, now: datetime) -> None:
        """Call off void work first: a program may call off an expiry and set a new one."""
        for action in sorted(program.called_off):
            self.conn.defer(_CALL_OFF, {"pid": program.id, "b_action": action, "b_now": now})
        program.called_off.clear()
        self.conn.defer(
            _SCHEDULE,
            [
                {
                    "program_id": program.id,
                    "action": w.action,
                    "key": w.key,
                    "due_at": w.due_at,
                    "created_at": now,
                }
                for w in program.scheduled
            ],
        )
        program.scheduled.clear()

    def _write_requests(self, program: Program, held: dict[str, int]) -> None:
        self.conn.execute(
            insert(program_requests),
            [
                {
                    "program_id": program.id,
                    "party": party,
                    "amount": amount,
                    "held": held.get(party, 0),
                }
                for party, amount in program.content.requests.items()
            ],
        )

    def waitlisted(self, year: int) -> list[int]:
        """Waitlisted programs of a fiscal year, oldest first."""
        query = (
            select(programs.c.id)
            .where(programs.c.state == "waitlisted", programs.c.fiscal_year == year)
            .order_by(programs.c.waitlisted_at, programs.c.id)
        )
        return list(self.conn.scalars(query))


def _saved(program_id: int, rowcount: int) -> None:
    if rowcount != 1:
        raise Conflict(
            f"program {program_id} was changed by someone else; try again",
            reason="changed_meanwhile",
            program=program_id,
        )


def _row(p: Program) -> dict[str, Any]:
    c = p.content
    return {
        "title": c.title,
        "description": c.description,
        "category": c.category,
        "org_key": p.org,
        "workflow_key": p.workflow_key,
        "workflow_version": p.workflow_version,
        "state": p.state,
        "fiscal_year": c.fiscal_year,
        "start_date": c.start,
        "end_date": c.end,
        "review_round": p.review_round,
        "created_by": p.created_by,
        "submitted_by": json.dumps(sorted(p.submitted_by)),
        "waitlisted_at": p.waitlisted_at,
        "holds_expire_at": p.holds_expire_at,
        "tranches": p.tranches,
        "evaluation_round": p.evaluation_round,
        "report": json.dumps(dataclasses.asdict(p.report), sort_keys=True) if p.report else None,
    }


def _program(rows: Sequence[Any]) -> Program:
    row = rows[0]
    requests = {r.r_party: (int(r.r_amount), int(r.r_held)) for r in rows if r.r_party}
    money = {r.r_party: (int(r.r_committed), int(r.r_disbursed)) for r in rows if r.r_party}
    decisions = {r.d_party: Decision(r.d_decision, r.d_by, r.d_comment) for r in rows if r.d_party}
    evaluations = {
        r.e_party: Evaluation(r.e_verdict, r.e_by, r.e_score, r.e_comment)
        for r in rows
        if r.e_party
    }
    content = ProgramContent(
        title=row.title,
        category=row.category,
        fiscal_year=row.fiscal_year,
        requests={party: amount for party, (amount, _) in requests.items()},
        start=row.start_date,
        end=row.end_date,
        description=row.description,
    )
    return Program(
        id=row.id,
        org=row.org_key,
        workflow_key=row.workflow_key,
        workflow_version=row.workflow_version,
        content=content,
        created_by=row.created_by,
        state=row.state,
        parties=tuple(decisions),
        decisions=decisions,
        holds={party: held for party, (_, held) in requests.items() if held},
        submitted_by=set(json.loads(row.submitted_by)),
        review_round=row.review_round,
        version=row.version,
        waitlisted_at=row.waitlisted_at,
        holds_expire_at=row.holds_expire_at,
        committed={party: c for party, (c, _) in money.items() if c},
        disbursed={party: d for party, (_, d) in money.items() if d},
        tranches=row.tranches,
        report=_report(row.report),
        evaluations=evaluations,
        evaluation_round=row.evaluation_round,
    )


def _report(raw: str | None) -> EvaluationReport | None:
    return EvaluationReport(**json.loads(raw)) if raw else None


def _snapshot(p: Program) -> _Snapshot:
    return _Snapshot(
        dict(p.content.requests),
        dict(p.holds),
        {k: replace(v) for k, v in p.decisions.items()},
        {k: replace(v) for k, v in p.evaluations.items()},
        (p.state, tuple(p.pending_parties())),
    )
