"""The joint review: submission (holds follow), one decision per party, withdrawal."""

from __future__ import annotations

from workflow.domain import events as ev
from workflow.domain.errors import InvalidInput
from workflow.domain.events import Event
from workflow.domain.machine import WorkflowMachine
from workflow.domain.program.money import MoneyMoves
from workflow.domain.program.rounds import REVIEW
from workflow.domain.program.state import APPROVED, CHANGES, REJECTED, Decision, standing_in
from workflow.domain.text import check_text

# A party's decision: what it records, the event, and the trigger it fires.
DECISIONS = {
    "approve": (APPROVED, ev.PARTY_APPROVED, "approve"),
    "reject": (REJECTED, ev.PARTY_REJECTED, "reject"),
    "request-changes": (CHANGES, ev.CHANGES_REQUESTED, "request_changes"),
}


def check_decision(decision: str) -> str:
    if decision not in DECISIONS:
        raise InvalidInput(
            f"unknown decision {decision!r} (use: {', '.join(DECISIONS)})",
            reason="unknown_decision",
            value=decision,
            known=list(DECISIONS),
        )
    return decision


class ReviewSteps(MoneyMoves):
    def submit(self, machine: WorkflowMachine, by: str) -> None:
        if self.state != "revision_requested":
            machine.fire(self, "submit")
            self.submitted_by.add(by)
            return
        holds_still_fit = self.holds_cover_request()
        machine.fire(self, "resubmit")  # back to in_review, or to submitted for new holds
        self.submitted_by.add(by)
        if not holds_still_fit:
            self._release_holds("revised request")
        self.review_round += 1
        self.decisions = {p: Decision() for p in self.parties}

    def decide(
        self,
        machine: WorkflowMachine,
        party: str,
        decision: str,
        by: str,
        comment: str = "",
        acting_for: str | None = None,
    ) -> None:
        """``acting_for``: the person ``by`` stands in for (대결), kept in the event."""
        check_decision(decision)
        check_text(comment, "comment")
        self._take_turn(REVIEW, machine.definition, party)
        outcome, event_type, trigger = DECISIONS[decision]
        self.decisions[party] = Decision(outcome, by, comment)
        self.events.append(
            Event(
                event_type,
                {
                    "party": party,
                    "comment": comment,
                    "round": self.review_round,
                    **standing_in(acting_for),
                },
            )
        )
        machine.fire(self, trigger)
        if self.state == "rejected":
            self._release_holds("rejected")

    def withdraw(self, machine: WorkflowMachine, reason: str) -> None:
        check_text(reason, "reason")
        machine.fire(self, "withdraw", reason=reason)
        self._release_holds("withdrawn")
        self._release_commitments("withdrawn")
