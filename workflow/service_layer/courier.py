"""The courier: makes the attempts the deliveries mark, outside any transaction.

``carry_out`` sends one marked attempt through its channel and reconciles the outcome
in a transaction of its own; ``deliver_due`` is the sweep (beat, ``jointflow tick``) of
due retries and of attempts whose outcome never came back. A channel that raises is a
transient failure: the delivery waits and is tried again, never dropped.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from workflow.domain import commands as c
from workflow.domain.delivery import Outcome, RetryPolicy
from workflow.service_layer.ports import Attempt

if TYPE_CHECKING:
    from workflow.service_layer.messagebus import MessageBus

log = logging.getLogger(__name__)


class Channels(Protocol):
    def send(self, attempt: Attempt) -> Outcome:
        """Deliver ``attempt`` (email, webhook); in-app needs no sending."""


class Courier:
    def __init__(
        self,
        channels: Channels,
        policy: RetryPolicy | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.channels = channels
        self.policy = policy or RetryPolicy()
        self.jitter = jitter

    def carry_out(self, bus: MessageBus, attempt: Attempt) -> str:
        try:
            outcome = self.channels.send(attempt)
        except Exception as err:  # a channel's surprise is a failure worth another try
            log.exception("delivery %s: attempt %s failed", attempt.delivery_id, attempt.number)
            outcome = Outcome.retry(f"{type(err).__name__}: {err}")
        status: str = bus.handle(
            c.FinishDelivery(
                actor=None,
                delivery_id=attempt.delivery_id,
                number=attempt.number,
                outcome=outcome,
                policy=self.policy,
                jitter=self.jitter(),
                notification_id=attempt.notification_id,
                recipient=attempt.recipient,
            )
        )
        return status

    def deliver_due(self, bus: MessageBus, batch: int = 200, passes: int = 10) -> Counter[str]:
        """Attempt every delivery due at the bus's clock; a count per outcome."""
        outcomes: Counter[str] = Counter()
        tried: set[int] = set()
        stale = self.policy.stale_seconds
        for _ in range(passes):
            due = [
                i
                for i in bus.query(
                    lambda uow: uow.deliveries.due(
                        uow.now, uow.now - timedelta(seconds=stale), batch
                    )
                )
                if i not in tried
            ]
            if not due:
                break
            for delivery_id in due:
                tried.add(delivery_id)
                attempt = bus.handle(
                    c.BeginDelivery(actor=None, delivery_id=delivery_id, stale_seconds=stale)
                )
                if attempt is not None:
                    outcomes[f"delivery {self.carry_out(bus, attempt)}"] += 1
        return outcomes


class NoChannels:
    """Nothing configured to send with: every email is delivered in-app instead."""

    def send(self, attempt: Attempt) -> Outcome:
        return Outcome(False, fallback=True, error="no channel configured for " + attempt.channel)
