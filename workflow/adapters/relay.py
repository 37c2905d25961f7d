"""The outbox relay: publishes committed outbox rows to Celery, in batches.

Run by the relay process (``relay_process.py``) as soon as a command's commit wakes
it, and by a worker for what its own tasks wrote (``PublishingDispatcher``). Rows are
claimed with SKIP LOCKED so two relays never publish the same batch. A row published
but not done within ``outbox_redeliver_seconds`` is published again by the sweep
(``sweep``: the worker died, or Redis lost it) -- but only while the broker's queue is
empty: a message still waiting there was not lost, and a worker that is down would
otherwise come back to a copy of every message per interval. Rows are marked and
published in one transaction that commits after the broker took them, so a crash in
between only means one more (idempotent) delivery, never a lost one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from celery import Celery
from sqlalchemy import Engine, text

from workflow.adapters.batch import BatchingConnection
from workflow.adapters.outbox import Outbox

_ASYNC_COMMIT = text("SET LOCAL synchronous_commit = off")
GROUP_SIZE = 10  # the most messages of a ``together`` task in one Celery message


class OutboxRelay:
    def __init__(
        self,
        engine: Engine,
        celery_app: Celery,
        redeliver_after: float,
        batch_size: int,
        together: frozenset[str] = frozenset(),
    ) -> None:
        """``together``: the tasks whose messages may go in groups (``outbox_ids``)."""
        self.engine = engine
        self.celery_app = celery_app
        self.redeliver_after = redeliver_after
        self.batch_size = batch_size
        self.together = together

    def relay_once(self, redeliver: bool = False) -> int:
        """Publish one batch of new messages (and, ``redeliver``, of stale ones); returns
        how many went to the broker."""
        now = datetime.now(UTC)
        stale = self.redeliver_after if redeliver else None
        with self.engine.begin() as conn:
            batch = BatchingConnection(conn)
            if conn.dialect.name == "postgresql":
                # The worker's take waits for these marks' row locks; a mark lost in a
                # crash only means one more (idempotent) delivery: no need to wait for
                # the WAL flush. (Sent with the claim: one round trip.)
                batch.defer(_ASYNC_COMMIT, {})
            due = Outbox(batch).claim_for_publishing(now, self.batch_size, stale)
            if not due:
                return 0
            with self.celery_app.producer_or_acquire() as producer:
                for task, kwargs in self.messages_for(due):
                    self.celery_app.send_task(task, kwargs=kwargs, producer=producer)
        return len(due)

    def messages_for(self, due: list[tuple[int, str]]) -> list[tuple[str, dict[str, Any]]]:
        """A Celery message per outbox row, but up to ``GROUP_SIZE`` rows of a task that
        goes ``together`` in one, in the order they were claimed."""
        messages: list[tuple[str, dict[str, Any]]] = []
        groups: dict[str, list[int]] = {}
        for message_id, task in due:
            if task not in self.together:
                messages.append((task, {"outbox_id": message_id}))
                continue
            group = groups.get(task)
            if group is None or len(group) == GROUP_SIZE:
                group = groups[task] = []
                messages.append((task, {"outbox_ids": group}))
            group.append(message_id)
        return messages

    def relay_all(self, redeliver: bool = False) -> int:
        """Publish batch after batch until the outbox has nothing due."""
        total = 0
        while (sent := self.relay_once(redeliver)) == self.batch_size:
            total += sent
        return total + sent

    def sweep(self) -> int:
        """Everything due, stale messages too if the broker's queue is empty."""
        return self.relay_all(redeliver=self.queue_is_empty())

    def queue_is_empty(self) -> bool:
        """Whether the workers' queue holds no message (declaring it, as a worker does,
        makes it exist when no worker has yet)."""
        with self.celery_app.producer_or_acquire() as producer:  # pooled: no connect a pass
            declared = producer.channel.queue_declare(self.celery_app.conf.task_default_queue)
            return int(declared.message_count) == 0


class PublishingDispatcher:
    """A worker's dispatcher: what the worker commits to the outbox (a task's follow-ups,
    a sweep's notices) it publishes at once, one relay pass -- SKIP LOCKED, so racing
    workers and the relay process never publish a row twice at once. The request path
    keeps the ``RelayDispatcher``: its commit wakes the relay process (NOTIFY)."""

    def __init__(self, relay: OutboxRelay) -> None:
        self.relay = relay

    def after_commit(self, bus: object) -> None:
        self.relay.relay_once()

    def after_message(self, bus: object) -> None:
        self.relay.relay_once()
