"""Delegation (대결): someone on leave names a colleague who acts for them meanwhile.

Delegations are plain data here: (delegator, delegate, first day, last day). While one
runs, the delegator's queues route to the delegate; a chain A -> B -> C (B is away too)
routes A's work on to C, and a chain that loops back is refused when it is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from workflow.domain.errors import InvalidInput


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


def check_new(new: Delegation, existing: list[Delegation]) -> None:
    """Refuse a delegation to oneself, a backwards period, or one that closes a loop."""
    if new.delegate == new.delegator:
        raise InvalidInput("nobody can delegate to themselves")
    if new.ends_on < new.starts_on:
        raise InvalidInput(f"the delegation ends ({new.ends_on}) before it starts "
                           f"({new.starts_on})")
    edges = {d.delegator: d.delegate for d in existing
             if d.delegator != new.delegator and d.overlaps(new)}
    edges[new.delegator] = new.delegate
    seen, at = [new.delegator], new.delegate
    while at in edges:
        if at in seen:
            raise InvalidInput("delegation loop: " + " -> ".join([*seen, at])
                               + "; clear one of them first")
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
