"""The caller's work: ``/tasks`` (the inbox), ``/me/delegation`` and ``/notifications``,
as ``jointflow inbox``, ``task ...``, ``delegate ...`` and ``notifications ...``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from workflow.adapters import queues
from workflow.adapters.unit_of_work import SqlUnitOfWork
from workflow.domain import commands as c
from workflow.domain.visibility import Viewer
from workflow.entrypoints.api import answers
from workflow.entrypoints.api.auth import User
from workflow.entrypoints.api.paging import DEFAULT_LIMIT, Cursor, Limit, decode, page
from workflow.entrypoints.api.schemas import BulkIn, DelegationIn, PathId, ReassignIn
from workflow.entrypoints.api.services import bus
from workflow.service_layer.bulk import bulk
from workflow.service_layer.messagebus import MessageBus

router = APIRouter()
Bus = Annotated[MessageBus, Depends(bus)]
TaskId = PathId


@router.get("/tasks", tags=["tasks"], response_model=answers.TaskPage)
def inbox(user: User, bus: Bus, limit: Limit = DEFAULT_LIMIT, after: Cursor = None) -> Any:
    """Your tasks and your queues' tasks, earliest due first (``inbox --json``'s rows)."""
    start = decode("tasks", after)

    def read(uow: SqlUnitOfWork, who: Viewer) -> queues.InboxPage:
        assert who.user is not None  # a token always names a user
        return queues.inbox_page(uow, who.user, limit, start)

    found = bus.view(read, user)
    return page("tasks", found.rows, "task", found.more)


@router.post("/tasks/bulk", tags=["tasks"], response_model=list[answers.BulkItem])
def bulk_tasks(body: BulkIn, user: User, bus: Bus) -> list[dict[str, Any]]:
    """Each task on its own: one refused never holds back the others."""
    action = body.action.replace("_", "-")
    return [asdict(r) for r in bulk(bus, user, action, list(body.tasks), body.comment)]


@router.post("/tasks/{task_id}/claim", tags=["tasks"], response_model=answers.TaskClaim)
def claim(task_id: TaskId, user: User, bus: Bus) -> dict[str, Any]:
    bus.handle(c.ClaimTask(actor=user, task_id=task_id))
    return {"task": task_id, "claimed_by": user}


@router.post("/tasks/{task_id}/release", tags=["tasks"], response_model=answers.TaskClaim)
def release(task_id: TaskId, user: User, bus: Bus) -> dict[str, Any]:
    bus.handle(c.ReleaseTask(actor=user, task_id=task_id))
    return {"task": task_id, "claimed_by": None}


@router.post("/tasks/{task_id}/reassign", tags=["tasks"], response_model=answers.TaskClaim)
def reassign(task_id: TaskId, body: ReassignIn, user: User, bus: Bus) -> dict[str, Any]:
    bus.handle(c.ReassignTask(actor=user, task_id=task_id, to=body.to))
    return {"task": task_id, "claimed_by": body.to}


@router.put("/me/delegation", tags=["me"], response_model=answers.Delegation)
def set_delegation(body: DelegationIn, user: User, bus: Bus) -> dict[str, Any]:
    bus.handle(
        c.SetDelegation(actor=user, to=body.to, starts_on=body.starts_on, ends_on=body.ends_on)
    )
    return {"to": body.to, "from": body.starts_on.isoformat(), "until": body.ends_on.isoformat()}


@router.delete("/me/delegation", status_code=204, tags=["me"])
def clear_delegation(user: User, bus: Bus) -> Response:
    bus.handle(c.ClearDelegation(actor=user))
    return Response(status_code=204)


@router.get("/notifications", tags=["me"], response_model=list[answers.Notification])
def notifications(
    user: User, bus: Bus, unread: Annotated[bool, Query()] = False
) -> list[dict[str, Any]]:
    """Your in-app messages, newest first."""
    rows: list[dict[str, Any]] = bus.query(
        lambda uow: uow.notifications.of_user(user, unread_only=unread)
    )
    return rows


@router.post("/notifications/read", tags=["me"], response_model=answers.NotificationsMarked)
def read_all_notifications(user: User, bus: Bus) -> dict[str, Any]:
    """Mark every one of your messages read (``notifications read --all``)."""
    return {"marked": bus.handle(c.MarkNotificationRead(actor=user, notification_id=None))}


@router.post(
    "/notifications/{notification_id}/read", tags=["me"], response_model=answers.NotificationMark
)
def read_notification(notification_id: PathId, user: User, bus: Bus) -> dict[str, Any]:
    marked = bus.handle(c.MarkNotificationRead(actor=user, notification_id=notification_id))
    return {"id": notification_id, "marked": marked}
