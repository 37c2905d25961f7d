"""One small function per command: load, check rights, ask the domain, save.

Handlers run inside a unit of work the message bus opens and commits. Whatever a
change sets in motion leaves through the outbox in the same transaction: the budget
worker's holds after a submission, the waitlist retry after money is released. Due
times (start, end, hold expiry) are written as scheduled-work rows in the same
transaction too; the sweeps carry them out (``run_scheduled``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.calendar import add_business_days, seoul_date
from workflow.domain.definition import DEFAULT_WORKFLOW, ROLES
from workflow.domain.delegation import Delegation
from workflow.domain.delegation import check_new as check_new_delegation
from workflow.domain.errors import Conflict, InvalidInput, NotFound, NotPermitted
from workflow.domain.events import Event, envelope_stream, program_stream
from workflow.domain.machine import WorkflowMachine
from workflow.domain.money import check_amount
from workflow.domain.notices import budget_notices
from workflow.domain.permissions import (
    User,
    ensure_acts_for_party,
    ensure_admin,
    ensure_coordinator_of,
    ensure_in_queue,
    ensure_may_create,
    ensure_may_decide,
    ensure_may_manage_budget,
    ensure_not_own_program,
    ensure_supervisor_of,
)
from workflow.domain.program import EvaluationReport, Program, ProgramContent
from workflow.domain.tasks import tasks_for
from workflow.service_layer.notices import send_budget_notice
from workflow.service_layer.unit_of_work import UnitOfWork

PLACE_HOLDS = "jointflow.place_holds"
RETRY_WAITLISTED = "jointflow.retry_waitlisted"
BUDGET_NOTICE = "jointflow.budget_notice"
SYSTEM = "system"
OPERATOR = "operator"
DIRECTORY_STREAM = "directory"
LOCALES = ("ko", "en")


def acting_user(uow: UnitOfWork, cmd: c.Command) -> User:
    user: User = uow.directory.user(actor_email(cmd))
    return user


def actor_email(cmd: c.Command) -> str:
    if not cmd.actor:
        raise NotPermitted("this action needs an acting user (--as EMAIL or JOINTFLOW_USER)")
    return cmd.actor


def acting_user_and_program(uow: UnitOfWork, cmd: c.Command, program_id: int
                            ) -> tuple[User, Program]:
    """The acting user and the program, locked: the user comes in the lock's round trip."""
    found: tuple[User, Program] = uow.programs.get_locked_as(actor_email(cmd), program_id)
    return found


def save_program(uow: UnitOfWork, program: Program, actor: str,
                 actor_org: str | None = None) -> int:
    """Persist the program, its ledger moves, its events, its tasks and the messages they
    set off. ``actor_org``: the acting user's organization (its tasks count as completed)."""
    asked_before = None if program.id is None else uow.programs.asked_when_loaded(program.id)
    if program.id is None:
        uow.programs.add(program, uow.now)
    else:
        uow.programs.save(program, uow.now)
    assert program.id is not None
    _sync_tasks(uow, program, asked_before, actor, actor_org)
    uow.ledger.apply(program.id, program.ledger_moves, actor, uow.now)
    uow.events.append(program_stream(program.id), program.events, actor, uow.now)
    if program.state == "submitted":
        uow.outbox.add(PLACE_HOLDS, {"program_id": program.id}, uow.now)
    # A revision that moves a program to another fiscal year frees the old year's money.
    for year in sorted({m.year for m in program.ledger_moves if m.kind == "release"}):
        uow.outbox.add(RETRY_WAITLISTED, {"year": year}, uow.now)
    for notice in budget_notices(asked_before[0] if asked_before else None, program.events,
                                 program.content.requests):
        uow.outbox.add(BUDGET_NOTICE, {"program_id": program.id, "what": notice.what,
                                       "parties": list(notice.parties),
                                       "details": list(notice.details)}, uow.now)
    program.events.clear()
    program.ledger_moves.clear()
    return program.id


def _sync_tasks(uow: UnitOfWork, program: Program, before: tuple[str, tuple[str, ...]] | None,
                actor: str, actor_org: str | None) -> None:
    """Open the tasks the program now asks for and close the ones it no longer does."""
    asked_now = (program.state, tuple(program.waiting_on()))
    if asked_now == before:
        return  # most actions leave the queues as they were: no statement at all
    assert program.id is not None
    definition = _machine(uow, program).definition
    old = tasks_for(definition, before[0], program.org, before[1]) if before else frozenset()
    new = tasks_for(definition, program.state, program.org, asked_now[1])
    closed: list[int] = []
    for spec in sorted(old - new):
        close = uow.tasks.complete if spec.org == actor_org else uow.tasks.cancel
        closed += close(program.id, spec, actor, uow.now)
    uow.reminders.void(closed)
    sla = {spec: definition.states[program.state].sla_days or 0 for spec in new - old}
    opened = uow.tasks.open(program.id, {spec: add_business_days(uow.now, days)
                                         for spec, days in sla.items()}, uow.now)
    uow.reminders.schedule(program.id, opened, definition.reminders, uow.now)


