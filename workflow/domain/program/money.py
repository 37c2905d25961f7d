"""The money moves every step shares: holds placed and released, commitments given back.

Each move is recorded as a ``LedgerMove`` (written by the ledger in the same
transaction) and an event; balances on the program follow the moves.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workflow.domain import events as ev
from workflow.domain.budget import (
    Envelope,
    hold_key,
    release_commitment_key,
    release_key,
    shortfalls,
)
from workflow.domain.events import Event
from workflow.domain.machine import WorkflowMachine
from workflow.domain.program.state import LedgerMove, ProgramState, ScheduledWork


class MoneyMoves(ProgramState):
    def place_holds(
        self, machine: WorkflowMachine, envelopes: dict[str, Envelope], now: datetime
    ) -> bool:
        """Hold every funder's share, or none and waitlist; True if the holds were placed."""
        if self.state not in ("submitted", "waitlisted"):
            return False  # already handled: a retried or duplicated task does nothing
        short = shortfalls(self.content.requests, envelopes)
        if short:
            if self.state == "submitted":
                self.events.append(
                    Event(
                        ev.BUDGET_UNAVAILABLE,
                        {
                            "year": self.content.fiscal_year,
                            "parties": [s.party for s in short],
                            "shortfalls": [s.describe() for s in short],
                            "short": [s.as_data() for s in short],
                        },
                    )
                )
                machine.fire(self, "waitlist")
                self.waitlisted_at = now
            return False
        for party, amount in sorted(self.content.requests.items()):
            key = hold_key(self._id(), self.review_round, party)
            self.ledger_moves.append(
                LedgerMove("hold", party, self.content.fiscal_year, amount, key)
            )
            self.holds[party] = amount
            self.events.append(
                Event(
                    ev.BUDGET_HELD,
                    {"party": party, "amount": amount, "year": self.content.fiscal_year},
                )
            )
        machine.fire(self, "hold")
        self.waitlisted_at = None
        self._set_hold_expiry(machine, now)
        return True

    def _set_hold_expiry(self, machine: WorkflowMachine, now: datetime) -> None:
        days = machine.definition.hold_expiry_days
        if days is None:
            return
        self.holds_expire_at = now + timedelta(days=days)
        self.scheduled.append(
            ScheduledWork(
                "expire", self.holds_expire_at, f"expire:{self._id()}:{self.review_round}"
            )
        )

    def _release_holds(self, reason: str, parties: list[str] | None = None) -> None:
        """Release the holds of ``parties`` (default: every hold the program has)."""
        released = sorted(p for p in self.holds if parties is None or p in parties)
        for party in released:
            amount = self.holds.pop(party)
            key = release_key(self._id(), self.review_round, party)
            self.ledger_moves.append(
                LedgerMove("release", party, self.content.fiscal_year, amount, key, source="held")
            )
            self.events.append(
                Event(ev.HOLD_RELEASED, {"party": party, "amount": amount, "reason": reason})
            )
        self._drop_expiry_once_nothing_held()

    def _drop_expiry_once_nothing_held(self) -> None:
        """With no hold left there is nothing to expire: the pending expiry is called off."""
        if not self.holds and self.holds_expire_at is not None:
            self.holds_expire_at = None
            self.called_off.append("expire")

    def _release_commitments(self, reason: str) -> None:
        """Give back the undisbursed part of every commitment (the program is ending)."""
        for party in sorted(self.committed):
            undisbursed = self.committed[party] - self.disbursed.get(party, 0)
            if undisbursed > 0:
                self._release_commitment(party, undisbursed, reason)

    def _release_commitment(self, party: str, amount: int, reason: str) -> None:
        self.committed[party] -= amount
        self.ledger_moves.append(
            LedgerMove(
                "release",
                party,
                self.content.fiscal_year,
                amount,
                release_commitment_key(self._id(), party),
                source="committed",
            )
        )
        self.events.append(
            Event(ev.COMMITMENT_RELEASED, {"party": party, "amount": amount, "reason": reason})
        )

    def _settle(self) -> None:
        """Closing: each funder's commitment shrinks to what was actually spent."""
        assert self.report is not None
        for party in sorted(self.committed):
            unspent = self.committed[party] - self.report.spent.get(party, 0)
            if unspent > 0:
                self._release_commitment(party, unspent, "unspent at closing")
