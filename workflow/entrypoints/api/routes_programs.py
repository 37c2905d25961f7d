"""``/api/v1/programs``: the same commands and read models as ``jointflow program ...``.

Every action answers with the program as ``program show --json`` reads it afterwards,
and its ``ETag`` (the program's version): ``If-Match`` on an edit or a decision goes to
the command as the version it expects, checked under the program's row lock.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse

from workflow.adapters import views
from workflow.domain import commands as c
from workflow.domain.text import KEY_MAX
from workflow.entrypoints import records
from workflow.entrypoints.api import answers, problems
from workflow.entrypoints.api.auth import User
from workflow.entrypoints.api.paging import DEFAULT_LIMIT, Cursor, Limit, decode, page
from workflow.entrypoints.api.schemas import (
    NO_NUL,
    CancelIn,
    DecisionIn,
    DisbursementIn,
    EvaluationIn,
    PathId,
    ProgramIn,
    ProgramPatch,
    ReasonIn,
    ReportIn,
)
from workflow.entrypoints.api.services import bus
from workflow.service_layer.messagebus import MessageBus

router = APIRouter(prefix="/programs", tags=["programs"])
Bus = Annotated[MessageBus, Depends(bus)]
ProgramId = PathId
IfMatch = Annotated[str | None, Header(description="An ETag of this program")]
ETAG = re.compile(r'(?:W/)?"v(\d{1,18})"')
PROGRAM: dict[int | str, dict[str, Any]] = {
    200: {"model": answers.Program, "description": "The program, after the action"}
}
CREATED: dict[int | str, dict[str, Any]] = {
    201: {"model": answers.Program, "description": "The new program"}
}


def etag(version: int) -> str:
    return f'"v{version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version ``If-Match`` names (None: no header, or ``*``); one that is not an ETag
    of ours matches no version (0), so the command refuses it as stale."""
    if if_match is None or if_match.strip() == "*":
        return None
    found = ETAG.fullmatch(if_match.split(",")[0].strip())
    return int(found.group(1)) if found else 0


def program(bus: MessageBus, user: str, program_id: int, status: int = 200) -> JSONResponse:
    detail = bus.view(lambda uow, who: views.program_detail(uow, who, program_id), user)
    headers = {"ETag": etag(detail["version"])}
    if status == 201:
        headers["Location"] = f"/api/v1/programs/{program_id}"
    return JSONResponse(detail, status_code=status, headers=headers)


@router.post("", status_code=201, responses=CREATED)
def create_program(body: ProgramIn, user: User, bus: Bus) -> JSONResponse:
    program_id = bus.handle(
        c.CreateProgram(
            actor=user,
            title=body.title,
            org=body.org,
            category=body.category,
            requests=dict(body.requests),
            start=body.start,
            end=body.end,
            year=body.year,
            description=body.description,
            workflow=body.workflow,
        )
    )
    return program(bus, user, program_id, 201)


@router.get("", response_model=answers.ProgramPage)
def list_programs(
    user: User,
    bus: Bus,
    state: Annotated[str | None, Query(max_length=KEY_MAX, pattern=NO_NUL)] = None,
    org: Annotated[str | None, Query(max_length=KEY_MAX, pattern=NO_NUL)] = None,
    waiting_on: Annotated[str | None, Query(max_length=KEY_MAX, pattern=NO_NUL)] = None,
    year: Annotated[int | None, Query(ge=1, le=9999)] = None,
    limit: Limit = DEFAULT_LIMIT,
    after: Cursor = None,
) -> dict[str, Any]:
    start = decode("programs", after)
    rows = bus.view(
        lambda uow, who: views.program_list(
            uow, who, state, org, waiting_on, year=year, after=start, limit=limit + 1
        ),
        user,
    )
    return page("programs", rows[:limit], "id", len(rows) > limit)


@router.get("/{program_id}", responses=PROGRAM)
def get_program(program_id: ProgramId, user: User, bus: Bus) -> JSONResponse:
    return program(bus, user, program_id)


