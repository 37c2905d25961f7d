"""Read models of attached documents: a program's list, and one file's bytes to serve.

Whoever may see the program (``domain.visibility``) may list and download its files;
a program they may not see is "not found", its files with it.
"""

from __future__ import annotations

from typing import Any

from workflow.adapters.unit_of_work import SqlUnitOfWork
from workflow.domain.documents import Document, is_sealed
from workflow.domain.errors import NotFound
from workflow.domain.program import Program
from workflow.domain.visibility import Viewer, ensure_sees_program


def files_of(uow: SqlUnitOfWork, program: Program) -> list[dict[str, Any]]:
    """The program's files as the answers show them (the program is already seen)."""
    assert program.id is not None
    return [file_row(program, d) for d in uow.documents.of_program(program.id)]


def file_row(program: Program, doc: Document) -> dict[str, Any]:
    return {
        "name": doc.name,
        "kind": doc.kind,
        "round": doc.round,
        "size": doc.size,
        "sha256": doc.sha256,
        "content_type": doc.content_type,
        "attached_by": doc.attached_by,
        "attached_at": doc.attached_at.isoformat(),
        "sealed": is_sealed(program, doc),  # kept as submitted: never changed or removed
    }


def _seen(uow: SqlUnitOfWork, viewer: Viewer, program_id: int) -> Program:
    p = uow.programs.get(program_id)
    ensure_sees_program(viewer, program_id, p.org, bool(p.submitted_by), p.parties)
    return p


def program_files(uow: SqlUnitOfWork, viewer: Viewer, program_id: int) -> list[dict[str, Any]]:
    return files_of(uow, _seen(uow, viewer, program_id))


def file_content(
    uow: SqlUnitOfWork, viewer: Viewer, program_id: int, name: str
) -> tuple[dict[str, Any], bytes]:
    """One file's row and its bytes, their SHA-256 checked (``FileCorrupted`` if not)."""
    program = _seen(uow, viewer, program_id)
    doc = uow.documents.named(program_id, name)
    if doc is None:
        raise NotFound(
            f"program {program_id} has no file named {name}", program=program_id, name=name
        )
    return file_row(program, doc), uow.documents.content(doc)
