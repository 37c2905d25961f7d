"""In-app messages: budget notices written by the worker, the reminder sweep's batches,
and a person marking their messages read."""

from __future__ import annotations

from collections import Counter
from contextlib import suppress

from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.calendar import seoul_date
from workflow.domain.errors import NotFound
from workflow.domain.events import SYSTEM, Event, user_stream
from workflow.domain.messaging import program_path, rules_for
from workflow.domain.notices import BUDGET_NOTICE_KIND
from workflow.domain.permissions import User
from workflow.service_layer.handlers.common import acting_user
from workflow.service_layer.reminders import person, sweep_batch
from workflow.service_layer.unit_of_work import UnitOfWork


def send_budget_notice(cmd: c.SendBudgetNotice, uow: UnitOfWork) -> list[str]:
    """Tell the program's coordinator and the parties' budget officers; their emails.

    Each recipient's ``budget_notice`` message of the day grows by the notice (a notice
    already in it is replaced, not repeated), recorded on the person's stream.
    """
    program = uow.programs.get(cmd.program_id)
    item = {
        "program": cmd.program_id,
        "title": program.content.title,
        "what": cmd.what,
        "year": program.content.fiscal_year,
        "details": list(cmd.details),
    }
    day = seoul_date(uow.now)
    (template,) = {r.template for r in rules_for(cmd.what)}
    told = []
    for user in _recipients(uow, program.created_by, cmd.parties):
        message_id, items = uow.notifications.lock_or_create(
            user.email, BUDGET_NOTICE_KIND, day, uow.now
        )
        items = [i for i in items if (i["program"], i["what"]) != (item["program"], cmd.what)]
        items.append(item)
        text = uow.renderer.render(
            template,
            user.locale,
            {"to": person(user), "items": items, "path": program_path(cmd.program_id)},
        )
        uow.notifications.write(message_id, text.subject, text.text, items, uow.now)
        uow.events.append(
            user_stream(user.email),
            [
                Event(
                    ev.BUDGET_NOTICE_SENT,
                    {"notification": message_id, "program": cmd.program_id, "what": cmd.what},
                )
            ],
            SYSTEM,
            uow.now,
        )
        told.append(user.email)
    return told


def _recipients(uow: UnitOfWork, coordinator: str, parties: tuple[str, ...]) -> list[User]:
    people = {
        u.email: u
        for party in parties
        for u in uow.directory.users(party)
        if u.has("budget_officer")
    }
    with suppress(NotFound):  # a coordinator no longer in the directory is not told
        people.setdefault(coordinator, uow.directory.user(coordinator))
    return [people[email] for email in sorted(people)]


def send_due_reminders(cmd: c.SendDueReminders, uow: UnitOfWork) -> Counter[str]:
    return sweep_batch(uow, cmd.limit)


def mark_read(cmd: c.MarkNotificationRead, uow: UnitOfWork) -> int:
    """How many of the user's messages this marked read (0: they were read already)."""
    user = acting_user(uow, cmd.actor)
    if (
        cmd.notification_id is not None
        and uow.notifications.owner(cmd.notification_id) != user.email
    ):
        raise NotFound(f"no message {cmd.notification_id} for {user.email}", id=cmd.notification_id)
    return uow.notifications.mark_read(user.email, cmd.notification_id, uow.now)
