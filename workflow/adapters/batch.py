"""The unit of work's connection: statements whose results can wait go together.

Every statement costs a round trip, and on a 2-core machine with many workers the
round trips (and the driver's work for each) are what a transaction mostly spends
its CPU on. So statements are queued, in order, and sent when a result is wanted:

- ``defer``: a write whose result the caller needs only as a row count (an UPDATE
  that must find its row, an INSERT), or a lock nobody reads (``SELECT ... FOR
  UPDATE`` of a row the next read loads);
- ``prefetch``: a read whose rows are wanted later (``Prefetched.result()``);
- ``fetch``: a read wanted now, sent with the queue;
- ``execute`` (and ``scalar``, ``scalars``): any statement, through SQLAlchemy, once
  the queue has gone.

Statements run in the order given, so every read sees every write queued before it.
On PostgreSQL the queue and the read that sends it go in one round trip: each
statement is bound on the client (psycopg's ``ClientCursor.mogrify``), the lot is
sent as one multi-statement query, and each statement's rows or row count are read
back in turn (at READ COMMITTED each statement still takes its own snapshot, so a
read after a lock sees what the lock waited for). SQLite runs them one by one, in
process: the same calls, another transport.

A deferred write's ``check`` gets its row count once it has run; raising there
(a version that moved, an envelope that filled up) fails the transaction as the
immediate statement would have, only later -- before COMMIT, never after.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Dialect, Executable
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util.typing import TupleAny, Unpack

Params = Mapping[str, Any]
Check = Callable[[int], None]


@dataclass(frozen=True)
class _Write:
    statement: Executable
    rows: Sequence[Params]  # one statement per row
    check: Check | None  # of the row count; only for a one-row write
    duplicate: Callable[[], Exception] | None  # raised instead of a unique violation


@dataclass(frozen=True)
class Fetched:
    """What a statement sent in a batch gave back: its columns, rows and row count."""

    keys: tuple[str, ...]
    rows: Sequence[Sequence[Any]]
    rowcount: int

    def result(self) -> Rows:
        return Rows(self)


class Rows(IteratorResult[Unpack[TupleAny]]):
    """A SQLAlchemy ``Result`` over fetched rows (``first``, ``all``, ``scalars``, named
    columns), with the statement's ``rowcount`` as a ``CursorResult`` has it."""

    def __init__(self, fetched: Fetched) -> None:
        super().__init__(SimpleResultMetaData(fetched.keys), iter(fetched.rows))
        self.rowcount = fetched.rowcount


@dataclass(eq=False)
class _Read:
    statement: Executable
    params: Params
    fetched: Fetched | None = None

    @property
    def rows(self) -> Sequence[Params]:  # of parameters, as a write has them
        return (self.params,)


class Prefetched:
    """A read queued to go with the next round trip; ``result()`` sends it if it has not
    gone yet."""

    def __init__(self, conn: BatchingConnection, read: _Read) -> None:
        self._conn = conn
        self._read = read

    def result(self) -> Rows:
        if self._read.fetched is None:
            self._conn.flush()
        assert self._read.fetched is not None
        return self._read.fetched.result()


