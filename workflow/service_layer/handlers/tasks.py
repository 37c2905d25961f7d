"""People's queues: claiming a task, giving it back, and a supervisor's reassignment.
Each is recorded on the task's program's stream, under the program's row lock."""

from __future__ import annotations

from typing import Any

from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.errors import Conflict
from workflow.domain.events import Event, program_stream
from workflow.domain.people import ensure_active
from workflow.domain.permissions import (
    User,
    ensure_in_queue,
    ensure_not_own_program,
    ensure_supervisor_of,
)
from workflow.service_layer.handlers.common import acting, acting_user
from workflow.service_layer.ports import Task
from workflow.service_layer.unit_of_work import UnitOfWork


def claim_task(cmd: c.ClaimTask, uow: UnitOfWork) -> int:
    user = acting_user(uow, cmd.actor)
    task = uow.tasks.get(cmd.task_id)
    program = uow.programs.get(task.program_id, lock=True)
    verb = f"take task {cmd.task_id} of"

    def check(member: User) -> str:
        ensure_in_queue(member, task.queue_org, task.queue_role, cmd.task_id)
        ensure_not_own_program(member, program, verb)
        return member.org

    acting(uow, user, program, check, verb)
    if not uow.tasks.claim(cmd.task_id, user.email):
        raise Conflict(_taken(uow.tasks.get(cmd.task_id)), **_taken_context(uow, cmd.task_id))
    return _record(uow, task, ev.TASK_CLAIMED, user.email, {"by": user.email})


def release_task(cmd: c.ReleaseTask, uow: UnitOfWork) -> int:
    user = acting_user(uow, cmd.actor)
    task = uow.tasks.get(cmd.task_id)
    uow.programs.exists(task.program_id, lock=True)
    if not uow.tasks.release(cmd.task_id, user.email):
        raise Conflict(
            f"task {cmd.task_id} is not claimed by {user.email} "
            f"({_taken(uow.tasks.get(cmd.task_id))})",
            **{**_taken_context(uow, cmd.task_id), "reason": "not_your_claim", "user": user.email},
        )
    return _record(uow, task, ev.TASK_RELEASED, user.email, {"by": user.email})


def reassign_task(cmd: c.ReassignTask, uow: UnitOfWork) -> int:
    user = acting_user(uow, cmd.actor)
    task = uow.tasks.get(cmd.task_id)
    ensure_supervisor_of(user, task.queue_org, f"reassign task {cmd.task_id}")
    target = uow.directory.user(cmd.to)
    ensure_active(target)
    ensure_in_queue(target, task.queue_org, task.queue_role, cmd.task_id)
    program = uow.programs.get(task.program_id, lock=True)
    ensure_not_own_program(target, program, f"take task {cmd.task_id} of")
    if not uow.tasks.reassign(cmd.task_id, target.email):
        raise Conflict(_taken(uow.tasks.get(cmd.task_id)), **_taken_context(uow, cmd.task_id))
    return _record(
        uow, task, ev.TASK_REASSIGNED, user.email, {"from": task.claimed_by, "to": target.email}
    )


def _taken_context(uow: UnitOfWork, task_id: int) -> dict[str, Any]:
    """What a refusal of a task someone else holds names, for every language."""
    task = uow.tasks.get(task_id)
    if task.state == "claimed":
        return {"reason": "task_taken", "task": task_id, "claimant": task.claimed_by}
    return {"reason": "task_closed", "task": task_id, "state": task.state}


def _taken(task: Task) -> str:
    if task.state == "claimed":
        return f"task {task.id} is already claimed by {task.claimed_by}"
    return f"task {task.id} is {task.state}"


def _record(uow: UnitOfWork, task: Task, event_type: str, actor: str, data: dict[str, Any]) -> int:
    uow.events.append(
        program_stream(task.program_id),
        [
            Event(
                event_type,
                {
                    "task": task.id,
                    "kind": task.kind,
                    "queue": f"{task.queue_org}/{task.queue_role}",
                    **data,
                },
            )
        ],
        actor,
        uow.now,
    )
    return task.id
