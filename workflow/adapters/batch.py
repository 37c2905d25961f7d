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

Statements run in the order given, so every read sees every write queued before it,
and their outcomes are taken in that order too: a deferred write's ``check`` gets its
row count (raising there -- a version that moved, an envelope that filled up -- fails
the transaction as the immediate statement would have, only later: before COMMIT,
never after), and so does its ``duplicate``, the error for a unique key it breaks.

On PostgreSQL the queue and the read that sends it go in one round trip: each
statement is bound on the client (psycopg's ``ClientCursor.mogrify``), the lot is sent
as one multi-statement query, and each statement's rows or row count are read back in
turn (at READ COMMITTED each statement still takes its own snapshot, so a read after a
lock sees what the lock waited for). A server error fails that query without saying
which statement raised it, so a write with a ``duplicate`` goes as ``INSERT ... ON
CONFLICT DO NOTHING`` and its row count says whether it broke the key. (psycopg's
pipeline mode names the failing statement, but it writes to the socket and polls once
per statement: on a CPU-bound machine, dearer than binding on the client.) SQLite runs
them one by one, in process: the same calls, another transport, and the error of the
statement that failed.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Dialect,
    Executable,
    Insert,
    Table,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, MultipleResultsFound, NoResultFound
from sqlalchemy.sql.compiler import SQLCompiler

if TYPE_CHECKING:
    import psycopg

Params = Mapping[str, Any]
AnyResult = CursorResult[*tuple[Any, ...]]  # rows of any columns
Check = Callable[[int], None]
BoundParams = MutableMapping[str, Any]
Processors = Mapping[str, Callable[[Any], Any]]
# A UNIQUE or PRIMARY KEY constraint broken: PostgreSQL's SQLSTATE, SQLite's error names.
_UNIQUE_VIOLATION = "23505"
_SQLITE_DUPLICATE = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})
_SKIP = " ON CONFLICT DO NOTHING"  # how a write with its own duplicate error is sent


@dataclass(frozen=True)
class _Write:
    statement: Executable
    rows: Sequence[Params]  # one statement per row
    check: Check | None  # of the row count; only for a one-row write
    duplicate: Callable[[], Exception] | None  # raised instead of a unique violation


