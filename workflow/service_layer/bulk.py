"""Bulk actions on tasks: each item its own command, checked and committed on its own.

One refused item (someone else's claim, separation of duties, a task already closed)
never holds back or undoes the others; the result says, per task, what happened.
"""

from __future__ import annotations

from typing import Any

from workflow.domain import commands as c
from workflow.domain.errors import Conflict, InvalidInput, NotPermitted, WorkflowError
from workflow.domain.tasks import LIVE
from workflow.service_layer.messagebus import MessageBus

DECISIONS = {"approve": "approve", "reject": "reject", "request-changes": "request-changes"}
BULK_ACTIONS = ("claim", *DECISIONS)


def bulk(bus: MessageBus, actor: str | None, action: str, task_ids: list[int],
         comment: str = "") -> list[dict[str, Any]]:
    """Carry out ``action`` on every task; ``[{task, ok, program, error}]`` in input order."""
    if action not in BULK_ACTIONS:
        raise InvalidInput(f"unknown bulk action {action!r} (use: {', '.join(BULK_ACTIONS)})")
    results: list[dict[str, Any]] = []
    for task_id in dict.fromkeys(task_ids):  # a task named twice is done once
        try:
            program_id = _one(bus, actor, action, task_id, comment)
            results.append({"task": task_id, "ok": True, "program": program_id, "error": None})
        except WorkflowError as err:
            results.append({"task": task_id, "ok": False, "program": None,
                            "error": err.message})
    return results


def _one(bus: MessageBus, actor: str | None, action: str, task_id: int, comment: str) -> int:
    task = bus.query(lambda uow: uow.tasks.get(task_id))
    if action == "claim":
        bus.handle(c.ClaimTask(actor=actor, task_id=task_id))
    elif task["kind"] != "review":
        raise InvalidInput(f"task {task_id} is a {task['kind']} task: only review tasks "
                           f"take {action}")
    elif task["state"] not in LIVE:
        raise Conflict(f"task {task_id} is {task['state']}", task=task_id)
    else:
        # A decision is the actor's own party's: a task of another queue is not theirs.
        org = bus.query(lambda uow: uow.directory.user(actor or "").org)
        if task["queue_org"] != org:
            raise NotPermitted(f"task {task_id} sits in {task['queue_org']}'s queue, "
                               f"not {org}'s", task=task_id)
        bus.handle(c.DecideReview(actor=actor, program_id=task["program_id"],
                                  decision=DECISIONS[action], comment=comment))
    program_id: int = task["program_id"]
    return program_id
