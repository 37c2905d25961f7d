"""Reminder rows and in-app notifications (issue 4 §3).

Exactly once per (task, rung): a row is taken by a conditional UPDATE (``status =
'pending'``) in the same transaction that writes the person's message, so two sweeps
racing over it, a re-run, or a worker killed mid-sweep (the transaction rolls back)
never send it twice. Locks are taken in one global order -- reminder rows by id, then
each person's message and audit stream by email -- so racing sweeps wait, never deadlock.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, insert, select, update

from workflow.adapters.batch import BatchingConnection
from workflow.adapters.orm import (
    deliveries,
    notifications,
    program_requests,
    programs,
    reminders,
    tasks,
)
from workflow.domain.delivery import INAPP
from workflow.domain.reminders import ReminderLadder, first_rungs
from workflow.domain.tasks import LIVE, OPEN, TaskSpec
from workflow.service_layer.ports import Rendered

_r, _t, _n = reminders.c, tasks.c, notifications.c
# A reminder names its task as the task was just opened (spec, state, this instant): it
# goes with the task's INSERT, without reading the new id back.
_OPENED_TASK = (
    select(_t.id)
    .where(
        _t.program_id == bindparam("b_pid"),
        _t.kind == bindparam("b_kind"),
        _t.queue_org == bindparam("b_org"),
        _t.queue_role == bindparam("b_role"),
        _t.party.is_not_distinct_from(bindparam("b_party")),
        _t.state == OPEN,
        _t.created_at == bindparam("b_now"),
    )
    .scalar_subquery()
)
_SCHEDULE = insert(reminders).values(task_id=_OPENED_TASK)
_VOID = (
    update(reminders)
    .where(_r.task_id.in_(bindparam("ids", expanding=True)), _r.status == "pending")
    .values(status="void")
)
_MESSAGE_KEY = ("user_email", "kind", "day", "topic")
_LOCK_MESSAGE = (
    select(_n.id, _n["items"])
    .where(
        _n.user_email == bindparam("b_email"),
        _n.kind == bindparam("b_kind"),
        _n.day == bindparam("b_day"),
        _n.topic == bindparam("b_topic"),
    )
    .with_for_update()
)
_WRITE_MESSAGE = (
    update(notifications)
    .where(_n.id == bindparam("nid"))
    .values(
        subject=bindparam("b_subject"),
        body=bindparam("b_body"),
        html=bindparam("b_html"),
        items=bindparam("b_items"),
        updated_at=bindparam("b_now"),
        read_at=None,
    )
)


def _content(text: Rendered, items: list[dict[str, Any]]) -> dict[str, str]:
    return {
        "subject": text.subject[:300],
        "body": text.text,
        "html": text.html,
        "items": json.dumps(items, ensure_ascii=False, default=str),
    }


class ReminderStore:
    def __init__(self, conn: BatchingConnection) -> None:
        self.conn = conn

    def schedule(
        self,
        program_id: int,
        opened: list[tuple[TaskSpec, datetime]],
        ladder: ReminderLadder | None,
        now: datetime,
    ) -> int:
        """Rows for the first rungs of the program's tasks just opened (spec, due) at
        ``now`` (``first_rungs``)."""
        if ladder is None:
            return 0
        rows = [
            {
                "b_pid": program_id,
                "b_kind": spec.kind,
                "b_org": spec.org,
                "b_role": spec.role,
                "b_party": spec.party,
                "b_now": now,
                "rung": rung,
                "due_at": at,
                "status": "pending",
                "created_at": now,
            }
            for spec, due_at in opened
            for rung, at in first_rungs(ladder, due_at, now).items()
        ]
        self.conn.defer(_SCHEDULE, rows)
        return len(rows)

    def void(self, task_ids: Sequence[int]) -> int:
        """Pending rows of tasks just closed will never be sent (found by task id, the
        unique index, never by a scan of what is pending)."""
        if not task_ids:
            return 0
        return self.conn.execute(_VOID, {"ids": list(task_ids)}).rowcount

    def void_stale(self, now: datetime) -> int:
        """Due rows whose task closed without passing through the workflow (a safety net)."""
        closed = select(_t.id).where(_t.state.not_in(LIVE))
        return self.conn.execute(
            update(reminders)
            .where(_r.status == "pending", _r.due_at <= now, _r.task_id.in_(closed))
            .values(status="void")
        ).rowcount

    def due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Pending rows due at ``now`` of live tasks, by id, with what a message needs."""
        amount = program_requests.c.amount
        query = (
            select(
                _r.id,
                _r.rung,
                _r.due_at,
                _t.id.label("task_id"),
                _t.program_id,
                _t.kind,
                _t.party,
                _t.queue_org,
                _t.queue_role,
                _t.claimed_by,
                _t.due_at.label("task_due"),
                programs.c.title,
                programs.c.workflow_key,
                programs.c.workflow_version,
                amount,
            )
            .select_from(
                reminders.join(tasks, _t.id == _r.task_id)
                .join(programs, programs.c.id == _t.program_id)
                .outerjoin(
                    program_requests,
                    and_(
                        program_requests.c.program_id == _t.program_id,
                        program_requests.c.party == _t.party,
                    ),
                )
            )
            .where(_r.status == "pending", _r.due_at <= now, _t.state.in_(LIVE))
            .order_by(_r.id)
            .limit(limit)
        )
        return [dict(row._mapping) for row in self.conn.execute(query)]

    def take(self, reminder_id: int, recipients: Sequence[str], now: datetime) -> bool:
        """Mark one row sent; False if another sweep (or a closing task) got there first."""
        return (
            self.conn.execute(
                update(reminders)
                .where(_r.id == reminder_id, _r.status == "pending")
                .values(status="sent", sent_at=now, recipients=json.dumps(list(recipients)))
            ).rowcount
            == 1
        )

    def add(
        self,
        task_id: int,
        rung: str,
        due_at: datetime,
        now: datetime,
        sent_to: Sequence[str] | None = None,
    ) -> None:
        """A later rung (after a reminder sent): pending, or sent now with it."""
        row = {"task_id": task_id, "rung": rung, "due_at": due_at, "created_at": now}
        if sent_to is None:
            row.update(status="pending", sent_at=None, recipients=None)
        else:
            row.update(status="sent", sent_at=now, recipients=json.dumps(list(sent_to)))
        self.conn.defer(self.conn.insert_or_skip(reminders, ["task_id", "rung"]), row)

    def of_task(self, task_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(reminders).where(_r.task_id == task_id).order_by(_r.due_at, _r.id)
        )
        return [dict(r._mapping) for r in rows]


