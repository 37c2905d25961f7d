"""Organizations' webhook subscriptions (issue 14). Removing one keeps the row (its
deliveries name it), marked removed; a removed webhook is posted to no more."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from workflow.adapters.batch import BatchingConnection
from workflow.adapters.orm import webhooks
from workflow.domain.errors import NotFound
from workflow.service_layer.ports import Webhook

_w = webhooks.c
_LIVE = select(_w.id, _w.org_key, _w.url, _w.events, _w.created_at, _w.secret).where(
    _w.removed_at.is_(None)
)
_EVERY_LIVE = _LIVE.order_by(_w.id)  # built once: every notification lists them


class WebhookStore:
    def __init__(self, conn: BatchingConnection) -> None:
        self.conn = conn
        self._live: list[Webhook] | None = None  # read once a transaction (see ``listing``)

    def add(self, org: str, url: str, events: tuple[str, ...], secret: str, now: datetime) -> int:
        self._live = None
        return int(
            self.conn.execute(
                insert(webhooks)
                .values(
                    org_key=org, url=url, events=",".join(events), secret=secret, created_at=now
                )
                .returning(_w.id)
            ).scalar_one()
        )

    def remove(self, webhook_id: int, now: datetime) -> bool:
        self._live = None
        return (
            self.conn.execute(
                update(webhooks)
                .where(_w.id == webhook_id, _w.removed_at.is_(None))
                .values(removed_at=now)
            ).rowcount
            == 1
        )

    def get(self, webhook_id: int) -> Webhook:
        row = self.conn.execute(_LIVE.where(_w.id == webhook_id)).first()
        if row is None:
            raise NotFound(f"no webhook {webhook_id}", webhook=webhook_id)
        return _webhook(row)

    def listing(self, org: str | None = None) -> list[Webhook]:
        if org is None:  # every program change asks (a group of them, once), with the queue
            if self._live is None:
                self._live = [_webhook(r) for r in self.conn.fetch(_EVERY_LIVE, {})]
            return list(self._live)
        query = _LIVE.where(_w.org_key == org).order_by(_w.id)
        return [_webhook(r) for r in self.conn.execute(query)]


def _webhook(row: Any) -> Webhook:
    events = tuple(row.events.split(","))
    return Webhook(row.id, row.org_key, row.url, events, row.created_at, row.secret)
