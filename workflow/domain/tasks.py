"""What a program waits on, and the human tasks that ask for it (PRODUCT §5).

One rule answers "waiting on whom, for what": a human step of the workflow definition
(``type: human`` or ``review``, with its ``task`` kind, role and SLA) waits on the
program's own organization (human steps: submit, revise, report) or on each party still
to take its turn in the open round (review steps: review, commit_funds, evaluate).
``program show`` reads it from the program; the tasks are its form in people's queues,
so ``program list --waiting-on`` and the board read the live tasks. After every change
the service layer compares what the program asks for before and after, opens the new
tasks and closes the ones no longer asked for — completed when the acting user's own
queue did the work, cancelled when the program moved on otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from workflow.domain.definition import WorkflowDefinition

OPEN, CLAIMED, COMPLETED, CANCELLED = "open", "claimed", "completed", "cancelled"
LIVE = (OPEN, CLAIMED)


@dataclass(frozen=True, order=True)
class TaskSpec:
    """One step a program waits for: its kind and the queue (organization + role) it
    sits in."""

    kind: str
    org: str
    role: str
    party: str | None  # the party it acts for (review steps); None for the coordinator's


class Waiting(Protocol):
    """What the rule reads of a program (the aggregate satisfies it)."""

    state: str
    org: str

    def pending_parties(self) -> list[str]: ...


def waiting_on(definition: WorkflowDefinition, program: Waiting) -> list[TaskSpec]:
    """The steps ``program`` waits for now, from whom (by kind, then organization)."""
    return sorted(tasks_for(definition, program.state, program.org, program.pending_parties()))


def tasks_for(
    definition: WorkflowDefinition, state: str, org: str, pending: Sequence[str]
) -> frozenset[TaskSpec]:
    """The tasks a program in ``state`` asks for (``pending``: parties yet to act)."""
    spec = definition.states.get(state)
    if spec is None or spec.task is None or spec.role is None:
        return frozenset()
    if spec.type == "review":
        return frozenset(
            TaskSpec(spec.task, party, definition.party_role(party, spec.role), party)
            for party in pending
        )
    return frozenset({TaskSpec(spec.task, org, spec.role, None)})
