"""The records of attached documents (``documents``), their bytes in a ``FileStore``."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import delete, insert, select

from workflow.adapters.batch import BatchingConnection
from workflow.adapters.orm import documents
from workflow.domain.documents import Document, FileCorrupted, name_key
from workflow.service_layer.files import FileStore

_doc = documents.c
_COLUMNS = (
    _doc.program_id,
    _doc.name,
    _doc.kind,
    _doc.round,
    _doc.sha256,
    _doc.size,
    _doc.content_type,
    _doc.attached_by,
    _doc.attached_at,
)


class DocumentStore:
    def __init__(self, conn: BatchingConnection, files: FileStore, max_bytes: int) -> None:
        self.conn = conn
        self.files = files
        self.max_bytes = max_bytes

    def of_program(self, program_id: int) -> list[Document]:
        query = select(*_COLUMNS).where(_doc.program_id == program_id).order_by(_doc.id)
        return [_document(row) for row in self.conn.execute(query)]

    def named(self, program_id: int, name: str) -> Document | None:
        query = select(*_COLUMNS).where(
            _doc.program_id == program_id, _doc.name_key == name_key(name)
        )
        row = self.conn.execute(query).first()
        return None if row is None else _document(row)

    def add(self, doc: Document, content: bytes) -> None:
        self.files.put(doc.sha256, content)
        self.conn.execute(
            insert(documents).values(
                program_id=doc.program_id,
                name=doc.name,
                name_key=name_key(doc.name),
                kind=doc.kind,
                round=doc.round,
                sha256=doc.sha256,
                size=doc.size,
                content_type=doc.content_type,
                attached_by=doc.attached_by,
                attached_at=doc.attached_at,
            )
        )

    def remove(self, doc: Document) -> None:
        self.conn.execute(
            delete(documents).where(
                _doc.program_id == doc.program_id, _doc.name_key == name_key(doc.name)
            )
        )
        self.files.discard(doc.sha256)

    def content(self, doc: Document) -> bytes:
        found = self.files.get(doc.sha256)
        if found is None or hashlib.sha256(found).hexdigest() != doc.sha256:
            what = "is missing from" if found is None else "no longer matches its SHA-256 in"
            raise FileCorrupted(
                f"{doc.name} of program {doc.program_id} {what} the file store; "
                "it is not served (tell the operator)",
                program=doc.program_id,
                name=doc.name,
                sha256=doc.sha256,
            )
        return found


def _document(row: Any) -> Document:
    return Document(
        row.program_id,
        row.name,
        row.kind,
        row.round,
        row.sha256,
        row.size,
        row.content_type,
        row.attached_by,
        row.attached_at,
    )
