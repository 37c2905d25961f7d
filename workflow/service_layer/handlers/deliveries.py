"""Deliveries: an attempt marked before a message leaves, its outcome reconciled after,
the operator's re-drive of failed ones, and people's choice of channels.

An attempt is marked by the transaction that decides the message (``outgoing.hand_over``)
or by ``begin_deliveries`` (a claimed batch of due ones); the sending happens after that
commits and before ``finish_delivery``, outside any transaction
(``service_layer/courier.py``): a handler never waits on a mail server.
"""

from __future__ import annotations

from datetime import timedelta

from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.delivery import DEAD, FALLBACK, INAPP, PENDING, SENT
from workflow.domain.errors import NotFound
from workflow.domain.events import OPERATOR, SYSTEM, Event, user_stream
from workflow.domain.messaging import check_preference
from workflow.service_layer.handlers.common import acting_user
from workflow.service_layer.outgoing import DELIVER
from workflow.service_layer.ports import Attempt, AttemptBatch
from workflow.service_layer.unit_of_work import UnitOfWork

DELIVERY_STREAM = "system"  # dead letters and re-drives are the operator's to see


def begin_delivery(cmd: c.BeginDelivery, uow: UnitOfWork) -> Attempt | None:
    """The attempt to make now; None if the delivery is not due or is someone else's."""
    stale = None
    if cmd.stale_seconds is not None:
        stale = uow.now - timedelta(seconds=cmd.stale_seconds)
    return uow.deliveries.begin(cmd.delivery_id, uow.now, stale)


def begin_deliveries(cmd: c.BeginDeliveries, uow: UnitOfWork) -> AttemptBatch:
    """A batch's attempts, all marked in this transaction before any is made."""
    stale = None
    if cmd.stale_seconds is not None:
        stale = uow.now - timedelta(seconds=cmd.stale_seconds)
    return AttemptBatch(tuple(uow.deliveries.claim(uow.now, cmd.limit, stale, cmd.skip)))


def finish_deliveries(cmd: c.FinishDeliveries, uow: UnitOfWork) -> list[str]:
    """Each attempt's status after it, in the batch's order."""
    return [finish_delivery(one, uow) for one in cmd.outcomes]


def finish_delivery(cmd: c.FinishDelivery, uow: UnitOfWork) -> str:
    """The delivery's status after the attempt: sent, fallback, pending (backed off) or
    dead (a permanent failure, or the attempts spent)."""
    outcome, now = cmd.outcome, uow.now
    retry_at = None
    if outcome.sent:
        status = SENT
    elif outcome.fallback:
        status = FALLBACK
    elif outcome.transient:
        retry_at = cmd.policy.next_attempt(cmd.number, now, cmd.jitter)
        status = PENDING if retry_at else DEAD
    else:
        status = DEAD
    if not uow.deliveries.finish(cmd.delivery_id, cmd.number, status, now, retry_at, outcome.error):
        return "superseded"
    if status == FALLBACK and cmd.notification_id is not None:
        uow.deliveries.add(
            f"n{cmd.notification_id}:{INAPP}",
            INAPP,
            cmd.recipient,
            now,
            now,
            notification_id=cmd.notification_id,
            sent=True,
        )
    if status == DEAD:
        uow.events.append(
            DELIVERY_STREAM,
            [
                Event(
                    ev.DELIVERY_DEAD,
                    {
                        "delivery": cmd.delivery_id,
                        "recipient": cmd.recipient,
                        "attempts": cmd.number,
                        "error": outcome.error,
                    },
                )
            ],
            SYSTEM,
            now,
        )
    return status


def retry_deliveries(cmd: c.RetryDeliveries, uow: UnitOfWork) -> list[int]:
    """Make the deliveries due now with fresh attempts and hand each to a worker."""
    retried = uow.deliveries.retry(cmd.delivery_ids, uow.now)
    missing = sorted(set(cmd.delivery_ids or ()) - set(retried))
    if missing:
        raise NotFound(
            f"no failed delivery {', '.join(map(str, missing))} (only dead or waiting "
            "deliveries are retried)",
            deliveries=missing,
        )
    for delivery_id in retried:
        uow.outbox.add(DELIVER, {"delivery_id": delivery_id}, uow.now)
    if retried:
        uow.events.append(
            DELIVERY_STREAM,
            [Event(ev.DELIVERY_RETRIED, {"deliveries": retried})],
            cmd.actor or OPERATOR,
            uow.now,
        )
    return retried


def set_preferences(cmd: c.SetPreferences, uow: UnitOfWork) -> dict[str, tuple[str, ...]]:
    """Every choice is checked before any is stored; the person's choices after."""
    user = acting_user(uow, cmd.actor)
    checked = [(kind, check_preference(kind, channels)) for kind, channels in cmd.choices]
    for kind, channels in checked:
        uow.preferences.set(user.email, kind, channels, uow.now)
    if checked:
        uow.events.append(
            user_stream(user.email),
            [Event(ev.PREFERENCE_SET, {k: list(v) for k, v in checked})],
            user.email,
            uow.now,
        )
    return uow.preferences.of(user.email)
