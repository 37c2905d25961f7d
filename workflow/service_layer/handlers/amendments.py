"""Supplementary budgets and corrections (추경): a budget officer raises or lowers their
party's envelope; a raise lets the year's waitlist be retried, oldest first."""

from __future__ import annotations

from dataclasses import dataclass

from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.amendments import amended, check_amendment
from workflow.domain.errors import NotFound
from workflow.domain.events import Event, envelope_stream
from workflow.domain.permissions import ensure_may_manage_budget
from workflow.domain.program import check_fiscal_year
from workflow.service_layer.handlers.common import RETRY_WAITLISTED, Probed, acting_user
from workflow.service_layer.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class AmendedEnvelope:
    party: str
    year: int
    by: int
    amount: int
    available: int


def amend_envelope(cmd: c.AmendEnvelope, uow: UnitOfWork) -> AmendedEnvelope:
    """Who may: as for opening an envelope (the party's budget officer, or an admin)."""
    user = acting_user(uow, cmd.actor)
    ensure_may_manage_budget(user, cmd.party)
    check_fiscal_year(cmd.year)
    amendment = check_amendment(cmd.party, cmd.year, cmd.by, cmd.reason)
    # Locked as read (a read-only probe cannot lock): holds racing it wait for the commit.
    envelope = uow.ledger.envelope(cmd.party, cmd.year, lock=not uow.probing)
    if envelope is None:
        raise NotFound(f"{cmd.party} has no envelope for {cmd.year}", party=cmd.party)
    after = amended(envelope, amendment)
    if uow.probing:
        raise Probed
    uow.ledger.amend(amendment, user.email, uow.now)
    uow.events.append(
        envelope_stream(cmd.party, cmd.year),
        [
            Event(
                ev.ENVELOPE_AMENDED,
                {
                    "party": cmd.party,
                    "year": cmd.year,
                    "by": cmd.by,
                    "amount": after.amount,
                    "reason": amendment.reason,
                },
            )
        ],
        user.email,
        uow.now,
    )
    if cmd.by > 0:
        uow.outbox.add(RETRY_WAITLISTED, {"year": cmd.year}, uow.now)
    return AmendedEnvelope(cmd.party, cmd.year, cmd.by, after.amount, after.available)
