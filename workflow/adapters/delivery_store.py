"""Delivery rows and people's channel preferences (issue 14).

A delivery is written once per occasion: its ``key`` is unique and the insert does
nothing when the key exists, so a message re-decided (an outbox message carried out
twice, a digest growing during its day) never gets a second delivery. An attempt is
taken with a conditional UPDATE (due and pending, or ``sending`` and stale), so two
workers or a worker and the sweep never both attempt it; its outcome is reconciled
with another, guarded by the attempt's number. A worker claims a batch the same way in
one statement: the due rows it may take, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (rows
another worker is claiming are left to it; SQLite has one writer at a time anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select, update

from workflow.adapters.batch import BatchingConnection
from workflow.adapters.orm import deliveries, notification_prefs, notifications, webhooks
from workflow.domain.delivery import DEAD, EMAIL, PENDING, SENDING, SENT, WEBHOOK
from workflow.service_layer.ports import Attempt

_d, _n, _w = deliveries.c, notifications.c, webhooks.c
# Hot-path statements, built once (see repositories): a delivery is taken when due and
# pending, or (the sweep's retake) sending and stale.
_TAKEABLE = and_(_d.status == PENDING, _d.due_at <= bindparam("b_now"))
_STALE = and_(_d.status == SENDING, _d.attempted_at < bindparam("b_stale"))
# What an attempt needs of its row (a claimed batch's; the single take's without the id).
_ATTEMPT_COLUMNS = (
    _d.id,
    _d.attempts,
    _d.channel,
    _d.recipient,
    _d.notification_id,
    _d.webhook_id,
    _d.event_type,
    _d.payload,
)


def _taking(takeable: ColumnElement[bool]) -> Any:
    return (
        update(deliveries)
        .where(_d.id == bindparam("did"), takeable)
        .values(
            status=SENDING,
            attempts=_d.attempts + 1,
            attempted_at=bindparam("b_now"),
            updated_at=bindparam("b_now"),
        )
        .returning(*_ATTEMPT_COLUMNS[1:])
    )


_BEGIN = _taking(_TAKEABLE)
_BEGIN_OR_RETAKE = _taking(or_(_TAKEABLE, _STALE))
_MAIL_TEXT = select(_n.subject, _n.body, _n.html).where(_n.id == bindparam("nid"))
_PREFERENCES = select(notification_prefs.c.kind, notification_prefs.c.channels).where(
    notification_prefs.c.user_email == bindparam("email")
)


class DeliveryStore:
    def __init__(self, conn: BatchingConnection) -> None:
        self.conn = conn
        self.begun: list[Attempt] = []

    def add(
        self,
        key: str,
        channel: str,
        recipient: str,
        due_at: datetime,
        now: datetime,
        notification_id: int | None = None,
        webhook_id: int | None = None,
        event_type: str | None = None,
        payload: str | None = None,
        sent: bool = False,
        attempt: Attempt | None = None,
    ) -> int | None:
        row = {
            "key": key,
            "notification_id": notification_id,
            "webhook_id": webhook_id,
            "channel": channel,
            "recipient": recipient,
            "status": SENT if sent else SENDING if attempt else PENDING,
            "attempts": 1 if sent or attempt else 0,
            "due_at": due_at,
            "attempted_at": now if attempt else None,
            "sent_at": now if sent else None,
            "event_type": event_type,
            "payload": payload,
            "created_at": now,
            "updated_at": now,
        }
        if sent:  # an in-app delivery, delivered by being written: it goes with the next
            self.conn.defer(self.conn.insert_or_skip(deliveries, ("key",)), row)  # round trip
            return None
        statement = self.conn.insert_or_skip(deliveries, ("key",), returning=(_d.id,))
        found = self.conn.fetch(statement, row).scalar()
        if found is None:
            return None
        if attempt is not None:
            self.begun.append(replace(attempt, delivery_id=int(found), number=1))
        return int(found)

    def begin(
        self, delivery_id: int, now: datetime, stale_before: datetime | None = None
    ) -> Attempt | None:
        params: dict[str, Any] = {"did": delivery_id, "b_now": now}
        if stale_before is not None:
            params["b_stale"] = stale_before
        begin = _BEGIN if stale_before is None else _BEGIN_OR_RETAKE
        row = self.conn.execute(begin, params).first()
        if row is None:
            return None
        attempt = Attempt(
            delivery_id, row.channel, row.recipient, int(row.attempts), row.notification_id
        )
        if row.channel == EMAIL:
            text = self.conn.execute(_MAIL_TEXT, {"nid": row.notification_id}).one()
            return replace(attempt, subject=text.subject, text=text.body, html=text.html)
        if row.channel == WEBHOOK:
            secret = self.conn.scalar(
                select(_w.secret).where(_w.id == row.webhook_id, _w.removed_at.is_(None))
            )
            return replace(
                attempt, event_type=row.event_type or "", body=row.payload or "", secret=secret
            )
        return attempt

    def claim(
        self,
        now: datetime,
        limit: int,
        stale_before: datetime | None = None,
        skip: Sequence[int] = (),
    ) -> list[Attempt]:
        takeable = _takeable(now, stale_before)
        chosen = select(_d.id).where(takeable, _d.channel.in_((EMAIL, WEBHOOK)))
        if skip:
            chosen = chosen.where(_d.id.not_in(list(skip)))
        chosen = chosen.order_by(_d.due_at, _d.id).limit(limit).with_for_update(skip_locked=True)
        # Locked first, then marked: as a subquery of the UPDATE, PostgreSQL may run the
        # SKIP LOCKED select more than once and mark more than ``limit`` rows.
        ids = [int(i) for i in self.conn.scalars(chosen)]
        if not ids:
            return []
        rows = self.conn.execute(
            update(deliveries)
            .where(_d.id.in_(ids), takeable)
            .values(status=SENDING, attempts=_d.attempts + 1, attempted_at=now, updated_at=now)
            .returning(*_ATTEMPT_COLUMNS)
        ).all()
        texts = self._texts([r.notification_id for r in rows if r.channel == EMAIL])
        secrets = self._secrets([r.webhook_id for r in rows if r.channel == WEBHOOK])
        attempts = [_attempt(r, texts, secrets) for r in rows]
        return sorted(attempts, key=lambda a: a.delivery_id)

    def _texts(self, ids: list[int]) -> dict[int, Any]:
        if not ids:
            return {}
        query = select(_n.id, _n.subject, _n.body, _n.html).where(_n.id.in_(ids))
        return {int(r.id): r for r in self.conn.execute(query)}

    def _secrets(self, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        query = select(_w.id, _w.secret).where(_w.id.in_(ids), _w.removed_at.is_(None))
        return {int(r.id): str(r.secret) for r in self.conn.execute(query)}

    def finish(
        self,
        delivery_id: int,
        number: int,
        status: str,
        now: datetime,
        due_at: datetime | None = None,
        error: str = "",
    ) -> bool:
        # A success stands whichever attempt reports it; a failure only for the attempt
        # that still holds the row (a stale one retaken since is the newer attempt's).
        guard = (
            _d.status != SENT
            if status == SENT
            else and_(_d.status == SENDING, _d.attempts == number)
        )
        values: dict[str, Any] = {"status": status, "updated_at": now}
        if status == SENT:
            values["sent_at"] = now
        if due_at is not None:
            values["due_at"] = due_at
        if error:
            values["last_error"] = error[:2000]
        return (
            self.conn.execute(
                update(deliveries).where(_d.id == delivery_id, guard).values(**values)
            ).rowcount
            == 1
        )

    def due(self, now: datetime, stale_before: datetime, limit: int) -> list[int]:
        query = (
            select(_d.id)
            .where(
                _d.status.in_((PENDING, SENDING)),
                _d.due_at <= now,
                or_(_d.status == PENDING, _d.attempted_at < stale_before),
            )
            .order_by(_d.due_at, _d.id)
            .limit(limit)
        )
        return [int(i) for i in self.conn.scalars(query)]

    def retry(self, delivery_ids: Sequence[int] | None, now: datetime) -> list[int]:
        where: list[ColumnElement[bool]] = [_d.status.in_((DEAD, PENDING))]
        if delivery_ids is None:
            where = [_d.status == DEAD]
        else:
            where.append(_d.id.in_(list(delivery_ids)))
        rows = self.conn.execute(
            update(deliveries)
            .where(*where)
            .values(status=PENDING, attempts=0, due_at=now, updated_at=now)
            .returning(_d.id)
        )
        return sorted(int(r.id) for r in rows)

    def listing(
        self, failed_only: bool = False, limit: int = 200, ids: Sequence[int] | None = None
    ) -> list[dict[str, Any]]:
        """For the operator (``deliveries list``): newest first, with the message's kind;
        failed: dead, or waiting for another attempt after one failed."""
        failed = or_(_d.status == DEAD, and_(_d.status.in_((PENDING, SENDING)), _d.attempts > 0))
        query = (
            select(
                _d.id,
                _d.channel,
                _d.recipient,
                _d.status,
                _d.attempts,
                _d.last_error,
                _d.due_at,
                _d.created_at,
                _d.sent_at,
                func.coalesce(_n.kind, _d.event_type).label("what"),
                _d.notification_id,
                _d.webhook_id,
            )
            .select_from(deliveries.outerjoin(notifications, _n.id == _d.notification_id))
            .order_by(_d.id.desc())
            .limit(limit)
        )
        if failed_only:
            query = query.where(failed)
        if ids is not None:
            query = query.where(_d.id.in_(list(ids)))
        return [_listed(dict(r._mapping)) for r in self.conn.execute(query)]

    def counts(self) -> dict[str, int]:
        """Deliveries per status (for tests and ``deliveries list``'s summary)."""
        rows = self.conn.execute(select(_d.status, func.count()).group_by(_d.status))
        return {str(status): int(n) for status, n in rows}


def _takeable(now: datetime, stale_before: datetime | None) -> ColumnElement[bool]:
    due = and_(_d.status == PENDING, _d.due_at <= now)
    if stale_before is None:
        return due
    return or_(due, and_(_d.status == SENDING, _d.attempted_at < stale_before))


def _attempt(row: Any, texts: dict[int, Any], secrets: dict[int, str]) -> Attempt:
    attempt = Attempt(
        int(row.id), row.channel, row.recipient, int(row.attempts), row.notification_id
    )
    if row.channel == EMAIL:
        text = texts[int(row.notification_id)]
        return replace(attempt, subject=text.subject, text=text.body, html=text.html)
    if row.channel == WEBHOOK:
        return replace(
            attempt,
            event_type=row.event_type or "",
            body=row.payload or "",
            secret=secrets.get(int(row.webhook_id)),
        )
    return attempt


def _listed(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("due_at", "created_at", "sent_at"):
        row[key] = row[key].isoformat() if row[key] is not None else None
    return row


class PreferenceStore:
    def __init__(self, conn: BatchingConnection) -> None:
        self.conn = conn

    def of(self, email: str) -> dict[str, tuple[str, ...]]:
        rows = self.conn.execute(_PREFERENCES, {"email": email})
        return {r.kind: tuple(c for c in r.channels.split(",") if c) for r in rows}

    def set(self, email: str, kind: str, channels: tuple[str, ...], now: datetime) -> None:
        stored = ",".join(channels)
        inserted = self.conn.execute(
            self.conn.insert_or_skip(notification_prefs, ["user_email", "kind"])
            .values(user_email=email, kind=kind, channels=stored, updated_at=now)
            .returning(notification_prefs.c.kind)
        ).first()
        if inserted is None:
            self.conn.execute(
                update(notification_prefs)
                .where(notification_prefs.c.user_email == email, notification_prefs.c.kind == kind)
                .values(channels=stored, updated_at=now)
            )
