"""``/api/v1/programs/{id}/files``: a program's documents, as ``program attach / files / file``.

Upload is the raw body (``PUT .../files/{name}``, ``application/octet-stream``): the
name is the resource's, the bytes are the file, and nothing needs parsing on the way
(a multipart form is the pages' way). The body is read one byte past the deployment's
limit and no further; what may be attached is the domain's to say, and a refusal is
audited like any other. Downloads are checked against their SHA-256 before they leave.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from workflow.adapters import document_views
from workflow.domain import commands as c
from workflow.domain.documents import CONTENT_TYPES, KINDS, PROPOSAL
from workflow.domain.text import FILE_NAME_MAX
from workflow.entrypoints.api import answers
from workflow.entrypoints.api.auth import User
from workflow.entrypoints.api.schemas import NO_NUL, PathId
from workflow.entrypoints.api.services import bus
from workflow.service_layer.messagebus import MessageBus

router = APIRouter(prefix="/programs", tags=["files"])
Bus = Annotated[MessageBus, Depends(bus)]
Name = Annotated[str, Path(min_length=1, max_length=FILE_NAME_MAX, pattern=NO_NUL)]
Kind = Annotated[str, Query(pattern=f"^({'|'.join(KINDS)})$", description=" | ".join(KINDS))]
BINARY = {"schema": {"type": "string", "format": "binary"}}
UPLOAD: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file's bytes (PDF, HWP/HWPX, DOCX, XLSX, PNG, JPEG)",
        "content": {"application/octet-stream": BINARY},
    }
}
DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, its SHA-256 checked (also in `Repr-Digest`)",
        "content": {media: BINARY for media in CONTENT_TYPES},
    }
}
ATTACHED: dict[int | str, dict[str, Any]] = {
    201: {"model": answers.File, "description": "The file, as attached"}
}


def disposition(name: str) -> str:
    """``attachment`` with the name in UTF-8 (RFC 5987) and an ASCII stand-in for old
    clients (Korean letters become ``_``)."""
    ascii_name = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\' else "_"
                         for ch in name)  # fmt: skip
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def file_response(row: dict[str, Any], content: bytes) -> Response:
    digest = base64.b64encode(bytes.fromhex(row["sha256"])).decode()
    headers = {
        "Content-Disposition": disposition(row["name"]),
        "Repr-Digest": f"sha-256=:{digest}:",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    return Response(content, media_type=row["content_type"], headers=headers)


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, up to one byte past ``limit`` (enough for the domain to refuse it)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)[: limit + 1]


@router.get("/{program_id}/files", response_model=list[answers.File])
def list_files(program_id: PathId, user: User, bus: Bus) -> list[dict[str, Any]]:
    """The program's files, for whoever may see the program."""
    rows: list[dict[str, Any]] = bus.view(
        lambda uow, who: document_views.program_files(uow, who, program_id), user
    )
    return rows


@router.put("/{program_id}/files/{name}", status_code=201, responses=ATTACHED,
            openapi_extra=UPLOAD)  # fmt: skip
async def attach_file(
    program_id: PathId, name: Name, request: Request, user: User, bus: Bus, kind: Kind = PROPOSAL
) -> JSONResponse:
    """Attach a file (coordinator): ``kind=proposal`` while the proposal is editable,
    ``report`` while the evaluation report is due. A name already attached is refused."""
    content = await read_capped(request, bus.uow.max_file_bytes)
    cmd = c.AttachDocument(actor=user, program_id=program_id, name=name, content=content,
                           kind=kind)  # fmt: skip
    doc = await run_in_threadpool(bus.handle, cmd)
    rows = await run_in_threadpool(
        bus.view, lambda uow, who: document_views.program_files(uow, who, program_id), user
    )
    row = next(r for r in rows if r["name"] == doc.name)
    location = f"/api/v1/programs/{program_id}/files/{quote(doc.name, safe='')}"
    return JSONResponse(row, status_code=201, headers={"Location": location})


@router.get("/{program_id}/files/{name}", response_class=Response, responses=DOWNLOAD)
def download_file(program_id: PathId, name: Name, user: User, bus: Bus) -> Response:
    """The file's bytes, with its type and name (UTF-8, RFC 5987)."""
    row, content = bus.view(
        lambda uow, who: document_views.file_content(uow, who, program_id, name), user
    )
    return file_response(row, content)


@router.delete("/{program_id}/files/{name}", status_code=204, response_class=Response)
def remove_file(program_id: PathId, name: Name, user: User, bus: Bus) -> Response:
    """Remove a file of the round still open (coordinator); a submitted one stays."""
    bus.handle(c.RemoveDocument(actor=user, program_id=program_id, name=name))
    return Response(status_code=204)
