"""One verdict per party per round: the shape the review, the funding and the evaluation share.

In each, every party of the round acts once while the program is in the round's state:
a second act is a conflict (two people of one party racing, or a late repeat), an act
outside the state is not allowed, and an organization outside the round is not
permitted. The AND-join that ends a round is a guard of the workflow definition.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow.domain.definition import WorkflowDefinition
from workflow.domain.errors import Conflict, NotPermitted, TransitionNotAllowed

PENDING = "pending"


@dataclass(frozen=True)
class Round:
    step: str  # what the parties owe in it, for people: review | commitment | evaluation
    state: str  # the program's state while the round is open
    verb: str  # "decide on"
    did: str  # "decided on"
    parties: str  # "reviewing"
    triggers: tuple[str, ...]  # what a party's act fires

    def settled_in(self, definition: WorkflowDefinition) -> frozenset[str]:
        """The round's state and the states its acts lead to: where a repeat is a
        conflict (later on, the program has simply moved on)."""
        return frozenset(
            {self.state} | {t.dest for t in definition.transitions if t.trigger in self.triggers}
        )


REVIEW = Round(
    "review",
    "in_review",
    "decide on",
    "decided on",
    "reviewing",
    ("approve", "reject", "request_changes"),
)
FUNDING = Round(
    "commitment", "approved", "commit funds to", "committed its share of", "funding", ("fund",)
)
EVALUATION = Round(
    "evaluation",
    "under_evaluation",
    "evaluate",
    "evaluated",
    "evaluating",
    ("accept", "return_report"),
)
ROUNDS = (REVIEW, FUNDING, EVALUATION)


def round_in(state: str) -> Round | None:
    """The round open while a program is in ``state``, if any."""
    return next((r for r in ROUNDS if r.state == state), None)


def check_turn(
    rnd: Round,
    definition: WorkflowDefinition,
    program_id: int | None,
    state: str,
    party: str,
    *,
    is_party: bool,
    taken: str | None,
) -> None:
    """Refuse ``party``'s act in ``rnd`` unless it is the party's turn.

    ``taken``: what the party already did in this round, for the message (None: nothing
    yet). A repeat is reported first: the loser of a race finds the winner's act, even
    when that act ended the round.
    """
    if taken is not None and state in rnd.settled_in(definition):
        raise Conflict(
            f"{party} has already {rnd.did} program {program_id} in this round ({taken})",
            reason="already_acted",
            program=program_id,
            party=party,
            step=rnd.step,
            taken=taken,
        )
    if state != rnd.state:
        raise TransitionNotAllowed(
            f"cannot {rnd.verb} program {program_id}: it is {state}, not {rnd.state}",
            reason="round_not_open",
            program=program_id,
            state=state,
            step=rnd.step,
            expected=rnd.state,
        )
    if not is_party:
        article = "an" if rnd.parties[0] in "aeiou" else "a"
        raise NotPermitted(
            f"{party} is not {article} {rnd.parties} party of program {program_id}",
            reason="party_not_in_round",
            program=program_id,
            party=party,
            step=rnd.step,
        )
