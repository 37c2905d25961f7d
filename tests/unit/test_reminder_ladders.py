"""A task's reminder rungs as two ladders, only the next rung of each a row (issue 17):
what a task starts with, what follows a rung sent, and what a late sweep sends at once.
November 2026 has no holiday: a task due Monday 16 November."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from workflow.domain.calendar import SEOUL
from workflow.domain.reminders import (
    ESCALATE,
    ReminderLadder,
    climb,
    first_rungs,
    rungs_for,
    send_moment,
)

LADDER = ReminderLadder(before_due_days=1, on_due=True, overdue_every_days=2, escalate_after_days=5)
OPENED = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # 09:00 Seoul, Monday
DUE = datetime(2026, 11, 16, 14, 59, tzinfo=UTC)  # the end of Monday 16 November, Seoul


def seoul(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=SEOUL).astimezone(UTC)


def test_a_task_starts_with_its_first_reminder_and_its_escalation() -> None:
    assert first_rungs(LADDER, DUE, OPENED) == {
        "before": send_moment(date(2026, 11, 13)),  # Friday, a business day before
        ESCALATE: send_moment(date(2026, 11, 23)),
    }
    opened_late = seoul(13, 10)  # the day before would be today: nothing before
    assert list(first_rungs(LADDER, DUE, opened_late)) == ["due", ESCALATE]
    assert first_rungs(ReminderLadder(escalate_after_days=3), DUE, OPENED) == {
        ESCALATE: send_moment(date(2026, 11, 19))
    }


def test_each_reminder_sent_on_its_day_writes_the_next() -> None:
    assert climb(LADDER, "before", DUE, seoul(13)) == ([], ("due", send_moment(date(2026, 11, 16))))
    assert climb(LADDER, "due", DUE, seoul(16)) == (
        [],
        ("overdue:2", send_moment(date(2026, 11, 18))),
    )
    assert climb(LADDER, "overdue:2", DUE, seoul(18)) == (
        [],
        ("overdue:4", send_moment(date(2026, 11, 20))),
    )
    assert climb(LADDER, ESCALATE, DUE, seoul(23)) == ([], None)
    assert climb(ReminderLadder(before_due_days=2), "before", DUE, seoul(12)) == ([], None)


def test_a_late_sweep_sends_the_missed_rungs_with_the_first_and_waits_for_the_next_ahead() -> None:
    passed, following = climb(LADDER, "before", DUE, seoul(25))  # 7 business days late
    assert passed == [
        ("due", send_moment(date(2026, 11, 16))),
        ("overdue:2", send_moment(date(2026, 11, 18))),
    ]
    assert following == ("overdue:8", send_moment(date(2026, 11, 26)))


@given(
    ladder=st.builds(
        ReminderLadder,
        st.integers(0, 5),
        st.booleans(),
        st.integers(0, 5),
        st.integers(0, 10),
    ),
    opened=st.integers(2, 13),
    first_sweep=st.integers(0, 20),
)
def test_sweeps_send_each_rung_once_and_every_rung_a_row_per_rung_would_have(
    ladder: ReminderLadder, opened: int, first_sweep: int
) -> None:
    """Daily sweeps from a first one (late, perhaps) to the end of the month: one row
    waits at a time, no rung is sent twice, and the rungs a row per rung wrote up front
    (the escalation apart) are all sent, first, in their order."""
    opened_at = seoul(opened, 10)
    waiting = {r: at for r, at in first_rungs(ladder, DUE, opened_at).items() if r != ESCALATE}
    sent: list[str] = []
    for day in range(min(opened + 1 + first_sweep, 30), 31):
        now = seoul(day)
        assert len(waiting) <= 1
        for rung, at in list(waiting.items()):
            if at > now:
                continue
            del waiting[rung]
            passed, following = climb(ladder, rung, DUE, now)
            sent += [rung, *(r for r, _ in passed)]
            if following is not None:
                assert following[1] > now
                waiting[following[0]] = following[1]
    assert len(sent) == len(set(sent))
    upfront = [r for r, at in rungs_for(ladder, DUE, opened_at).items() if r != ESCALATE]
    assert sent[: len(upfront)] == upfront[: len(sent)]
    if len(sent) < len(upfront):  # the month ended first: the next of them waits
        assert list(waiting) == [upfront[len(sent)]]
