"""Refunds and envelope amendments over HTTP: ``jointflow program refund`` and
``jointflow budget envelope amend``, the same commands through the same bus."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from workflow.domain import commands as c
from workflow.entrypoints.api import answers
from workflow.entrypoints.api.auth import User
from workflow.entrypoints.api.routes_programs import PROGRAM, ProgramId, program
from workflow.entrypoints.api.schemas import AmendmentIn, RefundIn
from workflow.entrypoints.api.services import bus
from workflow.service_layer.messagebus import MessageBus

router = APIRouter()
Bus = Annotated[MessageBus, Depends(bus)]


@router.post("/programs/{program_id}/refunds", tags=["programs"], responses=PROGRAM)
def record_refund(program_id: ProgramId, body: RefundIn, user: User, bus: Bus) -> JSONResponse:
    """A funder's budget officer records money an underspent program paid back."""
    bus.handle(
        c.RecordRefund(
            actor=user,
            program_id=program_id,
            party=body.party,
            amount=body.amount,
            memo=body.memo,
        )
    )
    return program(bus, user, program_id)


@router.post(
    "/budget/amendments", status_code=201, tags=["budget"], response_model=answers.Amendment
)
def amend_envelope(body: AmendmentIn, user: User, bus: Bus) -> dict[str, Any]:
    """Raise (``by`` > 0) or lower (``by`` < 0) an envelope: a supplementary budget."""
    done = bus.handle(
        c.AmendEnvelope(
            actor=user, party=body.party, year=body.year, by=body.by, reason=body.reason
        )
    )
    return {
        "party": done.party,
        "year": done.year,
        "by": done.by,
        "amount": done.amount,
        "available": done.available,
    }
