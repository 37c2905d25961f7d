"""The inbox a page at a time (issue 4), through the real bus, both backends.

The city approver's inbox holds her queue's review tasks (several due at the same
moment: programs that entered review on one day), the city budget officer's commit
tasks while his delegation to her runs (대결), and a task she claimed for him, which
stays hers after he is back. Pages of any size, each after the last task of the one
before, give exactly the whole inbox in (due, task) order, without gaps or repeats,
and say whether more follow; a page goes on from its task even once that task is done.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from tests import support as s
from tests.conftest import make_settings
from workflow.adapters import queues
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain.calendar import SEOUL
from workflow.domain.errors import InvalidInput, NotFound
from workflow.service_layer.messagebus import MessageBus

APPROVER, OFFICER = s.CITY_APPROVER, s.CITY_OFFICER
# Submissions per day: programs that enter review on one day are due at the same moment.
DAYS = {(2026, 9, 14): 2, (2026, 9, 15): 3, (2026, 9, 16): 1, (2026, 9, 17): 2}


def seoul(*args: int) -> datetime:
    return datetime(*args, tzinfo=SEOUL).astimezone(UTC)  # type: ignore[misc]


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(seoul(2026, 9, 14, 10, 0))


@pytest.fixture
def city(database_url: str, clock: Clock) -> MessageBus:
    """Eight programs in review, two approved (commit tasks for the city's budget
    officer), the officer away from 17 September, his delegate the approver."""
    bus = bootstrap(make_settings(database_url), clock=clock)
    s.seed(bus)
    for (year, month, day), count in DAYS.items():
        clock.at = seoul(year, month, day, 10, 0)
        for _ in range(count):
            s.submitted(bus)
    for _ in range(2):
        approved = s.submitted(bus)
        s.decide(bus, approved, s.OE_APPROVER)
        s.decide(bus, approved, APPROVER)
    bus.handle(
        c.SetDelegation(
            actor=OFFICER, to=APPROVER, starts_on=date(2026, 9, 17), ends_on=date(2026, 9, 30)
        )
    )
    return bus


def page(
    bus: MessageBus, email: str, limit: int = queues.DEFAULT_LIMIT, after: int | None = None
) -> queues.InboxPage:
    found: queues.InboxPage = bus.query(
        lambda uow: queues.inbox_page(uow, uow.directory.user(email), limit, after)
    )
    return found


def walk(bus: MessageBus, email: str, limit: int) -> list[queues.InboxPage]:
    """Every page of the inbox, each after the last task of the one before."""
    pages = [page(bus, email, limit)]
    while pages[-1].more:
        pages.append(page(bus, email, limit, pages[-1].rows[-1]["task"]))
    return pages


def live_task_ids(bus: MessageBus, queues_: set[str], claimed_by: str) -> set[int]:
    """What the inbox must show, read straight from the tasks table."""

    def read(uow: Any) -> set[int]:
        rows = uow.conn.exec_driver_sql(
            "SELECT id, queue_org, queue_role, claimed_by FROM tasks "
            "WHERE state IN ('open', 'claimed')"
        ).all()
        return {
            r.id
            for r in rows
            if f"{r.queue_org}/{r.queue_role}" in queues_ or r.claimed_by == claimed_by
        }

    found: set[int] = bus.query(read)
    return found


def order_key(row: dict[str, Any]) -> tuple[datetime, int]:
    return datetime.fromisoformat(row["due"]), row["task"]


@pytest.mark.parametrize("limit", [1, 3, 4, 9, 10, 11])
def test_pages_give_the_whole_inbox_in_due_order_without_gaps_or_repeats(
    city: MessageBus, limit: int
) -> None:
    whole = queues.MAX_LIMIT
    everything = page(city, APPROVER, whole)
    assert not everything.more
    rows = everything.rows
    assert {r["task"] for r in rows} == live_task_ids(
        city, {"city/approver", "city/budget_officer"}, APPROVER
    )
    assert len(rows) == 10 and rows == sorted(rows, key=order_key)
    assert [r["queue"] for r in rows].count("city/budget_officer") == 2
    assert {r["acting_for"] for r in rows if r["queue"] == "city/budget_officer"} == {OFFICER}
    # Ties: the two programs that entered review on 14 September are due together.
    assert rows[0]["due"] == rows[1]["due"] and rows[0]["task"] < rows[1]["task"]

    pages = walk(city, APPROVER, limit)
    assert [row for p in pages for row in p.rows] == rows
    assert all(len(p.rows) == limit for p in pages[:-1]) and 1 <= len(pages[-1].rows) <= limit
    assert [p.more for p in pages] == [True] * (len(pages) - 1) + [False]
    assert len(pages) == -(-len(rows) // limit)


def test_the_first_page_is_the_default_fifty_and_the_whole_list_for_older_callers(
    city: MessageBus,
) -> None:
    first = page(city, APPROVER)
    assert queues.DEFAULT_LIMIT == 50 and len(first.rows) == 10 and not first.more
    listed: list[dict[str, Any]] = city.query(
        lambda uow: queues.inbox(uow, uow.directory.user(APPROVER), limit=4)
    )
    assert listed == first.rows[:4]


def test_a_task_claimed_for_a_delegator_stays_in_the_inbox_after_the_delegation_ends(
    city: MessageBus, clock: Clock
) -> None:
    clock.at = seoul(2026, 9, 18, 10, 0)
    commit_tasks = [
        r["task"] for r in page(city, APPROVER).rows if r["queue"] == "city/budget_officer"
    ]
    city.handle(c.ClaimTask(actor=APPROVER, task_id=commit_tasks[1]))
    city.handle(c.ClearDelegation(actor=OFFICER))

    rows = [row for p in walk(city, APPROVER, 2) for row in p.rows]
    assert [r["task"] for r in rows if r["queue"] == "city/budget_officer"] == [commit_tasks[1]]
    claimed = next(r for r in rows if r["task"] == commit_tasks[1])
    assert (claimed["claimed_by"], claimed["acting_for"]) == (APPROVER, None)
    assert {r["task"] for r in rows} == live_task_ids(city, {"city/approver"}, APPROVER)
    assert len(rows) == 9 and rows == sorted(rows, key=order_key)
    # The budget officer sees his queue again, the claimed task with who holds it.
    assert [(r["task"], r["claimed_by"]) for r in page(city, OFFICER).rows] == [
        (commit_tasks[0], None),
        (commit_tasks[1], APPROVER),
    ]


def test_a_claim_in_her_own_queue_is_listed_once(city: MessageBus) -> None:
    first = page(city, APPROVER).rows
    city.handle(c.ClaimTask(actor=APPROVER, task_id=first[2]["task"]))
    for limit in (3, 4, 50):
        rows = [row for p in walk(city, APPROVER, limit) for row in p.rows]
        assert [r["task"] for r in rows] == [r["task"] for r in first]
        assert [r["claimed_by"] for r in rows].count(APPROVER) == 1


def test_the_next_page_goes_on_from_a_task_done_in_the_meantime(city: MessageBus) -> None:
    first = page(city, APPROVER, 3)
    rest = page(city, APPROVER, 50, first.rows[-1]["task"]).rows
    s.decide(city, first.rows[-1]["program"], APPROVER)  # its task is completed
    assert page(city, APPROVER, 50, first.rows[-1]["task"]).rows == rest
    assert [r["task"] for r in page(city, APPROVER).rows] == [
        r["task"] for r in first.rows[:2] + rest
    ]


def test_the_page_size_is_checked_and_the_task_to_page_after_must_exist(city: MessageBus) -> None:
    for limit in (0, -1, queues.MAX_LIMIT + 1):
        with pytest.raises(InvalidInput) as caught:
            page(city, APPROVER, limit)
        assert caught.value.message == (
            f"the inbox shows 1 to {queues.MAX_LIMIT} tasks at a time, not {limit}"
        )
    with pytest.raises(NotFound, match="task 999999 does not exist"):
        page(city, APPROVER, 5, 999999)
    assert page(city, s.OTHER_COORDINATOR, 1) == queues.InboxPage([], more=False)
