"""Budget notices (PRODUCT §4): who is told when money decides a program's fate.

A program that finds no room is waitlisted "and the coordinator and budget officer are
told"; held money that lapses is released "with notice"; and a waitlisted program that
money reaches later is good news worth the same message. Each notice is a message of
its own (decided again on the same day, it is the same message).

The recipients: the program's coordinator (its creator) and the budget officers of the
parties concerned -- the short ones for a waitlisting, every funder otherwise (the
rules in ``messaging.RULES``; what a notice says is its template's).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from workflow.domain import events as ev
from workflow.domain.calendar import seoul_date
from workflow.domain.events import Event

WAITLISTED = "waitlisted"
HELD_FROM_WAITLIST = "held_from_waitlist"
HOLDS_EXPIRED = "holds_expired"


@dataclass(frozen=True)
class Notice:
    """What to tell, and the parties whose budget officers are told."""

    what: str
    parties: tuple[str, ...]
    details: tuple[str, ...] = ()


def budget_notices(
    state_before: str | None, events: Iterable[Event], requested: Iterable[str]
) -> list[Notice]:
    """The notices an action's events call for; ``state_before``: the program's state
    when it was loaded (None for a new program)."""
    funders = tuple(sorted(requested))
    notices = []
    held = False
    for event in events:
        if event.type == ev.BUDGET_UNAVAILABLE:
            notices.append(
                Notice(WAITLISTED, tuple(event.data["parties"]), tuple(event.data["shortfalls"]))
            )
        elif event.type == ev.HOLDS_EXPIRED:
            lapsed = seoul_date(datetime.fromisoformat(event.data["expired_at"]))
            notices.append(Notice(HOLDS_EXPIRED, funders, (lapsed.isoformat(),)))
        held = held or event.type == ev.BUDGET_HELD
    if held and state_before == "waitlisted":
        notices.append(Notice(HELD_FROM_WAITLIST, funders))
    return notices
