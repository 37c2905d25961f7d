"""Approvers decide their own party's side of the joint review, from the program or from
a review task in their inbox."""

from __future__ import annotations

from workflow.domain import commands as c
from workflow.domain.errors import Conflict, InvalidInput, NotPermitted
from workflow.domain.permissions import User
from workflow.domain.program import DECISIONS, Program, check_decision
from workflow.domain.program.rounds import REVIEW
from workflow.domain.tasks import LIVE
from workflow.service_layer.handlers.common import (
    acting_user_and_program,
    check_version,
    machine_of,
    party_acting,
    save_program,
)
from workflow.service_layer.unit_of_work import UnitOfWork


def decide_review(cmd: c.DecideReview, uow: UnitOfWork) -> int:
    user, program = acting_user_and_program(uow, cmd.actor, cmd.program_id)
    check_version(program, cmd.expected_version)
    return _decide(uow, user, program, cmd.decision, cmd.comment)


def decide_task(cmd: c.DecideTask, uow: UnitOfWork) -> int:
    """A decision on the review a task asks for: only a live review task of the acting
    user's own party (the task of another queue is not theirs to decide)."""
    task = uow.tasks.get(cmd.task_id)
    user, program = acting_user_and_program(uow, cmd.actor, task.program_id)
    review = machine_of(uow, program).definition.states[REVIEW.state].task
    if task.kind != review:
        raise InvalidInput(
            f"task {cmd.task_id} is a {task.kind} task: only {review} tasks take a decision",
            reason="not_a_review_task",
            task=cmd.task_id,
            kind=task.kind,
        )
    if task.state not in LIVE:
        raise Conflict(
            f"task {cmd.task_id} is {task.state}",
            reason="task_closed",
            task=cmd.task_id,
            state=task.state,
        )
    if task.queue_org != user.org:
        raise NotPermitted(
            f"task {cmd.task_id} sits in {task.queue_org}'s queue, not {user.org}'s",
            reason="other_queue",
            task=cmd.task_id,
            owner=task.queue_org,
            org=user.org,
        )
    return _decide(uow, user, program, cmd.decision, cmd.comment)


def _decide(uow: UnitOfWork, user: User, program: Program, decision: str, comment: str) -> int:
    machine = machine_of(uow, program)
    trigger = DECISIONS[check_decision(decision)][2]
    party, acting_for = party_acting(
        uow, user, program, trigger, REVIEW.verb, program.parties, REVIEW.parties
    )
    program.decide(machine, party, decision, user.email, comment, acting_for)
    return save_program(uow, program, user.email, party)