class NotificationStore:
    def __init__(self, conn: BatchingConnection) -> None:
        self.conn = conn

    def create(
        self,
        email: str,
        kind: str,
        day: date,
        now: datetime,
        topic: str,
        text: Rendered,
        items: list[dict[str, Any]],
    ) -> int | None:
        """A new message, written whole in one statement (its id; None if it exists
        already): an occasion's message is nearly always new, and the empty row, its
        lock and its content were three statements."""
        row = {
            "user_email": email,
            "kind": kind,
            "day": day,
            "topic": topic,
            **_content(text, items),
            "created_at": now,
            "updated_at": now,
        }
        created = self.conn.insert_or_skip(notifications, _MESSAGE_KEY, returning=(_n.id,))
        found = self.conn.execute(created, row).scalar()
        return None if found is None else int(found)

    def lock_or_create(
        self, email: str, kind: str, day: date, now: datetime, topic: str = ""
    ) -> tuple[int, list[dict[str, Any]]]:
        """The person's message of ``kind`` for ``day`` and ``topic``, locked: (id, its
        items so far)."""
        self.conn.execute(
            self.conn.insert_or_skip(notifications, _MESSAGE_KEY),
            {
                "user_email": email,
                "kind": kind,
                "day": day,
                "topic": topic,
                "subject": "",
                "body": "",
                "html": "",
                "items": "[]",
                "created_at": now,
                "updated_at": now,
            },
        )
        key = {"b_email": email, "b_kind": kind, "b_day": day, "b_topic": topic}
        row = self.conn.execute(_LOCK_MESSAGE, key).one()
        return int(row.id), list(json.loads(row[1]))

    def write(
        self, notification_id: int, text: Rendered, items: list[dict[str, Any]], now: datetime
    ) -> None:
        """New content is unread again."""
        content = {f"b_{k}": v for k, v in _content(text, items).items()}
        self.conn.execute(_WRITE_MESSAGE, {"nid": notification_id, **content, "b_now": now})

    def of_user(self, email: str, unread_only: bool = False) -> list[dict[str, Any]]:
        """The person's in-app messages (those with an in-app delivery), newest first."""
        shown = select(deliveries.c.id).where(
            deliveries.c.notification_id == _n.id, deliveries.c.channel == INAPP
        )
        query = select(notifications).where(_n.user_email == email, shown.exists())
        if unread_only:
            query = query.where(_n.read_at.is_(None))
        rows = self.conn.execute(query.order_by(_n.day.desc(), _n.id.desc()))
        return [
            {
                "id": r.id,
                "kind": r.kind,
                "day": r.day.isoformat(),
                "subject": r.subject,
                "body": r.body,
                "created_at": r.created_at.isoformat(),
                "updated_at": r.updated_at.isoformat(),
                "read": r.read_at is not None,
            }
            for r in rows
        ]

    def owner(self, notification_id: int) -> str | None:
        return self.conn.execute(select(_n.user_email).where(_n.id == notification_id)).scalar()

    def mark_read(self, email: str, notification_id: int | None, now: datetime) -> int:
        where = [_n.user_email == email, _n.read_at.is_(None)]
        if notification_id is not None:
            where.append(_n.id == notification_id)
        return self.conn.execute(update(notifications).where(*where).values(read_at=now)).rowcount
