"""The unit of work's connection: writes that nobody reads back wait and go together.

Every statement costs a round trip, and on a 2-core machine with many workers the
round trips (and the driver's work for each) are what a transaction mostly spends
its CPU on. Writes whose result the caller needs only as a row count (an UPDATE that
must find its row, an INSERT) are handed to ``defer`` instead of ``execute``; they run
in the order given, before the next read on this connection or the commit -- so
every read still sees every write before it -- and on PostgreSQL all of them in one
round trip: each is bound on the client (psycopg's ``ClientCursor.mogrify``) and the
lot is sent as one multi-statement query. SQLite runs them one by one, in process.

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


class BatchingConnection:
    """A SQLAlchemy connection with ``defer``: see the module docstring."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect: Dialect = conn.dialect
        self._pending: list[_Write] = []

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
        """Run the deferred writes now (a read or the commit is next)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        try:
            if self.dialect.name == "postgresql" and (len(pending) > 1
                                                      or len(pending[0].rows) > 1):
                self._send_together(pending)
            else:
                self._send_one_by_one(pending)
        except IntegrityError as err:
            table = _duplicate_in(err)
            for write in pending:
                if write.duplicate is not None and table == _table_of(write.statement):
                    raise write.duplicate() from err
            raise

    def _send_one_by_one(self, pending: list[_Write]) -> None:
        for write in pending:
            result = self.conn.execute(write.statement, list(write.rows)
                                       if len(write.rows) > 1 else write.rows[0])
            if write.check is not None:
                write.check(result.rowcount)

    def _send_together(self, pending: list[_Write]) -> None:
        """One multi-statement query; each statement's row count read back in order."""
        import psycopg  # the PostgreSQL driver; SQLite never gets here

        driver = cast(psycopg.Connection[Any], self.conn.connection.driver_connection)
        cursor = psycopg.ClientCursor(driver)
        sql = ";\n".join(cursor.mogrify(*_bound(self.dialect, w.statement, row))
                         for w in pending for row in w.rows)
        try:
            cursor.execute(sql)
        except psycopg.Error as err:
            lost = driver.broken or driver.closed
            if lost:
                self.conn.invalidate(err)
            raise DBAPIError.instance(sql, None, err, psycopg.Error, dialect=self.dialect,
                                      connection_invalidated=lost) from err
        with cursor:
            for write in pending:
                for _ in write.rows:
                    if write.check is not None:
                        write.check(cursor.rowcount)
                    cursor.nextset()


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
    SQLAlchemy would bind them."""
    compiled = _compiled(dialect, statement, tuple(row))
    params = dict(compiled.construct_params(dict(row)))
    for name, process in compiled._bind_processors.items():  # SQLAlchemy's type processing
        if name in params and params[name] is not None:
            params[name] = process(params[name])  # type: ignore[operator]
    return compiled.string, params


@lru_cache(maxsize=256)
def _compiled(dialect: Dialect, statement: Executable, keys: tuple[str, ...]) -> SQLCompiler:
    """Compiled once per statement and column set: hot statements are module constants.
    (``for_executemany``: an INSERT without the RETURNING of its new id.)"""
    compiled = statement.compile(dialect=dialect, column_keys=list(keys),  # type: ignore[attr-defined]
                                 for_executemany=True)
    return cast(SQLCompiler, compiled)
