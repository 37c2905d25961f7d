"""Who may do what (PRODUCT §2), as plain checks the service layer calls for every action.

Each check raises NotPermitted with a sentence naming the user, the action and the
rule; entrypoints never check rights themselves, so the CLI, API and workers agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from workflow.domain.errors import NotPermitted


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str
    org: str
    roles: frozenset[str]
    locale: str = "ko"

    def has(self, role: str) -> bool:
        return role in self.roles


class ProgramLike(Protocol):
    """What the checks read of a program (the aggregate satisfies it)."""

    id: int | None
    org: str
    created_by: str
    submitted_by: set[str]
    parties: tuple[str, ...]


def require_role(user: User, role: str, action: str) -> None:
    if not user.has(role):
        raise NotPermitted(
            f"{user.email} may not {action}: it needs the {role} role "
            f"(has: {', '.join(sorted(user.roles)) or 'none'})",
            user=user.email, role=role,
        )


def ensure_coordinator_of(user: User, program: ProgramLike, action: str) -> None:
    """Coordinators act only on their own organization's programs."""
    require_role(user, "coordinator", action)
    if user.org != program.org:
        raise NotPermitted(
            f"{user.email} may not {action}: program {program.id} belongs to {program.org}, "
            f"not to {user.org}",
            user=user.email, program=program.id,
        )


def ensure_may_create(user: User, org: str) -> None:
    require_role(user, "coordinator", "create programs")
    if user.org != org:
        raise NotPermitted(
            f"{user.email} may not create programs for {org}: they belong to {user.org}",
            user=user.email,
        )


def ensure_not_own_program(user: User, program: ProgramLike, action: str) -> None:
    """Separation of duties: nobody decides on, commits to or evaluates their own program."""
    if user.email == program.created_by or user.email in program.submitted_by:
        raise NotPermitted(
            f"{user.email} may not {action} program {program.id}: they created or submitted it "
            "(separation of duties)",
            user=user.email, program=program.id,
        )


def ensure_acts_for_party(user: User, program: ProgramLike, role: str, parties: Iterable[str],
                          action: str, step: str) -> str:
    """Return the party the user acts for: their own organization, if it is one of ``parties``.

    The shared rule of every party step (review, commitment, disbursement, evaluation):
    the right role, one's own organization's side only, never on one's own program.
    """
    parties = tuple(parties)
    require_role(user, role, f"{action} program {program.id}")
    if user.org not in parties:
        raise NotPermitted(
            f"{user.email} may not {action} program {program.id}: {user.org} is not one of its "
            f"{step} parties ({', '.join(parties)})",
            user=user.email, program=program.id,
        )
    ensure_not_own_program(user, program, action)
    return user.org


def ensure_may_decide(user: User, program: ProgramLike, party_role: str) -> str:
    """Return the party the user decides for: their own organization, if it reviews."""
    return ensure_acts_for_party(user, program, party_role, program.parties, "decide on",
                                 "reviewing")


def ensure_admin(user: User, action: str) -> None:
    require_role(user, "admin", action)


def ensure_may_manage_budget(user: User, party: str) -> None:
    """Budget officers manage their own party's envelopes; admins any."""
    if user.has("admin"):
        return
    require_role(user, "budget_officer", f"manage {party}'s budget")
    if user.org != party:
        raise NotPermitted(
            f"{user.email} may not manage {party}'s budget: they belong to {user.org}",
            user=user.email,
        )


def ensure_in_queue(user: User, org: str, role: str, task_id: int) -> None:
    """A task's queue is its organization and role: only its members take it."""
    if user.org != org or not user.has(role):
        raise NotPermitted(
            f"{user.email} may not take task {task_id}: it sits in the {role} queue of {org}",
            user=user.email, task=task_id)


def ensure_supervisor_of(user: User, org: str, action: str) -> None:
    """Supervisors reassign the tasks of their own organization."""
    require_role(user, "supervisor", action)
    if user.org != org:
        raise NotPermitted(f"{user.email} may not {action}: it belongs to {org}, not {user.org}",
                           user=user.email)
