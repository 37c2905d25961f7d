"""A program's own organization drafts, edits, submits and withdraws it; an admin
cancels it once funded. Each step's role comes from the workflow definition."""

from __future__ import annotations

from workflow.domain import commands as c
from workflow.domain.errors import InvalidInput
from workflow.domain.people import ensure_parties_exist
from workflow.domain.permissions import ensure_may_create, ensure_may_fire, ensure_member_of
from workflow.domain.program import Program, ProgramContent
from workflow.domain.program.content import merged_requests
from workflow.service_layer.handlers.common import (
    acting_user,
    acting_user_and_program,
    check_version,
    machine_of,
    save_program,
)
from workflow.service_layer.unit_of_work import UnitOfWork


def create_program(cmd: c.CreateProgram, uow: UnitOfWork) -> int:
    user = acting_user(uow, cmd.actor)
    machine = uow.current_workflow(cmd.workflow or uow.default_workflow)
    ensure_may_create(user, machine.definition, cmd.org)
    ensure_parties_exist(machine.definition, (o.key for o in uow.directory.organizations()))
    _check_funders(uow, cmd.requests)
    program = Program.create(machine.definition, cmd.org, _content(cmd), user.email)
    return save_program(uow, program, user.email, user.org)


def update_program(cmd: c.UpdateProgram, uow: UnitOfWork) -> int:
    user, program = acting_user_and_program(uow, cmd.actor, cmd.program_id)
    check_version(program, cmd.expected_version)
    machine = machine_of(uow, program)
    ensure_member_of(user, program, machine.definition.drafter_role, f"update program {program.id}")
    old = program.content
    year = cmd.year or (cmd.start.year if cmd.start else old.fiscal_year)
    content = ProgramContent(
        title=cmd.title if cmd.title is not None else old.title,
        category=cmd.category or old.category,
        requests=merged_requests(old.requests, cmd.requests or {}, cmd.drop_requests),
        fiscal_year=year,
        start=cmd.start or old.start,
        end=cmd.end or old.end,
        description=cmd.description if cmd.description is not None else old.description,
    )
    if cmd.requests:
        _check_funders(uow, cmd.requests)
    program.update(machine.definition, content)
    return save_program(uow, program, user.email, user.org)


def submit_program(cmd: c.SubmitProgram, uow: UnitOfWork) -> int:
    user, program = acting_user_and_program(uow, cmd.actor, cmd.program_id)
    machine = machine_of(uow, program)
    trigger = "resubmit" if program.state == "revision_requested" else "submit"
    ensure_may_fire(user, machine.definition, trigger, program, "submit")
    program.submit(machine, user.email)
    return save_program(uow, program, user.email, user.org)


def withdraw_program(cmd: c.WithdrawProgram, uow: UnitOfWork) -> int:
    user, program = acting_user_and_program(uow, cmd.actor, cmd.program_id)
    machine = machine_of(uow, program)
    ensure_may_fire(user, machine.definition, "withdraw", program, "withdraw")
    program.withdraw(machine, cmd.reason)
    # No task is done by withdrawing: every one still asked for is cancelled (a claim on
    # the coordinator's own organization's review must not stop it).
    return save_program(uow, program, user.email)


def cancel_program(cmd: c.CancelProgram, uow: UnitOfWork) -> int:
    user, program = acting_user_and_program(uow, cmd.actor, cmd.program_id)
    machine = machine_of(uow, program)
    ensure_may_fire(user, machine.definition, "cancel", program, "cancel")
    program.cancel(machine, cmd.reason)
    return save_program(uow, program, user.email, user.org)


def _check_funders(uow: UnitOfWork, requests: dict[str, int]) -> None:
    for party in requests:
        if not uow.directory.organization(party).funder:
            raise InvalidInput(
                f"{party} is not a funding organization", reason="not_a_funder", party=party
            )


def _content(cmd: c.CreateProgram) -> ProgramContent:
    year = cmd.year or (cmd.start.year if cmd.start else None)
    if year is None:
        raise InvalidInput(
            "a program needs a fiscal year or a start date", reason="no_year", field="year"
        )
    return ProgramContent(
        title=cmd.title,
        category=cmd.category,
        requests=dict(cmd.requests),
        fiscal_year=year,
        start=cmd.start,
        end=cmd.end,
        description=cmd.description,
    )
