"""The reminder sweep (issue 4 §3): due reminder rows become one message per person per day.

Run by ``run_due_work`` (``jointflow tick`` and the relay's sweep), one ``SendDueReminders`` command
per batch. Outside quiet hours it takes the due rows of live tasks in batches, one
transaction per batch:

1. recipients are resolved now: the claimant of a claimed task, else every member of
   its queue (organization + role); an ``escalate`` rung goes to the supervisors of the
   queue's organization;
2. each row is taken with a conditional UPDATE -- a row another sweep took is skipped;
3. each reminder rung taken writes the next one of its ladder (``climb``: due after
   before, then overdue, then the next multiple of the interval still ahead); rungs
   already due then (a late sweep) are recorded sent with it, in the same message;
4. every recipient's message of the day (one per kind: ``reminder_digest`` or
   ``escalation``) is created or grown -- a task already in it is updated, not repeated --
   on the channels the person chose for the kind, and an event (ReminderDigestSent /
   TaskEscalated) is appended to ``user:EMAIL``. The day's mail is delivered once: a
   digest that grows after its mail left is read grown in-app.

All of it commits together or not at all: a crash leaves the rows pending for the next
sweep, and nobody has a message for rows that are not marked sent.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from workflow.domain import events as ev
from workflow.domain.calendar import business_days_between, days_overdue, seoul_date
from workflow.domain.errors import NotFound
from workflow.domain.events import SYSTEM, Event, user_stream
from workflow.domain.messaging import ESCALATION, INBOX_PATH, REMINDER, Rule, rule_for
from workflow.domain.permissions import User
from workflow.domain.reminders import ESCALATE, climb, is_quiet, next_send_time
from workflow.service_layer.outgoing import channels_of, person, publish
from workflow.service_layer.ports import Rendered
from workflow.service_layer.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class Planned:
    """One due row and whom it goes to."""

    row: dict[str, Any]
    kind: str
    recipients: list[User]
    item: dict[str, Any]


@dataclass
class _Recipients:
    uow: UnitOfWork
    cache: dict[str, list[User]] = field(default_factory=dict)

    def members(self, org: str) -> list[User]:
        if org not in self.cache:
            self.cache[org] = list(self.uow.directory.users(org))
        return self.cache[org]

    def of(self, row: dict[str, Any]) -> list[User]:
        """Whom the row reminds; a deactivated person is told nothing (domain.people)."""
        if row["rung"] == ESCALATE:
            found = [u for u in self.members(row["queue_org"]) if u.has("supervisor")]
        elif row["claimed_by"]:
            try:
                found = [self.uow.directory.user(row["claimed_by"])]
            except NotFound:  # a claimant no longer in the directory: nobody to tell
                found = []
        else:
            found = [u for u in self.members(row["queue_org"]) if u.has(row["queue_role"])]
        return [u for u in found if u.active]


def plan(uow: UnitOfWork, limit: int = 500, at: datetime | None = None) -> list[Planned]:
    """What a sweep at ``at`` (default ``uow.now``) would send, quiet hours aside."""
    now = at or uow.now
    who = _Recipients(uow)
    planned = []
    for row in uow.reminders.due(now, limit):
        late = days_overdue(row["task_due"], now)
        item = {
            "task": row["task_id"],
            "program": row["program_id"],
            "title": row["title"],
            "kind": row["kind"],
            "party": row["party"],
            "amount": row["amount"],
            "queue": f"{row['queue_org']}/{row['queue_role']}",
            "claimed_by": row["claimed_by"],
            "due": seoul_date(row["task_due"]).isoformat(),
            "late": late,
            "left": 0 if late else max(business_days_between(now, row["task_due"]), 0),
            "rungs": [row["rung"]],
            "escalated": row["rung"] == ESCALATE,
        }
        kind = digest_rule(row["rung"] == ESCALATE).kind
        planned.append(Planned(row, kind, who.of(row), item))
    return planned


def sweep_batch(uow: UnitOfWork, limit: int = 500) -> Counter[str]:
    """One transaction's worth: take due rows, write the messages. Caller commits."""
    now = uow.now
    outcomes: Counter[str] = Counter()
    if is_quiet(now):
        return outcomes
    uow.reminders.void_stale(now)
    inbox: dict[tuple[str, str], dict[int, dict[str, Any]]] = defaultdict(dict)
    people: dict[str, User] = {}
    ladders: dict[tuple[str, int], Any] = {}
    for p in plan(uow, limit):
        emails = sorted({u.email for u in p.recipients})
        if not uow.reminders.take(p.row["id"], emails, now):
            outcomes["reminder already sent"] += 1
            continue
        outcomes[f"{p.row['rung'].split(':')[0]} reminder sent"] += 1
        if not emails:
            log.warning(
                "reminder %s (%s of task %s): nobody to send it to",
                p.row["id"],
                p.row["rung"],
                p.row["task_id"],
            )
            outcomes["reminder without recipient"] += 1
        for rung in _climbed(uow, p.row, emails, ladders, now):
            outcomes[f"{rung.split(':')[0]} reminder sent"] += 1
            p.item["rungs"].append(rung)
        for user in p.recipients:
            people[user.email] = user
            known = inbox[(user.email, p.kind)].get(p.item["task"])
            item = dict(p.item)
            if known:
                item["rungs"] = sorted(set(known["rungs"]) | set(item["rungs"]))
            inbox[(user.email, p.kind)][p.item["task"]] = item
    day = seoul_date(now)
    for email in sorted({e for e, _ in inbox}):
        user = people[email]
        recorded = []
        for kind in DIGEST_KINDS:
            fresh = inbox.get((email, kind))
            channels = channels_of(uow, user, kind) if fresh else ()
            if not fresh or not channels:
                continue
            message_id, items = uow.notifications.lock_or_create(email, kind, day, now)
            merged = {i["task"]: i for i in items}
            for task_id, item in fresh.items():
                if task_id in merged:
                    item["rungs"] = sorted(set(merged[task_id]["rungs"]) | set(item["rungs"]))
                merged[task_id] = item
            ordered = sorted(merged.values(), key=lambda i: (-i["late"], i["due"], i["task"]))
            text = render_digest(uow, kind, day, ordered, user)
            publish(uow, user, message_id, text, ordered, channels)
            outcomes["escalation messages" if kind == ESCALATION else "digests"] += 1
            recorded.append(
                Event(
                    ev.TASK_ESCALATED if kind == ESCALATION else ev.REMINDER_DIGEST_SENT,
                    {
                        "notification": message_id,
                        "day": day.isoformat(),
                        "tasks": sorted(fresh),
                        "rungs": {str(t): i["rungs"] for t, i in sorted(fresh.items())},
                        "grown": bool(items),
                    },
                )
            )
        uow.events.append(user_stream(email), recorded, SYSTEM, now)
    return outcomes


