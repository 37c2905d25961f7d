"""What is sent to whom (issue 14): the rules as data, the kinds people choose channels
for, and the paths the messages link to.

A rule says: when ``on`` happens (a program event, a budget notice, a reminder rung),
tell ``recipients`` a message of ``kind`` written with ``template``. The service layer
resolves the recipients against the directory and renders the template in each person's
locale; each person chooses the channels of each kind (email, in-app), except that a
*required* kind can't be switched off: a decision on your program, an escalation.

Messages are one per occasion (a decision, a review request), except the reminder
digest and the escalation digest: one per person per Seoul day, grown during it, mailed
once (see ``service_layer/outgoing.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from workflow.domain import events as ev
from workflow.domain.delivery import EMAIL, INAPP
from workflow.domain.errors import InvalidInput
from workflow.domain.notices import HELD_FROM_WAITLIST, HOLDS_EXPIRED, WAITLISTED
from workflow.domain.reminders import ESCALATE

# -- kinds: what a person chooses channels for --

REVIEW_REQUEST = "review_request"
DECISION = "decision"
COMMIT_DUE = "commit_due"
PROGRAM_UPDATE = "program_update"
BUDGET_NOTICE = "budget_notice"
REMINDER_DIGEST = "reminder_digest"
ESCALATION = "escalation"
KINDS = (
    REVIEW_REQUEST,
    DECISION,
    COMMIT_DUE,
    PROGRAM_UPDATE,
    BUDGET_NOTICE,
    REMINDER_DIGEST,
    ESCALATION,
)
REQUIRED_KINDS = frozenset({DECISION, ESCALATION})

# Kinds nobody chooses channels for: a sign-in link goes by email, at once, or not at all.
SIGN_IN_LINK = "sign_in_link"
STORED_KINDS = (*KINDS, SIGN_IN_LINK)

PERSON_CHANNELS = (EMAIL, INAPP)
DEFAULT_CHANNELS = PERSON_CHANNELS

# -- whom a rule tells (resolved by the service layer against the directory) --

COORDINATOR = "coordinator"  # the program's coordinator (who created it)
PENDING_APPROVERS = "pending_approvers"  # approvers of each party yet to decide
FUNDER_OFFICERS = "funder_officers"  # budget officers of every funder of the program
NOTICE_OFFICERS = "notice_officers"  # budget officers of the parties a notice names
TASK_QUEUE = "task_queue"  # the claimant of a task, else its queue's members
SUPERVISORS = "supervisors"  # the supervisors of a task's queue organization
RECIPIENTS = (
    COORDINATOR,
    PENDING_APPROVERS,
    FUNDER_OFFICERS,
    NOTICE_OFFICERS,
    TASK_QUEUE,
    SUPERVISORS,
)

# The task whose queue a recipient group is: the people the inbox shows it to.
QUEUE_OF = {PENDING_APPROVERS: "review", FUNDER_OFFICERS: "commit_funds"}

# What a reminder rung is "on" in the rules: its ``escalate`` rung, or any other.
REMINDER = "reminder"


@dataclass(frozen=True)
class Rule:
    on: str
    recipients: str
    kind: str
    template: str


RULES: tuple[Rule, ...] = (
    Rule(ev.REVIEW_STARTED, PENDING_APPROVERS, REVIEW_REQUEST, "review_request"),
    Rule(ev.PROGRAM_RESUBMITTED, PENDING_APPROVERS, REVIEW_REQUEST, "review_request"),
    Rule(ev.PROGRAM_APPROVED, COORDINATOR, DECISION, "program_approved"),
    Rule(ev.CHANGES_REQUESTED, COORDINATOR, DECISION, "changes_requested"),
    Rule(ev.PARTY_REJECTED, COORDINATOR, DECISION, "program_rejected"),
    Rule(ev.PROGRAM_APPROVED, FUNDER_OFFICERS, COMMIT_DUE, "commit_due"),
    Rule(ev.PROGRAM_FUNDED, COORDINATOR, PROGRAM_UPDATE, "program_funded"),
    Rule(ev.EVALUATION_DUE, COORDINATOR, PROGRAM_UPDATE, "evaluation_due"),
    *(
        Rule(notice, who, BUDGET_NOTICE, "budget_notice")
        for notice in (WAITLISTED, HELD_FROM_WAITLIST, HOLDS_EXPIRED)
        for who in (COORDINATOR, NOTICE_OFFICERS)
    ),
    Rule(REMINDER, TASK_QUEUE, REMINDER_DIGEST, "reminder_digest"),
    Rule(ESCALATE, SUPERVISORS, ESCALATION, "escalation"),
)


def rules_for(on: str) -> tuple[Rule, ...]:
    return tuple(r for r in RULES if r.on == on)


def rule_for(on: str) -> Rule:
    """The one rule of an occasion that has exactly one (a reminder rung)."""
    (rule,) = rules_for(on)
    return rule


# Program events a change hands to the notification worker: those the rules name, and
# those an organization may subscribe a webhook to.
WEBHOOK_EVENTS = (
    ev.PROGRAM_SUBMITTED,
    ev.REVIEW_STARTED,
    ev.PROGRAM_WAITLISTED,
    ev.PARTY_APPROVED,
    ev.CHANGES_REQUESTED,
    ev.PARTY_REJECTED,
    ev.PROGRAM_APPROVED,
    ev.PROGRAM_REJECTED,
    ev.PROGRAM_RESUBMITTED,
    ev.PROGRAM_WITHDRAWN,
    ev.FUNDS_COMMITTED,
    ev.PROGRAM_FUNDED,
    ev.FUNDS_DISBURSED,
    ev.EVALUATION_DUE,
    ev.PROGRAM_CLOSED,
    ev.PROGRAM_CANCELLED,
    ev.HOLDS_EXPIRED,
)
NOTIFIED_EVENTS = frozenset(WEBHOOK_EVENTS) | {r.on for r in RULES if r.on[:1].isupper()}


# -- preferences --


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(
            f"unknown kind of message {kind!r} (kinds: {', '.join(KINDS)})",
            reason="unknown_kind",
            field="kind",
            value=kind,
            known=list(KINDS),
        )
    return kind


def parse_channels(text: str) -> tuple[str, ...]:
    """``email,inapp``, ``email``, ``inapp`` or ``none`` (also ``off`` or nothing)."""
    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    if words in ([], ["none"], ["off"]):
        return ()
    unknown = sorted(set(words) - set(PERSON_CHANNELS))
    if unknown:
        raise InvalidInput(
            f"unknown channel(s) {', '.join(unknown)} (channels: email, inapp, or none)",
            reason="unknown_channel",
            field="channels",
            value=unknown,
        )
    return tuple(c for c in PERSON_CHANNELS if c in words)


def check_preference(kind: str, channels: tuple[str, ...]) -> tuple[str, ...]:
    """A person's choice for a kind; a required kind keeps at least one channel."""
    check_kind(kind)
    unknown = sorted(set(channels) - set(PERSON_CHANNELS))
    if unknown:
        raise InvalidInput(f"unknown channel(s) {', '.join(unknown)}", field="channels")
    if not channels and kind in REQUIRED_KINDS:
        raise InvalidInput(
            f"{kind} messages are required and can't be turned off: choose email, inapp or both",
            reason="required_kind",
            kind=kind,
        )
    return tuple(c for c in PERSON_CHANNELS if c in channels)


def channels_for(kind: str, chosen: tuple[str, ...] | None) -> tuple[str, ...]:
    """The channels a message of ``kind`` goes out on (``chosen``: the person's choice)."""
    return DEFAULT_CHANNELS if chosen is None else chosen


# -- links and dates in messages --

INBOX_PATH = "/inbox"
PREFERENCES_PATH = "/settings/notifications"


def program_path(program_id: int) -> str:
    return f"/programs/{program_id}"


_MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def spell_day(day: date, locale: str = "ko") -> str:
    """``12월 15일`` / ``15 December`` (the year is the message's own)."""
    if locale == "en":
        return f"{day.day} {_MONTHS_EN[day.month - 1]}"
    return f"{day.month}월 {day.day}일"
