"""The unit of work's deferred writes (``adapters/batch.py``) on both databases.

They must behave as immediate statements would, only later: a read sees every write
before it, a failed row-count check or a broken unique key fails the transaction
with the same error as before, and nothing of it is left. A prefetched read runs in
its place in the queue. On PostgreSQL the queue and the read that sends it go in one
round trip.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError, MultipleResultsFound, NoResultFound

from tests.conftest import make_settings
from tests.support import in_transaction
from workflow.adapters.orm import organizations
from workflow.bootstrap import bootstrap
from workflow.domain.errors import Conflict
from workflow.service_layer.messagebus import MessageBus

NOW = datetime(2026, 3, 2, tzinfo=UTC)
_ADD = insert(organizations)
_NAMES = (
    select(organizations.c.name)
    .where(organizations.c.key.in_(bindparam("keys", expanding=True)))
    .order_by(organizations.c.key)
)
_RENAME_BETA = (
    update(organizations)
    .where(organizations.c.key == "beta")
    .values(name="Beta!")
    .returning(organizations.c.name)
)
_FUND = (
    update(organizations)
    .where(organizations.c.key.in_(bindparam("keys", expanding=True)))
    .values(funder=True)
)
_COUNT = select(func.count()).select_from(organizations)
_RENAME = update(organizations).where(organizations.c.key == "nowhere").values(name="Nowhere")


def _org(key: str) -> dict[str, Any]:
    return {"key": key, "name": key.title(), "funder": False, "created_at": NOW}


def _count(uow: Any) -> int:
    return int(uow.conn.scalar(_COUNT))


def _refuse(rowcount: int) -> None:
    if rowcount != 1:
        raise Conflict("no such organization")


def test_a_read_sees_the_writes_deferred_before_it(bus: MessageBus) -> None:
    def work(uow: Any) -> tuple[int, int]:
        before = _count(uow)
        uow.conn.defer(_ADD, [_org("alpha"), _org("beta")])
        uow.conn.defer(_ADD, _org("gamma"))
        return before, _count(uow)

    before, after = in_transaction(bus, work)
    assert after == before + 3
    assert bus.query(_count) == after


def test_a_failed_check_fails_the_transaction_and_leaves_nothing(bus: MessageBus) -> None:
    before = bus.query(_count)

    def work(uow: Any) -> None:
        uow.conn.defer(_ADD, _org("alpha"))
        uow.conn.defer(_RENAME, {}, check=_refuse)
        uow.commit()

    with pytest.raises(Conflict, match="no such organization"):
        in_transaction(bus, work)
    assert bus.query(_count) == before


def test_a_broken_unique_key_raises_the_writes_own_error(bus: MessageBus) -> None:
    before = bus.query(_count)

    def work(uow: Any) -> None:
        uow.conn.defer(
            _ADD, [_org("alpha"), _org("alpha")], duplicate=lambda: Conflict("alpha twice")
        )
        uow.commit()

    with pytest.raises(Conflict, match="alpha twice"):
        in_transaction(bus, work)
    assert bus.query(_count) == before


def test_a_unique_key_broken_by_a_write_without_its_own_error_raises_the_integrity_error(
    bus: MessageBus,
) -> None:
    """The statement that broke the key is the one that answers, not another write to
    the same table."""

    def work(uow: Any) -> None:
        uow.conn.defer(_ADD, _org("alpha"), duplicate=lambda: Conflict("alpha twice"))
        uow.conn.defer(_ADD, _org("alpha"))
        uow.commit()

    with pytest.raises(IntegrityError):
        in_transaction(bus, work)


def test_a_check_that_fails_before_a_broken_unique_key_is_raised_first(bus: MessageBus) -> None:
    """Outcomes are taken in order, as immediate statements would have failed."""

    def work(uow: Any) -> None:
        uow.conn.defer(_RENAME, {}, check=_refuse)
        uow.conn.defer(
            _ADD, [_org("alpha"), _org("alpha")], duplicate=lambda: Conflict("alpha twice")
        )
        uow.commit()

    with pytest.raises(Conflict, match="no such organization"):
        in_transaction(bus, work)


def test_a_checked_write_is_one_statement(bus: MessageBus) -> None:
    with pytest.raises(ValueError, match="one statement"):
        in_transaction(bus, lambda uow: uow.conn.defer(_ADD, [_org("a"), _org("b")], check=_refuse))


def test_a_write_with_its_own_duplicate_error_is_an_insert(bus: MessageBus) -> None:
    with pytest.raises(ValueError, match="plain INSERT"):
        in_transaction(
            bus, lambda uow: uow.conn.defer(_RENAME, {}, duplicate=lambda: Conflict("?"))
        )


def test_a_prefetched_read_runs_in_its_place_in_the_queue(bus: MessageBus) -> None:
    """Queued after a write and before another, it sees the one and not the other."""

    def work(uow: Any) -> tuple[list[str], list[str], int]:
        uow.conn.defer(_ADD, _org("alpha"))
        names = uow.conn.prefetch(_NAMES, {"keys": ["alpha", "beta"]})
        uow.conn.defer(_ADD, _org("beta"))
        renamed = uow.conn.fetch(_RENAME_BETA, {})
        return (
            [r.name for r in names.result()],
            list(renamed.scalars()),
            len(uow.conn.fetch(_NAMES, {"keys": ["alpha", "beta"]}).all()),
        )

    assert in_transaction(bus, work) == (["Alpha"], ["Beta!"], 2)


def test_a_write_sent_with_the_queue_reports_its_row_count(bus: MessageBus) -> None:
    def work(uow: Any) -> int:
        uow.conn.defer(_ADD, [_org("alpha"), _org("beta")])
        return int(uow.conn.fetch(_FUND, {"keys": ["alpha", "beta"]}).rowcount)

    assert in_transaction(bus, work) == 2


def test_a_fetched_read_gives_its_rows_the_ways_a_sqlalchemy_result_does(bus: MessageBus) -> None:
    """Named columns, ``first``, ``one``, ``scalar(s)``, ``all``; read as often as wanted."""

    def work(uow: Any) -> tuple[Any, ...]:
        uow.conn.defer(_ADD, [_org("alpha"), _org("beta")])
        names = uow.conn.fetch(_NAMES, {"keys": ["alpha", "beta"]})
        none = uow.conn.fetch(_NAMES, {"keys": ["nowhere"]})
        with pytest.raises(NoResultFound):
            none.one()
        with pytest.raises(MultipleResultsFound):
            names.one()
        return (
            names.first().name,
            names.first()[0],
            names.scalar(),
            list(names.scalars()),
            [tuple(r) for r in names],
            none.first(),
            none.scalar(),
            len(names.all()),
            uow.conn.fetch(_NAMES, {"keys": ["beta"]}).scalar_one(),
        )

    assert in_transaction(bus, work) == (
        "Alpha",
        "Alpha",
        "Alpha",
        ["Alpha", "Beta"],
        [("Alpha",), ("Beta",)],
        None,
        None,
        2,
        "Beta",
    )


def _record_queries(uow: Any, monkeypatch: pytest.MonkeyPatch, sent: list[str]) -> None:
    """From here on (BEGIN already sent), every query the driver gets goes to ``sent``."""
    uow.conn.execute(select(1))
    real = psycopg.Cursor.execute

    def counted(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return real(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counted)


@pytest.mark.postgres
def test_on_postgresql_the_queue_goes_with_the_read_in_one_round_trip(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver gets one query: the writes, a prefetched read and the read wanted now."""
    pg_bus = bootstrap(make_settings(postgres_url))
    sent: list[str] = []

    def work(uow: Any) -> tuple[int, list[str]]:
        _record_queries(uow, monkeypatch, sent)
        uow.conn.defer(_ADD, [_org("alpha"), _org("beta")])
        names = uow.conn.prefetch(_NAMES, {"keys": ["alpha", "beta"]})
        uow.conn.defer(_ADD, _org("gamma"))
        count = uow.conn.fetch(_COUNT, {}).scalar_one()
        return count, [r.name for r in names.result()]

    count, names = in_transaction(pg_bus, work)
    assert names == ["Alpha", "Beta"]
    assert len(sent) == 1 and sent[0].rstrip().endswith("FROM organizations"), sent
    assert pg_bus.query(_count) == count >= 3


