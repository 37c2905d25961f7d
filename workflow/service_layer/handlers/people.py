"""An admin's changes to people and organizations (issue 16), audited on the directory
stream with what was before and what is after.

Deactivating someone hands back whatever they held: their claims return to their
queues (each recorded on its program's stream, under its row lock), their delegations
end (given and received), their tokens and sessions are revoked. A role change hands
back the claims of the queues the person no longer belongs to. The rules are
``domain.people``'s; these functions load, ask, and store.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.directory import check_locale, check_name, check_roles
from workflow.domain.events import OPERATOR, Event, program_stream
from workflow.domain.people import (
    check_keeps_an_admin,
    deactivated,
    ensure_may_manage_people,
    keeps_claim,
    reactivated,
)
from workflow.domain.permissions import User
from workflow.service_layer.handlers.common import DIRECTORY_STREAM, Probed
from workflow.service_layer.ports import Organization
from workflow.service_layer.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class PersonChanged:
    """The person as they are now, and what their change handed back."""

    user: User
    claims_returned: list[int] = field(default_factory=list)
    delegations_ended: int = 0
    tokens_revoked: int = 0


def deactivate_user(cmd: c.DeactivateUser, uow: UnitOfWork) -> PersonChanged:
    by, target = _admin_and_target(uow, cmd.actor, cmd.email, "deactivate users")
    after = deactivated(target)
    check_keeps_an_admin(target, after, uow.directory.users())
    _probed(uow)
    uow.people.save_user(after, uow.now)
    returned = _return_claims(uow, after, by)
    ended = uow.people.end_delegations(after.email, uow.now)
    for d in ended:
        _audit(uow, ev.DELEGATION_CLEARED, {"delegator": d.delegator, "delegate": d.delegate,
                                            "because": "deactivated"}, by)  # fmt: skip
    revoked = uow.directory.revoke_tokens(after.email, uow.now)
    _audit(uow, ev.USER_DEACTIVATED, {
        "email": after.email, "before": {"active": True}, "after": {"active": False},
        "claims_returned": returned, "delegations_ended": len(ended), "tokens_revoked": revoked,
    }, by)  # fmt: skip
    return PersonChanged(after, returned, len(ended), revoked)


def activate_user(cmd: c.ActivateUser, uow: UnitOfWork) -> PersonChanged:
    by, target = _admin_and_target(uow, cmd.actor, cmd.email, "reactivate users")
    after = reactivated(target)
    _probed(uow)
    uow.people.save_user(after, uow.now)
    _audit(uow, ev.USER_ACTIVATED,
           {"email": after.email, "before": {"active": False}, "after": {"active": True}},
           by)  # fmt: skip
    return PersonChanged(after)


def set_roles(cmd: c.SetRoles, uow: UnitOfWork) -> PersonChanged:
    by, target = _admin_and_target(uow, cmd.actor, cmd.email, "change roles")
    after = replace(target, roles=frozenset(check_roles(tuple(cmd.roles))))
    check_keeps_an_admin(target, after, uow.directory.users())
    _probed(uow)
    if after.roles == target.roles:
        return PersonChanged(target)  # nothing to change, nothing to record
    uow.people.save_user(after, uow.now)
    returned = _return_claims(uow, after, by)
    _audit(uow, ev.USER_ROLES_CHANGED, {
        "email": after.email, "before": sorted(target.roles), "after": sorted(after.roles),
        "claims_returned": returned,
    }, by)  # fmt: skip
    return PersonChanged(after, returned)


def set_locale(cmd: c.SetLocale, uow: UnitOfWork) -> PersonChanged:
    by, target = _admin_and_target(uow, cmd.actor, cmd.email, "change locales")
    after = replace(target, locale=check_locale(cmd.locale))
    _probed(uow)
    if after.locale != target.locale:
        uow.people.save_user(after, uow.now)
        _audit(uow, ev.USER_LOCALE_CHANGED,
               {"email": after.email, "before": target.locale, "after": after.locale},
               by)  # fmt: skip
    return PersonChanged(after)


def rename_organization(cmd: c.RenameOrganization, uow: UnitOfWork) -> Organization:
    by = _admin(uow, cmd.actor, "rename organizations")
    found = uow.directory.organization(cmd.key)
    name = check_name(cmd.name, "organization name")
    _probed(uow)
    if name != found.name:
        uow.people.rename_organization(found.key, name)
        _audit(uow, ev.ORGANIZATION_RENAMED,
               {"key": found.key, "before": found.name, "after": name}, by)  # fmt: skip
    return replace(found, name=name)


# -- shared --


def _admin(uow: UnitOfWork, actor: str | None, action: str) -> str:
    """The acting admin's email (the operator's name when no one acts)."""
    user = uow.directory.user(actor) if actor else None
    ensure_may_manage_people(user, action)
    return user.email if user else OPERATOR


def _admin_and_target(
    uow: UnitOfWork, actor: str | None, email: str, action: str
) -> tuple[str, User]:
    by = _admin(uow, actor, action)
    return by, uow.directory.user(email.strip())


def _probed(uow: UnitOfWork) -> None:
    """Every check passed: a probe (``bus.allowed``) stops here, before any write."""
    if uow.probing:
        raise Probed


def _return_claims(uow: UnitOfWork, user: User, by: str) -> list[int]:
    """Give back the claims ``user`` no longer may hold, each on its program's stream."""
    returned = []
    for task in uow.people.claims_of(user.email):
        if keeps_claim(user, task.queue_org, task.queue_role):
            continue
        uow.programs.exists(task.program_id, lock=True)  # the stream's writers' lock
        if uow.tasks.release(task.id, user.email):
            returned.append(task.id)
            data = {"task": task.id, "kind": task.kind,
                    "queue": f"{task.queue_org}/{task.queue_role}", "by": user.email,
                    "returned_by": by}  # fmt: skip
            event = Event(ev.TASK_RELEASED, data)
            uow.events.append(program_stream(task.program_id), [event], by, uow.now)
    return returned


def _audit(uow: UnitOfWork, kind: str, data: dict[str, Any], by: str) -> None:
    uow.events.append(DIRECTORY_STREAM, [Event(kind, data)], by, uow.now)
