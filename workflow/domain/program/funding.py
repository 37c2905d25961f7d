"""Funding and the run: each funder's commitment, tranches paid out, the run's start and
end moved by the scheduled worker, lapsed holds, and an admin's cancellation."""

from __future__ import annotations

from datetime import datetime

from workflow.domain import events as ev
from workflow.domain.budget import commit_key, disburse_key
from workflow.domain.errors import Conflict, InvalidInput, TransitionNotAllowed
from workflow.domain.events import Event
from workflow.domain.machine import WorkflowMachine
from workflow.domain.money import check_amount
from workflow.domain.program.money import MoneyMoves
from workflow.domain.program.rounds import FUNDING
from workflow.domain.program.state import LedgerMove, ScheduledWork, standing_in
from workflow.domain.text import check_text

# Money may be paid out once funded, and after closing up to what was reported spent.
DISBURSING_STATES = ("funded", "active", "evaluation_due", "under_evaluation", "closed")


class FundingSteps(MoneyMoves):
    def commit(
        self, machine: WorkflowMachine, party: str, by: str, acting_for: str | None = None
    ) -> int:
        """The party's budget officer turns its hold into a commitment; returns the amount.

        When every funder has committed the program is funded and its run is scheduled.
        """
        self._take_turn(FUNDING, machine.definition, party)
        if not machine.can(self, "fund"):  # a program pinned to a review-only version
            raise TransitionNotAllowed(
                f"cannot commit funds to program {self.id}: it follows "
                f"{self.workflow_key}@{self.workflow_version}, which has no funding step",
                reason="no_funding_step",
                program=self.id,
                workflow=f"{self.workflow_key}@{self.workflow_version}",
                state=self.state,
            )
        amount = self.holds.pop(party, 0)
        if not amount:
            raise Conflict(
                f"program {self.id} holds nothing of {party}'s to commit",
                reason="nothing_held",
                program=self.id,
                party=party,
            )
        self.committed[party] = amount
        self.ledger_moves.append(
            LedgerMove(
                "commit", party, self.content.fiscal_year, amount, commit_key(self._id(), party)
            )
        )
        self.events.append(
            Event(ev.FUNDS_COMMITTED, {"party": party, "amount": amount, **standing_in(acting_for)})
        )
        self._drop_expiry_once_nothing_held()
        if machine.fire(self, "fund"):
            self.scheduled.append(
                ScheduledWork("activate", self.run_starts_at, f"activate:{self._id()}")
            )
        return amount

    def disburse(self, party: str, amount: int, memo: str = "") -> int:
        """Pay out a tranche of the party's commitment; returns the tranche number."""
        check_amount(amount, "disbursement")
        check_text(memo, "memo")
        if self.state not in DISBURSING_STATES:
            raise TransitionNotAllowed(
                f"cannot disburse to program {self.id}: it is {self.state} (disbursements "
                f"in: {', '.join(DISBURSING_STATES)})",
                reason="not_disbursing",
                program=self.id,
                state=self.state,
                allowed=list(DISBURSING_STATES),
            )
        payable, what = self.committed.get(party, 0), "its commitment"
        spent = self.report.spent.get(party, 0) if self.report is not None else payable
        if spent < payable and self.state in ("under_evaluation", "closed"):
            # The report stands: settlement keeps what it says was spent, no more.
            payable, what = spent, "the reported spend"
        remaining = max(0, payable - self.disbursed.get(party, 0))
        if amount > remaining:
            raise InvalidInput(
                f"cannot disburse {amount:,} KRW of {party}'s share of program {self.id}: "
                f"only {remaining:,} KRW of {what} is left to pay out",
                reason="disburse_too_much",
                program=self.id,
                party=party,
                amount=amount,
                remaining=remaining,
            )
        self.tranches += 1
        self.disbursed[party] = self.disbursed.get(party, 0) + amount
        self.ledger_moves.append(
            LedgerMove(
                "disburse",
                party,
                self.content.fiscal_year,
                amount,
                disburse_key(self._id(), self.tranches),
            )
        )
        self.events.append(
            Event(
                ev.FUNDS_DISBURSED,
                {"party": party, "amount": amount, "tranche": self.tranches, "memo": memo},
            )
        )
        return self.tranches

    # -- the run, moved by the scheduled worker --
    def run_scheduled(self, machine: WorkflowMachine, action: str, now: datetime) -> bool:
        """Carry out due work; False when the program has moved on and nothing is due."""
        if action == "activate" and self.state == "funded":
            machine.fire(self, "activate")
            self.scheduled.append(ScheduledWork("finish", self.run_ends_at, f"finish:{self._id()}"))
            return True
        if action == "finish" and self.state == "active":
            machine.fire(self, "finish")
            return True
        if action == "expire":
            return self._expire_holds(machine, now)
        return False

    def _expire_holds(self, machine: WorkflowMachine, now: datetime) -> bool:
        expires = self.holds_expire_at
        if expires is None or expires > now or not machine.can(self, "expire"):
            return False  # funded, withdrawn, re-held later, or not due yet
        self.events.append(
            Event(
                ev.HOLDS_EXPIRED,
                {"expired_at": expires.isoformat(), "holds": dict(sorted(self.holds.items()))},
            )
        )
        self._release_holds("hold expired")
        self._release_commitments("hold expired")
        machine.fire(self, "expire")
        return True

    def cancel(self, machine: WorkflowMachine, reason: str) -> None:
        """An admin stops a funded or running program; undisbursed money goes back."""
        if not check_text(reason, "reason").strip():
            raise InvalidInput("a cancellation needs a reason", reason="no_reason", field="reason")
        machine.fire(self, "cancel", reason=reason)
        self._release_commitments("cancelled")
        self.called_off.extend(("activate", "finish"))  # the run it was waiting for is off
