"""HTTP ``Idempotency-Key`` claims: the first request with a key runs, repeats replay it.

A claim is a row inserted in a transaction of its own *before* the request runs, under
a unique (user, key) constraint, so of concurrent repeats exactly one inserts; the
others find the row and wait until its response is stored. The command itself runs
through the bus in its own transaction afterwards: binding both in one transaction would
mean threading the HTTP key through every command. The price of two transactions is a
window where the command committed but the response is not stored yet (a crash there):
the claim is then abandoned after ``ABANDONED`` and a repeat runs the request again.
Keys live ``KEPT`` (24 hours) per user.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from workflow.adapters.orm import idempotency_keys

KEPT = timedelta(hours=24)
ABANDONED = timedelta(minutes=10)
_k = idempotency_keys.c


@dataclass(frozen=True)
class Stored:
    """The first request's response (``status`` None: it is still running)."""

    request_hash: str
    status: int | None
    body: bytes
    headers: dict[str, str]


class IdempotencyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(self, user: str, key: str, request_hash: str) -> int | None:
        """The new claim's id, or None when the key is taken (see ``stored``)."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            # Expired keys and abandoned claims of this user and key make room.
            conn.execute(
                delete(idempotency_keys).where(
                    _k.user_email == user,
                    _k.key == key,
                    (_k.created_at < now - KEPT)
                    | (_k.status.is_(None) & (_k.created_at < now - ABANDONED)),
                )
            )
        try:
            with self.engine.begin() as conn:
                return int(
                    conn.execute(
                        insert(idempotency_keys)
                        .values(user_email=user, key=key, request_hash=request_hash, created_at=now)
                        .returning(_k.id)
                    ).scalar_one()
                )
        except IntegrityError:
            return None

    def stored(self, user: str, key: str) -> Stored | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_k.request_hash, _k.status, _k.body, _k.headers).where(
                    _k.user_email == user, _k.key == key
                )
            ).first()
        if row is None:
            return None
        return Stored(
            row.request_hash,
            row.status,
            (row.body or "").encode(),
            json.loads(row.headers) if row.headers else {},
        )

    def finish(self, claim_id: int, status: int, body: bytes, headers: dict[str, str]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(idempotency_keys)
                .where(_k.id == claim_id)
                .values(status=status, body=body.decode(), headers=json.dumps(headers))
            )

    def give_up(self, claim_id: int) -> None:
        """The request failed on the server's side: free the key for a retry."""
        with self.engine.begin() as conn:
            conn.execute(delete(idempotency_keys).where(_k.id == claim_id))