# -- operator commands --

def add_organization(cmd: c.AddOrganization, uow: UnitOfWork) -> str:
    key = cmd.key.strip()
    if not key or not key.replace("_", "").replace("-", "").isalnum() or key != key.lower():
        raise InvalidInput(f"organization key {cmd.key!r} must be lower-case letters, digits, "
                           "'-' or '_'")
    uow.directory.add_organization(key, cmd.name, cmd.funder, uow.now)
    uow.events.append(DIRECTORY_STREAM, [Event(ev.ORGANIZATION_ADDED, {
        "key": key, "name": cmd.name, "funder": cmd.funder})], OPERATOR, uow.now)
    return key


def add_user(cmd: c.AddUser, uow: UnitOfWork) -> int:
    email = cmd.email.strip().lower()
    if "@" not in email:
        raise InvalidInput(f"{cmd.email!r} is not an email address")
    unknown = sorted(set(cmd.roles) - ROLES)
    if unknown or not cmd.roles:
        raise InvalidInput(f"unknown role(s) {', '.join(unknown) or 'none given'} "
                           f"(roles: {', '.join(sorted(ROLES))})")
    if cmd.locale not in LOCALES:
        raise InvalidInput(f"locale must be one of {', '.join(LOCALES)}, got {cmd.locale!r}")
    uow.directory.organization(cmd.org)
    user_id: int = uow.directory.add_user(email, cmd.name, cmd.org, cmd.roles, cmd.locale,
                                          uow.now)
    uow.events.append(DIRECTORY_STREAM, [Event(ev.USER_ADDED, {
        "email": email, "org": cmd.org, "roles": sorted(set(cmd.roles))})], OPERATOR, uow.now)
    return user_id


def add_envelope(cmd: c.AddEnvelope, uow: UnitOfWork) -> None:
    user = acting_user(uow, cmd)
    ensure_may_manage_budget(user, cmd.party)
    org = uow.directory.organization(cmd.party)
    if not org["funder"]:
        raise InvalidInput(f"{cmd.party} is not a funding organization")
    if not 2000 <= cmd.year <= 2100:
        raise InvalidInput(f"fiscal year {cmd.year} is out of range (2000-2100)")
    check_amount(cmd.amount, "envelope amount")
    uow.ledger.add_envelope(cmd.party, cmd.year, cmd.amount)
    uow.events.append(envelope_stream(cmd.party, cmd.year), [Event(ev.ENVELOPE_ADDED, {
        "party": cmd.party, "year": cmd.year, "amount": cmd.amount})], user.email, uow.now)
    uow.outbox.add(RETRY_WAITLISTED, {"year": cmd.year}, uow.now)


# -- coordinators --

def create_program(cmd: c.CreateProgram, uow: UnitOfWork) -> int:
    user = acting_user(uow, cmd)
    ensure_may_create(user, cmd.org)
    machine = uow.current_workflow(cmd.workflow or DEFAULT_WORKFLOW)
    _check_funders(uow, cmd.requests)
    program = Program.create(machine.definition, cmd.org, _content(cmd), user.email)
    return save_program(uow, program, user.email, user.org)


def update_program(cmd: c.UpdateProgram, uow: UnitOfWork) -> int:
    user, program = acting_user_and_program(uow, cmd, cmd.program_id)
    ensure_coordinator_of(user, program, f"update program {program.id}")
    machine = _machine(uow, program)
    old = program.content
    year = cmd.year or (cmd.start.year if cmd.start else old.fiscal_year)
    content = ProgramContent(
        title=cmd.title if cmd.title is not None else old.title,
        category=cmd.category or old.category,
        requests=cmd.requests or old.requests, fiscal_year=year,
        start=cmd.start or old.start, end=cmd.end or old.end,
        description=cmd.description if cmd.description is not None else old.description)
    if cmd.requests:
        _check_funders(uow, cmd.requests)
    program.update(machine.definition, content)
    return save_program(uow, program, user.email, user.org)


def submit_program(cmd: c.SubmitProgram, uow: UnitOfWork) -> int:
    user, program = acting_user_and_program(uow, cmd, cmd.program_id)
    ensure_coordinator_of(user, program, f"submit program {program.id}")
    program.submit(_machine(uow, program), user.email)
    return save_program(uow, program, user.email, user.org)


