"""Budget, the waiting board, workflow definitions and the audit check — the reads and
operator-ish actions of ``jointflow budget``, ``waiting``, ``workflow`` and ``audit``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from workflow.adapters import queues, views
from workflow.adapters.definitions import DefinitionRegistry
from workflow.domain import commands as c
from workflow.domain.definition import KEY_PATTERN, WorkflowDefinition
from workflow.domain.errors import NotFound
from workflow.domain.text import KEY_MAX
from workflow.entrypoints.api import answers
from workflow.entrypoints.api.auth import User
from workflow.entrypoints.api.schemas import EnvelopeIn
from workflow.entrypoints.api.services import Services, bus, services
from workflow.entrypoints.diagram import definition_mermaid
from workflow.service_layer.messagebus import MessageBus

router = APIRouter()
Bus = Annotated[MessageBus, Depends(bus)]


@router.get("/budget/report", tags=["budget"], response_model=list[answers.BudgetLine])
def budget_report(
    user: User, bus: Bus, year: Annotated[int | None, Query(ge=1, le=9999)] = None
) -> list[dict[str, Any]]:
    """Per party you may see: amount, held, committed, disbursed, available, refund due."""
    rows: list[dict[str, Any]] = bus.view(
        lambda uow, who: views.budget_report(uow, who, year), user
    )
    return rows


@router.post("/budget/envelopes", status_code=201, tags=["budget"], response_model=answers.Envelope)
def add_envelope(body: EnvelopeIn, user: User, bus: Bus) -> dict[str, Any]:
    bus.handle(c.AddEnvelope(actor=user, party=body.party, year=body.year, amount=body.amount))
    return {"party": body.party, "year": body.year, "amount": body.amount}


@router.get("/waiting", tags=["programs"], response_model=list[answers.Waiting])
def waiting(user: User, bus: Bus) -> list[dict[str, Any]]:
    """The "waiting on whom" board."""
    rows: list[dict[str, Any]] = bus.view(queues.waiting, user)
    return rows


def _definitions(found: Services) -> dict[str, WorkflowDefinition]:
    files = DefinitionRegistry(found.settings.workflows_dir).files()
    return {key: definition for key, (definition, _) in files.items()}


def _summary(d: WorkflowDefinition) -> dict[str, Any]:
    return {
        "key": d.key,
        "version": d.version,
        "title": d.title,
        "parties": [{"key": p.key, "role": p.role} for p in d.parties],
    }


@router.get("/workflows", tags=["workflows"], response_model=list[answers.WorkflowSummary])
def workflows(_user: User, found: Annotated[Services, Depends(services)]) -> list[dict[str, Any]]:
    return [_summary(d) for _, d in sorted(_definitions(found).items())]


@router.get("/workflows/{key}", tags=["workflows"], response_model=answers.Workflow)
def workflow(
    key: Annotated[str, Path(max_length=KEY_MAX, pattern=KEY_PATTERN.pattern)],
    _user: User,
    found: Annotated[Services, Depends(services)],
) -> dict[str, Any]:
    """A definition: its states, transitions and a Mermaid state diagram."""
    d = _definitions(found).get(key)
    if d is None:
        raise NotFound(f"no workflow {key!r}", workflow=key)
    return {
        **_summary(d),
        "initial": d.initial,
        "states": [
            {"name": s.name, "type": s.type, "role": s.role, "sla_days": s.sla_days}
            for s in d.states.values()
        ],
        "transitions": [
            {"trigger": t.trigger, "sources": list(t.sources), "dest": t.dest, "by": t.actor}
            for t in d.transitions
        ],
        "mermaid": definition_mermaid(d),
    }


@router.get("/audit/verify", tags=["audit"], response_model=answers.AuditCheck)
def audit_verify(user: User, bus: Bus) -> dict[str, Any]:
    """Check every event's hash chain (admin)."""
    result: dict[str, Any] = bus.view(views.audit_check, user)
    return result
