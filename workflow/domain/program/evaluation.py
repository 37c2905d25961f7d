"""Evaluation and settlement: the coordinator's report, one verdict per party, and the
release of unspent commitments at closing (``money``); a spend below what was paid out
leaves a refund due (``refunds``)."""

from __future__ import annotations

from workflow.domain import events as ev
from workflow.domain.errors import InvalidInput
from workflow.domain.events import Event
from workflow.domain.machine import WorkflowMachine
from workflow.domain.money import check_amount
from workflow.domain.program.money import MoneyMoves
from workflow.domain.program.rounds import EVALUATION
from workflow.domain.program.state import (
    ACCEPTED,
    RETURNED,
    Evaluation,
    EvaluationReport,
    standing_in,
)
from workflow.domain.text import FILE_NAME_MAX, check_line, check_text

# A party's verdict: what it records, the event, and the trigger it fires.
VERDICTS = {
    "accept": (ACCEPTED, ev.EVALUATION_ACCEPTED, "accept"),
    "return": (RETURNED, ev.EVALUATION_RETURNED, "return_report"),
}
SCORES = range(1, 6)


def check_verdict(verdict: str, score: int | None) -> None:
    if verdict not in VERDICTS:
        raise InvalidInput(
            f"unknown verdict {verdict!r} (use: {', '.join(VERDICTS)})",
            reason="unknown_verdict",
            value=verdict,
            known=list(VERDICTS),
        )
    if score is not None and score not in SCORES:
        raise InvalidInput(
            f"score must be {SCORES.start} to {SCORES.stop - 1}, got {score}",
            reason="bad_score",
            field="score",
            value=score,
            low=SCORES.start,
            high=SCORES.stop - 1,
        )


class EvaluationSteps(MoneyMoves):
    def submit_report(self, machine: WorkflowMachine, report: EvaluationReport) -> None:
        if not check_text(report.summary, "summary").strip():
            raise InvalidInput(
                "an evaluation report needs a summary", reason="no_summary", field="summary"
            )
        if report.attachment is not None:
            check_line(report.attachment["name"], "file name", FILE_NAME_MAX)
        funders = sorted(self.content.requests)
        if sorted(report.spent) != funders:
            raise InvalidInput(
                f"report the actual spend for every funder of program {self.id}: "
                f"{', '.join(funders)} (got: {', '.join(sorted(report.spent)) or 'none'})",
                reason="spend_per_funder",
                program=self.id,
                parties=funders,
                given=sorted(report.spent),
            )
        for party, spent in sorted(report.spent.items()):
            self._check_spent(party, spent)
        machine.fire(
            self,
            "report",
            spent=dict(sorted(report.spent.items())),
            summary=report.summary,
            attachment=report.attachment,
        )
        self.report = report
        self.evaluation_round += 1
        self.evaluations = {p: Evaluation() for p in self.parties}

    def _check_spent(self, party: str, spent: int) -> None:
        check_amount(spent, f"spend reported for {party}", allow_zero=True)
        committed = self.committed.get(party, 0)  # less than paid out: a refund is due
        if spent > committed:
            raise InvalidInput(
                f"reported spend for {party} ({spent:,} KRW) exceeds its "
                f"commitment ({committed:,} KRW)",
                reason="spend_over_commitment",
                party=party,
                spent=spent,
                committed=committed,
            )

    def evaluate(
        self,
        machine: WorkflowMachine,
        party: str,
        verdict: str,
        by: str,
        score: int | None = None,
        comment: str = "",
        acting_for: str | None = None,
    ) -> None:
        check_verdict(verdict, score)
        check_text(comment, "comment")
        self._take_turn(EVALUATION, machine.definition, party)
        outcome, event_type, trigger = VERDICTS[verdict]
        self.evaluations[party] = Evaluation(outcome, by, score, comment)
        self.events.append(
            Event(
                event_type,
                {
                    "party": party,
                    "score": score,
                    "comment": comment,
                    "round": self.evaluation_round,
                    **standing_in(acting_for),
                },
            )
        )
        machine.fire(self, trigger)
        if self.state == "closed":
            self._settle()
