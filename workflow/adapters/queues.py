"""Read models of the task queues: a person's inbox, page by page, and the "waiting on
whom" board."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from workflow.adapters.orm import programs, reminders, tasks
from workflow.adapters.unit_of_work import SqlUnitOfWork
from workflow.adapters.views import visible_programs, waiting_fields, waitlist
from workflow.domain.calendar import business_days_between, days_overdue, seoul_date
from workflow.domain.delegation import queues_of
from workflow.domain.errors import InvalidInput
from workflow.domain.permissions import User
from workflow.domain.tasks import LIVE
from workflow.domain.visibility import Viewer
from workflow.service_layer.ports import Task

DEFAULT_LIMIT = 50
MAX_LIMIT = 500  # a page is read whole; a larger one is a report, not an inbox


@dataclass(frozen=True)
class InboxPage:
    """One page of an inbox; ``more``: live tasks follow its last row (page on with
    ``after=rows[-1]["task"]``)."""

    rows: list[dict[str, Any]]
    more: bool


def inbox(
    uow: SqlUnitOfWork, user: User, limit: int = DEFAULT_LIMIT, after: int | None = None
) -> list[dict[str, Any]]:
    """The rows of ``inbox_page``: one page of the user's tasks, earliest due first."""
    return inbox_page(uow, user, limit, after).rows


def inbox_page(
    uow: SqlUnitOfWork, user: User, limit: int = DEFAULT_LIMIT, after: int | None = None
) -> InboxPage:
    """The user's tasks and their queues' tasks, earliest due first (then by task id):
    the first ``limit`` of them, or the ``limit`` that follow task ``after``.

    While someone's delegation to the user runs (대결), their queues are in it too, each
    such task naming whom the user acts for (``acting_for``).

    ``remaining_if_approved``: what the party's envelope for the program's fiscal year
    has left once this program is funded; its share is already held, so that is the
    envelope's ``available`` now.

    No total: counting a queue of 100,000 tasks reads all of them, index or not; one
    row more than the page tells whether there are more.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(
            f"the inbox shows 1 to {MAX_LIMIT} tasks at a time, not {limit}", limit=limit
        )
    own, standing_in = queues_of(user, uow.directory.delegators_of(user.email, seoul_date(uow.now)))
    key = _key_of(uow.tasks.get(after)) if after is not None else None
    found = uow.tasks.live([*own, *standing_in], user.email, limit + 1, key)
    rows = _rows(uow, found[:limit], set(own), standing_in)
    return InboxPage(rows, more=len(found) > limit)


def _key_of(task: Task) -> tuple[datetime, int]:
    """Where a page that follows ``task`` starts: the inbox's order is (due_at, id)."""
    return task.due_at, task.id


def _rows(
    uow: SqlUnitOfWork,
    found: list[dict[str, Any]],
    own: set[tuple[str, str]],
    standing_in: dict[tuple[str, str], str],
) -> list[dict[str, Any]]:
    """The page's tasks with their programs' titles and what the envelopes keep."""
    if not found:
        return []
    ids = sorted({r["program_id"] for r in found})
    info = {
        p.id: p
        for p in uow.conn.execute(
            select(programs.c.id, programs.c.title, programs.c.state, programs.c.fiscal_year).where(
                programs.c.id.in_(ids)
            )
        )
    }
    available = {(e.party, e.year): e.available for e in uow.ledger.report()}
    return [
        {
            "task": r["id"],
            "program": r["program_id"],
            "title": info[r["program_id"]].title,
            "kind": r["kind"],
            "party": r["party"],
            "queue": f"{r['queue_org']}/{r['queue_role']}",
            "due": r["due_at"].isoformat(),
            "overdue_days": days_overdue(r["due_at"], uow.now),
            "claimed_by": r["claimed_by"],
            "acting_for": None
            if (r["queue_org"], r["queue_role"]) in own
            else standing_in.get((r["queue_org"], r["queue_role"])),
            "remaining_if_approved": available.get((r["party"], info[r["program_id"]].fiscal_year))
            if r["party"]
            else None,
        }
        for r in found
    ]


def waiting(uow: SqlUnitOfWork, viewer: Viewer) -> list[dict[str, Any]]:
    """For each program with live tasks: whom it waits on, for how long, against what SLA,
    and when its open tasks were last reminded (ISO 8601, None if never)."""
    t = tasks.c
    reminded = (
        select(func.max(reminders.c.sent_at))
        .where(reminders.c.task_id == t.id, reminders.c.status == "sent")
        .scalar_subquery()
    )
    rows = uow.conn.execute(
        select(
            t.program_id,
            t.queue_org,
            t.kind,
            t.created_at,
            programs.c.title,
            programs.c.state,
            programs.c.workflow_key,
            programs.c.workflow_version,
            reminded.label("reminded"),
        )
        .join_from(tasks, programs, programs.c.id == t.program_id)
        .where(t.state.in_(LIVE), visible_programs(viewer))
        .order_by(t.program_id, t.kind, t.queue_org)
    ).all()
    board: dict[int, dict[str, Any]] = {}
    steps: dict[int, list[tuple[str, str]]] = {}
    for r in rows:
        created = r.created_at
        entry = board.setdefault(
            r.program_id,
            {
                "program": r.program_id,
                "title": r.title,
                "state": r.state,
                "since": created,
                "sla_days": uow.workflow_of(r.workflow_key, r.workflow_version)
                .definition.states[r.state]
                .sla_days,
                "last_reminder": None,
            },
        )
        steps.setdefault(r.program_id, []).append((r.queue_org, r.kind))
        entry["since"] = min(entry["since"], created)
        if r.reminded is not None:
            entry["last_reminder"] = max(
                filter(None, [entry["last_reminder"], r.reminded.isoformat()])
            )
    result = []
    for program_id, entry in board.items():
        entry.update(waiting_fields(steps[program_id]))
        since = entry.pop("since")
        entry["business_days_waiting"] = business_days_between(since, uow.now)
        entry["overdue"] = entry["sla_days"] is not None and (
            entry["business_days_waiting"] > entry["sla_days"]
        )
        entry["waitlisted_for"] = []
        result.append(entry)
    result.extend(_waitlisted(uow, viewer))
    return sorted(result, key=lambda r: int(r["program"]))


def _waitlisted(uow: SqlUnitOfWork, viewer: Viewer) -> list[dict[str, Any]]:
    """Waitlisted programs have no task: they wait on the funders short of money (step
    ``budget``), with how much is missing (``waitlisted_for``)."""
    rows = []
    for w in waitlist(uow, viewer):
        short = [s["party"] for s in w["waitlisted_for"]]
        since = datetime.fromisoformat(w["since"]) if w["since"] else uow.now
        rows.append(
            {
                "program": w["id"],
                "title": w["title"],
                "state": "waitlisted",
                "sla_days": None,
                "last_reminder": None,
                **waiting_fields([(party, "budget") for party in short]),
                "business_days_waiting": business_days_between(since, uow.now),
                "overdue": False,
                "waitlisted_for": w["waitlisted_for"],
            }
        )
    return rows
