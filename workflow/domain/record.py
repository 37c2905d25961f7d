"""What a program's record tells the people deciding on it, read from its events and the
ledger: each party's decision in the current round (who, when, for whom, with what
comment), the reasons given for sending it back, rejecting, withdrawing or cancelling
it, and why it is waitlisted.

Pure functions over the history rows the read models hand out (``type``, ``actor``,
``at``, ``data``), so the CLI, the API and the pages tell the same story.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from workflow.domain import events as ev
from workflow.domain.budget import Envelope, Shortfall, shortfalls

HistoryRow = Mapping[str, Any]

DECISION_EVENTS = {
    ev.PARTY_APPROVED: "approved",
    ev.PARTY_REJECTED: "rejected",
    ev.CHANGES_REQUESTED: "changes_requested",
}
# The events whose comment or reason a person gave to explain a setback.
REASONED = {
    ev.PARTY_REJECTED: "rejected",
    ev.CHANGES_REQUESTED: "changes_requested",
    ev.PROGRAM_WITHDRAWN: "withdrawn",
    ev.PROGRAM_CANCELLED: "cancelled",
    ev.EVALUATION_RETURNED: "evaluation_returned",
}


def decisions_of(history: Sequence[HistoryRow], review_round: int) -> dict[str, dict[str, Any]]:
    """Each party's decision in the review's current round: what, who, when, for whom
    (a delegate acting for the approver on leave), with what comment."""
    found: dict[str, dict[str, Any]] = {}
    for e in history:
        decision = DECISION_EVENTS.get(e["type"])
        if decision is None or e["data"].get("round") != review_round:
            continue
        found[e["data"]["party"]] = {
            "decision": decision,
            "by": e["actor"],
            "at": e["at"],
            "comment": e["data"].get("comment", ""),
            "acting_for": e["data"].get("acting_for"),
        }
    return found


def reasons_of(history: Sequence[HistoryRow]) -> list[dict[str, Any]]:
    """Every reason given for a setback, oldest first: ``kind`` (rejected,
    changes_requested, withdrawn, cancelled, evaluation_returned), who, when, for whom,
    the party and round where there is one, and the words they wrote."""
    return [
        {
            "kind": REASONED[e["type"]],
            "by": e["actor"],
            "at": e["at"],
            "party": e["data"].get("party"),
            "round": e["data"].get("round"),
            "acting_for": e["data"].get("acting_for"),
            "text": text,
        }
        for e in history
        if e["type"] in REASONED and (text := e["data"].get("comment") or e["data"].get("reason"))
    ]


def why_waitlisted(
    state: str, requests: Mapping[str, int], envelopes: Mapping[str, Envelope]
) -> list[Shortfall]:
    """The funders whose envelope cannot hold their share today, with how much is
    missing: the rule that waitlisted the program (``budget.shortfalls``) asked again of
    the ledger as it stands. Empty unless waitlisted (or when money has just come free
    and the retry is on its way)."""
    if state != "waitlisted":
        return []
    return shortfalls(dict(requests), dict(envelopes))
