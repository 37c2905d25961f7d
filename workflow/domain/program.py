"""The Program aggregate: one proposal's content, joint review and money it holds.

Every change goes through a method that checks the domain rule, fires the shared
state machine and records past-tense events; money changes are recorded as ledger
moves the repository writes in the same transaction. The joint review is one
decision per party; the AND-join is the ``all_parties_approved`` guard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from workflow.domain import events as ev
from workflow.domain.budget import Envelope, hold_key, release_key, shortfalls
from workflow.domain.definition import WorkflowDefinition
from workflow.domain.errors import Conflict, InvalidInput, NotPermitted, TransitionNotAllowed
from workflow.domain.events import Event
from workflow.domain.machine import WorkflowMachine
from workflow.domain.money import check_amount

PENDING, APPROVED, REJECTED, CHANGES = "pending", "approved", "rejected", "changes_requested"
DECISIONS = {"approve": (APPROVED, ev.PARTY_APPROVED, "approve"),
             "reject": (REJECTED, ev.PARTY_REJECTED, "reject"),
             "request-changes": (CHANGES, ev.CHANGES_REQUESTED, "request_changes")}
EDITABLE_STATES = ("draft", "revision_requested")


@dataclass(frozen=True)
class LedgerMove:
    """One ledger entry to write: ``hold`` reserves, ``release`` gives back held money."""

    kind: str
    party: str
    year: int
    amount: int
    key: str


@dataclass
class Decision:
    decision: str = PENDING
    by: str | None = None
    comment: str = ""


@dataclass
class ProgramContent:
    """What a coordinator writes and may edit while the program is editable."""

    title: str
    category: str
    requests: dict[str, int]
    fiscal_year: int
    start: date | None = None
    end: date | None = None
    description: str = ""


@dataclass
class Program:
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
    events: list[Event] = field(default_factory=list)
    ledger_moves: list[LedgerMove] = field(default_factory=list)

    # -- guards named in workflow definitions (transitions passes an EventData) --
    def all_parties_approved(self, _event: Any = None) -> bool:
        return all(d.decision == APPROVED for d in self.decisions.values())

    def holds_cover_request(self, _event: Any = None) -> bool:
        return self.holds == self.content.requests

    # -- creation and editing --
    @classmethod
    def create(cls, definition: WorkflowDefinition, org: str, content: ProgramContent,
               created_by: str) -> Program:
        check_content(definition, content)
        program = cls(None, org, definition.key, definition.version, content, created_by,
                      state=definition.initial, parties=definition.party_keys)
        program.decisions = {p: Decision() for p in program.parties}
        program.events.append(Event(ev.PROGRAM_CREATED, {
            "org": org, "workflow": f"{definition.key}@{definition.version}",
            **content_data(content)}))
        return program

    def update(self, definition: WorkflowDefinition, content: ProgramContent) -> None:
        if self.state not in EDITABLE_STATES:
            raise TransitionNotAllowed(
                f"cannot update program {self.id}: it is {self.state} "
                f"(editable in: {', '.join(EDITABLE_STATES)})", program=self.id)
        check_content(definition, content)
        self._release_stale_holds(content)
        self.content = content
        self.events.append(Event(ev.PROGRAM_UPDATED, content_data(content)))

    def _release_stale_holds(self, new: ProgramContent) -> None:
        """Give back at once the holds the new content no longer asks for where they sit.

        A hold lives in one year's envelope under one party: once the fiscal year
        changes or a party is dropped, nothing later could release it.
        """
        if new.fiscal_year != self.content.fiscal_year:
            self._release_holds("revised request")
        else:
            self._release_holds("revised request",
                                [p for p in self.holds if p not in new.requests])

    # -- submission and budget holds --
    def submit(self, machine: WorkflowMachine, by: str) -> None:
        if self.state != "revision_requested":
            machine.fire(self, "submit")
            self.submitted_by.add(by)
            return
        holds_still_fit = self.holds_cover_request()
        machine.fire(self, "resubmit")  # back to in_review, or to submitted for new holds
        self.submitted_by.add(by)
        if not holds_still_fit:
            self._release_holds("revised request")
        self.review_round += 1
        self.decisions = {p: Decision() for p in self.parties}

    def place_holds(self, machine: WorkflowMachine, envelopes: dict[str, Envelope],
                    now: datetime) -> bool:
        """Hold every funder's share, or none and waitlist; True if the holds were placed."""
        if self.state not in ("submitted", "waitlisted"):
            return False  # already handled: a retried or duplicated task does nothing
        short = shortfalls(self.content.requests, envelopes)
        if short:
            if self.state == "submitted":
                self.events.append(Event(ev.BUDGET_UNAVAILABLE, {
                    "year": self.content.fiscal_year,
                    "shortfalls": [s.describe() for s in short]}))
                machine.fire(self, "waitlist")
                self.waitlisted_at = now
            return False
        for party, amount in sorted(self.content.requests.items()):
            key = hold_key(self._id(), self.review_round, party)
            self.ledger_moves.append(
                LedgerMove("hold", party, self.content.fiscal_year, amount, key))
            self.holds[party] = amount
            self.events.append(Event(ev.BUDGET_HELD, {
                "party": party, "amount": amount, "year": self.content.fiscal_year}))
        machine.fire(self, "hold")
        self.waitlisted_at = None
        return True

    # -- the joint review --
    def decide(self, machine: WorkflowMachine, party: str, decision: str, by: str,
               comment: str = "") -> None:
        if decision not in DECISIONS:
            raise InvalidInput(f"unknown decision {decision!r} (use: {', '.join(DECISIONS)})")
        current = self.decisions.get(party)
        # Two approvers of one party racing: the loser finds the winner's decision, maybe
        # one that already ended the review (rejected, sent back); either way a conflict.
        decided = current is not None and current.decision != PENDING
        if self.state != "in_review" and not (
                decided and self.state in _review_outcomes(machine.definition)):
            raise TransitionNotAllowed(
                f"cannot decide on program {self.id}: it is {self.state}, not in_review",
                program=self.id, state=self.state)
        if current is None:
            raise NotPermitted(f"{party} is not a reviewing party of program {self.id}")
        if current.decision != PENDING:
            raise Conflict(
                f"{party} has already decided on program {self.id} in this round "
                f"({current.decision} by {current.by})", program=self.id, party=party)
        outcome, event_type, trigger = DECISIONS[decision]
        self.decisions[party] = Decision(outcome, by, comment)
        self.events.append(Event(event_type, {"party": party, "comment": comment,
                                              "round": self.review_round}))
        machine.fire(self, trigger)
        if self.state == "rejected":
            self._release_holds("rejected")

    def withdraw(self, machine: WorkflowMachine, reason: str) -> None:
        machine.fire(self, "withdraw", reason=reason)
        self._release_holds("withdrawn")

    def _release_holds(self, reason: str, parties: list[str] | None = None) -> None:
        """Release the holds of ``parties`` (default: every hold the program has)."""
        released = sorted(p for p in self.holds if parties is None or p in parties)
        for party in released:
            amount = self.holds.pop(party)
            key = release_key(self._id(), self.review_round, party)
            self.ledger_moves.append(
                LedgerMove("release", party, self.content.fiscal_year, amount, key))
            self.events.append(Event(ev.HOLD_RELEASED, {
                "party": party, "amount": amount, "reason": reason}))

    def waiting_on(self) -> list[str]:
        if self.state != "in_review":
            return []
        return [p for p, d in self.decisions.items() if d.decision == PENDING]

    def _id(self) -> int:
        if self.id is None:
            raise InvalidInput("program has not been saved yet")
        return self.id