def withdraw_program(cmd: c.WithdrawProgram, uow: UnitOfWork) -> int:
    user, program = acting_user_and_program(uow, cmd, cmd.program_id)
    ensure_coordinator_of(user, program, f"withdraw program {program.id}")
    program.withdraw(_machine(uow, program),
                     cmd.reason)
    # No task is done by withdrawing: every one still asked for is cancelled (a claim on
    # the coordinator's own organization's review must not stop it).
    return save_program(uow, program, user.email)


# -- approvers --

def decide_review(cmd: c.DecideReview, uow: UnitOfWork) -> int:
    user, program = acting_user_and_program(uow, cmd, cmd.program_id)
    machine = _machine(uow, program)

    def check(member: User) -> str:
        party_spec = machine.definition.party(member.org)
        return ensure_may_decide(member, program, party_spec.role if party_spec else "approver")

    party, acting_for = _acting(uow, user, program, check, "decide on")
    program.decide(machine, party, cmd.decision, user.email, cmd.comment, acting_for)
    return save_program(uow, program, user.email, party)


def _acting(uow: UnitOfWork, user: User, program: Program, check: Callable[[User], str],
            action: str) -> tuple[str, str | None]:
    """The party the user acts for, and whom they act for if it is by delegation (대결).

    The user's own rights come first; only when they fall short are the people whose
    work routes to them today tried. Separation of duties binds both: the delegate may
    not act on their own program, nor the delegator on theirs.
    """
    try:
        return check(user), None
    except NotPermitted as refused:
        for delegator in uow.directory.delegators_of(user.email, seoul_date(uow.now)):
            try:
                party = check(delegator)
            except NotPermitted:
                continue
            ensure_not_own_program(user, program, action)
            return party, delegator.email
        raise refused


# -- budget officers --

def commit_funds(cmd: c.CommitFunds, uow: UnitOfWork) -> int:
    user, program = acting_user_and_program(uow, cmd, cmd.program_id)
    party, acting_for = _acting(uow, user, program, lambda member: ensure_acts_for_party(
        member, program, "budget_officer", sorted(program.content.requests),
        "commit funds to", "funding"), "commit funds to")
    amount: int = program.commit(_machine(uow, program), party, user.email, acting_for)
    save_program(uow, program, user.email, party)
    return amount


def disburse_funds(cmd: c.DisburseFunds, uow: UnitOfWork) -> int:
    user, program = acting_user_and_program(uow, cmd, cmd.program_id)
    party, _ = _acting(uow, user, program, lambda member: ensure_acts_for_party(
        member, program, "budget_officer", sorted(program.content.requests),
        "disburse funds to", "funding"), "disburse funds to")
    tranche: int = program.disburse(party, cmd.amount, cmd.memo)
    save_program(uow, program, user.email, party)
    return tranche


# -- evaluation --

def submit_report(cmd: c.SubmitReport, uow: UnitOfWork) -> int:
    user, program = acting_user_and_program(uow, cmd, cmd.program_id)
    ensure_coordinator_of(user, program, f"report on program {program.id}")
    attachment = None
    if cmd.file is not None:
        attachment = {"name": cmd.file.name, "size": len(cmd.file.content),
                      "sha256": hashlib.sha256(cmd.file.content).hexdigest()}
    report = EvaluationReport(dict(cmd.spent), cmd.summary, user.email, attachment)
    program.submit_report(_machine(uow, program), report)
    if cmd.file is not None and attachment is not None:
        uow.programs.add_report_file(program, cmd.file.name, cmd.file.content,
                                     attachment["sha256"], uow.now)
    return save_program(uow, program, user.email, user.org)


def evaluate_report(cmd: c.EvaluateReport, uow: UnitOfWork) -> int:
    user, program = acting_user_and_program(uow, cmd, cmd.program_id)
    machine = _machine(uow, program)
    party, acting_for = _acting(uow, user, program, lambda member: ensure_acts_for_party(
        member, program, "evaluator", program.parties, "evaluate", "evaluating"), "evaluate")
    program.evaluate(machine, party, cmd.verdict, user.email, cmd.score, cmd.comment,
                     acting_for)
    return save_program(uow, program, user.email, party)


# -- admins --

def cancel_program(cmd: c.CancelProgram, uow: UnitOfWork) -> int:
    user, program = acting_user_and_program(uow, cmd, cmd.program_id)
    ensure_admin(user, f"cancel program {program.id}")
    program.cancel(_machine(uow, program), cmd.reason)
    return save_program(uow, program, user.email, user.org)


