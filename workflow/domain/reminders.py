"""Reminders and escalation (issue 4 §3): the ladder is data, its moments are rows.

A workflow definition may carry a ladder, in business days of the Seoul calendar::

    reminders: {before_due_days: 1, on_due: true, overdue_every_days: 2,
                escalate_after_days: 5}

A task's *rungs* (``before``, ``due``, ``overdue:N``, ``escalate``) fall due at 08:00
Seoul of their days:

- ``before``: ``before_due_days`` business days before the due day (skipped when that
  day is not after the day the task was opened -- the person has just been given it);
- ``due``: the due day itself (``on_due: true``);
- ``overdue:N``: the N-th business day after the due day, N = every, 2*every, ...;
- ``escalate``: ``escalate_after_days`` business days after the due day, to the
  supervisors of the task's queue organization, once.

They climb two ladders, and only the next rung of each is a row: the reminders to the
task's people (before, due, overdue: sending one writes the next, ``rung_after``) and
its escalation. A task opened has at most two rows, and a task closed early voids at
most two (a row per rung, written up front, were four, most of them voided unsent).

Nothing goes out during quiet hours (22:00-08:00 Seoul); what falls due waits for the
morning. Everything one person is due to get on one Seoul day goes out as one message
per kind (a reminder digest; an escalation digest for supervisors), written by the
templates the rules name (``messaging.RULES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from workflow.domain.calendar import SEOUL, business_days_between, seoul_date, shift_business_days

BEFORE, DUE, ESCALATE, OVERDUE = "before", "due", "escalate", "overdue"
QUIET_FROM, QUIET_UNTIL = time(22, 0), time(8, 0)  # Seoul
SEND_AT = QUIET_UNTIL  # a rung's moment on its day: the first minute outside quiet hours
LADDER_KEYS = ("before_due_days", "on_due", "overdue_every_days", "escalate_after_days")


@dataclass(frozen=True)
class ReminderLadder:
    """Business days; 0 / False / None switches a rung off."""

    before_due_days: int = 0
    on_due: bool = False
    overdue_every_days: int = 0
    escalate_after_days: int = 0


def parse_ladder(raw: Any, problems: list[str]) -> ReminderLadder | None:
    """The ``reminders`` mapping of a definition; problems are appended, named."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append("reminders: must be a mapping of " + ", ".join(LADDER_KEYS))
        return None
    for key in sorted(set(raw) - set(LADDER_KEYS)):
        problems.append(f"reminders: unknown setting {key!r} (known: {', '.join(LADDER_KEYS)})")
    values: dict[str, Any] = {}
    for key in ("before_due_days", "overdue_every_days", "escalate_after_days"):
        value = raw.get(key, 0)
        if value is None:
            value = 0
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 250:
            problems.append(
                f"reminders: {key} must be a whole number of business days "
                f"from 0 to 250 (0: off), got {value!r}"
            )
            value = 0
        values[key] = value
    on_due = raw.get("on_due", False)
    if not isinstance(on_due, bool):
        problems.append(f"reminders: on_due must be true or false, got {on_due!r}")
        on_due = False
    ladder = ReminderLadder(
        values["before_due_days"],
        on_due,
        values["overdue_every_days"],
        values["escalate_after_days"],
    )
    if ladder == ReminderLadder() and not problems:
        problems.append("reminders: every rung is off; remove the section instead")
    return ladder


def is_quiet(now: datetime) -> bool:
    """22:00-08:00 Seoul: nothing is sent."""
    clock = now.astimezone(SEOUL).time()
    return clock >= QUIET_FROM or clock < QUIET_UNTIL


def next_send_time(now: datetime) -> datetime:
    """``now`` outside quiet hours; else the coming 08:00 Seoul."""
    if not is_quiet(now):
        return now
    local = now.astimezone(SEOUL)
    day = (
        local.date()
        if local.time() < QUIET_UNTIL
        else date.fromordinal(local.date().toordinal() + 1)
    )
    return send_moment(day)


def send_moment(day: date) -> datetime:
    """08:00 Seoul on ``day`` as UTC: the moment a rung of that day falls due."""
    return datetime.combine(day, SEND_AT, tzinfo=SEOUL).astimezone(UTC)


def overdue_rung(n: int) -> str:
    return f"{OVERDUE}:{n}"


def first_rungs(
    ladder: ReminderLadder, due_at: datetime, opened_at: datetime
) -> dict[str, datetime]:
    """The rows a task opened at ``opened_at`` and due at ``due_at`` starts with: the
    first rung of its reminders, and its escalation."""
    rungs = rungs_for(ladder, due_at, opened_at)
    reminder = next((r for r in rungs if r != ESCALATE), None)
    return {r: at for r, at in rungs.items() if r in (reminder, ESCALATE)}


def rung_after(
    ladder: ReminderLadder, rung: str, due_at: datetime, now: datetime
) -> tuple[str, datetime] | None:
    """The reminder rung that follows ``rung``, sent at ``now`` (the escalation is its
    ladder's only rung): ``before`` -> ``due`` -> the first ``overdue`` -> the next
    overdue still ahead (``next_overdue``)."""
    if rung == ESCALATE:
        return None
    if rung.startswith(OVERDUE):
        return next_overdue(ladder, due_at, now)
    due_day = seoul_date(due_at)
    if rung == BEFORE and ladder.on_due:
        return DUE, send_moment(due_day)
    if ladder.overdue_every_days:
        n = ladder.overdue_every_days
        return overdue_rung(n), send_moment(shift_business_days(due_day, n))
    return None


def climb(
    ladder: ReminderLadder, rung: str, due_at: datetime, now: datetime
) -> tuple[list[tuple[str, datetime]], tuple[str, datetime] | None]:
    """After ``rung`` is sent at ``now``: the rungs after it already due, which go with
    it (a late sweep sends one reminder per task, not one per missed rung), and the next
    one still ahead, to wait as a row."""
    passed: list[tuple[str, datetime]] = []
    following = rung_after(ladder, rung, due_at, now)
    while following is not None and following[1] <= now:  # an overdue one is always ahead
        passed.append(following)
        following = rung_after(ladder, following[0], due_at, now)
    return passed, following


def rungs_for(ladder: ReminderLadder, due_at: datetime, opened_at: datetime) -> dict[str, datetime]:
    """Every rung a task opened at ``opened_at`` and due at ``due_at`` may climb (the
    overdue ones: the first)."""
    due_day, opened_day = seoul_date(due_at), seoul_date(opened_at)
    rungs: dict[str, datetime] = {}
    if ladder.before_due_days:
        day = shift_business_days(due_day, -ladder.before_due_days)
        if day > opened_day:
            rungs[BEFORE] = send_moment(day)
    if ladder.on_due:
        rungs[DUE] = send_moment(due_day)
    if ladder.overdue_every_days:
        n = ladder.overdue_every_days
        rungs[overdue_rung(n)] = send_moment(shift_business_days(due_day, n))
    if ladder.escalate_after_days:
        rungs[ESCALATE] = send_moment(shift_business_days(due_day, ladder.escalate_after_days))
    return rungs


def next_overdue(
    ladder: ReminderLadder, due_at: datetime, now: datetime
) -> tuple[str, datetime] | None:
    """After an overdue reminder at ``now``: the next multiple of the interval still ahead.

    A sweep that comes late (the clock jumped) skips the multiples already past: one
    reminder now, the next one on its own day.
    """
    every = ladder.overdue_every_days
    if not every:
        return None
    late = max(business_days_between(due_at, now), 0)
    n = (late // every + 1) * every
    return overdue_rung(n), send_moment(shift_business_days(seoul_date(due_at), n))
