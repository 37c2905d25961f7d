"""Budget notices carried out by the worker (see ``workflow.domain.notices``).

The action that waitlists a program, places its holds off the waitlist or lets them
lapse writes a ``jointflow.budget_notice`` outbox message in its own transaction; this
handler, run once per message, grows each recipient's ``budget_notice`` message of the
day and records it on the person's stream. A notice already in the message is replaced,
not repeated.
"""

from __future__ import annotations

from contextlib import suppress

from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.calendar import seoul_date
from workflow.domain.errors import NotFound
from workflow.domain.events import Event
from workflow.domain.notices import BUDGET_NOTICE_KIND, render
from workflow.domain.permissions import User
from workflow.service_layer.reminders import SWEEPER, user_stream
from workflow.service_layer.unit_of_work import UnitOfWork


def send_budget_notice(cmd: c.SendBudgetNotice, uow: UnitOfWork) -> list[str]:
    """Tell the program's coordinator and the parties' budget officers; their emails."""
    program = uow.programs.get(cmd.program_id)
    item = {"program": cmd.program_id, "title": program.content.title, "what": cmd.what,
            "year": program.content.fiscal_year, "details": list(cmd.details)}
    day = seoul_date(uow.now)
    told = []
    for user in _recipients(uow, program.created_by, cmd.parties):
        message_id, items = uow.notifications.lock_or_create(user.email, BUDGET_NOTICE_KIND,
                                                             day, uow.now)
        items = [i for i in items if (i["program"], i["what"]) != (item["program"], cmd.what)]
        items.append(item)
        subject, body = render(day, items, user.locale)
        uow.notifications.write(message_id, subject, body, items, uow.now)
        uow.events.append(user_stream(user.email), [Event(ev.BUDGET_NOTICE_SENT, {
            "notification": message_id, "program": cmd.program_id, "what": cmd.what})],
            SWEEPER, uow.now)
        told.append(user.email)
    return told


def _recipients(uow: UnitOfWork, coordinator: str, parties: tuple[str, ...]) -> list[User]:
    people = {u.email: u for party in parties for u in uow.directory.users(party)
              if u.has("budget_officer")}
    with suppress(NotFound):  # a coordinator no longer in the directory is not told
        people.setdefault(coordinator, uow.directory.user(coordinator))
    return [people[email] for email in sorted(people)]
