"""The pages' side of a program's documents: upload (a CSRF-protected multipart form),
download, and removal of a file of the round still open.

Each action is a command through the bus (a refusal is audited and shown on the program
page), then a redirect back to the program (post/redirect/get). The upload is read one
byte past the deployment's limit, no further; what may be attached is the domain's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from workflow.adapters import document_views
from workflow.domain import commands as c
from workflow.domain.errors import InvalidInput, WorkflowError
from workflow.domain.text import FILE_NAME_MAX
from workflow.entrypoints.api.routes_files import file_response
from workflow.entrypoints.api.services import bus as bus_dependency
from workflow.entrypoints.api.services import services_of
from workflow.entrypoints.web.routes_pages import program_response
from workflow.entrypoints.web.session import CSRF_FIELD, check_csrf, person
from workflow.service_layer.messagebus import MessageBus

router = APIRouter(include_in_schema=False)
Person = Annotated[str, Depends(person)]
Id = Annotated[int, Path(ge=1, lt=2**63)]
Name = Annotated[str, Path(min_length=1, max_length=FILE_NAME_MAX)]


def bus_of(request: Request) -> MessageBus:
    return services_of(request).bus


async def upload_of(
    request: Request, bus: Annotated[MessageBus, Depends(bus_dependency)]
) -> c.AttachDocument:
    """The posted form's file (its CSRF token checked), as the command to attach it."""
    form = await request.form()
    check_csrf(request, str(form.get(CSRF_FIELD) or ""))
    upload = form.get("file")
    kind = str(form.get("kind") or "proposal")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return c.AttachDocument(actor=None, program_id=0, name="", content=b"", kind=kind)
    content = await upload.read(bus.uow.max_file_bytes + 1)
    return c.AttachDocument(actor=None, program_id=0, name=upload.filename, content=content,
                            kind=kind)  # fmt: skip


Upload = Annotated[c.AttachDocument, Depends(upload_of)]


def see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


@router.post("/programs/{program_id}/files/new")
def upload(request: Request, email: Person, program_id: Id, form: Upload) -> Response:
    try:
        if not form.name:
            raise InvalidInput("choose a file to attach", field="file")
        cmd = c.AttachDocument(actor=email, program_id=program_id, name=form.name,
                               content=form.content, kind=form.kind)  # fmt: skip
        bus_of(request).handle(cmd)
    except WorkflowError as err:
        return program_response(request, email, program_id, err)
    return see_other(f"/programs/{program_id}")


@router.get("/programs/{program_id}/files/{name}")
def download(request: Request, email: Person, program_id: Id, name: Name) -> Response:
    row, content = bus_of(request).view(
        lambda uow, who: document_views.file_content(uow, who, program_id, name), email
    )
    return file_response(row, content)


async def csrf_form(request: Request) -> None:
    form = await request.form()
    check_csrf(request, str(form.get(CSRF_FIELD) or ""))


@router.post("/programs/{program_id}/files/{name}/remove", dependencies=[Depends(csrf_form)])
def remove(request: Request, email: Person, program_id: Id, name: Name) -> Response:
    try:
        bus_of(request).handle(c.RemoveDocument(actor=email, program_id=program_id, name=name))
    except WorkflowError as err:
        return program_response(request, email, program_id, err)
    return see_other(f"/programs/{program_id}")
