"""Scheduled work: due times kept as rows, carried out once each by the sweeps.

Beat (or ``jointflow tick``) lists what is due and runs each row in a transaction of
its own. A row is marked done in the same transaction as its effect, with a
conditional UPDATE: however many sweeps race, or re-run after a crash, a row's work
lands once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update

from workflow.adapters.batch import BatchingConnection
from workflow.adapters.orm import scheduled_work
from workflow.service_layer.ports import Work

_w = scheduled_work.c
_DUE = (
    select(_w.id)
    .where(_w.done_at.is_(None), _w.due_at <= bindparam("now"))
    .order_by(_w.due_at, _w.id)
    .limit(bindparam("limit"))
)
_GET = select(scheduled_work).where(_w.id == bindparam("wid"))
_DONE = (
    update(scheduled_work)
    .where(_w.id == bindparam("wid"), _w.done_at.is_(None))
    .values(done_at=bindparam("now"), outcome=bindparam("outcome"))
)


class Schedule:
    def __init__(self, conn: BatchingConnection) -> None:
        self.conn = conn

    def due(self, now: datetime, limit: int = 100) -> list[int]:
        """Ids of the rows due at ``now`` and not done, earliest first."""
        return list(self.conn.scalars(_DUE, {"now": now, "limit": limit}))

    def get(self, work_id: int, lock: bool = False) -> Work | None:
        query = _GET.with_for_update() if lock else _GET
        row = self.conn.execute(query, {"wid": work_id}).first()
        if row is None:
            return None
        return Work(row.id, row.program_id, row.action, row.due_at, row.done_at is not None)

    def mark_done(self, work_id: int, now: datetime, outcome: str) -> bool:
        """True if this call marked it; False if another sweep got there first."""
        return (
            self.conn.execute(_DONE, {"wid": work_id, "now": now, "outcome": outcome}).rowcount == 1
        )

    def pending(self, program_id: int | None = None) -> list[dict[str, Any]]:
        """What is still to come (for people: ``program show``, the demo)."""
        query = select(scheduled_work).where(_w.done_at.is_(None)).order_by(_w.due_at, _w.id)
        if program_id is not None:
            query = query.where(_w.program_id == program_id)
        return [dict(r._mapping) for r in self.conn.execute(query)]
