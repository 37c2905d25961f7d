"""The courier: makes the attempts the deliveries mark, outside any transaction.

Deliveries go in batches: a worker's notice marks its deliveries' first attempts in the
transaction that decides it (``outgoing.hand_over``), and up to ``batch_size`` due ones
(retries, mail held over quiet hours) are claimed and marked in one; either way they are
sent one after another (email over the mailer's one SMTP connection, webhooks over a
pooled HTTP client), and their outcomes reconciled in another. ``deliver_due`` is the
sweep (the relay's, ``jointflow tick``) of due retries and of attempts whose outcome
never came back (a worker that died after marking them retakes nothing: the sweep does,
once they are stale). A channel that raises is a transient failure:
the delivery waits and is tried again, never dropped.

The one window where a message can go twice: a worker that dies after the receiver
took some of a batch and before the batch was reconciled. Those attempts stay
``sending`` and are made again after ``stale_seconds`` with the same ``Message-ID`` /
``X-Jointflow-Delivery``, which the receiver drops; at most one batch per worker
process. What the batch had not yet sent is simply sent then, once.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from workflow.domain import commands as c
from workflow.domain.delivery import Outcome, RetryPolicy
from workflow.service_layer.ports import Attempt, AttemptBatch

if TYPE_CHECKING:
    from workflow.service_layer.messagebus import MessageBus

log = logging.getLogger(__name__)
BATCH_SIZE = 25  # JOINTFLOW_DELIVERY_BATCH_SIZE's default
OUT_OF_TIME = "not sent: its batch ran out of time (the server was slow)"


class Channels(Protocol):
    def send(self, attempt: Attempt) -> Outcome:
        """Deliver ``attempt`` (email, webhook); in-app needs no sending."""


class Courier:
    def __init__(
        self,
        channels: Channels,
        policy: RetryPolicy | None = None,
        jitter: Callable[[], float] = random.random,
        batch_size: int = BATCH_SIZE,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.channels = channels
        self.policy = policy or RetryPolicy()
        self.jitter = jitter
        self.batch_size = batch_size
        self.monotonic = monotonic

    def carry_out(self, bus: MessageBus, attempt: Attempt) -> str:
        """One marked attempt: made, then reconciled."""
        status: str = bus.handle(self._finish(attempt, self._send(attempt)))
        return status

    def carry_out_batch(self, bus: MessageBus, batch: AttemptBatch) -> list[str]:
        """A claimed batch: every attempt made, then all reconciled in one transaction."""
        if not batch.attempts:
            return []
        # A batch that outlives half the stale interval (a server that hangs each mail
        # until its timeout) leaves the rest unsent, to be tried again: left marked, the
        # sweep would retake them while this worker might still send them.
        deadline = self.monotonic() + self.policy.stale_seconds / 2
        outcomes = []
        for attempt in batch.attempts:
            if self.monotonic() < deadline:
                outcomes.append(self._send(attempt))
            else:
                outcomes.append(Outcome.retry(OUT_OF_TIME))
        finished = tuple(self._finish(a, o) for a, o in zip(batch.attempts, outcomes, strict=True))
        statuses: list[str] = bus.handle(c.FinishDeliveries(actor=None, outcomes=finished))
        return statuses

    def deliver_due(self, bus: MessageBus, passes: int = 80) -> Counter[str]:
        """Attempt every delivery due at the bus's clock, batch by batch (each delivery
        at most once a sweep); a count per outcome."""
        outcomes: Counter[str] = Counter()
        tried: set[int] = set()
        for _ in range(passes):
            batch: AttemptBatch = bus.handle(
                c.BeginDeliveries(
                    actor=None,
                    limit=self.batch_size,
                    stale_seconds=self.policy.stale_seconds,
                    skip=tuple(sorted(tried)),
                )
            )
            if not batch.attempts:
                break
            tried.update(a.delivery_id for a in batch.attempts)
            outcomes.update(_counted(self.carry_out_batch(bus, batch)))
        return outcomes

    def _send(self, attempt: Attempt) -> Outcome:
        try:
            return self.channels.send(attempt)
        except Exception as err:  # a channel's surprise is a failure worth another try
            log.exception("delivery %s: attempt %s failed", attempt.delivery_id, attempt.number)
            return Outcome.retry(f"{type(err).__name__}: {err}")

    def _finish(self, attempt: Attempt, outcome: Outcome) -> c.FinishDelivery:
        return c.FinishDelivery(
            actor=None,
            delivery_id=attempt.delivery_id,
            number=attempt.number,
            outcome=outcome,
            policy=self.policy,
            jitter=self.jitter(),
            notification_id=attempt.notification_id,
            recipient=attempt.recipient,
        )


def _counted(statuses: Iterable[str]) -> Counter[str]:
    return Counter(f"delivery {s}" for s in statuses)


class NoChannels:
    """Nothing configured to send with: every email is delivered in-app instead."""

    def send(self, attempt: Attempt) -> Outcome:
        return Outcome(False, fallback=True, error="no channel configured for " + attempt.channel)
