"""Time in Paju: the organization's day starts and ends in Asia/Seoul.

Dates people give (a program's start and end) are Seoul calendar days; the clock and
the database keep UTC. Scheduled work falls due at the start of its Seoul day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")


def start_of_day(day: date) -> datetime:
    """00:00 Seoul time on ``day``, as a UTC datetime."""
    return datetime.combine(day, time(0), tzinfo=SEOUL).astimezone(UTC)


def seoul_date(moment: datetime) -> date:
    """The Seoul calendar day of a moment."""
    return moment.astimezone(SEOUL).date()
