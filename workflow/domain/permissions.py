"""Who may do what (PRODUCT §2), as plain checks the service layer calls for every action.

Each check raises NotPermitted with a sentence naming the user, the action and the
rule; entrypoints never check rights themselves, so the CLI, API and workers agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from workflow.domain.definition import SYSTEM_ACTOR, WorkflowDefinition
from workflow.domain.errors import NotPermitted, TransitionNotAllowed


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str
    org: str
    roles: frozenset[str]
    locale: str = "ko"
    active: bool = True  # False once an admin deactivates them (domain.people)

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
            reason="role_missing",
            user=user.email,
            role=role,
            action=action,
            has=sorted(user.roles),
        )


def ensure_member_of(user: User, program: ProgramLike, role: str, action: str) -> None:
    """A step of the program's own organization (drafting, submitting, reporting): the
    role, in that organization."""
    require_role(user, role, action)
    if user.org != program.org:
        raise NotPermitted(
            f"{user.email} may not {action}: program {program.id} belongs to {program.org}, "
            f"not to {user.org}",
            reason="other_organization",
            user=user.email,
            program=program.id,
            action=action,
            owner=program.org,
            org=user.org,
        )


def ensure_may_create(user: User, definition: WorkflowDefinition, org: str) -> None:
    """Programs are drafted by the initial step's role, for their own organization."""
    require_role(user, definition.drafter_role, "create programs")
    if user.org != org:
        raise NotPermitted(
            f"{user.email} may not create programs for {org}: they belong to {user.org}",
            reason="create_for_other_organization",
            user=user.email,
            owner=org,
            org=user.org,
        )


def ensure_may_fire(
    user: User,
    definition: WorkflowDefinition,
    trigger: str,
    program: ProgramLike,
    verb: str,
    parties: Iterable[str] | None = None,
    step: str = "",
) -> str | None:
    """The one check of a person's step: the role the definition names as the trigger's
    actor, in that role's scope. Returns the party acted for (party steps), else None.

    ``verb``: what the user does to the program, for messages ("submit", "decide on").
    ``parties``: the step is a party's side (review, funding, evaluation): the user's own
    organization must be one of them, never on their own program. Otherwise an admin
    acts on any program and every other role on its own organization's.
    """
    action = f"{verb} program {program.id}"
    role = definition.actor_of(trigger)
    if role is None:
        raise TransitionNotAllowed(
            f"cannot {action}: it follows {definition.key}@{definition.version}, which has "
            f"no {trigger} step",
            reason="no_such_step",
            program=program.id,
            trigger=trigger,
            action=action,
            workflow=f"{definition.key}@{definition.version}",
        )
    if role == SYSTEM_ACTOR:
        raise NotPermitted(
            f"{user.email} may not {action}: the engine does it itself",
            reason="engine_only",
            user=user.email,
            trigger=trigger,
            action=action,
        )
    if parties is not None:
        return ensure_acts_for_party(
            user, program, definition.party_role(user.org, role), parties, verb, step
        )
    if role == "admin":
        require_role(user, role, action)
    else:
        ensure_member_of(user, program, role, action)
    return None


def ensure_not_own_program(user: User, program: ProgramLike, action: str) -> None:
    """Separation of duties: nobody decides on, commits to or evaluates their own program."""
    if user.email == program.created_by or user.email in program.submitted_by:
        raise NotPermitted(
            f"{user.email} may not {action} program {program.id}: they created or submitted it "
            "(separation of duties)",
            reason="own_program",
            user=user.email,
            program=program.id,
            action=f"{action} program {program.id}",
        )


def ensure_acts_for_party(
    user: User, program: ProgramLike, role: str, parties: Iterable[str], action: str, step: str
) -> str:
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
            reason="not_a_party",
            user=user.email,
            program=program.id,
            action=f"{action} program {program.id}",
            org=user.org,
            step=step,
            parties=list(parties),
        )
    ensure_not_own_program(user, program, action)
    return user.org


def ensure_may_manage_budget(user: User, party: str) -> None:
    """Budget officers manage their own party's envelopes; admins any."""
    if user.has("admin"):
        return
    require_role(user, "budget_officer", f"manage {party}'s budget")
    if user.org != party:
        raise NotPermitted(
            f"{user.email} may not manage {party}'s budget: they belong to {user.org}",
            reason="other_party_budget",
            user=user.email,
            party=party,
            org=user.org,
        )


def ensure_in_queue(user: User, org: str, role: str, task_id: int) -> None:
    """A task's queue is its organization and role: only its members take it."""
    if user.org != org or not user.has(role):
        raise NotPermitted(
            f"{user.email} may not take task {task_id}: it sits in the {role} queue of {org}",
            reason="not_in_queue",
            user=user.email,
            task=task_id,
            role=role,
            owner=org,
        )


def ensure_supervisor_of(user: User, org: str, action: str) -> None:
    """Supervisors reassign the tasks of their own organization."""
    require_role(user, "supervisor", action)
    if user.org != org:
        raise NotPermitted(
            f"{user.email} may not {action}: it belongs to {org}, not {user.org}",
            reason="other_organization_task",
            user=user.email,
            action=action,
            owner=org,
            org=user.org,
        )
