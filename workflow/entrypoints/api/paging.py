"""Pages of lists: ``limit`` (default 50, max 500) and an opaque ``after`` cursor.

A cursor is the last row's id, base64url-encoded with a kind prefix, so that clients
treat it as a token to hand back rather than a number to compute with, and a cursor of
one list is refused by another. A well-formed cursor whose id names no row is treated as
the list treats any such id: the inbox's names a task ("not found" when it names none),
the program list's a place in the order (nothing follows an id past the last one).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import Query

from workflow.adapters.queues import DEFAULT_LIMIT, MAX_LIMIT
from workflow.domain.errors import InvalidInput

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=100, description="`next` of the previous page")]
__all__ = ["DEFAULT_LIMIT", "Cursor", "Limit", "decode", "encode", "page"]


def encode(kind: str, last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{last_id}".encode()).decode().rstrip("=")


def decode(kind: str, cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        found, _, number = text.partition(":")
        if found == kind and number.isascii() and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInput(f"not a cursor of this list: {cursor!r}", field="after")


def page(kind: str, rows: list[dict[str, Any]], id_field: str, more: bool) -> dict[str, Any]:
    """``items``, and ``next``: the cursor of the following page (None: this is the last)."""
    return {"items": rows, "next": encode(kind, rows[-1][id_field]) if more and rows else None}
