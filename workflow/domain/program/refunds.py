"""Settlement refunds (정산 반납): money paid out but not spent goes back to its funder.

A report may say less was spent than was paid out; the difference per funder is a
refund due from the organization while the report stands (``under_evaluation``). The
funder's budget officer records each refund received, in full or in parts, as a
``refund`` ledger entry: it shrinks the party's commitment and its (net) disbursement
alike, so the envelope's ``available`` rises by it. A program whose evaluations are
all accepted closes once nothing is left due, whether the last step was the last
acceptance or the last refund.
"""

from __future__ import annotations

from workflow.domain import events as ev
from workflow.domain.errors import Conflict, InvalidInput, TransitionNotAllowed
from workflow.domain.events import Event
from workflow.domain.machine import WorkflowMachine
from workflow.domain.money import check_amount
from workflow.domain.program.money import MoneyMoves
from workflow.domain.program.state import LedgerMove, standing_in
from workflow.domain.text import check_text

REFUND_STATES = ("under_evaluation",)  # a refund is owed while the report stands


def refund_due(disbursed: int, spent: int) -> int:
    """What an organization owes one funder back: paid out (net of refunds) minus spent."""
    return max(0, disbursed - spent)


def refund_key(program_id: int, party: str, version: int) -> str:
    """One refund per program save: the program's version is taken under its row lock."""
    return f"refund:{program_id}:{party}:{version}"


class RefundSteps(MoneyMoves):
    def refunds_due(self) -> dict[str, int]:
        """Each funder still owed money back on the standing report (none owed: absent)."""
        if self.report is None or self.state not in REFUND_STATES:
            return {}
        owed = {
            party: refund_due(self.disbursed.get(party, 0), spent)
            for party, spent in sorted(self.report.spent.items())
        }
        return {party: amount for party, amount in owed.items() if amount > 0}

    def record_refund(
        self,
        machine: WorkflowMachine,
        party: str,
        amount: int,
        memo: str = "",
        acting_for: str | None = None,
    ) -> int:
        """The party's budget officer records money received back; returns what is still
        due. Closes the program when every evaluation is accepted and nothing is due."""
        check_amount(amount, "refund")
        check_text(memo, "memo")
        if self.state not in REFUND_STATES:
            raise TransitionNotAllowed(
                f"cannot record a refund for program {self.id}: it is {self.state} "
                f"(refunds are recorded in: {', '.join(REFUND_STATES)})",
                program=self.id,
                state=self.state,
            )
        due = self.refunds_due().get(party, 0)
        if not due:
            raise Conflict(
                f"program {self.id} owes {party} nothing back", program=self.id, party=party
            )
        if amount > due:
            raise InvalidInput(
                f"cannot record a refund of {amount:,} KRW to {party} for program {self.id}: "
                f"only {due:,} KRW is due",
                program=self.id,
                party=party,
                due=due,
            )
        self.committed[party] -= amount
        self.disbursed[party] -= amount
        key = refund_key(self._id(), party, self.version)
        self.ledger_moves.append(LedgerMove("refund", party, self.content.fiscal_year, amount, key))
        left = due - amount
        self.events.append(
            Event(
                ev.REFUND_RECORDED,
                {
                    "party": party,
                    "amount": amount,
                    "memo": memo,
                    "still_due": left,
                    **standing_in(acting_for),
                },
            )
        )
        if machine.fire(self, "accept"):  # held back unless all accepted and nothing due
            self._settle()
        return left
