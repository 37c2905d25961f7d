"""The notification worker: a program change's events become messages, by the rules.

A change hands its notable events to the outbox (``common.route_notifications``); this
handler, in the worker's transaction, resolves whom each rule names, renders the rule's
template for each in their locale and writes the message with its deliveries. Each
(event, person) is one message, named by the outbox message that carried it: carried
out twice, it is the same message with the same deliveries.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from workflow.domain import commands as c
from workflow.domain.calendar import seoul_date
from workflow.domain.errors import NotFound
from workflow.domain.events import OPERATOR, SYSTEM
from workflow.domain.messaging import WEBHOOK_EVENTS, program_path
from workflow.domain.program import Program
from workflow.service_layer.handlers.webhooks import post_events
from workflow.service_layer.outgoing import send
from workflow.service_layer.recipients import Recipient, by_rule
from workflow.service_layer.unit_of_work import UnitOfWork


def notify_events(cmd: c.NotifyEvents, uow: UnitOfWork) -> int:
    """How many messages and webhook posts the events made."""
    try:
        program = uow.programs.get(cmd.program_id)
    except NotFound:
        return 0
    # What the change's events say together: a program approved by the last party's
    # approval names that party and who stood in, from the approval's own event.
    facts: dict[str, Any] = {}
    for event in cmd.events:
        facts.update(event["data"])
    names = _Names(uow)
    made = 0
    for index, event in enumerate(cmd.events):
        data = {**facts, **event["data"]}
        for rule, person in by_rule(uow, event["type"], program):
            context = _context(program, data, person, cmd.by, names)
            item = {"program": cmd.program_id, "event": event["type"]}
            topic = f"m{cmd.message_id}.{index}"
            if send(uow, person.user, rule.kind, rule.template, context, topic, [item]):
                made += 1
    hooked = [e for e in cmd.events if e["type"] in WEBHOOK_EVENTS]
    return made + post_events(uow, program, tuple(hooked), cmd.message_id, cmd.at)


def _context(
    program: Program, data: dict[str, Any], person: Recipient, by: str, names: _Names
) -> dict[str, Any]:
    assert program.id is not None
    requests = program.content.requests
    party = person.party or data.get("party")
    amount = requests[party] if party in requests else sum(requests.values())
    return {
        "program": {
            "id": program.id,
            "title": program.content.title,
            "org": names.org(program.org),
        },
        "party": names.org(party) if party else "",
        "amount": amount,
        "due": seoul_date(person.due_at) if person.due_at else None,
        "actor": names.person(by),
        "acting_for": names.person(data["acting_for"]) if data.get("acting_for") else None,
        "comment": data.get("comment") or "",
        "stands_in_for": [u.name for u in person.stands_in_for],
        "path": program_path(program.id),
    }


class _Names:
    """Organizations and people as messages name them, looked up once each."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.orgs: dict[str, str] = {}
        self.people: dict[str, str] = {}

    def org(self, key: str) -> str:
        if key not in self.orgs:
            self.orgs[key] = key
            with suppress(NotFound):
                self.orgs[key] = self.uow.directory.organization(key).name
        return self.orgs[key]

    def person(self, email: str) -> str:
        if email in (SYSTEM, OPERATOR):
            return "jointflow"
        if email not in self.people:
            self.people[email] = email
            with suppress(NotFound):
                self.people[email] = self.uow.directory.user(email).name
        return self.people[email]
