"""What each page shows, read through the bus as the signed-in person may see it: the same
read models as the API (``views``, ``queues``), and ``actions.available`` for the
buttons. Nothing here decides who may do what.
"""

from __future__ import annotations

from typing import Any

from workflow.adapters import queues, views
from workflow.adapters.record_views import history_emails, names
from workflow.adapters.unit_of_work import SqlUnitOfWork
from workflow.domain import events as ev
from workflow.domain.record import DECISION_EVENTS
from workflow.domain.visibility import Viewer
from workflow.entrypoints.diagram import definition_mermaid
from workflow.service_layer.actions import available
from workflow.service_layer.document_actions import document_actions
from workflow.service_layer.messagebus import MessageBus

CONTENT_EVENTS = {ev.PROGRAM_CREATED, ev.PROGRAM_UPDATED}
DIFFED = ("title", "category", "requests", "year", "start", "end", "description")


def organizations(bus: MessageBus) -> dict[str, Any]:
    return bus.query(by_key)


def by_key(uow: SqlUnitOfWork) -> dict[str, Any]:
    """Every organization by its key (the pages show names, never keys)."""
    return {o.key: o for o in uow.directory.organizations()}


def funders(orgs: dict[str, Any]) -> list[str]:
    return sorted(k for k, o in orgs.items() if o.funder)


def program_page(bus: MessageBus, email: str, program_id: int) -> dict[str, Any]:
    def read(uow: SqlUnitOfWork, who: Viewer) -> dict[str, Any]:
        detail = views.program_detail(uow, who, program_id)
        history = views.program_history(uow, who, program_id)
        key, version = detail["workflow"].split("@")
        definition = uow.workflow_of(key, int(version)).definition
        return {
            "p": detail,
            "history": history,
            "ledger": views.ledger_entries(uow, who, program_id=program_id),
            "mermaid": definition_mermaid(definition, detail["state"]),
            "categories": definition.categories,
            "party": who.user.org if who.user else None,
            "orgs": by_key(uow),
            "names": names(uow, history_emails(history)),
        }

    found = bus.view(read, email)
    found["actions"] = available(bus, email, found["p"])
    found["file_actions"] = document_actions(bus, email, found["p"])
    found["decisions"] = found["p"]["decisions"]
    found["changes"] = changes_since_decision(found["history"], found["party"])
    return found


def changes_since_decision(
    history: list[dict[str, Any]], party: str | None
) -> list[tuple[str, Any, Any]]:
    """What the program's content became since ``party`` last decided on it: (field,
    before, after) for each field that differs; nothing if the party never decided."""
    content: dict[str, Any] | None = None
    at_decision: dict[str, Any] | None = None
    for e in history:
        if e["type"] in CONTENT_EVENTS:
            content = e["data"]
        elif e["type"] in DECISION_EVENTS and e["data"].get("party") == party:
            at_decision = content
    if at_decision is None or content is None:
        return []
    return [(f, at_decision.get(f), content.get(f)) for f in DIFFED
            if at_decision.get(f) != content.get(f)]  # fmt: skip


def inbox(bus: MessageBus, email: str, after: int | None) -> queues.InboxPage:
    def read(uow: SqlUnitOfWork, who: Viewer) -> queues.InboxPage:
        assert who.user is not None
        return queues.inbox_page(uow, who.user, 50, after)

    found: queues.InboxPage = bus.view(read, email)
    return found
