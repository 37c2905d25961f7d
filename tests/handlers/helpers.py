"""Who the handler tests act as (on top of ``tests.support``'s one person per role),
and reading helpers over the fakes' committed state."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from config.settings import WORKFLOWS_DIR
from tests import support as s
from tests.fakes import FakeUnitOfWorkFactory
from workflow.domain import commands as c
from workflow.domain.commands import Command
from workflow.domain.definition import WorkflowDefinition, parse_definition
from workflow.domain.errors import WorkflowError
from workflow.domain.events import program_stream
from workflow.domain.machine import GUARDS
from workflow.domain.program import Program
from workflow.service_layer.messagebus import MessageBus

MONDAY = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # 09:00 in Seoul, a business day
DEPUTY = "deputy@paju.go.kr"  # a second city approver
CITY_SUPERVISOR = "chief@paju.go.kr"
CITY_TEAM = "team@paju.go.kr"  # a city team that runs programs and approves others'
CITY_STAFF = "staff@paju.go.kr"  # a city team that runs programs and commits funds
YOUTH_APPROVER = "approver@paju-youth.kr"  # an approver of an organization that is no party
OE_STANDIN = "standin@goepj.kr"  # an Office of Education colleague without the approver role
EXTRA: list[tuple[str, str, tuple[str, ...]]] = [
    (DEPUTY, "city", ("approver",)),
    (CITY_SUPERVISOR, "city", ("supervisor",)),
    (CITY_TEAM, "city", ("coordinator", "approver")),
    (CITY_STAFF, "city", ("coordinator", "budget_officer")),
    (YOUTH_APPROVER, "paju-youth", ("approver",)),
    (OE_STANDIN, "education_office", ("supervisor",)),
]
FULL = {"city": 1_930_000_000, "education_office": 530_000_000}


def seed(bus: MessageBus) -> None:
    """``tests.support``'s setting and the people above."""
    s.seed(bus)
    for email, org, roles in EXTRA:
        bus.handle(
            c.AddUser(actor=None, email=email, name=email.split("@")[0], org=org, roles=roles)
        )


def program(fakes: FakeUnitOfWorkFactory, program_id: int) -> Program:
    return fakes.reader().programs.get(program_id)


def state(fakes: FakeUnitOfWorkFactory, program_id: int) -> str:
    return program(fakes, program_id).state


def history(fakes: FakeUnitOfWorkFactory, stream: str | int) -> list[tuple[str, Any]]:
    """(type, data) of every event of a stream (a program id: the program's stream)."""
    name = program_stream(stream) if isinstance(stream, int) else stream
    return [(e.type, json.loads(e.data)) for e in fakes.reader().events.history(name)]


def types(fakes: FakeUnitOfWorkFactory, stream: str | int) -> list[str]:
    return [t for t, _ in history(fakes, stream)]


def position(fakes: FakeUnitOfWorkFactory, year: int = 2026) -> dict[str, tuple[int, ...]]:
    """Per funder: (held, committed, disbursed, available)."""
    return {
        e.party: (e.held, e.committed, e.disbursed, e.available)
        for e in fakes.reader().ledger.report(year)
    }


def funds(city: tuple[int, int, int], oe: tuple[int, int, int]) -> dict[str, tuple[int, ...]]:
    """The expected position from (held, committed, disbursed) per funder."""
    return {
        "city": (*city, FULL["city"] - city[0] - city[1]),
        "education_office": (*oe, FULL["education_office"] - oe[0] - oe[1]),
    }


Row = tuple[str, str, str, str | None]


def tasks(fakes: FakeUnitOfWorkFactory, program_id: int) -> list[Row]:
    """(kind, queue, state, claimant or closer) of each task of the program, as opened."""
    return [
        (
            t["kind"],
            f"{t['queue_org']}/{t['queue_role']}",
            t["state"],
            t["closed_by"] if t["state"] in ("completed", "cancelled") else t["claimed_by"],
        )
        for t in fakes.reader().tasks.of_program(program_id)
    ]


def task_id(fakes: FakeUnitOfWorkFactory, program_id: int, kind: str, org: str) -> int:
    live = [
        t["id"]
        for t in fakes.reader().tasks.of_program(program_id)
        if t["kind"] == kind and t["queue_org"] == org and t["state"] in ("open", "claimed")
    ]
    assert len(live) == 1, live
    found: int = live[0]
    return found


def snapshot(fakes: FakeUnitOfWorkFactory) -> dict[str, Any]:
    """Everything a refused command must leave as it was, bar the audit log."""
    store = fakes.store
    return {
        "programs": {i: (p.state, p.version, p.decisions) for i, p in store.programs.items()},
        "shares": json.dumps(store.shares, sort_keys=True),
        "envelopes": dict(store.envelopes),
        "entries": list(store.entries),
        "tasks": [(t.id, dict(t.values)) for t in store.tasks],
        "outbox": [(m.id, dict(m.values)) for m in store.outbox],
        "schedule": [(w.id, dict(w.values)) for w in store.schedule],
        "notifications": [(n.id, dict(n.values)) for n in store.notifications],
        "deliveries": [(d.id, dict(d.values)) for d in store.deliveries],
        "preferences": dict(store.preferences),
        "webhooks": [(w.id, dict(w.values)) for w in store.webhooks],
    }


def refused(bus: MessageBus, cmd: Command, error: type[WorkflowError], match: str) -> WorkflowError:
    """The command is refused with ``error`` matching ``match``."""
    with pytest.raises(error, match=match) as caught:
        bus.handle(cmd)
    return caught.value


def last_refusal(fakes: FakeUnitOfWorkFactory, stream: str | int) -> dict[str, Any]:
    kind, data = history(fakes, stream)[-1]
    assert kind == "ActionRefused"
    found: dict[str, Any] = data
    return found


def joint_program_with(key: str, **actors: str) -> WorkflowDefinition:
    """A copy of the real joint-program definition under ``key``, with the actor of some
    triggers changed (``withdraw="admin"``): a workflow is data, not code."""
    data = yaml.safe_load((WORKFLOWS_DIR / "joint-program.yaml").read_text(encoding="utf-8"))
    data.update(key=key, version=1)
    for transition in data["transitions"]:
        transition["actor"] = actors.get(transition["trigger"], transition["actor"])
    return parse_definition(data, f"{key} (test copy)", GUARDS)
