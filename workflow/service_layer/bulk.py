"""Bulk actions on tasks: each item its own command, checked and committed on its own.

One refused item (someone else's claim, separation of duties, a task already closed)
never holds back or undoes the others, and is audited as any refusal is; the result
says, per task, what happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow.domain import commands as c
from workflow.domain.errors import InvalidInput, WorkflowError
from workflow.domain.program import DECISIONS
from workflow.service_layer.messagebus import MessageBus

BULK_ACTIONS = ("claim", *DECISIONS)


@dataclass(frozen=True)
class BulkItem:
    task: int
    ok: bool
    program: int | None = None  # the program decided on (decisions)
    error: str | None = None


def bulk(
    bus: MessageBus, actor: str | None, action: str, task_ids: list[int], comment: str = ""
) -> list[BulkItem]:
    """Carry out ``action`` on every task, in input order (a task named twice once)."""
    if action not in BULK_ACTIONS:
        raise InvalidInput(f"unknown bulk action {action!r} (use: {', '.join(BULK_ACTIONS)})")
    results: list[BulkItem] = []
    for task_id in dict.fromkeys(task_ids):
        command: c.Command = (
            c.ClaimTask(actor=actor, task_id=task_id)
            if action == "claim"
            else c.DecideTask(actor=actor, task_id=task_id, decision=action, comment=comment)
        )
        try:
            done = bus.handle(command)
        except WorkflowError as err:
            results.append(BulkItem(task_id, False, error=err.message))
            continue
        results.append(BulkItem(task_id, True, program=done if action != "claim" else None))
    return results
