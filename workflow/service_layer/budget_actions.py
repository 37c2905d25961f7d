"""What a person may do to the budget's envelopes right now, asked of the handlers (as
``actions`` does for programs): which envelopes they may amend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from workflow.domain import commands as c
from workflow.service_layer.messagebus import MessageBus


def amendable(
    bus: MessageBus, actor: str, report: Sequence[Mapping[str, Any]]
) -> frozenset[tuple[str, int]]:
    """The (party, year) of the report's envelopes ``actor`` may raise (a probe of 1 won)."""
    asked = [
        c.AmendEnvelope(actor=actor, party=r["party"], year=r["year"], by=1, reason="-")
        for r in report
    ]
    answers = bus.allowed(asked) if asked else []
    return frozenset((cmd.party, cmd.year) for cmd, yes in zip(asked, answers, strict=True) if yes)
