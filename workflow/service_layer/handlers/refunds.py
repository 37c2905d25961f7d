"""Refunds (정산 반납): a funder's budget officer records money an underspent program
paid back; the program closes once nothing is due and every evaluation is accepted."""

from __future__ import annotations

from dataclasses import dataclass

from workflow.domain import commands as c
from workflow.domain.errors import NotPermitted
from workflow.domain.program.rounds import FUNDING
from workflow.service_layer.handlers.common import (
    acting_user_and_program,
    machine_of,
    party_acting,
    save_program,
)
from workflow.service_layer.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Refunded:
    program_id: int
    party: str
    amount: int
    still_due: int
    state: str


def record_refund(cmd: c.RecordRefund, uow: UnitOfWork) -> Refunded:
    """The party's budget officers record it, as they commit and disburse its funds (never
    on their own program); ``cmd.party`` names the party they mean to act for."""
    user, program = acting_user_and_program(uow, cmd.actor, cmd.program_id)
    funders = sorted(program.content.requests)
    party, acting_for = party_acting(
        uow, user, program, "fund", "record a refund for", funders, FUNDING.parties
    )
    if cmd.party is not None and cmd.party != party:
        raise NotPermitted(
            f"{user.email} may not record refunds to {cmd.party} for program {program.id}: "
            f"they act for {party}",
            user=user.email,
            program=program.id,
            party=cmd.party,
        )
    left = program.record_refund(machine_of(uow, program), party, cmd.amount, cmd.memo, acting_for)
    program_id = save_program(uow, program, user.email, party)
    return Refunded(program_id, party, cmd.amount, left, program.state)
