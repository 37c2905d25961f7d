"""Envelopes and the ledger: the only place money moves, one entry per move.

Balances on the envelope row (and the program's share of them, on its
``program_requests`` row) are kept in step with the entries in the same transaction;
a hold is a conditional UPDATE (``available >= amount``) so two transactions racing
for the last won cannot both win, whatever the isolation level. The database's CHECK
constraints refuse the rest: ``held + committed <= amount`` per envelope and
``disbursed <= committed`` per program and party.
A unique-key violation aborts the whole transaction (the unit of work rolls back), so
no savepoints are spent on the hot path.

Holds are optimistic, so that many workers racing for one envelope queue behind its
row lock only as long as the baseline's bare UPDATE + INSERT would: the worker decides
on an unlocked read (``envelopes_to_hold``), its hold UPDATEs and entries are deferred
to ``flush``, which the unit of work calls last before COMMIT, and a waitlisting is
confirmed there by re-reading the envelopes ``FOR SHARE`` (a release must wait for the
commit, and the retry it sets off then sees the program waitlisted). An envelope that
does not exist yet has no row to lock: on PostgreSQL adding one takes an advisory
lock on its (party, year) that a waitlisting for want of it holds shared until its
commit (SQLite runs one writing transaction at a time anyway). Either finding
the envelope moved the other way raises ``LostRace``: the bus runs the command again,
``contended``, and this time the envelopes are locked as they are read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from functools import lru_cache, partial
from typing import Any, Literal

from sqlalchemy import (
    BindParameter,
    Select,
    Update,
    and_,
    bindparam,
    case,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from workflow.adapters.batch import BatchingConnection, Prefetched
from workflow.adapters.orm import envelopes, ledger_entries, program_requests, programs
from workflow.domain.amendments import Amendment, amend_key, amended
from workflow.domain.budget import Envelope, shortfalls
from workflow.domain.errors import Conflict, InsufficientBudget, NotFound
from workflow.domain.program import LedgerMove
from workflow.service_layer.unit_of_work import LostRace

_env = envelopes.c
_ENVELOPES = (
    select(envelopes)
    .where(
        _env.party.in_(bindparam("parties", expanding=True)), _env.fiscal_year == bindparam("year")
    )
    .order_by(_env.party)
)
EnvelopeLock = Literal["update", "share"] | None
_READS: dict[EnvelopeLock, Select[Any]] = {
    None: _ENVELOPES,
    "update": _ENVELOPES.with_for_update(),
    "share": _ENVELOPES.with_for_update(read=True),
}
_req = program_requests.c
# The envelopes a program's holds decide on, read with its load: a row per request,
# the envelope's columns empty where the party has none for the program's year.
_PROGRAM_ENVELOPES = (
    select(_req.party.label("r_party"), programs.c.fiscal_year.label("r_year"), envelopes)
    .select_from(
        program_requests.join(programs, programs.c.id == _req.program_id).outerjoin(
            envelopes, and_(_env.party == _req.party, _env.fiscal_year == programs.c.fiscal_year)
        )
    )
    .where(_req.program_id == bindparam("pid"))
    .order_by(_req.party)
)
_ADDING_ENVELOPE = text("SELECT pg_advisory_xact_lock(:k)")
_AWAITING_ENVELOPE = text("SELECT pg_advisory_xact_lock_shared(:k)")
_ENVELOPE_OF = [_env.party == bindparam("b_party"), _env.fiscal_year == bindparam("b_year")]
_AMOUNT: BindParameter[int] = bindparam("b_amount")
# A hold is conditional: it only lands while the envelope still has room for it.
_HOLD = (
    update(envelopes)
    .where(*_ENVELOPE_OF, _env.amount - _env.held - _env.committed >= _AMOUNT)
    .values(held=_env.held + _AMOUNT)
)
# A hold's entry names its envelope by (party, year): it goes with the UPDATE, unread.
_HOLD_ENTRY = insert(ledger_entries).values(
    envelope_id=select(_env.id).where(*_ENVELOPE_OF).scalar_subquery()
)
BALANCES = ("held", "committed", "disbursed")
# (kind, source) -> how a move shifts each balance (of the envelope and of the program).
_SHIFTS: dict[tuple[str, str | None], dict[str, int]] = {
    ("hold", None): {"held": 1},
    ("release", "held"): {"held": -1},
    ("commit", None): {"held": -1, "committed": 1},
    ("disburse", None): {"disbursed": 1},
    ("release", "committed"): {"committed": -1},
    # Paid out, not spent, paid back: it leaves the commitment and the payout alike.
    ("refund", None): {"committed": -1, "disbursed": -1},
}
_BY: BindParameter[int] = bindparam("b_by")
# An amendment is conditional too: never below what the envelope holds and has committed.
_AMEND = (
    update(envelopes)
    .where(
        *_ENVELOPE_OF,
        _env.amount + _BY >= _env.held + _env.committed,
        _env.amount + _BY > 0,
    )
    .values(amount=_env.amount + _BY)
    .returning(_env.id)
)


def _envelope_move(shift: dict[str, int]) -> Any:
    values = {
        col: getattr(_env, col) + (_AMOUNT if sign > 0 else -_AMOUNT) for col, sign in shift.items()
    }
    return update(envelopes).where(*_ENVELOPE_OF).values(values).returning(_env.id)


_ENVELOPE_MOVES = {
    move: _envelope_move(shift) for move, shift in _SHIFTS.items() if move != ("hold", None)
}  # holds: _HOLD, at flush


@lru_cache(maxsize=16)
def _program_moves(parties: int) -> Update:
    """A program's balances for ``parties`` parties in one statement (CASE party)."""
    req = program_requests.c
    named: list[BindParameter[str]] = [bindparam(f"party{i}") for i in range(parties)]
    values = {
        col: getattr(req, col)
        + case(*[(req.party == p, bindparam(f"{col}{i}")) for i, p in enumerate(named)])
        for col in BALANCES
    }
    return (
        update(program_requests)
        .where(req.program_id == bindparam("pid"), req.party.in_(named))
        .values(values)
    )


