"""Delegation (대결): someone on leave names a colleague who acts for them meanwhile.

Delegations are plain data here: (delegator, delegate, first day, last day). A person
has one at a time: a new one replaces their running one. While it runs, the
delegator's queues route to the delegate (their inbox shows them, naming whom they act
for); a chain A -> B -> C (B is away too) routes A's work on to C, and a chain that
loops back is refused when it is set. The delegate acts with the delegator's rights only
where their own fall short, and separation of duties binds both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from workflow.domain.errors import InvalidInput, NotPermitted
from workflow.domain.permissions import ProgramLike, User, ensure_not_own_program

T = TypeVar("T")


@dataclass(frozen=True)
class Delegation:
    delegator: str
    delegate: str
    starts_on: date
    ends_on: date

    def runs_on(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on

    def overlaps(self, other: Delegation) -> bool:
        return self.starts_on <= other.ends_on and other.starts_on <= self.ends_on


def check_new(delegator: User, delegate: User, new: Delegation, existing: list[Delegation]) -> None:
    """Refuse a delegation outside one's organization, to oneself, a backwards period, or
    one that closes a loop (the delegator's own running one is replaced, so not counted).
    """
    if delegate.org != delegator.org:
        raise NotPermitted(
            f"{delegator.email} may only delegate to a colleague of "
            f"{delegator.org}; {delegate.email} belongs to {delegate.org}",
            reason="delegate_other_organization",
            user=delegator.email,
            org=delegator.org,
            delegate=delegate.email,
            owner=delegate.org,
        )
    if new.delegate == new.delegator:
        raise InvalidInput("nobody can delegate to themselves", reason="delegate_to_self")
    if new.ends_on < new.starts_on:
        raise InvalidInput(
            f"the delegation ends ({new.ends_on}) before it starts ({new.starts_on})",
            reason="delegation_backwards",
            start=str(new.starts_on),
            end=str(new.ends_on),
        )
    edges = {
        d.delegator: d.delegate
        for d in existing
        if d.delegator != new.delegator and d.overlaps(new)
    }
    edges[new.delegator] = new.delegate
    seen, at = [new.delegator], new.delegate
    while at in edges:
        if at in seen:
            raise InvalidInput(
                "delegation loop: " + " -> ".join([*seen, at]) + "; clear one of them first",
                reason="delegation_loop",
                loop=" -> ".join([*seen, at]),
            )
        seen.append(at)
        at = edges[at]


def final_delegates(delegations: list[Delegation], day: date) -> dict[str, str]:
    """Who acts for whom on ``day``: each delegator mapped to the end of their chain."""
    edges = {d.delegator: d.delegate for d in delegations if d.runs_on(day)}
    result = {}
    for delegator in edges:
        seen, at = {delegator}, edges[delegator]
        while at in edges and at not in seen:  # loops were refused when set
            seen.add(at)
            at = edges[at]
        result[delegator] = at
    return result


def replaced_by(new: Delegation, existing: Iterable[Delegation]) -> list[Delegation]:
    """The delegations a new one ends: the delegator's own (one at a time)."""
    return [d for d in existing if d.delegator == new.delegator]


def queues_of(
    user: User, delegators: Iterable[User]
) -> tuple[list[tuple[str, str]], dict[tuple[str, str], str]]:
    """The queues (organization, role) a user's inbox shows: their own, and those of the
    people whose work routes to them today, each mapped to whom they stand in for."""
    own = [(user.org, role) for role in sorted(user.roles)]
    standing_in = {(d.org, role): d.email for d in delegators for role in sorted(d.roles)}
    return own, standing_in


def act_as(
    user: User,
    program: ProgramLike,
    check: Callable[[User], T],
    delegators: Callable[[], list[User]],
    verb: str,
) -> tuple[T, str | None]:
    """What ``check`` grants the user, and whom they act for if it is by delegation.

    The user's own rights come first; only when they fall short are the people whose
    work routes to them today (``delegators``, looked up only then) tried. The delegate
    may not act on their own program, nor the delegator on theirs.
    """
    try:
        return check(user), None
    except NotPermitted as refused:
        for delegator in delegators():
            try:
                granted = check(delegator)
            except NotPermitted:
                continue
            ensure_not_own_program(user, program, verb)
            return granted, delegator.email
        raise refused