@pytest.mark.postgres
def test_on_postgresql_plain_inserts_in_a_row_go_as_one_statement(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows of plain INSERTs queued one after another join one VALUES list (a statement
    less for the server to plan per row); a read queued between them starts another, and
    a write with its own duplicate error joins only its own rows."""
    pg_bus = bootstrap(make_settings(postgres_url))
    sent: list[str] = []

    def work(uow: Any) -> tuple[list[str], int]:
        _record_queries(uow, monkeypatch, sent)
        uow.conn.defer(_ADD, [_org("alpha"), _org("beta")])
        uow.conn.defer(_ADD, _org("gamma"))
        names = uow.conn.prefetch(_NAMES, {"keys": ["alpha", "beta", "gamma", "delta"]})
        uow.conn.defer(_ADD, _org("delta"))
        uow.conn.defer(_ADD, _org("epsilon"))
        uow.conn.defer(_ADD, [_org("zeta"), _org("eta")], duplicate=lambda: Conflict("twice"))
        count = uow.conn.fetch(_NAMES, {"keys": ["delta", "epsilon", "zeta", "eta"]})
        return [r.name for r in names.result()], len(count.all())

    names, later = in_transaction(pg_bus, work)
    assert names == ["Alpha", "Beta", "Gamma"] and later == 4
    assert len(sent) == 1, sent
    statements = sent[0].split(";\n")
    inserts = [s for s in statements if s.startswith("INSERT INTO organizations")]
    assert len(statements) == 5 and len(inserts) == 3, statements
    assert inserts[0].count("'alpha'") == inserts[0].count("'gamma'") == 1
    assert inserts[2].endswith(" ON CONFLICT DO NOTHING")
    assert "'zeta'" in inserts[2] and "'eta'" in inserts[2]
    assert pg_bus.query(_count) >= 7
