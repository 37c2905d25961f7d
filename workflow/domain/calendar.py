"""Time in Paju: the organization's day starts and ends in Asia/Seoul.

Dates people give (a program's start and end) are Seoul calendar days; the clock and
the database keep UTC. Scheduled work falls due at the start of its Seoul day.

SLAs are counted in *business days* of the Seoul calendar: Monday to Friday, minus the
Korean public holidays of the ``holidays`` package's KR calendar (its default "public"
category, which includes the substitute holidays -- 대체공휴일 -- and election days).
A holiday that falls on a weekend costs nothing extra; its substitute Monday does.
Holidays declared ad hoc by the government (임시공휴일) are only known once the package
ships them, so keep the package current.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

SEOUL = ZoneInfo("Asia/Seoul")

# The years the package's KR calendar covers (lunar holidays need its tables). Outside
# them a "business day" would silently ignore Chuseok and Seollal, so we refuse instead.
_KR = holidays.country_holidays("KR")
FIRST_YEAR: int = _KR.start_year
LAST_YEAR: int = _KR.end_year

_ONE_MICROSECOND = timedelta(microseconds=1)


def start_of_day(day: date) -> datetime:
    """00:00 Seoul time on ``day``, as a UTC datetime."""
    return datetime.combine(day, time(0), tzinfo=SEOUL).astimezone(UTC)


def seoul_date(moment: datetime) -> date:
    """The Seoul calendar day of a moment."""
    return moment.astimezone(SEOUL).date()


def end_of_day(day: date) -> datetime:
    """The last representable instant of ``day`` in Seoul, as a UTC datetime.

    That is the next day's 00:00 Seoul minus one microsecond -- 23:59:59.999999 KST. A
    microsecond is the resolution of both ``datetime`` and PostgreSQL ``timestamptz``, so
    the value round-trips through the database unchanged, ``seoul_date(end_of_day(d)) ==
    d`` (a due date displays as its own day), and "overdue" is simply ``now > due``.
    """
    return start_of_day(day + timedelta(days=1)) - _ONE_MICROSECOND


@cache
def _holidays_of(year: int) -> frozenset[date]:
    """The Korean public holidays of ``year`` (substitutes included), built once per year.

    Building a ``holidays`` calendar computes the lunar dates and substitution rules for
    the whole year, far too slow for the inbox's and the sweeps' hot paths; the frozen set
    is cached for the life of the process.
    """
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(
            f"no Korean holiday calendar for {year} (covered: {FIRST_YEAR}-{LAST_YEAR})"
        )
    return frozenset(holidays.country_holidays("KR", years=year).keys())


@cache
def _weekday_holiday_ordinals(year: int) -> tuple[int, ...]:
    """Sorted ordinals of ``year``'s holidays that fall Monday-Friday.

    Only these make a difference to a business-day count (a weekend is not counted
    anyway), and sorted ordinals let ``business_days_between`` count by bisection.
    """
    return tuple(sorted(d.toordinal() for d in _holidays_of(year) if d.weekday() < 5))


def is_business_day(day: date) -> bool:
    """Whether ``day`` (a Seoul calendar day) counts toward an SLA.

    Monday to Friday and not a Korean public holiday (substitute holidays included).
    Raises ``ValueError`` for a year the KR calendar does not cover.
    """
    return day.weekday() < 5 and day not in _holidays_of(day.year)


def shift_business_days(day: date, days: int) -> date:
    """The business day ``days`` business days away from the Seoul day ``day``.

    ``days > 0``: the ``days``-th business day strictly after ``day`` (``day`` itself never
    counts, business day or not -- work received today starts counting tomorrow).
    ``days < 0``: the ``-days``-th business day strictly before ``day`` (for reminders
    "N business days before due").
    ``days == 0``: ``day`` if it is a business day, else the next business day.
    The result is always a business day.
    """
    step = timedelta(days=1 if days >= 0 else -1)
    remaining = abs(days)
    if remaining == 0:
        while not is_business_day(day):
            day += step
        return day
    while remaining:
        day += step
        if is_business_day(day):
            remaining -= 1
    return day


def add_business_days(moment: datetime, days: int) -> datetime:
    """The due moment of an SLA of ``days`` business days that starts at ``moment``.

    The due day is ``shift_business_days(seoul_date(moment), days)``: the ``days``-th
    business day after the moment's Seoul date (the time of day does not matter -- a task
    created at 08:00 or at 23:00 gets the same due day). The due moment is the end of that
    day, ``end_of_day(due day)``: 23:59:59.999999 Seoul as an aware UTC datetime. So a
    task is overdue exactly when ``now > due``, and ``seoul_date(due)`` is the due day.

    Example: created Wednesday 2026-09-23 (any hour), 3 business days -> Chuseok takes
    24-26 Sep and the weekend 26-27, so 28, 29, 30 count -> due 2026-09-30T23:59:59.999999
    KST (2026-09-30T14:59:59.999999Z).

    ``days`` must be >= 0 (0: due at the end of the moment's day if it is a business day,
    else of the next business day). ``moment`` must be timezone-aware.
    """
    if days < 0:
        raise ValueError(f"an SLA cannot be negative: {days} business days")
    _require_aware(moment)
    return end_of_day(shift_business_days(seoul_date(moment), days))


def _require_aware(moment: datetime) -> None:
    """Refuse a naive datetime: ``astimezone`` would read it as the server's local time."""
    if moment.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got {moment!r}")


def _weekdays_before(ordinal: int) -> int:
    """How many Mondays-Fridays lie in [0001-01-01, the day of ``ordinal``).

    0001-01-01 (ordinal 1) is a Monday, so whole weeks contribute five and the remainder
    up to five more -- closed form, no loop.
    """
    weeks, rest = divmod(ordinal - 1, 7)
    return weeks * 5 + min(rest, 5)


def _business_days_after_until(first: date, last: date) -> int:
    """Business days ``d`` with ``first < d <= last`` (``first <= last``)."""
    lo, hi = first.toordinal(), last.toordinal()
    count = _weekdays_before(hi + 1) - _weekdays_before(lo + 1)
    for year in range(first.year, last.year + 1):
        ordinals = _weekday_holiday_ordinals(year)
        count -= bisect_right(ordinals, hi) - bisect_right(ordinals, lo)
    return count


def business_days_between(start: datetime, end: datetime) -> int:
    """How many business days have passed from ``start`` to ``end``, in Seoul days.

    The count of business days ``d`` with ``seoul_date(start) < d <= seoul_date(end)``:
    the start day never counts, the end day counts if it is a business day, the time of
    day is ignored. It is negative (the same count, negated) when ``end``'s Seoul day is
    before ``start``'s, and 0 on the same day.

    - "waiting N business days": ``business_days_between(entered_at, now)``.
    - "overdue N business days": ``business_days_between(due, now)`` when ``now > due``
      (due on Wednesday, now Thursday at 09:00 -> 1).
    - It inverts ``add_business_days``: for ``n >= 1``,
      ``business_days_between(m, add_business_days(m, n)) == n``.

    Computed in closed form (weekdays by arithmetic, holidays by bisection), so long spans
    cost no more than short ones. Both moments must be timezone-aware.
    """
    _require_aware(start)
    _require_aware(end)
    first, last = seoul_date(start), seoul_date(end)
    if first <= last:
        return _business_days_after_until(first, last)
    return -_business_days_after_until(last, first)


def days_overdue(due: datetime, now: datetime) -> int:
    """Business days a task is past its due moment (0 while it is not overdue)."""
    return max(business_days_between(due, now), 0) if now > due else 0
