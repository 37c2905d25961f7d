"""Test helpers: a small Paju setting and programs, built through the real bus."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select

from workflow.adapters import views
from workflow.adapters.orm import event_streams, events, metadata, notifications
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.service_layer.messagebus import MessageBus

T = TypeVar("T")

COORDINATOR = "coord@munsan-high.kr"
OTHER_COORDINATOR = "coord@paju-youth.kr"
CITY_APPROVER = "approver@paju.go.kr"
OE_APPROVER = "approver@goepj.kr"
CITY_OFFICER = "budget@paju.go.kr"
OE_OFFICER = "budget@goepj.kr"
ADMIN = "admin@jointflow.kr"
YEAR = 2026


def seed(bus: MessageBus, city: int = 1_930_000_000, education_office: int = 530_000_000) -> None:
    """Two funders with envelopes for YEAR, two schools, and one person per role."""
    for key, name, funder in [
        ("city", "Paju City", True),
        ("education_office", "Paju Office of Education", True),
        ("munsan-high", "Munsan High School", False),
        ("paju-youth", "Paju Youth Centre", False),
    ]:
        bus.handle(c.AddOrganization(actor=None, key=key, name=name, funder=funder))
    for email, org, roles in [
        (COORDINATOR, "munsan-high", ("coordinator",)),
        (OTHER_COORDINATOR, "paju-youth", ("coordinator",)),
        (CITY_APPROVER, "city", ("approver",)),
        (OE_APPROVER, "education_office", ("approver",)),
        (CITY_OFFICER, "city", ("budget_officer",)),
        (OE_OFFICER, "education_office", ("budget_officer",)),
        (ADMIN, "city", ("admin",)),
    ]:
        bus.handle(
            c.AddUser(actor=None, email=email, name=email.split("@")[0], org=org, roles=roles)
        )
    bus.handle(c.AddEnvelope(actor=CITY_OFFICER, party="city", year=YEAR, amount=city))
    bus.handle(
        c.AddEnvelope(
            actor=OE_OFFICER, party="education_office", year=YEAR, amount=education_office
        )
    )


def create(
    bus: MessageBus,
    city: int = 80_000_000,
    education_office: int = 20_000_000,
    actor: str = COORDINATOR,
    org: str = "munsan-high",
    **extra: object,
) -> int:
    requests = {k: v for k, v in (("city", city), ("education_office", education_office)) if v}
    program_id: int = bus.handle(
        c.CreateProgram(
            actor=actor,
            title="High school–university linkage",
            org=org,
            category="linkage",
            requests=requests,
            year=YEAR,
            **extra,
        )
    )  # type: ignore[arg-type]
    return program_id


def submitted(bus: MessageBus, **kwargs: object) -> int:
    program_id = create(bus, **kwargs)  # type: ignore[arg-type]
    bus.handle(c.SubmitProgram(actor=str(kwargs.get("actor", COORDINATOR)), program_id=program_id))
    return program_id


def decide(bus: MessageBus, program_id: int, actor: str, decision: str = "approve") -> None:
    bus.handle(c.DecideReview(actor=actor, program_id=program_id, decision=decision))


def budget_notices(bus: MessageBus, email: str) -> list[tuple[int, str]]:
    """(program, what) of every budget notice ``email`` was sent, day by day, in order."""

    def read(uow: Any) -> list[tuple[int, str]]:
        rows = uow.conn.execute(
            select(notifications.c["items"])
            .where(notifications.c.user_email == email, notifications.c.kind == "budget_notice")
            .order_by(notifications.c.day, notifications.c.id)
        )
        return [(i["program"], i["what"]) for row in rows for i in json.loads(row[0])]

    found: list[tuple[int, str]] = bus.query(read)
    return found


def in_transaction(bus: MessageBus, work: Callable[[Any], T]) -> T:
    """Run ``work`` on the adapters' unit of work and commit: for tests of the storage
    itself, below the commands (reads go through ``bus.query``, which never commits)."""
    with bus.uow() as uow:
        result = work(uow)
        uow.commit()
        return result


def detail(bus: MessageBus, program_id: int, who: str | None = None) -> dict[str, Any]:
    """``program show --json`` as ``who`` sees it (None: the operator, who sees all)."""
    found: dict[str, Any] = bus.view(
        lambda uow, viewer: views.program_detail(uow, viewer, program_id), who
    )
    return found


def stored(bus: MessageBus) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, but the audit log's records of refusals (and the heads
    of its streams, which they move): "a refusal changes nothing" compares these."""

    def read(uow: Any) -> dict[str, list[tuple[Any, ...]]]:
        found: dict[str, list[tuple[Any, ...]]] = {}
        for table in metadata.sorted_tables:
            if table is event_streams:
                continue
            query = select(table)
            if table is events:
                query = query.where(events.c.type != ev.ACTION_REFUSED)
            found[table.name] = sorted((tuple(r) for r in uow.conn.execute(query)), key=repr)
        return found

    return bus.query(read)


def history(bus: MessageBus, stream: str) -> list[Any]:
    """The audit log's records of ``stream``, oldest first."""
    return list(bus.query(lambda uow: uow.events.history(stream)))
