"""What psycopg sends to PostgreSQL, counted in round trips (for tests about them).

A statement executed on its own is a round trip. In pipeline mode statements go
without waiting and the client waits once, at the Sync that ends the pipeline; a
``Pipeline.sync()`` inside it, or a fetch while it is open, waits once more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest


def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """From now until ``monkeypatch.undo()``: the statements sent, one list per round
    trip (a pipeline's list may be empty: its Sync alone is a round trip)."""
    trips: list[list[str]] = []

    def piped(conn: psycopg.Connection[Any]) -> bool:
        return bool(conn.pgconn.pipeline_status)

    def statement(real: Callable[..., Any]) -> Callable[..., Any]:
        def counted(cursor: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
            if piped(cursor.connection):
                trips[-1].append(str(query))
            else:
                trips.append([str(query)])
            return real(cursor, query, *args, **kwargs)
        return counted

    def waits(real: Callable[..., Any]) -> Callable[..., Any]:
        def counted(cursor: psycopg.Cursor[Any], *args: Any, **kwargs: Any) -> Any:
            in_pipeline = piped(cursor.connection)
            result = real(cursor, *args, **kwargs)
            if in_pipeline:  # what is sent from here on waits again
                trips.append([])
            return result
        return counted

    def synced(real: Callable[..., Any]) -> Callable[..., Any]:
        def counted(pipeline: psycopg.Pipeline) -> None:
            real(pipeline)
            trips.append([])
        return counted

    real_pipeline = psycopg.Connection.pipeline

    @contextmanager
    def pipeline(conn: psycopg.Connection[Any]) -> Iterator[psycopg.Pipeline]:
        trips.append([])
        with real_pipeline(conn) as p:
            yield p

    for name in ("execute", "executemany"):
        monkeypatch.setattr(psycopg.Cursor, name, statement(getattr(psycopg.Cursor, name)))
    for name in ("fetchone", "fetchmany", "fetchall"):
        monkeypatch.setattr(psycopg.Cursor, name, waits(getattr(psycopg.Cursor, name)))
    monkeypatch.setattr(psycopg.Pipeline, "sync", synced(psycopg.Pipeline.sync))
    monkeypatch.setattr(psycopg.Connection, "pipeline", pipeline)
    return trips
