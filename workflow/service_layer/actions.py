"""What a person may do to a program right now, asked of the handlers themselves.

Each action has one representative command; the bus runs every one as a probe (all
checks and the domain's step, no write), so a page offers exactly what the handlers
would carry out — no rule is restated here. The values are placeholders where the
person chooses them later (the comment, the tranche): a probe of a disbursement asks
"may they pay anything at all", a probe of a report "the spend as paid", a probe of a
refund "is a won due to their party".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflow.domain import commands as c
from workflow.service_layer.messagebus import MessageBus

ACTIONS = (
    "edit",
    "submit",
    "withdraw",
    "decide",
    "commit",
    "disburse",
    "report",
    "evaluate",
    "refund",
    "cancel",
)


def probes(actor: str, program: Mapping[str, Any]) -> dict[str, c.Command]:
    """One command per action, for ``program`` (a program view: ``views.program_detail``)."""
    pid = int(program["id"])
    paid = {party: program["disbursed"].get(party, 0) for party in program["requested"]}
    return {
        "edit": c.UpdateProgram(actor=actor, program_id=pid),
        "submit": c.SubmitProgram(actor=actor, program_id=pid),
        "withdraw": c.WithdrawProgram(actor=actor, program_id=pid),
        "decide": c.DecideReview(actor=actor, program_id=pid, decision="approve"),
        "commit": c.CommitFunds(actor=actor, program_id=pid),
        "disburse": c.DisburseFunds(actor=actor, program_id=pid, amount=1),
        "report": c.SubmitReport(actor=actor, program_id=pid, spent=paid, summary="-"),
        "evaluate": c.EvaluateReport(actor=actor, program_id=pid, verdict="accept"),
        "refund": c.RecordRefund(actor=actor, program_id=pid, amount=1),
        "cancel": c.CancelProgram(actor=actor, program_id=pid, reason="-"),
    }


def available(bus: MessageBus, actor: str, program: Mapping[str, Any]) -> frozenset[str]:
    """The actions ``actor`` may take on ``program`` now."""
    asked = probes(actor, program)
    answers = bus.allowed(list(asked.values()))
    return frozenset(name for name, yes in zip(asked, answers, strict=True) if yes)