# -- task queues --

def claim_task(cmd: c.ClaimTask, uow: UnitOfWork) -> int:
    user = acting_user(uow, cmd)
    task = uow.tasks.get(cmd.task_id)
    program = uow.programs.get(task["program_id"], lock=True)

    def check(member: User) -> str:
        ensure_in_queue(member, task["queue_org"], task["queue_role"], cmd.task_id)
        ensure_not_own_program(member, program, f"take task {cmd.task_id} of")
        return member.org

    _acting(uow, user, program, check, f"take task {cmd.task_id} of")
    if not uow.tasks.claim(cmd.task_id, user.email):
        raise Conflict(_taken(uow.tasks.get(cmd.task_id)), task=cmd.task_id)
    return _task_event(uow, task, ev.TASK_CLAIMED, user.email, {"by": user.email})


def release_task(cmd: c.ReleaseTask, uow: UnitOfWork) -> int:
    user = acting_user(uow, cmd)
    task = uow.tasks.get(cmd.task_id)
    uow.programs.exists(task["program_id"], lock=True)
    if not uow.tasks.release(cmd.task_id, user.email):
        raise Conflict(f"task {cmd.task_id} is not claimed by {user.email} "
                       f"({_taken(uow.tasks.get(cmd.task_id))})", task=cmd.task_id)
    return _task_event(uow, task, ev.TASK_RELEASED, user.email, {"by": user.email})


def reassign_task(cmd: c.ReassignTask, uow: UnitOfWork) -> int:
    user = acting_user(uow, cmd)
    task = uow.tasks.get(cmd.task_id)
    ensure_supervisor_of(user, task["queue_org"], f"reassign task {cmd.task_id}")
    target = uow.directory.user(cmd.to)
    ensure_in_queue(target, task["queue_org"], task["queue_role"], cmd.task_id)
    program = uow.programs.get(task["program_id"], lock=True)
    ensure_not_own_program(target, program, f"take task {cmd.task_id} of")
    if not uow.tasks.reassign(cmd.task_id, target.email):
        raise Conflict(_taken(uow.tasks.get(cmd.task_id)), task=cmd.task_id)
    return _task_event(uow, task, ev.TASK_REASSIGNED, user.email,
                       {"from": task["claimed_by"], "to": target.email})


def _taken(task: dict[str, Any]) -> str:
    if task["state"] == "claimed":
        return f"task {task['id']} is already claimed by {task['claimed_by']}"
    return f"task {task['id']} is {task['state']}"


def _task_event(uow: UnitOfWork, task: dict[str, Any], event_type: str, actor: str,
                data: dict[str, Any]) -> int:
    uow.events.append(program_stream(task["program_id"]), [Event(event_type, {
        "task": task["id"], "kind": task["kind"], "queue": f"{task['queue_org']}/"
        f"{task['queue_role']}", **data})], actor, uow.now)
    task_id: int = task["id"]
    return task_id


# -- delegation --

def set_delegation(cmd: c.SetDelegation, uow: UnitOfWork) -> None:
    user = acting_user(uow, cmd)
    delegate = uow.directory.user(cmd.to)
    if delegate.org != user.org:
        raise NotPermitted(f"{user.email} may only delegate to a colleague of {user.org}; "
                           f"{delegate.email} belongs to {delegate.org}", user=user.email)
    new = Delegation(user.email, delegate.email, cmd.starts_on, cmd.ends_on)
    check_new_delegation(new, uow.directory.delegations())
    uow.directory.add_delegation(new, uow.now)
    uow.events.append(DIRECTORY_STREAM, [Event(ev.DELEGATION_SET, {
        "delegator": user.email, "delegate": delegate.email,
        "from": cmd.starts_on.isoformat(), "until": cmd.ends_on.isoformat()})],
        user.email, uow.now)


def clear_delegation(cmd: c.ClearDelegation, uow: UnitOfWork) -> None:
    user = acting_user(uow, cmd)
    if not uow.directory.clear_delegation(user.email, uow.now):
        raise NotFound(f"{user.email} has no delegation to clear")
    uow.events.append(DIRECTORY_STREAM, [Event(ev.DELEGATION_CLEARED, {
        "delegator": user.email})], user.email, uow.now)


# -- the scheduled worker --

