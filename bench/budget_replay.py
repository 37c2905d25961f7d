"""The engine's SQL without the engine: its race's statements sent again by bare psycopg.

Run from the repository root, with the options of ``bench/budget.py``::

    python bench/budget_replay.py
    python bench/budget_replay.py --clients 8 --attempts 200 --rounds 2   # a quicker run

The race of ``bench/budget.py`` and, after each round, a third side: what each engine
attempt sent, recorded, is sent again transaction by transaction in the same round trips
by as many clients, on a copy of the engine's database as its race began. No engine code
runs there, so ``ceiling_ratio`` (replay over baseline) is the most the engine could reach
with the statements it sends now; the gap to ``ratio`` is the engine's Python.

Prints what ``bench/budget.py`` prints, the replay's figures before the last line.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import psycopg
from budget import EngineSide, Side, engine_outcome, main, rate
from sqlalchemy import Connection, Engine, create_engine
from support import (
    Raced,
    create_database,
    drop_database,
    emit,
    psycopg_url,
    psycopg_wrapped,
    race,
    sql_text,
)

# What one transaction sent: (query, parameters, sent by a client-side cursor), then
# COMMIT or ROLLBACK as the engine ended it.
Sent = tuple[str, Any, bool]
END = ("COMMIT", "ROLLBACK")


class Capture:
    """Records what each engine attempt sends, transaction by transaction.

    Wraps psycopg's execute, commit and rollback while installed; the recording is per
    thread, each attempt's transactions in order, into the list ``start`` handed out.
    """

    def __init__(self) -> None:
        self.local = threading.local()
        self.mutex = threading.Lock()
        self.attempts: list[list[list[Sent]]] = []
        self.active = False  # while installed

    def start(self) -> list[list[list[Sent]]]:
        """A new list for the next race's attempts."""
        self.attempts = []
        return self.attempts

    def attempt(self, handle: Callable[[Any], object]) -> Callable[[Any], object]:
        """``handle`` with what it sends recorded as one attempt (while installed)."""

        def recorded(item: Any) -> object:
            if not self.active:
                return handle(item)
            self.local.attempt = [[]]
            try:
                return handle(item)
            finally:
                transactions = [t for t in self.local.attempt if t]
                self.local.attempt = None
                with self.mutex:
                    self.attempts.append(transactions)

        return recorded

    def _sent(self, entry: Sent) -> None:
        attempt = getattr(self.local, "attempt", None)
        if attempt is None:
            return
        attempt[-1].append(entry)
        if entry[0] in END:
            attempt.append([])

    @contextlib.contextmanager
    def installed(self) -> Iterator[Capture]:
        def execute(real: Callable[..., Any]) -> Callable[..., Any]:
            def recorded(cursor: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
                self._sent((sql_text(query), params, isinstance(cursor, psycopg.ClientCursor)))
                return real(cursor, query, params, **kwargs)

            return recorded

        def end(word: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
            def wrap(real: Callable[..., Any]) -> Callable[..., Any]:
                def recorded(conn: Any) -> None:
                    self._sent((word, None, False))
                    real(conn)

                return recorded

            return wrap

        with psycopg_wrapped(execute=execute, commit=end("COMMIT"), rollback=end("ROLLBACK")):
            self.active = True
            try:
                yield self
            finally:
                self.active = False


class ReplaySide(Side):
    """The engine's statements of a round, sent again by bare psycopg clients.

    Each client sends a captured transaction's statements as the engine sent them
    (server-side parameters or one client-side batch, the same round trips) and ends it
    as the engine did, on a copy of the engine's database (``CREATE DATABASE ...
    TEMPLATE``) taken between its ``prepare`` and its race. Made after the warm-up, it
    hooks itself into the engine side: the engine's races from then on are recorded.
    """

    name = "replay"

    def __init__(self, engine: EngineSide) -> None:
        super().__init__(engine.url + "_replay", engine.clients)
        self.source = engine.url.rsplit("/", 1)[1]
        self.database = self.url.rsplit("/", 1)[1]
        self.engine: Engine | None = None
        self.round_trips = 0
        self.capture = Capture()
        engine.attempt = self.capture.attempt(engine.attempt)
        engine.recording = self.capture.installed

    def prepare(self, year: int, attempts: int, fit: int) -> list[Any]:
        """The copy of the engine's database, and the list its race will be recorded in."""
        self.dispose()
        create_database(self.database, template=self.source)
        return self.capture.start()

    def connect(self) -> Connection:
        if self.engine is None:
            self.engine = create_engine(self.url)
        return self.engine.connect()

    @contextlib.contextmanager
    def client(self) -> Iterator[Callable[[Any], object]]:
        with psycopg.connect(psycopg_url(self.url)) as conn:
            yield partial(replay_attempt, conn)

    def run(self, items: list[Any], year: int) -> Raced:
        self.round_trips += sum(round_trips(sent) for attempt in items for sent in attempt)
        return race(self.clients, items, self.client)

    def outcome(self, year: int, outcomes: list[object]) -> tuple[int, int, list[str]]:
        with self.connect() as conn:
            return engine_outcome(conn, year)

    def figures(self, base: Side) -> None:
        emit("replay_round_trips_per_attempt", self.round_trips / self.attempts)
        emit("ceiling_ratio", f"{rate(self) / rate(base):.3f}")

    def dispose(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None

    def close(self) -> None:
        self.dispose()
        drop_database(self.database)


def round_trips(transaction: list[Sent]) -> int:
    """Its statements, with BEGIN and its end (a pool's ROLLBACK of an idle connection
    sends nothing)."""
    statements = sum(1 for sql, _, _ in transaction if sql not in END)
    return statements + 2 if statements else 0


def replay_attempt(conn: psycopg.Connection[Any], transactions: list[list[Sent]]) -> None:
    """Send one attempt's transactions again; one that failed fails again or rolls back."""
    for transaction in transactions:
        try:
            for sql, params, client_side in transaction:
                if sql == "COMMIT":
                    conn.commit()
                elif sql == "ROLLBACK":
                    conn.rollback()
                elif client_side:
                    psycopg.ClientCursor(conn).execute(sql)
                else:
                    conn.execute(sql, params)
        except psycopg.Error:
            conn.rollback()


if __name__ == "__main__":
    main(__doc__, ReplaySide)
