"""Delegation (대결): the acting user names a colleague for a period of leave, or ends it."""

from __future__ import annotations

from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.delegation import Delegation, check_new, replaced_by
from workflow.domain.errors import NotFound
from workflow.domain.events import Event
from workflow.domain.people import ensure_active
from workflow.service_layer.handlers.common import DIRECTORY_STREAM, acting_user
from workflow.service_layer.unit_of_work import UnitOfWork


def set_delegation(cmd: c.SetDelegation, uow: UnitOfWork) -> None:
    user = acting_user(uow, cmd.actor)
    delegate = uow.directory.user(cmd.to)
    ensure_active(delegate)
    new = Delegation(user.email, delegate.email, cmd.starts_on, cmd.ends_on)
    existing = uow.directory.delegations()
    check_new(user, delegate, new, existing)
    if replaced_by(new, existing):
        uow.directory.clear_delegation(user.email, uow.now)
    uow.directory.add_delegation(new, uow.now)
    uow.events.append(
        DIRECTORY_STREAM,
        [
            Event(
                ev.DELEGATION_SET,
                {
                    "delegator": user.email,
                    "delegate": delegate.email,
                    "from": cmd.starts_on.isoformat(),
                    "until": cmd.ends_on.isoformat(),
                },
            )
        ],
        user.email,
        uow.now,
    )


def clear_delegation(cmd: c.ClearDelegation, uow: UnitOfWork) -> None:
    user = acting_user(uow, cmd.actor)
    if not uow.directory.clear_delegation(user.email, uow.now):
        raise NotFound(f"{user.email} has no delegation to clear")
    uow.events.append(
        DIRECTORY_STREAM,
        [Event(ev.DELEGATION_CLEARED, {"delegator": user.email})],
        user.email,
        uow.now,
    )
