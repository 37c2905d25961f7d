"""The transactional outbox: messages written with the change, sent after it commits.

A row is ``published_at`` once the relay has handed it to the broker and ``done_at``
once a worker has carried it out (in the worker's own transaction). Rows published
long ago but never done are published again: delivery is at least once, and every
message handler is idempotent.

On PostgreSQL a command's transaction that writes a message also sends ``NOTIFY
jointflow_outbox`` (``wake_relay``): delivered at commit and only if it commits, it
wakes the relay process at once instead of at its next sweep.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Update,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from workflow.adapters.batch import BatchingConnection
from workflow.adapters.orm import outbox
from workflow.service_layer.ports import OutboxMessage

WAKE_CHANNEL = "jointflow_outbox"  # what the relay process LISTENs on
_ADD = insert(outbox)
_WAKE = select(func.pg_notify(literal(WAKE_CHANNEL), literal("")))
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
    def __init__(self, conn: BatchingConnection, wake_relay: bool = False) -> None:
        self.conn = conn
        self.added = 0  # messages written in this transaction
        # Only PostgreSQL has NOTIFY; a SQLite deployment's relay finds them by its sweep.
        self.wake_relay = wake_relay and conn.dialect.name == "postgresql"

    def add(self, task: str, payload: dict[str, Any], now: datetime) -> None:
        if self.wake_relay and not self.added:  # one wake-up per transaction is enough
            self.conn.defer(_WAKE, {})
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

    def claim_for_publishing(
        self, now: datetime, limit: int, redeliver_after: float | None = None
    ) -> list[tuple[int, str]]:
        """Mark published (one attempt more) what was never sent -- and, given
        ``redeliver_after``, what was sent that long ago and never done -- skipping rows
        another relay holds, in one statement (sent with what the caller queued before
        it); (id, task) in id order. The caller publishes them before its transaction
        commits: a crash in between rolls the marks back, and the rows go again."""
        if redeliver_after is None:
            statement, params = _CLAIM_NEW, {"at": now, "lim": limit}
        else:
            since = now - timedelta(seconds=redeliver_after)
            statement, params = _CLAIM_DUE, {"at": now, "lim": limit, "since": since}
        return sorted((r.id, r.task) for r in self.conn.fetch(statement, params))


def _claim(due: ColumnElement[bool]) -> Update:
    """Mark the first ``lim`` rows not done and ``due`` published ``at``, skipping rows
    another relay holds."""
    chosen = (
        select(outbox.c.id)
        .where(outbox.c.done_at.is_(None), due)
        .order_by(outbox.c.id)
        .limit(bindparam("lim", type_=Integer))
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return (
        update(outbox)
        .where(outbox.c.id.in_(chosen))
        .values(published_at=bindparam("at"), attempts=outbox.c.attempts + 1)
        .returning(outbox.c.id, outbox.c.task)
    )


_NEVER_SENT = outbox.c.published_at.is_(None)
_CLAIM_NEW = _claim(_NEVER_SENT)
_CLAIM_DUE = _claim(or_(_NEVER_SENT, outbox.c.published_at < bindparam("since")))
