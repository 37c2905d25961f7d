"""Refusals as RFC 9457 problem details: the one place a domain error gets its status.

``type`` names the error's code, ``title`` the status, ``detail`` the domain's own
sentence (English, whatever the request's language: a client shows its reader the
stable ``code`` member, the refusal's reason such as ``role_missing``, in words of its
own, or the pages' Korean from ``workflow.entrypoints.refusals``), and the error's
context goes along as extension members. A request the client
got wrong is never a 500: validation errors of FastAPI/pydantic are 422 problems too,
and a database that cannot be reached is 503.

``RESPONSES`` is the same mapping as the contract states it: the problem statuses every
operation of ``/api/v1`` may answer, with their media type and body (``Problem``, which
``document`` adds to the OpenAPI document's components).
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException

from workflow.domain.errors import (
    Conflict,
    DefinitionError,
    InsufficientBudget,
    InvalidInput,
    NotFound,
    NotPermitted,
    PreconditionFailed,
    TransitionNotAllowed,
    WorkflowError,
)

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
RESERVED = {"type", "title", "status", "detail", "instance"}


class Unauthorized(WorkflowError):
    """No usable bearer token: missing, malformed, expired or revoked."""

    code = "unauthorized"


# Most specific first: PreconditionFailed is a Conflict.
STATUSES: tuple[tuple[type[WorkflowError], int], ...] = (
    (Unauthorized, 401),
    (PreconditionFailed, 412),
    (InvalidInput, 422),
    (DefinitionError, 422),
    (NotFound, 404),
    (NotPermitted, 403),
    (TransitionNotAllowed, 409),
    (InsufficientBudget, 409),
    (Conflict, 409),
)


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "urn:jointflow:problem:<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {
            "type": "string",
            "description": "The refusal's stable reason (e.g. role_missing), where it has one",
        },
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": True,  # the error's context: the ids and values concerned
}


PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _documented(description: str) -> dict[str, Any]:
    return {"description": description, "content": {MEDIA_TYPE: {"schema": PROBLEM_REF}}}


RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _documented("The body could not be read: not UTF-8, or not JSON"),
    401: _documented("No bearer token, or one unknown, expired or revoked"),
    403: _documented("Not permitted to the caller"),
    404: _documented("Not found, or not visible to the caller"),
    409: _documented("Not allowed in this state, or someone else acted first"),
    422: _documented("Invalid input"),
    503: _documented("The database cannot be reached"),
}
# Only where the route honours If-Match.
PRECONDITION: dict[int | str, dict[str, Any]] = {
    412: _documented("If-Match names a version of the program that is gone"),
}


def document(contract: dict[str, Any]) -> None:
    """Add the ``Problem`` schema the documented refusals refer to."""
    contract.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA


def status_of(err: WorkflowError) -> int:
    return next((status for cls, status in STATUSES if isinstance(err, cls)), 400)


def problem(status: int, code: str, detail: str, /, **context: Any) -> Response:
    body = {
        "type": f"urn:jointflow:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **{k: v for k, v in context.items() if k not in RESERVED},
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(
        json.dumps(body, ensure_ascii=False, default=str),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def workflow_error(_request: Request, err: Exception) -> Response:
    assert isinstance(err, WorkflowError)
    reason = {"code": err.reason} if err.reason else {}
    return problem(status_of(err), err.code, err.message, **err.context, **reason)


def validation_error(_request: Request, err: Exception) -> Response:
    assert isinstance(err, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in err.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"])
    return problem(422, "invalid-input", f"{where}: {first['msg']}", errors=errors)


def http_error(_request: Request, err: Exception) -> Response:
    assert isinstance(err, HTTPException)
    return problem(err.status_code, f"http-{err.status_code}", str(err.detail))


def database_down(_request: Request, err: Exception) -> Response:
    log.error("database unreachable: %s", err)
    return problem(503, "database-unavailable", "the database cannot be reached; try again")


def install(app: FastAPI) -> None:
    app.add_exception_handler(WorkflowError, workflow_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(OperationalError, database_down)
    app.add_exception_handler(InterfaceError, database_down)
