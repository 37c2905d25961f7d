"""The ports of attached documents: their records, and the store that keeps their bytes.

A program's documents are rows in the unit of work's transaction (``Documents``); their
bytes go to a ``FileStore``, content-addressed by SHA-256: the database by default (a
blob table, in the same transaction), or a directory a deployment names. Reading a file
back checks its digest, so a store altered behind the engine's back is noticed.
"""

from __future__ import annotations

from typing import Protocol

from workflow.domain.documents import Document


class FileStore(Protocol):
    def put(self, sha256: str, content: bytes) -> None:
        """Keep ``content`` under its digest (a second put of the same bytes is a no-op)."""

    def get(self, sha256: str) -> bytes | None:
        """The bytes kept under ``sha256``; None if the store has none."""

    def discard(self, sha256: str) -> None:
        """Forget bytes no document refers to any more (a store may keep them)."""


class Documents(Protocol):
    max_bytes: int  # the deployment's limit per file (``JOINTFLOW_MAX_FILE_BYTES``)

    def of_program(self, program_id: int) -> list[Document]:
        """The program's documents, in the order attached."""

    def named(self, program_id: int, name: str) -> Document | None: ...
    def add(self, doc: Document, content: bytes) -> None: ...
    def remove(self, doc: Document) -> None: ...
    def content(self, doc: Document) -> bytes:
        """The bytes of ``doc``, checked against its SHA-256 (``FileCorrupted`` if not)."""
