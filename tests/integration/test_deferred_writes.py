"""The unit of work's deferred writes (``adapters/batch.py``) on both databases.

They must behave as immediate statements would, only later: a read sees every write
before it, a failed row-count check or a broken unique key fails the transaction
with the same error as before, and nothing of it is left. On PostgreSQL the writes
before a read go in one round trip.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select, update

from tests.conftest import make_settings
from workflow.adapters.orm import organizations
from workflow.bootstrap import bootstrap
from workflow.domain.errors import Conflict
from workflow.service_layer.messagebus import MessageBus

NOW = datetime(2026, 3, 2, tzinfo=UTC)
_ADD = insert(organizations)
_RENAME = (update(organizations).where(organizations.c.key == "nowhere")
           .values(name="Nowhere"))


def _org(key: str) -> dict[str, Any]:
    return {"key": key, "name": key.title(), "funder": False, "created_at": NOW}


def _count(uow: Any) -> int:
    return int(uow.conn.scalar(select(func.count()).select_from(organizations)))


def _refuse(rowcount: int) -> None:
    if rowcount != 1:
        raise Conflict("no such organization")


def test_a_read_sees_the_writes_deferred_before_it(bus: MessageBus) -> None:
    def work(uow: Any) -> tuple[int, int]:
        before = _count(uow)
        uow.conn.defer(_ADD, [_org("alpha"), _org("beta")])
        uow.conn.defer(_ADD, _org("gamma"))
        return before, _count(uow)

    before, after = bus.query(work)
    assert after == before + 3
    assert bus.query(_count) == after


def test_a_failed_check_fails_the_transaction_and_leaves_nothing(bus: MessageBus) -> None:
    before = bus.query(_count)

    def work(uow: Any) -> None:
        uow.conn.defer(_ADD, _org("alpha"))
        uow.conn.defer(_RENAME, {}, check=_refuse)
        uow.commit()

    with pytest.raises(Conflict, match="no such organization"):
        bus.query(work)
    assert bus.query(_count) == before


def test_a_broken_unique_key_raises_the_writes_own_error(bus: MessageBus) -> None:
    before = bus.query(_count)

    def work(uow: Any) -> None:
        uow.conn.defer(_ADD, [_org("alpha"), _org("alpha")],
                       duplicate=lambda: Conflict("alpha twice"))
        uow.commit()

    with pytest.raises(Conflict, match="alpha twice"):
        bus.query(work)
    assert bus.query(_count) == before


def test_a_checked_write_is_one_statement(bus: MessageBus) -> None:
    with pytest.raises(ValueError, match="one statement"):
        bus.query(lambda uow: uow.conn.defer(_ADD, [_org("a"), _org("b")], check=_refuse))


@pytest.mark.postgres
def test_on_postgresql_the_writes_before_a_read_go_in_one_round_trip(
        postgres_url: str) -> None:
    """SQLAlchemy sees only the read: the batch goes to the driver in one query."""
    pg_bus = bootstrap(make_settings(postgres_url))
    sent: list[str] = []

    def work(uow: Any) -> int:
        event.listen(uow.raw, "before_cursor_execute",
                     lambda *args: sent.append(args[2]))
        uow.conn.defer(_ADD, [_org("alpha"), _org("beta")])
        uow.conn.defer(_ADD, _org("gamma"))
        return _count(uow)

    pg_bus.query(work)
    assert len(sent) == 1 and sent[0].startswith("SELECT count"), sent
    assert pg_bus.query(_count) >= 3
