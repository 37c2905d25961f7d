"""Budget notices (PRODUCT §4): which events call for one, whom they name, what they say."""

from __future__ import annotations

from workflow.domain import events as ev
from workflow.domain.events import Event
from workflow.domain.notices import (
    HELD_FROM_WAITLIST,
    HOLDS_EXPIRED,
    WAITLISTED,
    Notice,
    budget_notices,
)

REQUESTED = ("education_office", "city")
SHORT = Event(
    ev.BUDGET_UNAVAILABLE,
    {
        "year": 2026,
        "parties": ["education_office"],
        "shortfalls": ["education_office: requested 60,000,000, available 40,000,000"],
    },
)
HELD = Event(ev.BUDGET_HELD, {"party": "city", "amount": 1, "year": 2026})


def test_a_waitlisting_names_only_the_short_funders() -> None:
    assert budget_notices("submitted", [SHORT, Event("ProgramWaitlisted")], REQUESTED) == [
        Notice(
            WAITLISTED,
            ("education_office",),
            ("education_office: requested 60,000,000, available 40,000,000",),
        )
    ]


def test_holds_placed_off_the_waitlist_are_news_and_on_submission_are_not() -> None:
    assert budget_notices("waitlisted", [HELD], REQUESTED) == [
        Notice(HELD_FROM_WAITLIST, ("city", "education_office"))
    ]
    assert budget_notices("submitted", [HELD], REQUESTED) == []
    assert budget_notices(None, [], REQUESTED) == []


def test_a_lapse_names_every_funder_and_the_seoul_day_it_lapsed() -> None:
    lapsed = Event(ev.HOLDS_EXPIRED, {"expired_at": "2026-06-04T15:30:00+00:00", "holds": {}})
    assert budget_notices("in_review", [lapsed], REQUESTED) == [
        Notice(HOLDS_EXPIRED, ("city", "education_office"), ("2026-06-05",))
    ]
