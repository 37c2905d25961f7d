"""The audit log: per-stream hash chains appended in the caller's transaction.

Appending locks only the stream's head row (``event_streams``), so actions on
different programs never wait for each other; the head also lets ``verify`` notice
events cut off the end of a stream. A program's stream skips that lock: every writer
of ``program:N`` holds the program's row lock, and the repository reads the head in
the same round trip as the program (``known_head``); moving the head still checks it
is where it was read (compare-and-set), so a writer that bypassed the lock would
fail the action instead of forking the chain.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import partial

from sqlalchemy import bindparam, insert, select, update

from workflow.adapters.batch import BatchingConnection
from workflow.adapters.orm import event_streams, events
from workflow.domain.audit import (
    GENESIS,
    ChainBreak,
    EventRecord,
    canonical_json,
    event_hash,
    verify_stream,
)
from workflow.domain.errors import Conflict
from workflow.domain.events import Event

_HEAD = (
    select(event_streams.c.seq, event_streams.c.head)
    .where(event_streams.c.stream == bindparam("s"))
    .with_for_update()
)
_MOVE_HEAD = (
    update(event_streams)
    .where(event_streams.c.stream == bindparam("s"), event_streams.c.seq == bindparam("old_seq"))
    .values(seq=bindparam("new_seq"), head=bindparam("new_head"))
)
_NEW_HEAD = insert(event_streams)
_APPEND = insert(events)


def _moved(stream: str, rowcount: int) -> None:
    if rowcount != 1:
        raise _moved_error(stream)


def _moved_error(stream: str) -> Conflict:
    return Conflict(f"audit stream {stream} moved during this action; try again", stream=stream)


class EventStore:
    def __init__(self, conn: BatchingConnection) -> None:
        self.conn = conn
        # Heads read under a lock that every writer of the stream takes (None: no
        # stream yet), and heads this transaction has moved or locked.
        self._heads: dict[str, tuple[int, str] | None] = {}

    def known_head(self, stream: str, head: tuple[int, str] | None) -> None:
        """The caller read ``stream``'s head under a lock all its writers hold: use it."""
        self._heads[stream] = head

    def append(self, stream: str, new: Sequence[Event], actor: str, at: datetime) -> None:
        if not new:
            return
        known = self._heads[stream] if stream in self._heads else self._lock_head(stream)
        seq, prev = known or (0, GENESIS)
        stamp = at.isoformat(timespec="microseconds")
        rows = []
        for event in new:
            seq += 1
            data = canonical_json(event.data)
            digest = event_hash(prev, stream, seq, event.type, actor, stamp, data)
            rows.append(
                {
                    "stream": stream,
                    "seq": seq,
                    "type": event.type,
                    "actor": actor,
                    "at": stamp,
                    "data": data,
                    "prev_hash": prev,
                    "hash": digest,
                }
            )
            prev = digest
        self._move_head(stream, known, seq, prev)
        self.conn.defer(_APPEND, rows, duplicate=partial(_moved_error, stream))

    def _move_head(self, stream: str, known: tuple[int, str] | None, seq: int, head: str) -> None:
        """Move the head from where it was read; before the events, so a race fails first."""
        if known is None:
            self.conn.defer(_NEW_HEAD, {"stream": stream, "seq": seq, "head": head})
        else:
            self.conn.defer(
                _MOVE_HEAD,
                {"s": stream, "old_seq": known[0], "new_seq": seq, "new_head": head},
                check=partial(_moved, stream),
            )
        self._heads[stream] = (seq, head)

    def _lock_head(self, stream: str) -> tuple[int, str]:
        row = self.conn.execute(_HEAD, {"s": stream}).first()
        if row is None:
            self.conn.execute(
                self.conn.insert_or_skip(event_streams).values(stream=stream, seq=0, head=GENESIS)
            )
            row = self.conn.execute(_HEAD, {"s": stream}).one()
        return row.seq, row.head

    def history(self, stream: str) -> list[EventRecord]:
        rows = self.conn.execute(
            select(events).where(events.c.stream == stream).order_by(events.c.seq)
        )
        return [EventRecord(**row._mapping) for row in rows]

    def verify(self) -> tuple[int, ChainBreak | None]:
        """Walk every stream; return (events checked, first break or None)."""
        heads = {r.stream: (r.seq, r.head) for r in self.conn.execute(select(event_streams))}
        checked, first = 0, None
        for stream, records in self._streams():
            checked += len(records)
            broken = verify_stream(stream, records, heads.pop(stream, None))
            if broken and (first is None or (broken.event_id or 0) < (first.event_id or 0)):
                first = broken
        for stream, (seq, _head) in heads.items():
            if seq and first is None:
                first = ChainBreak(stream, 1, None, f"stream head says seq {seq}, no events")
        return checked, first

    def _streams(self) -> Iterator[tuple[str, list[EventRecord]]]:
        rows = self.conn.execute(select(events).order_by(events.c.stream, events.c.seq))
        current: str | None = None
        batch: list[EventRecord] = []
        for row in rows:
            rec = EventRecord(**row._mapping)
            if rec.stream != current:
                if current is not None:
                    yield current, batch
                current, batch = rec.stream, []
            batch.append(rec)
        if current is not None:
            yield current, batch
