"""The Celery app and its thin tasks: an outbox id in, the service layer does the rest.

``celery -A tasks.app worker`` (see the Procfile; the relay process publishes to it).
Task names are the outbox's message names; the bus is built lazily in each worker
process.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from celery.signals import worker_process_init

from config.celery import SWEEP_TASK, make_celery
from config.settings import settings_or_exit
from workflow.bootstrap import bootstrap, make_sweep_gate
from workflow.service_layer.handlers import (
    BUDGET_NOTICE,
    DELIVER,
    NOTIFY,
    PLACE_HOLDS,
    RETRY_WAITLISTED,
)
from workflow.service_layer.messagebus import MessageBus
from workflow.service_layer.scheduler import run_due_work

if TYPE_CHECKING:
    from workflow.adapters.relay_process import SweepGate

app = make_celery(settings_or_exit())  # a bad setting: one line, and no worker starts


@lru_cache(maxsize=1)
def bus() -> MessageBus:
    """A worker's bus: what a task writes to the outbox in turn it publishes at once."""
    return bootstrap(worker=True)


@lru_cache(maxsize=1)
def sweep_gate() -> SweepGate:
    return make_sweep_gate()


@worker_process_init.connect
def ready(**_: object) -> None:
    """Each worker process builds its bus, connects and compiles the message templates
    as it starts: its first task (a mail someone waits for) should not pay for that
    (1.8 s measured on the first mail of a fresh worker)."""
    bus().query(lambda uow: uow.renderer.warm())


@app.task(name=PLACE_HOLDS)
def place_holds(outbox_id: int) -> None:
    """Hold each funder's share of a submitted program (or waitlist it)."""
    bus().handle_message(outbox_id)


@app.task(name=RETRY_WAITLISTED)
def retry_waitlisted(outbox_id: int) -> None:
    """Money was released: retry waitlisted programs in the order they were waitlisted."""
    bus().handle_message(outbox_id)


@app.task(name=BUDGET_NOTICE)
def budget_notice(outbox_id: int) -> None:
    """Tell the coordinator and budget officers that a program was waitlisted, left the
    waitlist or lost its holds."""
    bus().handle_message(outbox_id)


@app.task(name=NOTIFY)
def notify(outbox_id: int | None = None, outbox_ids: Sequence[int] = ()) -> None:
    """Turn program changes' events into messages (by the rules) and webhook posts: one
    change, or a relay's group of them in one transaction."""
    bus().handle_messages([outbox_id] if outbox_id is not None else list(outbox_ids))


@app.task(name=DELIVER)
def deliver(outbox_id: int) -> None:
    """Mark an attempt at one delivery, make it (SMTP, HTTP), reconcile its outcome."""
    bus().handle_message(outbox_id)


@app.task(name=SWEEP_TASK)
def sweep_due_work() -> dict[str, int]:
    """Carry out due scheduled work (activations, ends of runs, hold expiries), send the
    due reminders, attempt the due deliveries (retries, mail held over quiet hours).
    Started: the relay process may queue the next one (see ``SweepGate``)."""
    sweep_gate().release()
    return dict(run_due_work(bus()))
