"""The Program aggregate: one proposal's content, joint review, money and evaluation.

Every change goes through a method that checks the domain rule, fires the shared
state machine and records past-tense events; money changes are recorded as ledger
moves, and due times (start, end, hold expiry) as scheduled work, which the
repository writes in the same transaction. The joint review is one decision per
party, the funding one commitment per funder, the evaluation one verdict per party
(``rounds``); each AND-join is a guard (``all_parties_approved``,
``all_funders_committed``, ``all_parties_accepted``).

The steps live in one module each -- ``drafting``, ``review``, ``funding``,
``evaluation``, ``refunds`` -- over the fields of ``state`` and the shared moves of ``money``.
"""

from __future__ import annotations

from workflow.domain.program.content import (
    EDITABLE_STATES,
    FISCAL_YEARS,
    ProgramContent,
    check_content,
    check_fiscal_year,
    content_data,
)
from workflow.domain.program.drafting import DraftingSteps
from workflow.domain.program.evaluation import SCORES, VERDICTS, EvaluationSteps, check_verdict
from workflow.domain.program.funding import DISBURSING_STATES, FundingSteps
from workflow.domain.program.refunds import REFUND_STATES, RefundSteps, refund_due
from workflow.domain.program.review import DECISIONS, ReviewSteps, check_decision
from workflow.domain.program.rounds import PENDING
from workflow.domain.program.state import (
    ACCEPTED,
    APPROVED,
    CHANGES,
    REJECTED,
    RETURNED,
    Decision,
    Evaluation,
    EvaluationReport,
    LedgerMove,
    ScheduledWork,
)


class Program(RefundSteps, DraftingSteps, ReviewSteps, FundingSteps, EvaluationSteps):
    """A program: the fields of ``ProgramState`` and every step's methods."""


__all__ = [
    "ACCEPTED",
    "APPROVED",
    "CHANGES",
    "DECISIONS",
    "DISBURSING_STATES",
    "EDITABLE_STATES",
    "FISCAL_YEARS",
    "PENDING",
    "REFUND_STATES",
    "REJECTED",
    "RETURNED",
    "SCORES",
    "VERDICTS",
    "Decision",
    "Evaluation",
    "EvaluationReport",
    "LedgerMove",
    "Program",
    "ProgramContent",
    "ScheduledWork",
    "check_content",
    "check_decision",
    "check_fiscal_year",
    "check_verdict",
    "refund_due",
    "content_data",
]
