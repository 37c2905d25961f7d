"""Tasks in their queues: opened and closed with the program's change, claimed by people.

Every write is a conditional UPDATE on the task's state, so two people claiming one
task at the same instant get one winner whatever the isolation level, and a task
claimed by someone else cannot be completed by anyone else: the close finds no row
and the action is refused (its transaction rolls back).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    insert,
    or_,
    select,
    tuple_,
    union,
    update,
)

from workflow.adapters.batch import BatchingConnection
from workflow.adapters.orm import tasks
from workflow.domain.errors import NotFound, NotPermitted
from workflow.domain.tasks import CLAIMED, LIVE, OPEN, TaskSpec
from workflow.service_layer.ports import Task

_t = tasks.c
# Literal states, as the partial indexes' predicate reads: a bound parameter would let a
# prepared statement's generic plan miss the indexes.
_LIVE_STATE = _t.state.in_(
    bindparam("live_states", list(LIVE), expanding=True, literal_execute=True)
)
_CLAIMED_STATE = _t.state == bindparam("claimed_state", CLAIMED, literal_execute=True)
_LIVE_OF_SPEC = [
    _t.program_id == bindparam("pid"),
    _t.kind == bindparam("b_kind"),
    _t.queue_org == bindparam("org"),
    _t.state.in_(LIVE),
]
_CANCEL = (
    update(tasks)
    .where(*_LIVE_OF_SPEC)
    .values(state=bindparam("b_state"), closed_at=bindparam("b_now"), closed_by=bindparam("b_by"))
    .returning(_t.id)
)
# Completing respects a claim: only the claimant (or an unclaimed task's queue) closes it.
_BY: BindParameter[str] = bindparam("b_by")
_NOW: BindParameter[datetime] = bindparam("b_now")
_COMPLETE = (
    update(tasks)
    .where(*_LIVE_OF_SPEC, or_(_t.claimed_by.is_(None), _t.claimed_by == _BY))
    .values(state="completed", closed_at=_NOW, closed_by=_BY)
    .returning(_t.id)
)
_OPEN = insert(tasks)
_LIVE_OF_PROGRAM = (
    select(tasks).where(_t.program_id == bindparam("pid"), _t.state.in_(LIVE)).order_by(_t.id)
)
_CLAIMANT = select(_t.claimed_by).where(*_LIVE_OF_SPEC, _t.state == CLAIMED)


class TaskStore:
    def __init__(self, conn: BatchingConnection) -> None:
        self.conn = conn

    def open(
        self, program_id: int, due: dict[TaskSpec, datetime], now: datetime
    ) -> list[tuple[TaskSpec, datetime]]:
        """Open the tasks (a deferred write); (spec, due) of each, for their reminders."""
        ordered = sorted(due.items())
        self.conn.defer(
            _OPEN,
            [
                {
                    "program_id": program_id,
                    "kind": spec.kind,
                    "party": spec.party,
                    "queue_org": spec.org,
                    "queue_role": spec.role,
                    "state": OPEN,
                    "due_at": due_at,
                    "created_at": now,
                }
                for spec, due_at in ordered
            ],
        )
        return ordered

    def complete(self, program_id: int, spec: TaskSpec, by: str, now: datetime) -> list[int]:
        """Close the task the actor's own queue finished; refused if someone else claimed it.
        The ids closed (none if there was no live task)."""
        params = {"pid": program_id, "b_kind": spec.kind, "org": spec.org, "b_by": by, "b_now": now}
        closed = list(self.conn.scalars(_COMPLETE, params))
        if not closed:
            claimant = self.conn.execute(_CLAIMANT, params).scalar()
            if claimant is not None:
                raise NotPermitted(
                    f"{by} may not act on program {program_id}: its {spec.kind} task for "
                    f"{spec.org} is claimed by {claimant}",
                    reason="claimed_by_other",
                    program=program_id,
                    user=by,
                    claimant=claimant,
                    org=spec.org,
                )
        return closed

    def cancel(self, program_id: int, spec: TaskSpec, by: str, now: datetime) -> list[int]:
        """The program moved on without this queue: the task is void. The ids closed."""
        return list(
            self.conn.scalars(
                _CANCEL,
                {
                    "pid": program_id,
                    "b_kind": spec.kind,
                    "org": spec.org,
                    "b_by": by,
                    "b_now": now,
                    "b_state": "cancelled",
                },
            )
        )

    def get(self, task_id: int) -> Task:
        row = self.conn.execute(select(tasks).where(_t.id == task_id)).first()
        if row is None:
            raise NotFound(f"task {task_id} does not exist", reason="no_task", task=task_id)
        return _task(row)

    def live_of_program(self, program_id: int) -> list[Task]:
        return [_task(r) for r in self.conn.execute(_LIVE_OF_PROGRAM, {"pid": program_id})]

    def claim(self, task_id: int, email: str) -> bool:
        """True if ``email`` got it; False if it was not open (taken, or closed)."""
        return (
            self.conn.execute(
                update(tasks)
                .where(_t.id == task_id, _t.state == OPEN)
                .values(state=CLAIMED, claimed_by=email)
            ).rowcount
            == 1
        )

    def release(self, task_id: int, claimant: str) -> bool:
        return (
            self.conn.execute(
                update(tasks)
                .where(_t.id == task_id, _t.state == CLAIMED, _t.claimed_by == claimant)
                .values(state=OPEN, claimed_by=None)
            ).rowcount
            == 1
        )

    def reassign(self, task_id: int, to: str) -> bool:
        return (
            self.conn.execute(
                update(tasks)
                .where(_t.id == task_id, _t.state.in_(LIVE))
                .values(state=CLAIMED, claimed_by=to)
            ).rowcount
            == 1
        )

    def live(
        self,
        queues: Iterable[tuple[str, str]],
        email: str,
        limit: int,
        after: tuple[datetime, int] | None = None,
    ) -> list[dict[str, Any]]:
        """The first ``limit`` live tasks in these queues or claimed by ``email``, in
        (due_at, id) order; only those past the key ``after`` when it is given.

        One top-``limit`` per queue and one of the user's claims, each a range scan of
        its partial index in the index's order, merged and cut to ``limit``: the cost
        follows the page, not the length of the queues. A single OR over the queues
        would have PostgreSQL read every live task in them and sort.
        """
        branches = [
            _first(and_(_LIVE_STATE, _t.queue_org == org, _t.queue_role == role), limit, after)
            for org, role in sorted(set(queues))
        ]
        branches.append(_first(and_(_CLAIMED_STATE, _t.claimed_by == email), limit, after))
        # UNION, not UNION ALL: a task claimed by the user in their own queue is in two.
        merged = union(*branches).subquery() if len(branches) > 1 else branches[0].subquery()
        query = select(merged).order_by(merged.c.due_at, merged.c.id).limit(limit)
        return [dict(r._mapping) for r in self.conn.execute(query)]

    def of_program(self, program_id: int) -> list[dict[str, Any]]:
        query = select(tasks).where(_t.program_id == program_id).order_by(_t.id)
        return [dict(r._mapping) for r in self.conn.execute(query)]


def _task(row: Any) -> Task:
    return Task(
        row.id,
        row.program_id,
        row.kind,
        row.party,
        row.queue_org,
        row.queue_role,
        row.state,
        row.due_at,
        row.claimed_by,
    )


def _first(
    where: ColumnElement[bool], limit: int, after: tuple[datetime, int] | None
) -> Select[Any]:
    """One index range: the first ``limit`` tasks matching ``where`` past ``after``."""
    if after is not None:
        where = and_(where, tuple_(_t.due_at, _t.id) > tuple_(*after))
    inner = select(tasks).where(where).order_by(_t.due_at, _t.id).limit(limit).subquery()
    return select(inner)  # wrapped: SQLite takes no ORDER BY/LIMIT in a UNION's member
