"""People's messages: budget notices decided by the worker, the reminder sweep's
batches, and a person marking their in-app messages read."""

from __future__ import annotations

from collections import Counter

from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.errors import NotFound
from workflow.domain.events import SYSTEM, Event, user_stream
from workflow.domain.messaging import program_path
from workflow.service_layer.handlers.common import acting_user
from workflow.service_layer.outgoing import send
from workflow.service_layer.recipients import by_rule
from workflow.service_layer.reminders import sweep_batch
from workflow.service_layer.unit_of_work import UnitOfWork


def send_budget_notice(cmd: c.SendBudgetNotice, uow: UnitOfWork) -> list[str]:
    """Tell whom the rules name (the coordinator, the parties' budget officers); their
    emails. Each notice is its own message, recorded on the person's stream; the same
    notice decided again on the same day replaces it."""
    program = uow.programs.get(cmd.program_id)
    item = {
        "program": cmd.program_id,
        "title": program.content.title,
        "what": cmd.what,
        "year": program.content.fiscal_year,
        "details": list(cmd.details),
    }
    told = []
    context = {"items": [item], "path": program_path(cmd.program_id)}
    for rule, person in by_rule(uow, cmd.what, program, cmd.parties):
        message_id = send(
            uow,
            person.user,
            rule.kind,
            rule.template,
            context,
            f"p{cmd.program_id}:{cmd.what}",
            [item],
        )
        if message_id is None:
            continue
        uow.events.append(
            user_stream(person.user.email),
            [
                Event(
                    ev.BUDGET_NOTICE_SENT,
                    {"notification": message_id, "program": cmd.program_id, "what": cmd.what},
                )
            ],
            SYSTEM,
            uow.now,
        )
        told.append(person.user.email)
    return told


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
