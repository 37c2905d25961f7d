"""Envelopes and the ledger: the only place money moves, one entry per move.

Balances on the envelope row are kept in step with the entries in the same
transaction; a hold is a conditional UPDATE (``available >= amount``) so two
transactions racing for the last won cannot both win, whatever the isolation level.
A unique-key violation aborts the whole transaction (the unit of work rolls back), so
no savepoints are spent on the hot path.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache

from sqlalchemy import (
    BindParameter,
    Connection,
    Update,
    bindparam,
    case,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from workflow.adapters.orm import envelopes, ledger_entries, program_requests
from workflow.domain.budget import Envelope
from workflow.domain.errors import Conflict, InsufficientBudget, NotFound
from workflow.domain.program import LedgerMove

_env = envelopes.c
_ENVELOPES = (select(envelopes)
              .where(_env.party.in_(bindparam("parties", expanding=True)),
                     _env.fiscal_year == bindparam("year"))
              .order_by(_env.party))
_ENVELOPES_LOCKED = _ENVELOPES.with_for_update()
_ENVELOPE_OF = [_env.party == bindparam("b_party"), _env.fiscal_year == bindparam("b_year")]
# A hold is conditional: it only lands while the envelope still has room for it.
_HOLD = (update(envelopes)
         .where(*_ENVELOPE_OF, _env.amount - _env.held - _env.committed >= bindparam("b_amount"))
         .values(held=_env.held + bindparam("b_amount")).returning(_env.id))
_RELEASE = (update(envelopes).where(*_ENVELOPE_OF)
            .values(held=_env.held - bindparam("b_amount")).returning(_env.id))
_ENTRIES = insert(ledger_entries)


@lru_cache(maxsize=16)
def _program_moves(parties: int) -> Update:
    """The program's held balances for ``parties`` parties in one statement (CASE party)."""
    req = program_requests.c
    named: list[BindParameter[str]] = [bindparam(f"party{i}") for i in range(parties)]
    delta = case(*[(req.party == p, bindparam(f"delta{i}")) for i, p in enumerate(named)])
    return (update(program_requests)
            .where(req.program_id == bindparam("pid"), req.party.in_(named))
            .values(held=req.held + delta))


class Ledger:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_envelope(self, party: str, year: int, amount: int) -> None:
        try:
            self.conn.execute(insert(envelopes).values(
                party=party, fiscal_year=year, amount=amount, held=0, committed=0, disbursed=0))
        except IntegrityError as err:
            raise Conflict(f"{party} already has an envelope for {year}",
                           party=party, year=year) from err

    def envelopes_for(self, parties: Iterable[str], year: int, lock: bool = False
                      ) -> dict[str, Envelope]:
        """The year's envelopes of these parties; locked in party order to avoid deadlocks."""
        rows = self.conn.execute(_ENVELOPES_LOCKED if lock else _ENVELOPES,
                                 {"parties": sorted(parties), "year": year})
        return {r.party: _envelope(r) for r in rows}

    def report(self, year: int | None = None) -> list[Envelope]:
        query = select(envelopes).order_by(envelopes.c.fiscal_year, envelopes.c.party)
        if year is not None:
            query = query.where(envelopes.c.fiscal_year == year)
        return [_envelope(r) for r in self.conn.execute(query)]

    def apply(self, program_id: int, moves: Iterable[LedgerMove], actor: str,
              now: datetime) -> None:
        """Write each move as an entry and move the envelope and program balances with it."""
        entries = []
        deltas: dict[str, int] = {}
        for move in moves:
            envelope_id = self._move_envelope(move)
            deltas[move.party] = deltas.get(move.party, 0) + (
                move.amount if move.kind == "hold" else -move.amount)
            entries.append({"envelope_id": envelope_id, "program_id": program_id,
                            "kind": move.kind, "amount": move.amount,
                            "idempotency_key": move.key, "actor": actor, "created_at": now})
        if deltas:
            self._move_program(program_id, deltas)
        if entries:
            try:
                self.conn.execute(_ENTRIES, entries)
            except IntegrityError as err:
                raise Conflict(f"ledger entry already written for program {program_id}",
                               program=program_id) from err

    def _move_envelope(self, move: LedgerMove) -> int:
        envelope_id = self.conn.execute(
            _HOLD if move.kind == "hold" else _RELEASE,
            {"b_party": move.party, "b_year": move.year, "b_amount": move.amount}).scalar()
        if envelope_id is None:
            if move.kind == "hold":
                raise InsufficientBudget(
                    f"{move.party}'s {move.year} envelope has no room for {move.amount:,} KRW",
                    party=move.party, year=move.year)
            raise NotFound(f"{move.party} has no envelope for {move.year}")
        return int(envelope_id)

    def _move_program(self, program_id: int, deltas: dict[str, int]) -> None:
        """Every party's held balance on the program in one round trip, not one per move."""
        params: dict[str, object] = {"pid": program_id}
        for i, (party, delta) in enumerate(deltas.items()):
            params[f"party{i}"], params[f"delta{i}"] = party, delta
        self.conn.execute(_program_moves(len(deltas)), params)

    def entry_totals(self) -> dict[tuple[int, str], int]:
        """Sum per (envelope id, kind): lets tests check balances against the entries."""
        rows = self.conn.execute(select(ledger_entries.c.envelope_id, ledger_entries.c.kind,
                                        func.sum(ledger_entries.c.amount))
                                 .group_by(ledger_entries.c.envelope_id, ledger_entries.c.kind))
        return {(r[0], r[1]): int(r[2]) for r in rows}


def _envelope(row: object) -> Envelope:
    m = row._mapping  # type: ignore[attr-defined]
    return Envelope(m["party"], m["fiscal_year"], m["amount"], m["held"], m["committed"],
                    m["disbursed"])
