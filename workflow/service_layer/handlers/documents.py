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
    ensure_may_attach(user, program, cmd.kind)
    if uow.probing:  # "may they attach anything now": the file is the person's to choose
        raise Probed
    return attach(uow, user, program, cmd.name, cmd.content, cmd.kind)


def attach(
    uow: UnitOfWork, user: User, program: Program, name: str, content: bytes, kind: str
) -> Document:
    """Check a file by its content and keep it with the program (attaching, and the file
    a report is submitted with): one way in for every file."""
    rnd = ensure_may_attach(user, program, kind)
    assert program.id is not None  # a loaded program
    pid, name = program.id, clean_name(name)
    fmt = check_file(name, content, uow.documents.max_bytes)
    ensure_unique(pid, name, [d.name for d in uow.documents.of_program(pid)])
    doc = Document(pid, name, kind, rnd, hashlib.sha256(content).hexdigest(),
                   len(content), fmt.content_type, user.email, uow.now)  # fmt: skip
    uow.documents.add(doc, content)
    uow.events.append(
        program_stream(pid), [Event(ev.DOCUMENT_ATTACHED, document_data(doc))],
        user.email, uow.now,
    )  # fmt: skip
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