class BatchingConnection:
    """A SQLAlchemy connection with ``defer``, ``fetch`` and ``prefetch``: see the module
    docstring."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect: Dialect = conn.dialect
        self._together = self.dialect.name == "postgresql"
        self._pending: list[_Write | _Read] = []

    def execute(self, statement: Executable, params: Any = None) -> CursorResult[Unpack[TupleAny]]:
        self.flush()
        return self.conn.execute(statement, params)

    def scalars(self, statement: Executable, params: Any = None) -> Any:
        self.flush()
        return self.conn.scalars(statement, params)

    def scalar(self, statement: Executable, params: Any = None) -> Any:
        self.flush()
        return self.conn.scalar(statement, params)

    def exec_driver_sql(self, sql: str, params: Any = None) -> CursorResult[Unpack[TupleAny]]:
        self.flush()
        return self.conn.exec_driver_sql(sql, params)

    def fetch(self, statement: Executable, params: Params) -> Rows:
        """Read now, the queue first: on PostgreSQL in the same round trip. For module
        constants (see ``_compiled``); anything else goes through ``execute``."""
        return self.prefetch(statement, params).result()

    def prefetch(self, statement: Executable, params: Params) -> Prefetched:
        """Queue a read whose rows are wanted later: it goes with the next round trip."""
        read = _Read(statement, params)
        self._pending.append(read)
        return Prefetched(self, read)

    def defer(self, statement: Executable, params: Params | Sequence[Params],
              check: Check | None = None,
              duplicate: Callable[[], Exception] | None = None) -> None:
        """Run ``statement`` (once per row of ``params``) before the next read or commit.

        ``check``: called with the row count (one row of params only). ``duplicate``:
        the error to raise when the batch breaks a unique key of this statement's table
        -- in one round trip a failed ``check`` earlier in the batch may show up only
        as the duplicate it let through.
        """
        rows = [params] if isinstance(params, Mapping) else list(params)
        if check is not None and len(rows) != 1:
            raise ValueError("a checked write is one statement")
        if rows:
            self._pending.append(_Write(statement, rows, check, duplicate))

    def flush(self) -> None:
        """Send the queue now (a read or the commit is next)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        try:
            if self._together and (len(pending) > 1 or len(pending[0].rows) > 1):
                self._send_together(pending)
            else:
                self._send_one_by_one(pending)
        except IntegrityError as err:
            table = _duplicate_in(err)
            for item in pending:
                if (isinstance(item, _Write) and item.duplicate is not None
                        and table == _table_of(item.statement)):
                    raise item.duplicate() from err
            raise

    def _send_one_by_one(self, pending: list[_Write | _Read]) -> None:
        for item in pending:
            if isinstance(item, _Read):
                result = self.conn.execute(item.statement, item.params)
                item.fetched = (Fetched(tuple(result.keys()), [tuple(r) for r in result],
                                        result.rowcount) if result.returns_rows
                                else Fetched((), [], result.rowcount))
                continue
            result = self.conn.execute(item.statement, list(item.rows)
                                       if len(item.rows) > 1 else item.rows[0])
            result.close()  # a deferred lock's rows are not read
            if item.check is not None:
                item.check(result.rowcount)

    def _send_together(self, pending: list[_Write | _Read]) -> None:
        """One multi-statement query; each statement's rows or row count read in order."""
        import psycopg  # the PostgreSQL driver; SQLite never gets here

        driver = cast(psycopg.Connection[Any], self.conn.connection.driver_connection)
        cursor = psycopg.ClientCursor(driver)
        sql = ";\n".join(cursor.mogrify(*_bound(self.dialect, item.statement, row))
                         for item in pending for row in item.rows)
        try:
            cursor.execute(sql)
        except psycopg.Error as err:
            lost = driver.broken or driver.closed
            if lost:
                self.conn.invalidate(err)
            raise DBAPIError.instance(sql, None, err, psycopg.Error, dialect=self.dialect,
                                      connection_invalidated=lost) from err
        with cursor:
            for item in pending:
                if isinstance(item, _Read):
                    item.fetched = _fetched(cursor)
                    cursor.nextset()
                    continue
                for _ in item.rows:
                    if item.check is not None:
                        item.check(cursor.rowcount)
                    cursor.nextset()


def _fetched(cursor: Any) -> Fetched:
    """The current result of a multi-statement query: names straight from libpq's result
    (``cursor.description`` would build a Column object per column per statement)."""
    result = cursor.pgresult
    if result is None or not result.nfields:
        return Fetched((), [], cursor.rowcount)
    keys = tuple(result.fname(i).decode() for i in range(result.nfields))
    return Fetched(keys, cursor.fetchall(), cursor.rowcount)


def _duplicate_in(err: IntegrityError) -> str | None:
    """The table whose unique key ``err`` reports broken (None: another violation)."""
    orig: Any = err.orig
    if getattr(orig, "sqlstate", None) == "23505":  # PostgreSQL's unique_violation
        return str(orig.diag.table_name)
    message = str(orig)  # SQLite: "UNIQUE constraint failed: events.stream, events.seq"
    if message.startswith("UNIQUE constraint failed: "):
        return message.split(": ", 1)[1].split(".", 1)[0]
    return None


def _table_of(statement: Executable) -> str | None:
    table = getattr(statement, "table", None)
    return getattr(table, "name", None)


def _bound(dialect: Dialect, statement: Executable, row: Params) -> tuple[str, dict[str, Any]]:
    """The statement's SQL (``%(name)s`` placeholders) and its parameters, processed as
    SQLAlchemy would bind them (expanding ``IN`` lists included)."""
    compiled = _compiled(dialect, statement, tuple(row))
    if compiled.post_compile_params:
        state = compiled.construct_expanded_state(dict(row))
        sql, params, processors = state.statement, dict(state.parameters), state.processors
    else:
        sql, params = compiled.string, dict(compiled.construct_params(dict(row)))
        processors = compiled._bind_processors  # type: ignore[assignment]
    for name, process in processors.items():  # SQLAlchemy's type processing
        if name in params and params[name] is not None:
            params[name] = process(params[name])
    return sql, params


@lru_cache(maxsize=256)
def _compiled(dialect: Dialect, statement: Executable, keys: tuple[str, ...]) -> SQLCompiler:
    """Compiled once per statement object and column set: what is deferred, fetched or
    prefetched is a module constant (an ad-hoc statement would be compiled every time).
    (``for_executemany``: an INSERT without the RETURNING of its new id.)"""
    compiled = statement.compile(dialect=dialect, column_keys=list(keys),  # type: ignore[attr-defined]
                                 for_executemany=True)
    return cast(SQLCompiler, compiled)
