"""Writing a message and its deliveries, in the transaction that decides the message.

Every message people are sent goes through here (event notices, budget notices, the
reminder and escalation digests): the person's channels for the kind are looked up
(``messaging.channels_for``), the rule's template is rendered in their locale, the
message is written, and one delivery per channel: in-app is delivered by being written;
an email is a delivery due now (or at 08:00 Seoul during quiet hours), handed to a
worker (``hand_over``). A message written again (a digest growing
during its day, an outbox message carried out twice) finds its deliveries there and
adds none: one digest mail per person per day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from workflow.domain.calendar import seoul_date
from workflow.domain.delivery import EMAIL, INAPP
from workflow.domain.messaging import channels_for
from workflow.domain.permissions import User
from workflow.domain.reminders import next_send_time
from workflow.service_layer.ports import Attempt, Rendered
from workflow.service_layer.unit_of_work import UnitOfWork

# Outbox task names of the notification workers.
NOTIFY = "jointflow.notify"  # a program change's events: notices and webhooks to decide
DELIVER = "jointflow.deliver"  # one delivery to attempt


def person(user: User) -> dict[str, str]:
    """What a template knows of the person it writes to."""
    return {"name": user.name, "email": user.email}


def channels_of(uow: UnitOfWork, user: User, kind: str) -> tuple[str, ...]:
    return channels_for(kind, uow.preferences.of(user.email).get(kind))


def send(
    uow: UnitOfWork,
    user: User,
    kind: str,
    template: str,
    context: Mapping[str, Any],
    topic: str,
    items: list[dict[str, Any]],
    channels: tuple[str, ...] | None = None,
) -> int | None:
    """One message on its occasion (``topic``); its id, or None when the person chose
    no channel for the kind. Written again on the same Seoul day, it is replaced.

    ``channels`` given: those, whatever the person chose, and an email goes at once
    even in quiet hours (a sign-in link: the person is waiting for it)."""
    at_once = channels is not None
    channels = channels_of(uow, user, kind) if channels is None else channels
    if not channels:
        return None
    text = uow.renderer.render(template, user.locale, {"to": person(user), **context})
    day, now = seoul_date(uow.now), uow.now
    message_id = uow.notifications.create(user.email, kind, day, now, topic, text, items)
    if message_id is None:  # written before: replaced, under its lock
        message_id, _ = uow.notifications.lock_or_create(user.email, kind, day, now, topic)
        uow.notifications.write(message_id, text, items, now)
    deliver(uow, user, message_id, text, channels, at_once)
    return message_id


def publish(
    uow: UnitOfWork,
    user: User,
    message_id: int,
    text: Rendered,
    items: list[dict[str, Any]],
    channels: tuple[str, ...],
) -> None:
    """Write the message's content and a delivery per channel (none twice)."""
    uow.notifications.write(message_id, text, items, uow.now)
    deliver(uow, user, message_id, text, channels)


def deliver(
    uow: UnitOfWork,
    user: User,
    message_id: int,
    text: Rendered,
    channels: tuple[str, ...],
    at_once: bool = False,
) -> None:
    """A delivery of the message per channel (none twice); an email is due at once, or
    (``at_once`` false) when the quiet hours end."""
    now = uow.now
    for channel in channels:
        key = f"n{message_id}:{channel}"
        if channel == INAPP:
            uow.deliveries.add(
                key, INAPP, user.email, now, now, notification_id=message_id, sent=True
            )
        elif channel == EMAIL:
            due_at = now if at_once else next_send_time(now)
            mail = Attempt(0, EMAIL, user.email, 1, message_id, text.subject, text.text, text.html)
            hand_over(uow, key, mail, due_at, notification_id=message_id)


def hand_over(
    uow: UnitOfWork, key: str, attempt: Attempt, due_at: datetime, **row: Any
) -> int | None:
    """A new delivery's id (None: ``key`` was delivered before). Due now, it is on its
    way once this transaction commits: its first attempt marked here when this process
    makes it (a worker's step, the embedded default: no outbox message, no second
    transaction to claim it), else a worker is handed it by the outbox. Due later, the
    sweep takes it then."""
    now, channel, to = uow.now, attempt.channel, attempt.recipient
    if due_at > now:
        return uow.deliveries.add(key, channel, to, due_at, now, **row)
    if uow.makes_attempts:
        return uow.deliveries.add(key, channel, to, now, now, attempt=attempt, **row)
    found = uow.deliveries.add(key, channel, to, now, now, **row)
    if found is not None:
        uow.outbox.add(DELIVER, {"delivery_id": found}, now)
    return found
