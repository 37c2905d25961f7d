"""Where attached files' bytes live, by SHA-256: the database (default) or a directory.

``DatabaseFileStore`` writes ``document_blobs`` in the unit of work's own transaction,
so a refused or rolled-back attachment leaves nothing. ``DirectoryFileStore`` writes
``<root>/<first two hex digits>/<sha256>`` through a temporary file in the same
directory, flushed and renamed into place (atomic on POSIX): a reader never sees half
a file, and two writers of the same bytes both end with the one file. A rolled-back
attachment may leave its file behind: harmless (nothing names it), and a later
attachment of the same bytes finds it there. For the same reason the directory store
never deletes: a removed draft's file could still be named by a transaction that has
not committed yet.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, exists, insert, select

from workflow.adapters.batch import BatchingConnection
from workflow.adapters.orm import document_blobs, documents
from workflow.service_layer.files import FileStore

_blob = document_blobs.c


class DatabaseFileStore:
    def __init__(self, conn: BatchingConnection, now: datetime) -> None:
        self.conn = conn
        self.now = now

    def put(self, sha256: str, content: bytes) -> None:
        found = self.conn.execute(select(_blob.sha256).where(_blob.sha256 == sha256)).first()
        if found is None:
            self.conn.execute(
                insert(document_blobs).values(
                    sha256=sha256, size=len(content), content=content, created_at=self.now
                )
            )

    def get(self, sha256: str) -> bytes | None:
        row = self.conn.execute(select(_blob.content).where(_blob.sha256 == sha256)).first()
        return None if row is None else bytes(row.content)

    def discard(self, sha256: str) -> None:
        named = exists().where(documents.c.sha256 == sha256)
        self.conn.execute(delete(document_blobs).where(_blob.sha256 == sha256, ~named))


class DirectoryFileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(ch in "0123456789abcdef" for ch in sha256):
            raise ValueError(f"not a SHA-256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, sha256: str, content: bytes) -> None:
        target = self.path(sha256)
        if target.exists():
            return
        target.parent.mkdir(exist_ok=True)
        fd, aside = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(aside, target)
        except BaseException:
            Path(aside).unlink(missing_ok=True)
            raise

    def get(self, sha256: str) -> bytes | None:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None

    def discard(self, sha256: str) -> None:
        return None  # see the module docstring: never deleted under a live transaction


StoreFactory = Callable[[BatchingConnection, datetime], FileStore]


def store_factory(directory: Path | None) -> StoreFactory:
    """The deployment's file store, per unit of work (the database's is its connection's)."""
    if directory is None:
        return DatabaseFileStore
    store = DirectoryFileStore(directory)
    return lambda _conn, _now: store