def _climbed(
    uow: UnitOfWork,
    row: dict[str, Any],
    emails: list[str],
    ladders: dict[tuple[str, int], Any],
    now: datetime,
) -> list[str]:
    """A reminder rung sent: the rungs after it already due are recorded sent with it
    (their names returned), the next one ahead written to wait (``climb``)."""
    if row["rung"] == ESCALATE:  # its ladder's only rung
        return []
    key = (row["workflow_key"], row["workflow_version"])
    if key not in ladders:
        ladders[key] = uow.workflow_of(*key).definition.reminders
    if not ladders[key]:
        return []
    passed, following = climb(ladders[key], row["rung"], row["task_due"], now)
    for rung, at in passed:
        uow.reminders.add(row["task_id"], rung, at, now, sent_to=emails)
    if following is not None:
        uow.reminders.add(row["task_id"], following[0], following[1], now)
    return [rung for rung, _ in passed]


def preview(uow: UnitOfWork, limit: int = 500) -> dict[str, Any]:
    """What the next sweep would send, to whom, at the earliest moment it may send it.

    During quiet hours: what the 08:00 sweep would send (recipients as of now).
    """
    now = uow.now
    sends_at = next_send_time(now)
    messages: dict[tuple[str, str], dict[str, Any]] = {}
    rows = plan(uow, limit, sends_at)
    for p in rows:
        for user in p.recipients:
            entry = messages.setdefault(
                (user.email, p.kind),
                {"to": user.email, "kind": p.kind, "user": user, "tasks": {}},
            )
            known = entry["tasks"].get(p.item["task"])
            item = dict(p.item)
            if known:
                item["rungs"] = sorted(set(known["rungs"]) | set(item["rungs"]))
            entry["tasks"][p.item["task"]] = item
    day = seoul_date(sends_at)
    result = []
    for (_email, kind), entry in sorted(messages.items()):
        items = sorted(entry["tasks"].values(), key=lambda i: (-i["late"], i["due"], i["task"]))
        text = render_digest(uow, kind, day, items, entry["user"])
        result.append(
            {
                "to": entry["to"],
                "kind": kind,
                "subject": text.subject,
                "body": text.text,
                "tasks": [
                    {"task": i["task"], "program": i["program"], "rungs": i["rungs"]} for i in items
                ],
            }
        )
    return {
        "now": now.isoformat(),
        "quiet": is_quiet(now),
        "sends_at": sends_at.isoformat(),
        "reminders": len(rows),
        "unaddressed": sum(1 for p in rows if not p.recipients),
        "messages": result,
    }


def digest_rule(escalation: bool) -> Rule:
    """The rule of a rung: the escalation digest's for ``escalate``, else the reminders'."""
    return rule_for(ESCALATE if escalation else REMINDER)


DIGEST_KINDS = (digest_rule(False).kind, digest_rule(True).kind)


def render_digest(
    uow: UnitOfWork, kind: str, day: date, items: list[dict[str, Any]], user: User
) -> Rendered:
    """A reminder or escalation digest, by the template its rule names."""
    rule = digest_rule(kind == ESCALATION)
    context = {"to": person(user), "day": day, "items": items, "path": INBOX_PATH}
    return uow.renderer.render(rule.template, user.locale, context)
