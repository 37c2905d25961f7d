"""Budget notices (PRODUCT §4): who is told when money decides a program's fate.

A program that finds no room is waitlisted "and the coordinator and budget officer are
told"; held money that lapses is released "with notice"; and a waitlisted program that
money reaches later is good news worth the same message. Each is one item of the
person's in-app ``budget_notice`` message of the (Seoul) day, as reminders are items of
the day's digest: one message a day, however many programs it names.

The recipients: the program's coordinator (its creator) and the budget officers of the
parties concerned -- the short ones for a waitlisting, every funder otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from workflow.domain import events as ev
from workflow.domain.calendar import seoul_date
from workflow.domain.events import Event

BUDGET_NOTICE_KIND = "budget_notice"  # the kind of in-app message they go out in
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


# What each notice says, per locale; filled in with the item's year and details.
_TEXTS = {
    "en": {
        WAITLISTED: "waitlisted: no room in the {year} envelope ({details})",
        HELD_FROM_WAITLIST: "money came free: its holds are placed and review begins",
        HOLDS_EXPIRED: "its holds lapsed on {details} and were released",
    },
    "ko": {
        WAITLISTED: "{year}년 예산 부족으로 대기 중 ({details})",
        HELD_FROM_WAITLIST: "예산이 확보되어 심사를 시작합니다",
        HOLDS_EXPIRED: "예산 보류 기한({details})이 지나 보류액이 해제되었습니다",
    },
}


def item_line(item: dict[str, Any], locale: str) -> str:
    """One notice of a message: ``item`` has program, title, what, year and details."""
    text = _TEXTS["en" if locale == "en" else "ko"][item["what"]].format(
        year=item["year"], details="; ".join(item["details"])
    )
    return f"- #{item['program']} {item['title']}: {text}"


def render(day: date, items: list[dict[str, Any]], locale: str) -> tuple[str, str]:
    """(subject, body) of one person's budget notices of Seoul day ``day``."""
    count = len(items)
    if locale == "en":
        subject = (
            f"[jointflow] {count} budget notice{'s' if count != 1 else ''} ({day.isoformat()})"
        )
        intro, outro = "Budget news of your programs:", "Details: jointflow program show ID"
    else:
        subject = f"[jointflow] 예산 알림 {count}건 ({day.isoformat()})"
        intro, outro = "사업 예산 관련 알림입니다:", "자세히: jointflow program show ID"
    return subject, "\n".join([intro, *(item_line(i, locale) for i in items), "", outro])