def run_scheduled(cmd: c.RunScheduled, uow: UnitOfWork) -> str:
    """Carry out one due row once; a sweep that comes second finds it done."""
    work = uow.schedule.get(cmd.work_id)
    if work is None:
        raise NotFound(f"no scheduled work {cmd.work_id}")
    if work.done:
        return "already done"
    program = uow.programs.get(work.program_id, lock=True)
    work = uow.schedule.get(cmd.work_id, lock=True)  # again, now under the program's lock
    if work.done:
        return "already done"
    if work.due_at > uow.now:
        return "not due"
    outcome = "done" if program.run_scheduled(_machine(uow, program), work.action,
                                              uow.now) else "nothing to do"
    uow.schedule.mark_done(work.id, uow.now, outcome)
    if program.events:
        save_program(uow, program, SYSTEM)
    return f"{work.action}: {outcome}"


# -- the budget worker --

def place_holds(cmd: c.PlaceHolds, uow: UnitOfWork) -> bool:
    return _try_holds(uow, _locked_for_holds(uow, cmd.program_id))


def retry_waitlisted(cmd: c.RetryWaitlisted, uow: UnitOfWork) -> list[int]:
    """Money came free: try waitlisted programs in the order they were waitlisted."""
    placed = []
    for program_id in uow.programs.waitlisted(cmd.year):
        if _try_holds(uow, _locked_for_holds(uow, program_id)):
            placed.append(program_id)
    return placed


def _locked_for_holds(uow: UnitOfWork, program_id: int) -> Program:
    """The program, locked and loaded, with the envelopes its holds decide on read after
    the lock in the same round trip."""
    uow.programs.lock(program_id)
    uow.ledger.prefetch_envelopes(program_id)
    program: Program = uow.programs.get(program_id, lock=True)
    return program


def _machine(uow: UnitOfWork, program: Program) -> WorkflowMachine:
    """The machine of the definition version the program is pinned to."""
    return uow.workflow_of(program.workflow_key, program.workflow_version)


def _try_holds(uow: UnitOfWork, program: Program) -> bool:
    machine = _machine(uow, program)
    requests, year = program.content.requests, program.content.fiscal_year
    assert program.id is not None
    envelopes = uow.ledger.envelopes_to_hold(program.id, requests, year)
    placed = program.place_holds(machine, envelopes, uow.now)
    if program.state == "waitlisted":
        uow.ledger.confirm_waitlisted(requests, year)
    if program.events:  # a still-waitlisted or already-held program has nothing to save
        save_program(uow, program, SYSTEM)
    return placed


def _check_funders(uow: UnitOfWork, requests: dict[str, int]) -> None:
    for party in requests:
        org = uow.directory.organization(party)
        if not org["funder"]:
            raise InvalidInput(f"{party} is not a funding organization")


def _content(cmd: c.CreateProgram) -> ProgramContent:
    year = cmd.year or (cmd.start.year if cmd.start else None)
    if year is None:
        raise InvalidInput("give the fiscal year (--year) or a start date (--start)")
    return ProgramContent(title=cmd.title, category=cmd.category, requests=dict(cmd.requests),
                          fiscal_year=year, start=cmd.start, end=cmd.end,
                          description=cmd.description)


HANDLERS: dict[type[c.Command], Callable[[Any, UnitOfWork], Any]] = {
    c.AddOrganization: add_organization,
    c.AddUser: add_user,
    c.AddEnvelope: add_envelope,
    c.CreateProgram: create_program,
    c.UpdateProgram: update_program,
    c.SubmitProgram: submit_program,
    c.WithdrawProgram: withdraw_program,
    c.DecideReview: decide_review,
    c.PlaceHolds: place_holds,
    c.RetryWaitlisted: retry_waitlisted,
    c.SendBudgetNotice: send_budget_notice,
    c.CommitFunds: commit_funds,
    c.DisburseFunds: disburse_funds,
    c.SubmitReport: submit_report,
    c.EvaluateReport: evaluate_report,
    c.CancelProgram: cancel_program,
    c.RunScheduled: run_scheduled,
    c.ClaimTask: claim_task,
    c.ReleaseTask: release_task,
    c.ReassignTask: reassign_task,
    c.SetDelegation: set_delegation,
    c.ClearDelegation: clear_delegation,
}

# Outbox task name -> the command a worker carries out for it.
MESSAGE_COMMANDS: dict[str, Callable[[dict[str, Any]], c.Command]] = {
    PLACE_HOLDS: lambda p: c.PlaceHolds(actor=None, program_id=int(p["program_id"])),
    RETRY_WAITLISTED: lambda p: c.RetryWaitlisted(actor=None, year=int(p["year"])),
    BUDGET_NOTICE: lambda p: c.SendBudgetNotice(
        actor=None, program_id=int(p["program_id"]), what=str(p["what"]),
        parties=tuple(p["parties"]), details=tuple(p["details"])),
}
