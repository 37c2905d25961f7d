"""Organizations' webhooks: registered and removed by the operator (or an admin), posted
the program events they subscribe to, signed, through the same deliveries as mail.

An organization's webhook sees what its staff see (``visibility.organization_scope``):
its own programs, and a funder's every program once submitted.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.delivery import (
    WEBHOOK,
    check_secret,
    check_webhook_events,
    check_webhook_url,
    new_secret,
    webhook_body,
)
from workflow.domain.errors import NotFound
from workflow.domain.events import OPERATOR, Event
from workflow.domain.messaging import WEBHOOK_EVENTS
from workflow.domain.permissions import require_role
from workflow.domain.program import Program
from workflow.domain.visibility import organization_scope, scope_sees
from workflow.service_layer.handlers.common import DIRECTORY_STREAM, acting_user
from workflow.service_layer.outgoing import hand_over
from workflow.service_layer.ports import Attempt, Webhook
from workflow.service_layer.unit_of_work import UnitOfWork

TEST_EVENT = "WebhookTest"


@dataclass(frozen=True)
class AddedWebhook:
    id: int
    secret: str  # shown once


def add_webhook(cmd: c.AddWebhook, uow: UnitOfWork) -> AddedWebhook:
    _operator_or_admin(uow, cmd.actor, "register webhooks")
    org = uow.directory.organization(cmd.org.strip())
    url = check_webhook_url(cmd.url)
    wanted = check_webhook_events(cmd.events, WEBHOOK_EVENTS)
    secret = check_secret(cmd.secret) if cmd.secret is not None else new_secret()
    webhook_id = uow.webhooks.add(org.key, url, wanted, secret, uow.now)
    uow.events.append(
        DIRECTORY_STREAM,
        [
            Event(
                ev.WEBHOOK_ADDED,
                {"webhook": webhook_id, "org": org.key, "url": url, "events": list(wanted)},
            )
        ],
        cmd.actor or OPERATOR,
        uow.now,
    )
    return AddedWebhook(webhook_id, secret)


def remove_webhook(cmd: c.RemoveWebhook, uow: UnitOfWork) -> None:
    _operator_or_admin(uow, cmd.actor, "remove webhooks")
    if not uow.webhooks.remove(cmd.webhook_id, uow.now):
        raise NotFound(f"no webhook {cmd.webhook_id}", webhook=cmd.webhook_id)
    uow.events.append(
        DIRECTORY_STREAM,
        [Event(ev.WEBHOOK_REMOVED, {"webhook": cmd.webhook_id})],
        cmd.actor or OPERATOR,
        uow.now,
    )


def test_webhook(cmd: c.TestWebhook, uow: UnitOfWork) -> int:
    """The test delivery's id: posted like any event (attempted, retried, dead-lettered)."""
    _operator_or_admin(uow, cmd.actor, "test webhooks")
    hook = uow.webhooks.get(cmd.webhook_id)
    event_id = f"test-{hook.id}-{secrets.token_hex(6)}"  # each test its own, clock or not
    at = uow.now.isoformat()
    body = webhook_body(event_id, TEST_EVENT, at, None, {"webhook": hook.id})
    return _deliver(uow, hook, f"w{hook.id}:{event_id}", TEST_EVENT, body)


def post_events(
    uow: UnitOfWork,
    program: Program,
    events: tuple[dict[str, Any], ...],
    message_id: int,
    occurred_at: str,
) -> int:
    """Deliveries of a change's events to the webhooks that want them and may see them."""
    if not events:
        return 0  # nothing any webhook subscribes to: no need to list them
    hooks = [h for h in uow.webhooks.listing() if _sees(uow, h, program)]
    if not hooks:
        return 0
    assert program.id is not None
    summary = {
        "id": program.id,
        "title": program.content.title,
        "org": program.org,
        "state": program.state,
        "requests": dict(sorted(program.content.requests.items())),
    }
    made = 0
    for index, event in enumerate(events):
        event_id = f"m{message_id}.{index}"
        body = webhook_body(event_id, event["type"], occurred_at, summary, event["data"])
        for hook in hooks:
            if event["type"] in hook.events:
                _deliver(uow, hook, f"w{hook.id}:{event_id}", event["type"], body)
                made += 1
    return made


def _sees(uow: UnitOfWork, hook: Webhook, program: Program) -> bool:
    funder = uow.directory.organization(hook.org).funder
    scope = organization_scope(hook.org, funder)
    return scope_sees(scope, program.org, bool(program.submitted_by), program.parties)


def _deliver(uow: UnitOfWork, hook: Webhook, key: str, event_type: str, body: str) -> int:
    """The delivery's id; 0 if the same event was carried out before (delivered once)."""
    post = Attempt(0, WEBHOOK, hook.url, 1, event_type=event_type, body=body, secret=hook.secret)
    row = {"webhook_id": hook.id, "event_type": event_type, "payload": body}
    return hand_over(uow, key, post, uow.now, **row) or 0


def _operator_or_admin(uow: UnitOfWork, actor: str | None, action: str) -> None:
    if actor:
        require_role(acting_user(uow, actor), "admin", action)
