"""The outbox relay: publishes committed outbox rows to Celery, in batches.

Run by beat every ``outbox_relay_interval`` seconds (the ``jointflow.relay_outbox``
task). Rows are locked with SKIP LOCKED so two relays never publish the same batch;
a row published but not done within ``outbox_redeliver_seconds`` is published again
(the worker died, or Redis lost it). Publishing happens before the rows are marked,
so a crash in between only means one more (idempotent) delivery, never a lost one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from celery import Celery
from sqlalchemy import Engine

from workflow.adapters.batch import BatchingConnection
from workflow.adapters.outbox import Outbox


class OutboxRelay:
    def __init__(
        self, engine: Engine, celery_app: Celery, redeliver_after: float, batch_size: int
    ) -> None:
        self.engine = engine
        self.celery_app = celery_app
        self.redeliver_after = redeliver_after
        self.batch_size = batch_size

    def relay_once(self) -> int:
        """Publish one batch; returns how many messages went to the broker."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            box = Outbox(BatchingConnection(conn))
            due = box.due_for_publishing(now, self.redeliver_after, self.batch_size)
            if not due:
                return 0
            with self.celery_app.producer_or_acquire() as producer:
                for message_id, task in due:
                    self.celery_app.send_task(
                        task, kwargs={"outbox_id": message_id}, producer=producer
                    )
            box.mark_published([message_id for message_id, _ in due], now)
        return len(due)


class PublishingDispatcher:
    """A worker's dispatcher: what the worker commits to the outbox (a task's follow-ups,
    a sweep's notices) it publishes at once, one relay pass -- SKIP LOCKED, so racing
    workers and beat never publish a row twice at once. The request path keeps the
    ``RelayDispatcher``: nothing but the commit on it."""

    def __init__(self, relay: OutboxRelay) -> None:
        self.relay = relay

    def after_commit(self, bus: object) -> None:
        self.relay.relay_once()

    def after_message(self, bus: object) -> None:
        self.relay.relay_once()