@router.patch("/{program_id}", responses={**PROGRAM, **problems.PRECONDITION})
def update_program(
    program_id: ProgramId, body: ProgramPatch, user: User, bus: Bus, if_match: IfMatch = None
) -> JSONResponse:
    bus.handle(
        c.UpdateProgram(
            actor=user,
            program_id=program_id,
            title=body.title,
            category=body.category,
            requests=dict(body.requests) if body.requests else None,
            start=body.start,
            end=body.end,
            year=body.year,
            description=body.description,
            expected_version=expected_version(if_match),
            drop_requests=tuple(body.drop_requests),
        )
    )
    return program(bus, user, program_id)


@router.post("/{program_id}/submit", responses=PROGRAM)
def submit(program_id: ProgramId, user: User, bus: Bus) -> JSONResponse:
    bus.handle(c.SubmitProgram(actor=user, program_id=program_id))
    return program(bus, user, program_id)


@router.post("/{program_id}/withdraw", responses=PROGRAM)
def withdraw(
    program_id: ProgramId, user: User, bus: Bus, body: ReasonIn | None = None
) -> JSONResponse:
    reason = body.reason if body else ""
    bus.handle(c.WithdrawProgram(actor=user, program_id=program_id, reason=reason))
    return program(bus, user, program_id)


@router.post("/{program_id}/cancel", responses=PROGRAM)
def cancel(program_id: ProgramId, body: CancelIn, user: User, bus: Bus) -> JSONResponse:
    bus.handle(c.CancelProgram(actor=user, program_id=program_id, reason=body.reason))
    return program(bus, user, program_id)


@router.post("/{program_id}/decisions", responses={**PROGRAM, **problems.PRECONDITION})
def decide(
    program_id: ProgramId, body: DecisionIn, user: User, bus: Bus, if_match: IfMatch = None
) -> JSONResponse:
    bus.handle(
        c.DecideReview(
            actor=user,
            program_id=program_id,
            decision=body.domain_key,
            comment=body.comment,
            expected_version=expected_version(if_match),
        )
    )
    return program(bus, user, program_id)


@router.post("/{program_id}/commitments", responses=PROGRAM)
def commit(program_id: ProgramId, user: User, bus: Bus) -> JSONResponse:
    bus.handle(c.CommitFunds(actor=user, program_id=program_id))
    return program(bus, user, program_id)


@router.post("/{program_id}/disbursements", responses=PROGRAM)
def disburse(program_id: ProgramId, body: DisbursementIn, user: User, bus: Bus) -> JSONResponse:
    bus.handle(
        c.DisburseFunds(actor=user, program_id=program_id, amount=body.amount, memo=body.memo)
    )
    return program(bus, user, program_id)


@router.post("/{program_id}/report", responses=PROGRAM)
def report(program_id: ProgramId, body: ReportIn, user: User, bus: Bus) -> JSONResponse:
    bus.handle(
        c.SubmitReport(
            actor=user, program_id=program_id, spent=dict(body.spent), summary=body.summary
        )
    )
    return program(bus, user, program_id)


@router.post("/{program_id}/evaluations", responses=PROGRAM)
def evaluate(program_id: ProgramId, body: EvaluationIn, user: User, bus: Bus) -> JSONResponse:
    bus.handle(
        c.EvaluateReport(
            actor=user,
            program_id=program_id,
            verdict=body.verdict,
            score=body.score,
            comment=body.comment,
        )
    )
    return program(bus, user, program_id)


@router.get("/{program_id}/events", response_model=list[answers.Event])
def events(program_id: ProgramId, user: User, bus: Bus) -> list[dict[str, Any]]:
    """History with the hash chain's fields (each event's hash and its predecessor's),
    each event told as a sentence (``text``) in the reader's language."""
    rows: list[dict[str, Any]] = bus.view(
        lambda uow, who: records.history_with_text(uow, who, program_id), user
    )
    return rows


@router.get("/{program_id}/ledger", response_model=list[answers.LedgerEntry])
def ledger(program_id: ProgramId, user: User, bus: Bus) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = bus.view(
        lambda uow, who: views.ledger_entries(uow, who, program_id=program_id), user
    )
    return rows
