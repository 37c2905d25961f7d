"""People and organizations over time (issue 16): who may manage them, what a
deactivated person can still do (nothing), and the guard that keeps the house manageable.

- Only an active admin (or the operator on the server: no acting user) deactivates,
  reactivates, changes roles or locale, renames an organization, or lists the people.
- A deactivated person acts in no door: every command with them as actor is refused;
  their claims go back to their queues, their delegations (given and received) end,
  their tokens and sessions are revoked, they cannot sign in until reactivated, and
  no message is sent to them.
- The last active admin guard: once the directory has an active admin it keeps one.
  Deactivating the only active admin, or taking the admin role from them, is refused,
  whoever asks (themselves included); make another admin first. An admin may
  deactivate themselves while another active admin remains.
- A workflow names its parties by organization key; a program cannot start on a
  workflow whose party is not an organization here (it could never be reviewed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from workflow.domain.definition import WorkflowDefinition
from workflow.domain.errors import Conflict, InvalidInput, NotPermitted
from workflow.domain.permissions import User, require_role
from workflow.domain.visibility import Viewer

ADMIN = "admin"
INACTIVE = "inactive"  # why a sign-in with the right password was refused


def ensure_active(user: User) -> None:
    """A deactivated person may not act (the one check every acting door passes)."""
    if not user.active:
        raise NotPermitted(
            f"{user.email} is deactivated and can no longer act; an admin can reactivate them",
            user=user.email,
        )


def ensure_may_manage_people(actor: User | None, action: str) -> None:
    """An active admin, or the operator on the server (``None``)."""
    if actor is None:
        return
    ensure_active(actor)
    require_role(actor, ADMIN, action)


def manages_people(user: User | None) -> bool:
    """Whether the people pages are theirs to open (the navigation shows the link)."""
    return user is not None and user.active and user.has(ADMIN)


def check_keeps_an_admin(target: User, after: User, active: Iterable[User]) -> None:
    """Refuse a change that leaves no active admin where ``target`` was the only one."""
    was_admin = target.active and target.has(ADMIN)
    stays_admin = after.active and after.has(ADMIN)
    if not was_admin or stays_admin:
        return
    others = [u for u in active if u.email != target.email and u.active and u.has(ADMIN)]
    if not others:
        raise Conflict(
            f"{target.email} is the last active admin: make another user admin first",
            user=target.email,
        )


def deactivated(user: User) -> User:
    if not user.active:
        raise Conflict(f"{user.email} is already deactivated", user=user.email)
    return replace(user, active=False)


def reactivated(user: User) -> User:
    if user.active:
        raise Conflict(f"{user.email} is already active", user=user.email)
    return replace(user, active=True)


def keeps_claim(user: User, queue_org: str, queue_role: str) -> bool:
    """A claim stays with its person only while they still belong to its queue."""
    return user.active and user.org == queue_org and user.has(queue_role)


def ensure_parties_exist(definition: WorkflowDefinition, organizations: Iterable[str]) -> None:
    """Every party a workflow names must be an organization before a program starts on it."""
    known = set(organizations)
    missing = [p for p in definition.party_keys if p not in known]
    if missing:
        raise InvalidInput(
            f"workflow {definition.key}@{definition.version} cannot start programs: its "
            f"part{'y' if len(missing) == 1 else 'ies'} {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not an organization here "
            f"(known: {', '.join(sorted(known)) or 'none'})",
            missing=missing,
            workflow=definition.key,
        )


def ensure_may_see_people(viewer: Viewer) -> None:
    """The people listing (roles, locales, who is deactivated) is the admins' to read."""
    if viewer.user is not None:
        ensure_may_manage_people(viewer.user, "list the people of every organization")
