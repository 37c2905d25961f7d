"""The relay process: the outbox to Redis the moment a command commits, and the sweeps.

It ``LISTEN``s on ``jointflow_outbox``; a command's transaction that wrote outbox rows
sends ``NOTIFY`` (delivered at commit), and the relay publishes them at once. When no
commit has woken it for ``outbox_relay_interval`` seconds it sweeps the outbox for what
no wake-up announced (a relay killed mid-batch, a message published but never done, a
SQLite deployment, which has no NOTIFY). Every ``sweep_interval`` seconds it queues the sweep
of due scheduled work (``jointflow.run_due_work``), deduplicated by ``SweepGate``: with
no worker running, one sweep waits in Redis, not one per interval.

Nothing here is a periodic Celery task: a deployment whose worker is down keeps its
outbox in the database, where it was committed, until a worker is back.
"""

from __future__ import annotations

import logging
import select
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, closing, nullcontext

import psycopg
import redis
from celery import Celery
from sqlalchemy import Engine

from workflow.adapters.outbox import WAKE_CHANNEL
from workflow.adapters.relay import OutboxRelay

log = logging.getLogger(__name__)
RETRY_SECONDS = 1.0  # after the database or Redis failed a pass


class SweepGate:
    """At most one due-work sweep waiting in the broker: a Redis key set (``SET NX``) when
    one is queued and deleted when a worker starts it. The key lapses after ``ttl``
    seconds (Redis restores a message a dead worker had taken after its visibility
    timeout, so by then the sweep is running or lost), and the message expires with it."""

    KEY = "jointflow:run_due_work:queued"

    def __init__(self, client: redis.Redis, ttl: float) -> None:
        self.client = client
        self.ttl = max(1, int(ttl))

    def claim(self) -> bool:
        return bool(self.client.set(self.KEY, b"1", nx=True, ex=self.ttl))

    def release(self) -> None:
        self.client.delete(self.KEY)


class DueWorkTrigger:
    """Queues the due-work sweep when none is waiting. A gate still closed while the
    broker's queue is empty means the sweep it stood for was taken -- running, or lost
    with a worker killed holding it (Redis would give it back only after an hour) -- so
    it is opened again: nothing waits twice, and a lost sweep stops nothing."""

    def __init__(
        self, celery_app: Celery, task: str, gate: SweepGate, queue_is_empty: Callable[[], bool]
    ) -> None:
        self.celery_app = celery_app
        self.task = task
        self.gate = gate
        self.queue_is_empty = queue_is_empty

    def send(self) -> bool:
        if not self.gate.claim():
            if not self.queue_is_empty():
                return False  # it is still waiting there
            self.gate.release()
            if not self.gate.claim():
                return False
        try:
            self.celery_app.send_task(self.task, expires=self.gate.ttl)
        except Exception:
            self.gate.release()  # not queued: the next interval tries again
            raise
        log.info("sent %s", self.task)
        return True


class Listener:
    """A PostgreSQL connection listening on the outbox's channel."""

    def __init__(self, dsn: str) -> None:
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.conn.execute(f"LISTEN {WAKE_CHANNEL}")

    def wait(self, timeout: float) -> bool:
        """Until a commit announces outbox rows (then take every waiting announcement:
        one pass publishes them all) or ``timeout`` seconds; whether one came. Asleep on
        the socket: psycopg's own wait wakes ten times a second to look for signals
        (a fifth of an idle relay's CPU, measured: 0.20 % of a core against 0.17 %)."""
        if self._drained():  # read with an earlier packet: already off the socket
            return True
        select.select([self.conn.fileno()], [], [], max(timeout, 0))
        return self._drained()

    def _drained(self) -> bool:
        """Take every announcement waiting (all of them, hence no ``any``); whether
        there was one."""
        return sum(1 for _ in self.conn.notifies(timeout=0)) > 0

    def close(self) -> None:
        self.conn.close()


class Sleeper:
    """SQLite has no NOTIFY: the relay wakes by its sweep alone."""

    def wait(self, timeout: float) -> bool:
        time.sleep(max(timeout, 0))
        return False

    def close(self) -> None:
        return None


def listener_dsn(engine: Engine) -> str | None:
    """The libpq address of the engine's PostgreSQL database; None for SQLite."""
    if engine.dialect.name != "postgresql":
        return None
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class RelayProcess:
    def __init__(
        self,
        relay: OutboxRelay,
        relay_every: float,
        due_work: DueWorkTrigger | None,
        due_every: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.relay = relay
        self.relay_every = relay_every
        self.due_work = due_work
        self.due_every = due_every
        self.clock = clock
        self.next_due = self.next_sweep = clock()

    def run(self, passes: int | None = None) -> None:
        """Relay and sweep until stopped (SIGTERM raises ``SystemExit`` through here);
        ``passes``: stop after that many (tests). A failed pass is logged and tried again
        on a fresh connection: Redis or the database may be restarting."""
        done = 0
        while passes is None or done < passes:
            try:
                with self._waiter() as waiter:
                    woken = False  # (re)started: sweep first
                    while passes is None or done < passes:
                        done += 1
                        woken = self.one_pass(waiter, woken)
            except Exception:
                log.exception("relay pass failed; again in %.0f s", RETRY_SECONDS)
                time.sleep(RETRY_SECONDS)

    def one_pass(self, waiter: Listener | Sleeper, woken: bool = False) -> bool:
        """Publish what is due (a wake-up: what the commit announced; else the sweep),
        queue the due work if its time has come, and wait; whether a commit woke us."""
        now = self.clock()
        if woken and now < self.next_sweep:
            sent = self.relay.relay_all()
        else:  # also when commits come so often that no wait times out
            sent = self.relay.sweep()
            self.next_sweep = now + self.relay_every
        if sent:
            log.info("relayed %d outbox message(s)", sent)
        wait = self.next_sweep - now
        if self.due_work is not None:
            if now >= self.next_due:
                self.next_due = now + self.due_every
                self.due_work.send()
            wait = min(wait, self.next_due - now)
        return waiter.wait(wait)

    def _waiter(self) -> AbstractContextManager[Listener | Sleeper]:
        dsn = listener_dsn(self.relay.engine)
        return closing(Listener(dsn)) if dsn else nullcontext(Sleeper())