class Rows:
    """What a statement sent in a batch gave back: the parts of SQLAlchemy's ``Result``
    that callers use (rows as named tuples of the columns) and its ``rowcount``."""

    def __init__(self, keys: tuple[str, ...], rows: Sequence[Sequence[Any]], rowcount: int) -> None:
        make = _record(keys)
        self._rows: list[Any] = [make(row) for row in rows]
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return list(self._rows)

    def first(self) -> Any | None:
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        if len(self._rows) != 1:
            raise (MultipleResultsFound if self._rows else NoResultFound)(
                f"expected one row, got {len(self._rows)}"
            )
        return self._rows[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalars(self) -> list[Any]:
        return [row[0] for row in self._rows]


@lru_cache(maxsize=256)
def _record(keys: tuple[str, ...]) -> Callable[[Sequence[Any]], Any]:
    """A row maker: a named tuple of these columns (as a SQLAlchemy ``Row`` reads)."""
    record: Any = namedtuple("Record", keys, rename=True)  # type: ignore[misc]
    return cast(Callable[[Sequence[Any]], Any], record._make)


@dataclass(eq=False)
class _Read:
    statement: Executable
    params: Params
    fetched: Rows | None = None

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
        return self._read.fetched


class BatchingConnection:
    """A SQLAlchemy connection with ``defer``, ``fetch`` and ``prefetch``: see the module
    docstring."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect: Dialect = conn.dialect
        self._together = self.dialect.name == "postgresql"
        # SQLite's writers hold the whole file from BEGIN IMMEDIATE: a row lock there is a
        # statement that locks nothing, so callers may leave it out.
        self.row_locks = self.dialect.name != "sqlite"
        self._pending: list[_Write | _Read] = []

    def execute(self, statement: Executable, params: Any = None) -> AnyResult:
        self.flush()
        return self.conn.execute(statement, params)

    def scalars(self, statement: Executable, params: Any = None) -> Any:
        self.flush()
        return self.conn.scalars(statement, params)

    def scalar(self, statement: Executable, params: Any = None) -> Any:
        self.flush()
        return self.conn.scalar(statement, params)

    def exec_driver_sql(self, sql: str, params: Any = None) -> AnyResult:
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

    def defer(
        self,
        statement: Executable,
        params: Params | Sequence[Params],
        check: Check | None = None,
        duplicate: Callable[[], Exception] | None = None,
    ) -> None:
        """Run ``statement`` (once per row of ``params``) before the next read or commit.

        ``check``: called with the row count (one row of params only). ``duplicate``:
        the error to raise when this INSERT breaks a unique key.
        """
        rows = [params] if isinstance(params, Mapping) else list(params)
        if check is not None and len(rows) != 1:
            raise ValueError("a checked write is one statement")
        if duplicate is not None and not isinstance(statement, Insert):
            raise ValueError("a write with its own duplicate error is a plain INSERT")
        if rows:
            self._pending.append(_Write(statement, rows, check, duplicate))

    def insert_or_skip(
        self,
        table: Table,
        keys: Sequence[str] | None = None,
        returning: tuple[ColumnElement[Any], ...] = (),
    ) -> Insert:
        """An INSERT that leaves a row already holding its unique ``keys`` (default: any
        unique key) as it is: ``ON CONFLICT DO NOTHING`` on both backends. Racing first
        writers then both succeed, and read the one row that was stored.

        Built once per table, keys and ``returning``: execute it with the row as
        parameters (no ``.values()``), and SQLAlchemy's compiled form is reused."""
        return _insert_or_skip(self.dialect.name, table, tuple(keys or ()), returning)

    def flush(self) -> None:
        """Send the queue now (a read or the commit is next)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        if self._together and (len(pending) > 1 or len(pending[0].rows) > 1):
            self._send_together(pending)
        else:
            self._send_one_by_one(pending)

    def _send_one_by_one(self, pending: list[_Write | _Read]) -> None:
        for item in pending:
            try:
                result = self.conn.execute(
                    item.statement, list(item.rows) if len(item.rows) > 1 else item.rows[0]
                )
            except IntegrityError as err:
                _raise_duplicate(item, err)
                raise
            if isinstance(item, _Read):
                item.fetched = (
                    Rows(tuple(result.keys()), result.all(), result.rowcount)
                    if result.returns_rows
                    else Rows((), [], result.rowcount)
                )
                continue
            result.close()  # a deferred lock's rows are not read
            if item.check is not None:
                item.check(result.rowcount)

    def _send_together(self, pending: list[_Write | _Read]) -> None:
        """One multi-statement query; each statement's rows or row count read in order."""
        import psycopg  # the PostgreSQL driver; SQLite never gets here

        driver = cast(psycopg.Connection[Any], self.conn.connection.driver_connection)
        cursor = psycopg.ClientCursor(driver)
        statements = _statements(self.dialect, cursor, pending)
        sql = ";\n".join(statement.sql for statement in statements)
        try:
            cursor.execute(sql)
        except psycopg.Error as err:
            lost = driver.broken or driver.closed
            if lost:
                self.conn.invalidate(err)
            raise DBAPIError.instance(
                sql, None, err, psycopg.Error, dialect=self.dialect, connection_invalidated=lost
            ) from err
        with cursor:
            for statement in statements:
                _take(statement, cursor)
                cursor.nextset()


@dataclass
class _Statement:
    """A statement of the multi-statement query: the item it is for, and its rows."""

    item: _Write | _Read
    sql: str
    rows: int = 1


def _statements(
    dialect: Dialect, cursor: psycopg.ClientCursor[Any], pending: list[_Write | _Read]
) -> list[_Statement]:
    """The queue as SQL, a statement per row -- but the rows of INSERTs queued one after
    another join one VALUES list: plain INSERTs (whose row count nobody reads) across
    writes, a write's own rows when it has a ``duplicate`` (its row count must then be
    its rows'). PostgreSQL parses and plans every statement: a hold's reads and writes,
    replayed, took 5.95 ms of server time as 20 statements and take 5.24 ms as 14."""
    statements: list[_Statement] = []
    joins: _JoinKey | None = None  # what the last statement may take more rows of
    for item in pending:
        for row in item.rows:
            sql = cursor.mogrify(*_bound(dialect, item, row))
            key = _join_key(dialect, item, tuple(row))
            if key is not None and key == joins:
                last, (head, own) = statements[-1], key
                kept = len(last.sql) - (len(_SKIP) if own else 0)  # before ON CONFLICT
                last.sql = last.sql[:kept] + ", " + sql[len(head) :]
                last.rows += 1
                continue
            statements.append(_Statement(item, sql))
            joins = key
    return statements


_JoinKey = tuple[str, "_Write | None"]  # an INSERT's head; the write, if it joins only itself


def _join_key(dialect: Dialect, item: _Write | _Read, keys: tuple[str, ...]) -> _JoinKey | None:
    """What a row joins the INSERT before it by; None if it goes alone."""
    if not isinstance(item, _Write) or item.check is not None:
        return None
    head = _insert_head(dialect, item.statement, keys)
    return None if head is None else (head, item if item.duplicate else None)


@lru_cache(maxsize=256)
def _insert_head(dialect: Dialect, statement: Executable, keys: tuple[str, ...]) -> str | None:
    """The SQL before a plain INSERT's one row of VALUES (no RETURNING, no ON CONFLICT of
    its own, no SELECT); None for any other statement."""
    if not isinstance(statement, Insert):
        return None
    compiled = _compiled(dialect, statement, keys, False).compiled
    sql = compiled.string
    at = sql.find(" VALUES (")
    if compiled.effective_returning or at < 0 or " ON CONFLICT " in sql or not sql.endswith(")"):
        return None
    return sql[: at + len(" VALUES ")]


def _take(statement: _Statement, cursor: psycopg.ClientCursor[Any]) -> None:
    """One statement's outcome: a read's rows; a write's row count, for its duplicate
    (sent as ``ON CONFLICT DO NOTHING``: a row short, a broken key) and its check."""
    item = statement.item
    if isinstance(item, _Read):
        item.fetched = _fetched(cursor)
        return
    if item.duplicate is not None and cursor.rowcount < statement.rows:
        raise item.duplicate()
    if item.check is not None:
        item.check(cursor.rowcount)


def _fetched(cursor: psycopg.ClientCursor[Any]) -> Rows:
    """A statement's result: names straight from libpq's result (``cursor.description``
    would build a Column object per column per statement)."""
    result = cursor.pgresult
    if result is None or not result.nfields:
        return Rows((), [], cursor.rowcount)
    keys = tuple((result.fname(i) or b"").decode() for i in range(result.nfields))
    return Rows(keys, cursor.fetchall(), cursor.rowcount)


def _raise_duplicate(item: _Write | _Read, err: IntegrityError) -> None:
    """Raise the write's own error if ``err`` is a unique key its statement broke."""
    if not isinstance(item, _Write) or item.duplicate is None:
        return
    orig = err.orig
    if (
        getattr(orig, "sqlstate", None) == _UNIQUE_VIOLATION
        or getattr(orig, "sqlite_errorname", None) in _SQLITE_DUPLICATE
    ):
        raise item.duplicate() from err


@lru_cache(maxsize=64)
def _insert_or_skip(
    dialect_name: str,
    table: Table,
    keys: tuple[str, ...],
    returning: tuple[ColumnElement[Any], ...],
) -> Insert:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement: Insert = dialect.insert(table).on_conflict_do_nothing(
        index_elements=list(keys) if keys else None
    )
    return statement.returning(*returning) if returning else statement


@dataclass(frozen=True)
class _Compiled:
    compiled: SQLCompiler
    sql: str | None  # None: rendered per row (``IN`` lists expanded)
    processors: Processors  # SQLAlchemy's type processing, by parameter name


def _bound(dialect: Dialect, item: _Write | _Read, row: Params) -> tuple[str, BoundParams]:
    """The statement's SQL (``%(name)s`` placeholders) and its parameters, processed as
    SQLAlchemy would bind them (expanding ``IN`` lists included)."""
    skips = isinstance(item, _Write) and item.duplicate is not None
    plan = _compiled(dialect, item.statement, tuple(row), skips)
    if plan.sql is not None:
        sql, params, processors = plan.sql, plan.compiled.construct_params(row), plan.processors
    else:
        state = plan.compiled.construct_expanded_state(row)
        sql, params = state.statement, dict(state.parameters)
        processors = {**plan.processors, **state.processors}  # the expanded ones
    for name, process in processors.items():
        if name in params:
            params[name] = process(params[name])
    return sql, params


@lru_cache(maxsize=256)
def _compiled(
    dialect: Dialect, statement: Executable, keys: tuple[str, ...], skips_duplicates: bool
) -> _Compiled:
    """Compiled once per statement object and column set: what is deferred, fetched or
    prefetched is a module constant (an ad-hoc statement would be compiled every time).
    (``for_executemany``: an INSERT without the RETURNING of its new id.)"""
    compiled = cast(
        SQLCompiler,
        statement.compile(  # type: ignore[attr-defined]
            dialect=dialect, column_keys=list(keys), for_executemany=True
        ),
    )
    escaped = compiled.escaped_bind_names  # names as the SQL and the parameters have them
    processors = {
        escaped.get(name, name): process
        for param, name in compiled.bind_names.items()
        if (process := param.type.dialect_impl(dialect).bind_processor(dialect))
    }
    sql = None if compiled.post_compile_params else compiled.string
    if skips_duplicates:
        sql = _skipping_duplicates(compiled, sql)
    return _Compiled(compiled, sql, processors)


def _skipping_duplicates(compiled: SQLCompiler, sql: str | None) -> str:
    """``sql`` with a broken unique key turned into a row not inserted."""
    if sql is None or not compiled.isinsert or compiled.effective_returning:
        raise ValueError("a write with its own duplicate error is a plain INSERT")
    return sql + _SKIP
