"""Money: envelopes opened by budget officers, the budget worker's holds and waitlist,
each funder's commitment and the tranches paid out."""

from __future__ import annotations

from dataclasses import dataclass

from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.errors import InvalidInput
from workflow.domain.events import SYSTEM, Event, envelope_stream
from workflow.domain.money import check_amount
from workflow.domain.permissions import ensure_may_manage_budget
from workflow.domain.program import check_fiscal_year
from workflow.domain.program.rounds import FUNDING
from workflow.service_layer.handlers.common import (
    RETRY_WAITLISTED,
    acting_user,
    acting_user_and_program,
    machine_of,
    party_acting,
    save_program,
)
from workflow.service_layer.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Committed:
    program_id: int
    party: str
    amount: int


@dataclass(frozen=True)
class Disbursed:
    program_id: int
    party: str
    tranche: int
    amount: int


def add_envelope(cmd: c.AddEnvelope, uow: UnitOfWork) -> None:
    user = acting_user(uow, cmd.actor)
    ensure_may_manage_budget(user, cmd.party)
    if not uow.directory.organization(cmd.party).funder:
        raise InvalidInput(
            f"{cmd.party} is not a funding organization", reason="not_a_funder", party=cmd.party
        )
    check_fiscal_year(cmd.year)
    check_amount(cmd.amount, "envelope amount")
    uow.ledger.add_envelope(cmd.party, cmd.year, cmd.amount)
    uow.events.append(
        envelope_stream(cmd.party, cmd.year),
        [Event(ev.ENVELOPE_ADDED, {"party": cmd.party, "year": cmd.year, "amount": cmd.amount})],
        user.email,
        uow.now,
    )
    uow.outbox.add(RETRY_WAITLISTED, {"year": cmd.year}, uow.now)


def commit_funds(cmd: c.CommitFunds, uow: UnitOfWork) -> Committed:
    user, program = acting_user_and_program(uow, cmd.actor, cmd.program_id)
    machine = machine_of(uow, program)
    funders = sorted(program.content.requests)
    party, acting_for = party_acting(
        uow, user, program, "fund", FUNDING.verb, funders, FUNDING.parties
    )
    amount = program.commit(machine, party, user.email, acting_for)
    return Committed(save_program(uow, program, user.email, party), party, amount)


def disburse_funds(cmd: c.DisburseFunds, uow: UnitOfWork) -> Disbursed:
    """A tranche is paid by the budget officers of the party whose commitment it draws on
    (the role that commits the party's funds)."""
    user, program = acting_user_and_program(uow, cmd.actor, cmd.program_id)
    funders = sorted(program.content.requests)
    party, _ = party_acting(
        uow, user, program, "fund", "disburse funds to", funders, FUNDING.parties
    )
    tranche = program.disburse(party, cmd.amount, cmd.memo)
    return Disbursed(save_program(uow, program, user.email, party), party, tranche, cmd.amount)


# -- the budget worker --


def place_holds(cmd: c.PlaceHolds, uow: UnitOfWork) -> bool:
    return _try_holds(uow, cmd.program_id)


def retry_waitlisted(cmd: c.RetryWaitlisted, uow: UnitOfWork) -> list[int]:
    """Money came free: try waitlisted programs in the order they were waitlisted."""
    return [
        program_id
        for program_id in uow.programs.waitlisted(cmd.year)
        if _try_holds(uow, program_id)
    ]


def _try_holds(uow: UnitOfWork, program_id: int) -> bool:
    program, envelopes = uow.program_for_holds(program_id)
    placed = program.place_holds(machine_of(uow, program), envelopes, uow.now)
    if program.state == "waitlisted":
        uow.ledger.confirm_waitlisted(program.content.requests, program.content.fiscal_year)
    if program.events:  # a still-waitlisted or already-held program has nothing to save
        save_program(uow, program, SYSTEM)
    return placed
