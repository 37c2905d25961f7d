"""Human tasks (PRODUCT §5): what a program's state asks of whom.

Tasks follow from the program, never the other way round: a human step of the
workflow definition (``type: human`` or ``review``, with its ``task`` kind, role and
SLA) asks the program's organization (human steps) or each party still to act
(review steps: the parties ``Program.waiting_on`` names) for one task each. After
every change the service layer compares what the program asks for before and after,
opens the new tasks and closes the ones no longer asked for — completed when the
acting user's own queue did the work, cancelled when the program moved on otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow.domain.definition import WorkflowDefinition

OPEN, CLAIMED, COMPLETED, CANCELLED = "open", "claimed", "completed", "cancelled"
LIVE = (OPEN, CLAIMED)


@dataclass(frozen=True, order=True)
class TaskSpec:
    """One task a program asks for: its kind and the queue (organization + role) it sits in."""

    kind: str
    org: str
    role: str
    party: str | None  # the party it acts for (review steps); None for the coordinator's


def tasks_for(definition: WorkflowDefinition, state: str, org: str,
              waiting_on: list[str] | tuple[str, ...]) -> frozenset[TaskSpec]:
    """The tasks a program in ``state`` asks for (``waiting_on``: parties yet to act)."""
    spec = definition.states.get(state)
    if spec is None or spec.task is None or spec.role is None:
        return frozenset()
    if spec.type == "review":
        return frozenset(TaskSpec(spec.task, party, _party_role(definition, party, spec.role),
                                  party) for party in waiting_on)
    return frozenset({TaskSpec(spec.task, org, spec.role, None)})


def _party_role(definition: WorkflowDefinition, party: str, role: str) -> str:
    """In the joint review a party's approvers have the party's role; elsewhere the step's."""
    found = definition.party(party)
    return found.role if found is not None and role == "approver" else role