def _review_outcomes(definition: WorkflowDefinition) -> set[str]:
    """The review state and every state a party's decision can move a program to."""
    triggers = {trigger for _, _, trigger in DECISIONS.values()}
    return {"in_review"} | {t.dest for t in definition.transitions if t.trigger in triggers}


def check_content(definition: WorkflowDefinition, content: ProgramContent) -> None:
    """Refuse content the workflow cannot carry: unknown category or party, bad amounts."""
    if not content.title.strip():
        raise InvalidInput("title must not be empty")
    if definition.categories and content.category not in definition.categories:
        raise InvalidInput(
            f"unknown category {content.category!r} (known: "
            f"{', '.join(definition.categories)})", category=content.category)
    if not content.requests:
        raise InvalidInput("a program must request a share from at least one funder")
    for party, amount in content.requests.items():
        if definition.party(party) is None:
            raise InvalidInput(
                f"{party!r} is not a party of workflow {definition.key} "
                f"(parties: {', '.join(definition.party_keys)})", party=party)
        check_amount(amount, f"request from {party}")
    if content.start and content.end and content.end < content.start:
        raise InvalidInput(f"end date {content.end} is before start date {content.start}")
    if not 2000 <= content.fiscal_year <= 2100:
        raise InvalidInput(f"fiscal year {content.fiscal_year} is out of range (2000-2100)")


def content_data(content: ProgramContent) -> dict[str, Any]:
    return {
        "title": content.title, "category": content.category,
        "requests": dict(sorted(content.requests.items())), "year": content.fiscal_year,
        "start": content.start.isoformat() if content.start else None,
        "end": content.end.isoformat() if content.end else None,
        "description": content.description,
    }
