"""The audit log's hash chain, as pure functions over event records.

Each stream (one program, one envelope, the directory, ...) is its own chain, so
writes to different programs never queue behind one global lock. An event's hash
covers its stream, sequence number, type, actor, time, data and the previous hash;
editing, reordering or deleting any event breaks the chain from there on, and the
stream head (kept beside the events) exposes a truncated tail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical_json(data: Any) -> str:
    """One spelling per value, so a hash recomputed later matches byte for byte."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class EventRecord:
    id: int
    stream: str
    seq: int
    type: str
    actor: str
    at: str
    data: str  # canonical JSON text, exactly as stored
    prev_hash: str
    hash: str


def event_hash(
    prev_hash: str, stream: str, seq: int, type_: str, actor: str, at: str, data: str
) -> str:
    payload = canonical_json([prev_hash, stream, seq, type_, actor, at, data])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    stream: str
    seq: int
    event_id: int | None
    reason: str

    def describe(self) -> str:
        where = f"event {self.event_id} " if self.event_id is not None else ""
        return f"{where}(stream {self.stream}, seq {self.seq}): {self.reason}"


def verify_stream(
    stream: str, records: Iterable[EventRecord], head: tuple[int, str] | None
) -> ChainBreak | None:
    """Check one stream's events in seq order against each other and its head."""
    prev, expected_seq = GENESIS, 1
    for rec in records:
        if rec.seq != expected_seq:
            return ChainBreak(stream, expected_seq, rec.id, f"sequence jumps to {rec.seq}")
        if rec.prev_hash != prev:
            return ChainBreak(stream, rec.seq, rec.id, "previous-hash link does not match")
        actual = event_hash(
            rec.prev_hash, rec.stream, rec.seq, rec.type, rec.actor, rec.at, rec.data
        )
        if actual != rec.hash:
            return ChainBreak(stream, rec.seq, rec.id, "content does not match its hash")
        prev, expected_seq = rec.hash, expected_seq + 1
    if head is not None and head != (expected_seq - 1, prev):
        return ChainBreak(
            stream,
            expected_seq,
            None,
            f"stream head says seq {head[0]}, events end at {expected_seq - 1}",
        )
    return None