_ENTRIES = insert(ledger_entries)


class Ledger:
    def __init__(self, conn: BatchingConnection, contended: bool = False) -> None:
        """``contended``: an earlier attempt lost a race; lock envelopes as they are read."""
        self.conn = conn
        self.contended = contended
        self._holds: list[tuple[LedgerMove, dict[str, Any]]] = []  # (move, entry): at flush
        self._waitlisted: list[tuple[dict[str, int], int]] = []  # (requests, year) to confirm
        self._prefetched: dict[int, Prefetched] = {}  # program id -> its envelopes, queued

    def add_envelope(self, party: str, year: int, amount: int) -> None:
        if self._advisory_locks:  # waits for waitlistings that found no envelope to commit
            self.conn.execute(_ADDING_ENVELOPE, {"k": _new_envelope_key(party, year)})
        try:
            self.conn.execute(
                insert(envelopes).values(
                    party=party, fiscal_year=year, amount=amount, held=0, committed=0, disbursed=0
                )
            )
        except IntegrityError as err:
            raise Conflict(
                f"{party} already has an envelope for {year}",
                reason="envelope_exists",
                party=party,
                year=year,
            ) from err

    def envelope(self, party: str, year: int, lock: bool = False) -> Envelope | None:
        return self.envelopes_for([party], year, lock="update" if lock else None).get(party)

    def amend(self, amendment: Amendment, actor: str, now: datetime) -> None:
        """The conditional UPDATE decides under the row lock; the entry is numbered there."""
        where = {"b_party": amendment.party, "b_year": amendment.year}
        envelope_id = self.conn.execute(_AMEND, {**where, "b_by": amendment.by}).scalar()
        if envelope_id is None:
            found = self.envelope(amendment.party, amendment.year)
            if found is None:
                raise NotFound(f"{amendment.party} has no envelope for {amendment.year}")
            amended(found, amendment)  # refuses, naming the figures as they are now
            raise AssertionError("an amendment the rule allows was refused")  # pragma: no cover
        e = ledger_entries.c
        number = self.conn.execute(
            select(func.count()).where(e.envelope_id == envelope_id, e.kind == "amend")
        ).scalar_one()
        self.conn.execute(
            _ENTRIES,
            [
                {
                    "envelope_id": envelope_id,
                    "program_id": None,
                    "kind": "amend",
                    "amount": abs(amendment.by),
                    "source": amendment.direction,
                    "idempotency_key": amend_key(amendment.party, amendment.year, number + 1),
                    "actor": actor,
                    "created_at": now,
                }
            ],
        )

    def envelopes_for(
        self, parties: Iterable[str], year: int, lock: EnvelopeLock = None
    ) -> dict[str, Envelope]:
        """The year's envelopes of these parties; ``lock`` "update" or "share" locks them,
        in party order to avoid deadlocks."""
        rows = self.conn.fetch(_READS[lock], {"parties": sorted(parties), "year": year})
        return {r.party: _envelope(r) for r in rows}

    def prefetch_envelopes(self, program_id: int) -> None:
        """Queue the read of the envelopes a program's holds decide on, to go with its
        load (call it after queueing the program's lock). Not when ``contended``: then
        ``envelopes_to_hold`` locks them as it reads them, after the program is loaded."""
        if not self.contended:
            self._prefetched[program_id] = self.conn.prefetch(
                _PROGRAM_ENVELOPES, {"pid": program_id}
            )

    def envelopes_to_hold(
        self, program_id: int, requests: dict[str, int], year: int
    ) -> dict[str, Envelope]:
        """The envelopes a hold decides on, with this transaction's deferred holds counted.

        Unlocked unless ``contended``: ``flush`` makes good on the decision or raises
        ``LostRace``. Read with the program's load when ``prefetch_envelopes`` queued it.
        """
        found = self._prefetched_for(program_id, requests, year)
        if found is None:
            found = self.envelopes_for(requests, year, lock="update" if self.contended else None)
        for move, _ in self._holds:
            env = found.get(move.party)
            if env is not None and move.year == year:
                found[move.party] = replace(env, held=env.held + move.amount)
        return found

    def _prefetched_for(
        self, program_id: int, requests: dict[str, int], year: int
    ) -> dict[str, Envelope] | None:
        """The prefetched envelopes, if they were read for these very requests."""
        prefetched = self._prefetched.pop(program_id, None)
        if prefetched is None:
            return None
        rows = prefetched.result().all()
        if sorted(r.r_party for r in rows) != sorted(requests) or any(
            r.r_year != year for r in rows
        ):
            return None
        return {r.party: _envelope(r) for r in rows if r.id is not None}

    def confirm_waitlisted(self, requests: dict[str, int], year: int) -> None:
        """A program stays or goes waitlisted: ``flush`` re-checks it (read unlocked, or a
        missing envelope, which no row lock covers even when ``contended``)."""
        self._waitlisted.append((dict(requests), year))

    def flush(self) -> None:
        """The deferred envelope work, last before COMMIT: the envelope rows stay locked
        from here to the commit only. Raises ``LostRace`` when the reads were overtaken.

        Holds first, so that a waitlisting confirmed after them sees this transaction's
        own holds (a retry that places one program and leaves the next waiting).
        """
        holds = sorted(self._holds, key=lambda h: (h[0].year, h[0].party))
        self._holds.clear()
        for move, entry in holds:
            where = {"b_party": move.party, "b_year": move.year}
            self.conn.defer(
                _HOLD, {**where, "b_amount": move.amount}, check=partial(self._held, move)
            )
            self.conn.defer(
                _HOLD_ENTRY, {**entry, **where}, duplicate=partial(_written_twice, [entry])
            )
        for requests, year in self._waitlisted:
            found = self.envelopes_for(requests, year, lock="share")
            missing = sorted(set(requests) - set(found))
            if missing and self._advisory_locks:
                for party in missing:  # an envelope being added now waits for our commit
                    self.conn.execute(_AWAITING_ENVELOPE, {"k": _new_envelope_key(party, year)})
                found = self.envelopes_for(requests, year, lock="share")  # or see it added
            if not shortfalls(requests, found):
                raise LostRace(f"money came free in {year} while a program was waitlisted")
        self._waitlisted.clear()

    def _held(self, move: LedgerMove, rowcount: int) -> None:
        if rowcount != 1:  # decided under the lock, it cannot have filled up
            raise (
                self._refusal(move)
                if self.contended
                else LostRace(f"{move.party}'s {move.year} envelope filled up meanwhile")
            )

    @property
    def _advisory_locks(self) -> bool:
        return self.conn.dialect.name == "postgresql"

    def report(self, year: int | None = None) -> list[Envelope]:
        query = select(envelopes).order_by(envelopes.c.fiscal_year, envelopes.c.party)
        if year is not None:
            query = query.where(envelopes.c.fiscal_year == year)
        return [_envelope(r) for r in self.conn.execute(query)]

    def apply(
        self, program_id: int, moves: Iterable[LedgerMove], actor: str, now: datetime
    ) -> None:
        """Write each move as an entry and move the envelope and program balances with it.

        Holds move the program's balances now and the envelope's at ``flush``.
        """
        entries = []
        deltas: dict[str, dict[str, int]] = {}
        for move in moves:
            shift = _SHIFTS[move.kind, move.source]
            entry = {
                "program_id": program_id,
                "kind": move.kind,
                "amount": move.amount,
                "source": move.source,
                "idempotency_key": move.key,
                "actor": actor,
                "created_at": now,
            }
            if move.kind == "hold":
                self._holds.append((move, entry))
            else:
                entry["envelope_id"] = self.conn.execute(
                    _ENVELOPE_MOVES[move.kind, move.source],
                    {"b_party": move.party, "b_year": move.year, "b_amount": move.amount},
                ).scalar()
                if entry["envelope_id"] is None:
                    raise self._refusal(move)
                entries.append(entry)
            party = deltas.setdefault(move.party, dict.fromkeys(BALANCES, 0))
            for col, sign in shift.items():
                party[col] += sign * move.amount
        if deltas:
            self._move_program(program_id, deltas)
        if entries:
            self._insert_entries(entries)

    def _insert_entries(self, entries: list[dict[str, Any]]) -> None:
        try:
            self.conn.execute(_ENTRIES, entries)
        except IntegrityError as err:
            raise _written_twice(entries) from err

    def _move_program(self, program_id: int, deltas: dict[str, dict[str, int]]) -> None:
        """Every party's balances on the program in one round trip, not one per move."""
        params: dict[str, object] = {"pid": program_id}
        for i, (party, shift) in enumerate(deltas.items()):
            params[f"party{i}"] = party
            params.update({f"{col}{i}": shift[col] for col in BALANCES})
        self.conn.defer(_program_moves(len(deltas)), params)

    @staticmethod
    def _refusal(move: LedgerMove) -> Exception:
        if move.kind == "hold":
            return InsufficientBudget(
                f"{move.party}'s {move.year} envelope has no room for {move.amount:,} KRW",
                reason="no_room",
                party=move.party,
                year=move.year,
                amount=move.amount,
            )
        return NotFound(
            f"{move.party} has no envelope for {move.year}",
            reason="no_envelope",
            party=move.party,
            year=move.year,
        )

    def entries(
        self, party: str | None = None, program_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Every ledger entry, oldest first, with the envelope it moved."""
        e = ledger_entries.c
        query = (
            select(
                e.id,
                e.program_id,
                e.kind,
                e.source,
                e.amount,
                e.idempotency_key,
                e.actor,
                e.created_at,
                _env.party,
                _env.fiscal_year,
            )
            .join_from(ledger_entries, envelopes, e.envelope_id == _env.id)
            .order_by(e.id)
        )
        if party is not None:
            query = query.where(_env.party == party)
        if program_id is not None:
            query = query.where(e.program_id == program_id)
        return [dict(r._mapping) for r in self.conn.execute(query)]

    def entry_totals(self) -> dict[tuple[int, str], int]:
        """Sum per (envelope id, kind): lets tests check balances against the entries."""
        rows = self.conn.execute(
            select(
                ledger_entries.c.envelope_id,
                ledger_entries.c.kind,
                func.sum(ledger_entries.c.amount),
            ).group_by(ledger_entries.c.envelope_id, ledger_entries.c.kind)
        )
        return {(r[0], r[1]): int(r[2]) for r in rows}


def _written_twice(entries: list[dict[str, Any]]) -> Conflict:
    programs = sorted({e["program_id"] for e in entries})
    return Conflict(
        f"ledger entry already written for program {', '.join(map(str, programs))}",
        program=programs[0],
    )


def _new_envelope_key(party: str, year: int) -> int:
    """The advisory lock key of the (party, year) envelope: a signed 64-bit integer."""
    digest = hashlib.sha256(f"envelope:{party}:{year}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _envelope(row: Any) -> Envelope:
    """From a SQLAlchemy row or one fetched with the queue (``batch.Rows``) alike."""
    return Envelope(row.party, row.fiscal_year, row.amount, row.held, row.committed, row.disbursed)
