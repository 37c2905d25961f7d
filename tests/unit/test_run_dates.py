"""A run's dates are Seoul calendar days: it starts at 00:00 Seoul of its start date and
is active through its end date, ending at 00:00 Seoul of the next day."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tests.unit.test_money_lifecycle import MACHINE, approved, seoul_midnight
from workflow.domain.calendar import SEOUL

START, END = date(2026, 3, 2), date(2026, 11, 30)


def test_the_run_starts_at_seoul_midnight_of_its_start_date() -> None:
    program = approved(start=START, end=END)

    program.commit(MACHINE, "city", "budget@paju.go.kr")
    program.commit(MACHINE, "education_office", "budget@goepj.kr")

    assert program.state == "funded"
    assert [(w.action, w.due_at) for w in program.scheduled] == [
        ("activate", datetime(2026, 3, 1, 15, 0, tzinfo=UTC))
    ]


def test_the_run_is_active_through_its_end_date_and_ends_at_the_next_seoul_midnight() -> None:
    program = approved(start=START, end=END)

    ends = program.run_ends_at

    assert ends == seoul_midnight(date(2026, 12, 1))
    assert datetime(2026, 11, 30, 23, 59, tzinfo=SEOUL) < ends  # 23:59 on the end date
    assert datetime(2026, 12, 1, 0, 0, tzinfo=SEOUL) == ends  # 00:00 the next day


def test_a_run_without_dates_spans_the_fiscal_year_through_december_31() -> None:
    program = approved()

    assert program.run_starts_at == seoul_midnight(date(2026, 1, 1))
    assert program.run_ends_at == seoul_midnight(date(2027, 1, 1))
