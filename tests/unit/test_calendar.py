"""The business-day calendar behind SLAs: Seoul days, weekends and Korean public holidays.

Pure domain, no database. The fixed cases are written from the official Korean calendar
(not read back from the ``holidays`` package), so they would catch a package regression;
the properties compare against the package's KR calendar as an independent oracle.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.domain.calendar import (
    SEOUL,
    add_business_days,
    business_days_between,
    end_of_day,
    is_business_day,
    seoul_date,
    shift_business_days,
)

KR = holidays.country_holidays("KR")


def seoul(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SEOUL)


def due_day(created: datetime, days: int) -> date:
    """The Seoul day an SLA falls due on (the due moment is the end of that day)."""
    return seoul_date(add_business_days(created, days))


# --- the example ------------------------------------------------------------


def test_review_created_before_chuseok_2026_is_due_end_of_wednesday_the_30th() -> None:
    created = seoul(2026, 9, 23, 14, 30)  # Wednesday; Chuseok is Thu 24 - Sat 26
    due = add_business_days(created, 3)
    assert due == datetime(2026, 9, 30, 23, 59, 59, 999_999, tzinfo=SEOUL)
    assert due == datetime(2026, 9, 30, 14, 59, 59, 999_999, tzinfo=UTC)
    assert due.tzinfo == UTC
    assert seoul_date(due) == date(2026, 9, 30)
    # overdue is `now > due`: the last instant of the 30th is not, the 1st at 00:00 is
    assert not seoul(2026, 9, 30, 23, 59) > due
    assert datetime(2026, 10, 1, tzinfo=SEOUL) > due


@pytest.mark.parametrize("hour", [0, 8, 17, 23])
def test_time_of_day_of_creation_does_not_matter(hour: int) -> None:
    assert due_day(seoul(2026, 9, 23, hour, 59), 3) == date(2026, 9, 30)


def test_seoul_day_not_utc_day_is_what_counts() -> None:
    # 2026-09-22 16:00 UTC is already Wednesday the 23rd, 01:00, in Seoul
    assert due_day(datetime(2026, 9, 22, 16, 0, tzinfo=UTC), 3) == date(2026, 9, 30)
    # 2026-09-22 14:59 UTC is still Tuesday the 22nd, 23:59, in Seoul -> one day earlier
    assert due_day(datetime(2026, 9, 22, 14, 59, tzinfo=UTC), 3) == date(2026, 9, 29)


# --- holidays -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (date(2026, 1, 1), "New Year's Day"),
        (date(2026, 2, 16), "day before Seollal"),
        (date(2026, 2, 17), "Seollal"),
        (date(2026, 2, 18), "day after Seollal"),
        (date(2026, 3, 2), "substitute for Independence Movement Day (Sun 1 Mar)"),
        (date(2026, 5, 5), "Children's Day"),
        (date(2026, 5, 25), "substitute for Buddha's Birthday (Sun 24 May)"),
        (date(2026, 6, 3), "local elections"),
        (date(2026, 8, 17), "substitute for Liberation Day (Sat 15 Aug)"),
        (date(2026, 9, 24), "day before Chuseok"),
        (date(2026, 9, 25), "Chuseok"),
        (date(2026, 10, 5), "substitute for National Foundation Day (Sat 3 Oct)"),
        (date(2026, 10, 9), "Hangul Day"),
        (date(2026, 12, 25), "Christmas"),
        (date(2025, 10, 8), "substitute for Chuseok 2025 (Sun 5 Oct)"),
        (date(2027, 1, 1), "New Year's Day"),
        (date(2027, 2, 9), "substitute for Seollal 2027 (Sun 7 Feb)"),
    ],
)
def test_holidays_on_weekdays_are_not_business_days(day: date, why: str) -> None:
    assert day.weekday() < 5
    assert not is_business_day(day), why


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (date(2026, 9, 23), "Wednesday before Chuseok"),
        (date(2026, 9, 28), "Monday after Chuseok: it ended on a Saturday, no substitute"),
        (date(2026, 6, 8), "Monday after Memorial Day on a Saturday: no substitute"),
        (date(2026, 2, 19), "Thursday after Seollal"),
        (date(2025, 12, 31), "New Year's Eve is a working day"),
        (date(2026, 1, 2), "2 January is a working day"),
    ],
)
def test_ordinary_weekdays_are_business_days(day: date, why: str) -> None:
    assert is_business_day(day), why


def test_weekends_are_never_business_days() -> None:
    assert not is_business_day(date(2026, 9, 19))  # Saturday
    assert not is_business_day(date(2026, 9, 20))  # Sunday
    assert is_business_day(date(2026, 9, 21))  # Monday


# --- due dates around the holidays and the turn of the year ---------------------------


@pytest.mark.parametrize(
    ("created", "days", "due"),
    [
        # Seollal 2026: Mon 16 - Wed 18 Feb
        (date(2026, 2, 13), 1, date(2026, 2, 19)),
        (date(2026, 2, 12), 2, date(2026, 2, 19)),
        (date(2026, 2, 15), 1, date(2026, 2, 19)),  # created on the Sunday
        (date(2026, 2, 17), 1, date(2026, 2, 19)),  # created on Seollal itself
        # New Year and the turn of the year
        (date(2025, 12, 31), 1, date(2026, 1, 2)),
        (date(2025, 12, 30), 2, date(2026, 1, 2)),
        (date(2025, 12, 26), 3, date(2025, 12, 31)),
        (date(2026, 12, 31), 1, date(2027, 1, 4)),  # Fri 1 Jan 2027, then the weekend
        (date(2026, 12, 24), 2, date(2026, 12, 29)),  # Christmas on a Friday
        # substitute holidays
        (date(2026, 2, 27), 1, date(2026, 3, 3)),  # Sun 1 Mar -> Mon 2 Mar off
        (date(2026, 8, 14), 1, date(2026, 8, 18)),  # Sat 15 Aug -> Mon 17 Aug off
        (date(2026, 10, 2), 1, date(2026, 10, 6)),  # Sat 3 Oct -> Mon 5 Oct off
        (date(2026, 10, 2), 4, date(2026, 10, 12)),  # ... and Hangul Day Fri 9 Oct
        (date(2025, 10, 2), 1, date(2025, 10, 10)),  # Chuseok 2025, its substitute, Hangul Day
        # weekends
        (date(2026, 9, 18), 1, date(2026, 9, 21)),  # Friday -> Monday
        (date(2026, 9, 19), 1, date(2026, 9, 21)),  # Saturday -> Monday
        (date(2026, 9, 14), 5, date(2026, 9, 21)),  # a working week
        # zero: the same day if it is a business day, else the next one
        (date(2026, 9, 23), 0, date(2026, 9, 23)),
        (date(2026, 9, 24), 0, date(2026, 9, 28)),
    ],
)
def test_due_days(created: date, days: int, due: date) -> None:
    moment = seoul(created.year, created.month, created.day)
    assert add_business_days(moment, days) == end_of_day(due)


def test_negative_sla_and_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError):
        add_business_days(seoul(2026, 9, 23), -1)
    with pytest.raises(ValueError):
        add_business_days(datetime(2026, 9, 23, 10), 3)
    with pytest.raises(ValueError):
        business_days_between(datetime(2026, 9, 23), seoul(2026, 9, 30))


def test_years_without_a_holiday_calendar_are_refused() -> None:
    with pytest.raises(ValueError):
        is_business_day(date(2150, 3, 3))


def test_end_of_day_is_the_last_microsecond_of_the_seoul_day() -> None:
    end = end_of_day(date(2026, 9, 30))
    assert end.tzinfo == UTC
    assert end + timedelta(microseconds=1) == datetime(2026, 10, 1, tzinfo=SEOUL)
    assert seoul_date(end) == date(2026, 9, 30)


# --- counting business days -------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [
        (seoul(2026, 9, 23, 9), seoul(2026, 9, 23, 18), 0),  # same day
        (seoul(2026, 9, 23), seoul(2026, 9, 27), 0),  # Chuseok and a weekend
        (seoul(2026, 9, 23), seoul(2026, 9, 28, 0, 1), 1),
        (seoul(2026, 9, 23), seoul(2026, 9, 30), 3),
        (seoul(2025, 12, 31), seoul(2026, 1, 2), 1),  # over New Year
        (seoul(2026, 2, 13), seoul(2026, 2, 20), 2),  # over Seollal
        (seoul(2026, 1, 1), seoul(2027, 1, 1), 245),  # a whole year, closed form
        (seoul(2026, 9, 30), seoul(2026, 9, 23), -3),  # backwards
    ],
)
def test_business_days_between(start: datetime, end: datetime, count: int) -> None:
    assert business_days_between(start, end) == count


def test_overdue_days_count_from_the_due_moment() -> None:
    due = add_business_days(seoul(2026, 9, 23), 3)  # end of Wed 30 Sep
    assert business_days_between(due, seoul(2026, 9, 30, 23, 59)) == 0
    assert business_days_between(due, seoul(2026, 10, 1, 9)) == 1  # Thursday
    assert business_days_between(due, seoul(2026, 10, 6, 9)) == 3  # Fri 2, (Mon 5 off), Tue 6


# --- properties -------------------------------------------------------------------------

MOMENTS = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2095, 12, 31),
    timezones=st.sampled_from([UTC, SEOUL]),
)
DAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2095, 12, 31))
SLAS = st.integers(min_value=0, max_value=60)
FAST = settings(max_examples=150, deadline=None)


def oracle_is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in KR


def oracle_count(first: date, last: date) -> int:
    """Business days d with first < d <= last, by walking the days."""
    return sum(
        oracle_is_business_day(first + timedelta(days=i)) for i in range(1, (last - first).days + 1)
    )


@FAST
@given(DAYS)
def test_is_business_day_agrees_with_the_kr_calendar(day: date) -> None:
    assert is_business_day(day) == oracle_is_business_day(day)


@FAST
@given(MOMENTS, SLAS)
def test_due_is_never_on_a_weekend_or_holiday_and_is_the_end_of_a_seoul_day(
    moment: datetime, days: int
) -> None:
    due = add_business_days(moment, days)
    day = seoul_date(due)
    assert day.weekday() < 5
    assert day not in KR
    assert due.tzinfo == UTC
    assert (due + timedelta(microseconds=1)).astimezone(SEOUL).time() == time(0)
    assert due >= moment
    if days >= 1:
        assert day > seoul_date(moment)


@FAST
@given(MOMENTS, st.integers(min_value=1, max_value=59))
def test_due_is_strictly_monotonic_in_days(moment: datetime, days: int) -> None:
    assert add_business_days(moment, days) < add_business_days(moment, days + 1)
    # 0 and 1 coincide when the moment falls on a weekend or holiday
    assert add_business_days(moment, 0) <= add_business_days(moment, 1)


@FAST
@given(MOMENTS, st.integers(min_value=1, max_value=60))
def test_counting_to_the_due_moment_gives_back_the_sla(moment: datetime, days: int) -> None:
    due = add_business_days(moment, days)
    assert business_days_between(moment, due) == days
    # and no business day is skipped: the day before the due day is one day short
    assert business_days_between(moment, due - timedelta(days=1)) <= days - 1


@FAST
@given(MOMENTS, MOMENTS)
def test_business_days_between_matches_walking_the_days(a: datetime, b: datetime) -> None:
    first, last = sorted([seoul_date(a), seoul_date(b)])
    if (last - first).days > 3 * 366:  # keep the walk cheap; the closed form is tested long
        last = first + timedelta(days=3 * 366)
        b = datetime.combine(last, time(12), tzinfo=SEOUL)
        a = datetime.combine(first, time(12), tzinfo=SEOUL)
    expected = oracle_count(*sorted([seoul_date(a), seoul_date(b)]))
    forward, backward = business_days_between(a, b), business_days_between(b, a)
    assert forward == -backward
    assert abs(forward) == expected


@FAST
@given(DAYS, st.integers(min_value=1, max_value=60))
def test_shifting_back_undoes_shifting_forward_from_a_business_day(day: date, n: int) -> None:
    start = shift_business_days(day, 0)  # the first business day on or after `day`
    later = shift_business_days(start, n)
    assert is_business_day(later)
    assert shift_business_days(later, -n) == start
