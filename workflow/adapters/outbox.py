"""The transactional outbox: messages written with the change, sent after it commits.

A row is ``published_at`` once the relay has handed it to the broker and ``done_at``
once a worker has carried it out (in the worker's own transaction). Rows published
long ago but never done are published again: delivery is at least once, and every
message handler is idempotent.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, bindparam, insert, or_, select, update

from workflow.adapters.batch import BatchingConnection
from workflow.adapters.orm import outbox
from workflow.service_layer.ports import OutboxMessage

_ADD = insert(outbox)
# Taken and marked done in one statement: it locks the row, so a duplicate delivery
# waits for this transaction and then finds the message done (or, rolled back, not).
_TAKE = (
    update(outbox)
    .where(outbox.c.id == bindparam("mid"), outbox.c.done_at.is_(None))
    .values(done_at=bindparam("at"))
    .returning(outbox.c.task, outbox.c.payload)
)

_PENDING = (
    select(outbox.c.id)
    .where(outbox.c.done_at.is_(None))
    .order_by(outbox.c.id)
    .limit(bindparam("lim", type_=Integer))
)


class Outbox:
    def __init__(self, conn: BatchingConnection) -> None:
        self.conn = conn
        self.added = 0  # messages written in this transaction

    def add(self, task: str, payload: dict[str, Any], now: datetime) -> None:
        self.conn.defer(
            _ADD,
            {
                "task": task,
                "payload": json.dumps(payload, sort_keys=True),
                "created_at": now,
                "attempts": 0,
            },
        )
        self.added += 1

    def take(self, message_id: int, now: datetime) -> OutboxMessage | None:
        """Mark one message done in this transaction, to be carried out in it; None if it
        does not exist or is done already (a duplicate delivery)."""
        row = self.conn.execute(_TAKE, {"mid": message_id, "at": now}).first()
        if row is None:
            return None
        return OutboxMessage(message_id, row.task, json.loads(row.payload))

    def pending_ids(self, limit: int = 100) -> list[int]:
        return list(self.conn.scalars(_PENDING, {"lim": limit}))

    def due_for_publishing(
        self, now: datetime, redeliver_after: float, limit: int
    ) -> list[tuple[int, str]]:
        """Lock (skipping rows another relay holds) what was never sent or never done."""
        stale = now - timedelta(seconds=redeliver_after)
        query = (
            select(outbox.c.id, outbox.c.task)
            .where(
                outbox.c.done_at.is_(None),
                or_(outbox.c.published_at.is_(None), outbox.c.published_at < stale),
            )
            .order_by(outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [(r.id, r.task) for r in self.conn.execute(query)]

    def mark_published(self, ids: list[int], now: datetime) -> None:
        if ids:
            self.conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(ids))
                .values(published_at=now, attempts=outbox.c.attempts + 1)
            )
