"""Attaching and removing a program's documents (``domain.documents`` holds the rules).

Each runs under the program's row lock (which also serialises the program's audit
stream) and records its event there: what was attached or removed, with its SHA-256 and
size, by whom. The bytes go to the deployment's file store in the same unit of work.
"""

from __future__ import annotations

import hashlib

from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.documents import (
    Document,
    check_file,
    clean_name,
    document_data,
    ensure_may_attach,
    ensure_may_remove,
    ensure_unique,
)
from workflow.domain.errors import NotFound
from workflow.domain.events import Event, program_stream
from workflow.domain.permissions import User
from workflow.domain.program import Program
from workflow.domain.visibility import ensure_sees_program
from workflow.service_layer.handlers.common import Probed, acting_user_and_program
from workflow.service_layer.unit_of_work import UnitOfWork


def _seen_by_actor(uow: UnitOfWork, actor: str | None, program_id: int) -> tuple[User, Program]:
    """The acting user and the program, locked; a program they may not see (another
    school's, submitted or not) is not found, as it is for reading its files."""
    user, program = acting_user_and_program(uow, actor, program_id)
    viewer = uow.directory.viewer(user.email)
    ensure_sees_program(
        viewer, program_id, program.org, bool(program.submitted_by), program.parties
    )
    return user, program


def attach_document(cmd: c.AttachDocument, uow: UnitOfWork) -> Document:
    user, program = _seen_by_actor(uow, cmd.actor, cmd.program_id)
    rnd = ensure_may_attach(user, program, cmd.kind)
    if uow.probing:  # "may they attach anything now": the file is the person's to choose
        raise Probed
    name = clean_name(cmd.name)
    fmt = check_file(name, cmd.content, uow.documents.max_bytes)
    taken = [d.name for d in uow.documents.of_program(cmd.program_id)]
    ensure_unique(cmd.program_id, name, taken)
    doc = Document(
        cmd.program_id,
        name,
        cmd.kind,
        rnd,
        hashlib.sha256(cmd.content).hexdigest(),
        len(cmd.content),
        fmt.content_type,
        user.email,
        uow.now,
    )
    uow.documents.add(doc, cmd.content)
    stream = program_stream(cmd.program_id)
    uow.events.append(
        stream, [Event(ev.DOCUMENT_ATTACHED, document_data(doc))], user.email, uow.now
    )
    return doc


def remove_document(cmd: c.RemoveDocument, uow: UnitOfWork) -> Document:
    user, program = _seen_by_actor(uow, cmd.actor, cmd.program_id)
    doc = uow.documents.named(cmd.program_id, cmd.name)
    if doc is None:
        raise NotFound(
            f"program {cmd.program_id} has no file named {cmd.name}",
            program=cmd.program_id,
            name=cmd.name,
        )
    ensure_may_remove(user, program, doc)
    if uow.probing:
        raise Probed
    uow.documents.remove(doc)
    stream = program_stream(cmd.program_id)
    uow.events.append(stream, [Event(ev.DOCUMENT_REMOVED, document_data(doc))], user.email, uow.now)
    return doc
