"""What a program is made of: its content, its rounds' verdicts, its money, and what an
action on it leaves to be written (events, ledger moves, scheduled work).

The steps (``drafting``, ``review``, ``funding``, ``evaluation``) are methods of the
``Program`` built from these fields; ``money`` holds the moves they share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from workflow.domain.calendar import start_of_day
from workflow.domain.definition import WorkflowDefinition
from workflow.domain.errors import InvalidInput
from workflow.domain.events import Event
from workflow.domain.program.content import ProgramContent
from workflow.domain.program.rounds import (
    FUNDING,
    PENDING,
    REVIEW,
    ROUNDS,
    Round,
    check_turn,
)

APPROVED, REJECTED, CHANGES = "approved", "rejected", "changes_requested"
ACCEPTED, RETURNED = "accepted", "returned"


@dataclass(frozen=True)
class LedgerMove:
    """One ledger entry to write.

    ``hold`` reserves, ``commit`` turns a hold into a commitment, ``disburse`` pays out
    committed money, ``release`` gives back money from ``source`` (``held`` or
    ``committed``), ``refund`` takes back money paid out and not spent (it leaves the
    commitment and the disbursement both).
    """

    kind: str
    party: str
    year: int
    amount: int
    key: str
    source: str | None = None


@dataclass(frozen=True)
class ScheduledWork:
    """A due time kept as a database row; the scheduled worker carries it out once."""

    action: str  # activate | finish | expire
    due_at: datetime
    key: str


@dataclass
class Decision:
    decision: str = PENDING
    by: str | None = None
    comment: str = ""


@dataclass
class Evaluation:
    verdict: str = PENDING
    by: str | None = None
    score: int | None = None
    comment: str = ""


@dataclass(frozen=True)
class EvaluationReport:
    """The coordinator's account of a finished program: actual spend per funder."""

    spent: dict[str, int]
    summary: str
    by: str
    attachment: dict[str, Any] | None = None  # {name, sha256, size}


@dataclass
class ProgramState:
    id: int | None
    org: str
    workflow_key: str
    workflow_version: int
    content: ProgramContent
    created_by: str
    state: str = "draft"
    parties: tuple[str, ...] = ()
    decisions: dict[str, Decision] = field(default_factory=dict)
    holds: dict[str, int] = field(default_factory=dict)
    submitted_by: set[str] = field(default_factory=set)
    review_round: int = 1
    version: int = 0
    waitlisted_at: datetime | None = None
    holds_expire_at: datetime | None = None
    committed: dict[str, int] = field(default_factory=dict)
    disbursed: dict[str, int] = field(default_factory=dict)
    tranches: int = 0
    report: EvaluationReport | None = None
    evaluations: dict[str, Evaluation] = field(default_factory=dict)
    evaluation_round: int = 0
    events: list[Event] = field(default_factory=list)
    ledger_moves: list[LedgerMove] = field(default_factory=list)
    scheduled: list[ScheduledWork] = field(default_factory=list)
    called_off: list[str] = field(default_factory=list)  # actions whose pending work is void

    # -- guards named in workflow definitions (transitions passes an EventData) --
    def all_parties_approved(self, _event: Any = None) -> bool:
        return all(d.decision == APPROVED for d in self.decisions.values())

    def holds_cover_request(self, _event: Any = None) -> bool:
        return self.holds == self.content.requests

    def all_funders_committed(self, _event: Any = None) -> bool:
        return not self.holds and all(self.committed.get(p) for p in self.content.requests)

    def all_parties_accepted(self, _event: Any = None) -> bool:
        """Every party accepted the report, and no refund is left due on it (a program
        settles only once the money it was paid and did not spend is back)."""
        return (
            bool(self.evaluations)
            and all(e.verdict == ACCEPTED for e in self.evaluations.values())
            and not self.refunds_due()
        )

    def refunds_due(self) -> dict[str, int]:
        """Each funder owed money back (``refunds.RefundSteps``); none at this level."""
        return {}

    # -- the rounds --
    def turns(self, rnd: Round) -> dict[str, str | None]:
        """Each party of ``rnd``, mapped to what it did this round (None: still to act)."""
        if rnd is REVIEW:
            return {
                p: None if d.decision == PENDING else f"{d.decision} by {d.by}"
                for p, d in self.decisions.items()
            }
        if rnd is FUNDING:
            return {
                p: f"{self.committed[p]:,} KRW" if self.committed.get(p) else None
                for p in sorted(self.content.requests)
            }
        return {
            p: None if e.verdict == PENDING else f"{e.verdict} by {e.by}"
            for p, e in self.evaluations.items()
        }

    def _take_turn(self, rnd: Round, definition: WorkflowDefinition, party: str) -> None:
        """Refuse unless it is ``party``'s turn in ``rnd`` (see ``rounds.check_turn``)."""
        turns = self.turns(rnd)
        check_turn(
            rnd,
            definition,
            self.id,
            self.state,
            party,
            is_party=party in turns,
            taken=turns.get(party),
        )

    def pending_parties(self) -> list[str]:
        """The parties whose turn the open round (if any) still waits for."""
        for rnd in ROUNDS:
            if self.state == rnd.state:
                return [p for p, taken in self.turns(rnd).items() if taken is None]
        return []

    @property
    def starts_on(self) -> date:
        """The run's first day: the start date, else the first day of the fiscal year."""
        return self.content.start or date(self.content.fiscal_year, 1, 1)

    @property
    def ends_on(self) -> date:
        """The run's last day: the end date, else the last day of the fiscal year."""
        return self.content.end or date(self.content.fiscal_year, 12, 31)

    @property
    def run_starts_at(self) -> datetime:
        """The run begins at 00:00 Seoul of its first day."""
        return start_of_day(self.starts_on)

    @property
    def run_ends_at(self) -> datetime:
        """The run is active through its last day: it ends when that Seoul day does, at
        00:00 Seoul of the next day (not at the last day's start)."""
        return start_of_day(self.ends_on + timedelta(days=1))

    def _id(self) -> int:
        if self.id is None:
            raise InvalidInput("program has not been saved yet")
        return self.id


def standing_in(acting_for: str | None) -> dict[str, str]:
    """Event data of a step taken by delegation: "decided by B acting for A"."""
    return {"acting_for": acting_for} if acting_for else {}
