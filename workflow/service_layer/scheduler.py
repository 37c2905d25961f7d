"""The sweeps of due work, shared by the relay's sweep task and ``jointflow tick``.

Each due row of scheduled work runs as its own command (``RunScheduled``) in its own
transaction, so one failing row never holds back the others, and two sweeps racing
over the same rows do each row's work once (the row is marked done with its effect).
Work that falls due because of other work (a run whose end date has already passed
once it starts) is picked up by the next pass of the same sweep. Due reminders go out
a batch per command (``SendDueReminders``).
"""

from __future__ import annotations

import logging
from collections import Counter

from workflow.domain import commands as c
from workflow.domain.errors import WorkflowError
from workflow.service_layer.messagebus import MessageBus

log = logging.getLogger(__name__)


def run_due_work(bus: MessageBus) -> Counter[str]:
    """The whole sweep (the relay's and the demo's): due work, then due reminders, then the
    deliveries due (retries, quiet hours' mail, attempts never reconciled).

    Returns the scheduled work's outcomes; the others' counts are logged (``jointflow
    tick`` runs the parts itself to print them all)."""
    outcomes = run_scheduled_work(bus)
    sent = send_due_reminders(bus)
    if sent:
        log.info("reminders: %s", dict(sorted(sent.items())))
    delivered = bus.courier.deliver_due(bus)
    if delivered:
        log.info("deliveries: %s", dict(sorted(delivered.items())))
    return outcomes


def run_scheduled_work(bus: MessageBus, batch: int = 200, passes: int = 10) -> Counter[str]:
    """Carry out every scheduled row due at the bus's clock; returns a count per outcome."""
    outcomes: Counter[str] = Counter()
    tried: set[int] = set()
    for _ in range(passes):
        due = [i for i in bus.query(lambda uow: uow.schedule.due(uow.now, batch)) if i not in tried]
        if not due:
            break
        for work_id in due:
            tried.add(work_id)
            try:
                outcomes[str(bus.handle(c.RunScheduled(actor=None, work_id=work_id)))] += 1
            except WorkflowError as err:  # recorded as ActionRefused; the row stays due
                log.warning("scheduled work %s refused: %s", work_id, err)
                outcomes["refused"] += 1
    return outcomes


def send_due_reminders(bus: MessageBus, batch: int = 500, passes: int = 50) -> Counter[str]:
    """Send everything due at the bus's clock, a batch per transaction."""
    outcomes: Counter[str] = Counter()
    for _ in range(passes):
        done: Counter[str] = bus.handle(c.SendDueReminders(actor=None, limit=batch))
        outcomes.update(done)
        taken = sum(
            n
            for k, n in done.items()
            if k.endswith("reminder sent") or k == "reminder already sent"
        )
        if taken < batch:
            break
    return outcomes
