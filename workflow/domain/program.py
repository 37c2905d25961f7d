"""The Program aggregate: one proposal's content, joint review, money and evaluation.

Every change goes through a method that checks the domain rule, fires the shared
state machine and records past-tense events; money changes are recorded as ledger
moves, and due times (start, end, hold expiry) as scheduled work, which the
repository writes in the same transaction. The joint review is one decision per
party, the funding one commitment per funder, the evaluation one verdict per party;
each AND-join is a guard (``all_parties_approved``, ``all_funders_committed``,
``all_parties_accepted``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from workflow.domain import events as ev
from workflow.domain.budget import (
    Envelope,
    commit_key,
    disburse_key,
    hold_key,
    release_commitment_key,
    release_key,
    shortfalls,
)
from workflow.domain.calendar import start_of_day
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
ACCEPTED, RETURNED = "accepted", "returned"
VERDICTS = {"accept": (ACCEPTED, ev.EVALUATION_ACCEPTED, "accept"),
            "return": (RETURNED, ev.EVALUATION_RETURNED, "return_report")}
# Money may be paid out once funded, and after closing up to what was reported spent.
DISBURSING_STATES = ("funded", "active", "evaluation_due", "under_evaluation", "closed")
SCORES = range(1, 6)


@dataclass(frozen=True)
class LedgerMove:
    """One ledger entry to write.

    ``hold`` reserves, ``commit`` turns a hold into a commitment, ``disburse`` pays out
    committed money, ``release`` gives back money from ``source`` (``held`` or
    ``committed``).
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
        return bool(self.evaluations) and all(
            e.verdict == ACCEPTED for e in self.evaluations.values())

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
                    "year": self.content.fiscal_year, "parties": [s.party for s in short],
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
        self._set_hold_expiry(machine, now)
        return True

    def _set_hold_expiry(self, machine: WorkflowMachine, now: datetime) -> None:
        days = machine.definition.hold_expiry_days
        if days is None:
            return
        self.holds_expire_at = now + timedelta(days=days)
        self.scheduled.append(ScheduledWork(
            "expire", self.holds_expire_at, f"expire:{self._id()}:{self.review_round}"))

    # -- the joint review --
    def decide(self, machine: WorkflowMachine, party: str, decision: str, by: str,
               comment: str = "", acting_for: str | None = None) -> None:
        """``acting_for``: the person ``by`` stands in for (대결), kept in the event."""
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
                                              "round": self.review_round,
                                              **_standing_in(acting_for)}))
        machine.fire(self, trigger)
        if self.state == "rejected":
            self._release_holds("rejected")

    def withdraw(self, machine: WorkflowMachine, reason: str) -> None:
        machine.fire(self, "withdraw", reason=reason)
        self._release_holds("withdrawn")
        self._release_commitments("withdrawn")

    # -- funding --
    def commit(self, machine: WorkflowMachine, party: str, by: str,
               acting_for: str | None = None) -> int:
        """The party's budget officer turns its hold into a commitment; returns the amount.

        When every funder has committed the program is funded and its run is scheduled.
        """
        if self.committed.get(party):
            raise Conflict(f"{party} has already committed its share of program {self.id} "
                           f"({self.committed[party]:,} KRW)", program=self.id, party=party)
        if self.state != "approved":
            raise TransitionNotAllowed(
                f"cannot commit funds to program {self.id}: it is {self.state}, not approved",
                program=self.id, state=self.state)
        if not machine.can(self, "fund"):  # a program pinned to a review-only version
            raise TransitionNotAllowed(
                f"cannot commit funds to program {self.id}: it follows "
                f"{self.workflow_key}@{self.workflow_version}, which has no funding step",
                program=self.id, state=self.state)
        if party not in self.content.requests:
            raise NotPermitted(f"{party} funds no share of program {self.id} "
                               f"(funders: {', '.join(sorted(self.content.requests))})")
        amount = self.holds.pop(party, 0)
        if not amount:
            raise Conflict(f"program {self.id} holds nothing of {party}'s to commit",
                           program=self.id, party=party)
        self.committed[party] = amount
        self.ledger_moves.append(LedgerMove(
            "commit", party, self.content.fiscal_year, amount, commit_key(self._id(), party)))
        self.events.append(Event(ev.FUNDS_COMMITTED, {"party": party, "amount": amount,
                                                      **_standing_in(acting_for)}))
        self._drop_expiry_once_nothing_held()
        if machine.fire(self, "fund"):
            self.scheduled.append(ScheduledWork(
                "activate", start_of_day(self.starts_on), f"activate:{self._id()}"))
        return amount

    @property
    def starts_on(self) -> date:
        """The run's first day: the start date, else the first day of the fiscal year."""
        return self.content.start or date(self.content.fiscal_year, 1, 1)

    @property
    def ends_on(self) -> date:
        """The run's last day: the end date, else the last day of the fiscal year."""
        return self.content.end or date(self.content.fiscal_year, 12, 31)

    def disburse(self, party: str, amount: int, memo: str = "") -> int:
        """Pay out a tranche of the party's commitment; returns the tranche number."""
        check_amount(amount, "disbursement")
        if self.state not in DISBURSING_STATES:
            raise TransitionNotAllowed(
                f"cannot disburse to program {self.id}: it is {self.state} (disbursements "
                f"in: {', '.join(DISBURSING_STATES)})", program=self.id, state=self.state)
        payable, what = self.committed.get(party, 0), "its commitment"
        spent = self.report.spent.get(party, 0) if self.report is not None else payable
        if spent < payable and self.state in ("under_evaluation", "closed"):
            # The report stands: settlement keeps what it says was spent, no more.
            payable, what = spent, "the reported spend"
        remaining = payable - self.disbursed.get(party, 0)
        if amount > remaining:
            raise InvalidInput(
                f"cannot disburse {amount:,} KRW of {party}'s share of program {self.id}: "
                f"only {remaining:,} KRW of {what} is left to pay out",
                program=self.id, party=party)
        self.tranches += 1
        self.disbursed[party] = self.disbursed.get(party, 0) + amount
        self.ledger_moves.append(LedgerMove(
            "disburse", party, self.content.fiscal_year, amount,
            disburse_key(self._id(), self.tranches)))
        self.events.append(Event(ev.FUNDS_DISBURSED, {
            "party": party, "amount": amount, "tranche": self.tranches, "memo": memo}))
        return self.tranches

    # -- the run, moved by the scheduled worker --
    def run_scheduled(self, machine: WorkflowMachine, action: str, now: datetime) -> bool:
        """Carry out due work; False when the program has moved on and nothing is due."""
        if action == "activate" and self.state == "funded":
            machine.fire(self, "activate")
            self.scheduled.append(ScheduledWork(
                "finish", start_of_day(self.ends_on), f"finish:{self._id()}"))
            return True
        if action == "finish" and self.state == "active":
            machine.fire(self, "finish")
            return True
        if action == "expire":
            return self._expire_holds(machine, now)
        return False

    def _expire_holds(self, machine: WorkflowMachine, now: datetime) -> bool:
        expires = self.holds_expire_at
        if expires is None or expires > now or not machine.can(self, "expire"):
            return False  # funded, withdrawn, re-held later, or not due yet
        self.events.append(Event(ev.HOLDS_EXPIRED, {
            "expired_at": expires.isoformat(), "holds": dict(sorted(self.holds.items()))}))
        self._release_holds("hold expired")
        self._release_commitments("hold expired")
        machine.fire(self, "expire")
        return True

    def cancel(self, machine: WorkflowMachine, reason: str) -> None:
        """An admin stops a funded or running program; undisbursed money goes back."""
        if not reason.strip():
            raise InvalidInput("a cancellation needs a reason")
        machine.fire(self, "cancel", reason=reason)
        self._release_commitments("cancelled")
        self.called_off.extend(("activate", "finish"))  # the run it was waiting for is off

    # -- evaluation and settlement --
    def submit_report(self, machine: WorkflowMachine, report: EvaluationReport) -> None:
        if not report.summary.strip():
            raise InvalidInput("an evaluation report needs a summary")
        funders = sorted(self.content.requests)
        if sorted(report.spent) != funders:
            raise InvalidInput(
                f"report the actual spend for every funder of program {self.id}: "
                f"{', '.join(funders)} (got: {', '.join(sorted(report.spent)) or 'none'})")
        for party, spent in sorted(report.spent.items()):
            check_amount(spent, f"spend reported for {party}", allow_zero=True)
            committed, paid = self.committed.get(party, 0), self.disbursed.get(party, 0)
            if spent > committed:
                raise InvalidInput(f"reported spend for {party} ({spent:,} KRW) exceeds its "
                                   f"commitment ({committed:,} KRW)", party=party)
            if spent < paid:
                raise InvalidInput(
                    f"reported spend for {party} ({spent:,} KRW) is below what was already "
                    f"disbursed ({paid:,} KRW); settle the refund with {party} first",
                    party=party)
        machine.fire(self, "report", spent=dict(sorted(report.spent.items())),
                     summary=report.summary, attachment=report.attachment)
        self.report = report
        self.evaluation_round += 1
        self.evaluations = {p: Evaluation() for p in self.parties}

    def evaluate(self, machine: WorkflowMachine, party: str, verdict: str, by: str,
                 score: int | None = None, comment: str = "",
                 acting_for: str | None = None) -> None:
        if verdict not in VERDICTS:
            raise InvalidInput(f"unknown verdict {verdict!r} (use: {', '.join(VERDICTS)})")
        if score is not None and score not in SCORES:
            raise InvalidInput(f"score must be 1 to 5, got {score}")
        current = self.evaluations.get(party)
        if current is not None and current.verdict != PENDING:
            raise Conflict(f"{party} has already evaluated program {self.id} in this round "
                           f"({current.verdict} by {current.by})", program=self.id, party=party)
        if self.state != "under_evaluation":
            raise TransitionNotAllowed(
                f"cannot evaluate program {self.id}: it is {self.state}, not under_evaluation",
                program=self.id, state=self.state)
        if current is None:
            raise NotPermitted(f"{party} is not an evaluating party of program {self.id}")
        outcome, event_type, trigger = VERDICTS[verdict]
        self.evaluations[party] = Evaluation(outcome, by, score, comment)
        self.events.append(Event(event_type, {"party": party, "score": score,
                                              "comment": comment,
                                              "round": self.evaluation_round,
                                              **_standing_in(acting_for)}))
        machine.fire(self, trigger)
        if self.state == "closed":
            self._settle()

    def _settle(self) -> None:
        """Closing: each funder's commitment shrinks to what was actually spent."""
        assert self.report is not None
        for party in sorted(self.committed):
            unspent = self.committed[party] - self.report.spent.get(party, 0)
            if unspent > 0:
                self._release_commitment(party, unspent, "unspent at closing")

    def _release_holds(self, reason: str, parties: list[str] | None = None) -> None:
        """Release the holds of ``parties`` (default: every hold the program has)."""
        released = sorted(p for p in self.holds if parties is None or p in parties)
        for party in released:
            amount = self.holds.pop(party)
            key = release_key(self._id(), self.review_round, party)
            self.ledger_moves.append(LedgerMove(
                "release", party, self.content.fiscal_year, amount, key, source="held"))
            self.events.append(Event(ev.HOLD_RELEASED, {
                "party": party, "amount": amount, "reason": reason}))
        self._drop_expiry_once_nothing_held()

    def _drop_expiry_once_nothing_held(self) -> None:
        """With no hold left there is nothing to expire: the pending expiry is called off."""
        if not self.holds and self.holds_expire_at is not None:
            self.holds_expire_at = None
            self.called_off.append("expire")

    def _release_commitments(self, reason: str) -> None:
        """Give back the undisbursed part of every commitment (the program is ending)."""
        for party in sorted(self.committed):
            undisbursed = self.committed[party] - self.disbursed.get(party, 0)
            if undisbursed > 0:
                self._release_commitment(party, undisbursed, reason)

    def _release_commitment(self, party: str, amount: int, reason: str) -> None:
        self.committed[party] -= amount
        self.ledger_moves.append(LedgerMove(
            "release", party, self.content.fiscal_year, amount,
            release_commitment_key(self._id(), party), source="committed"))
        self.events.append(Event(ev.COMMITMENT_RELEASED, {
            "party": party, "amount": amount, "reason": reason}))

    def waiting_on(self) -> list[str]:
        """The parties whose step the program waits for (review, commitment, evaluation)."""
        if self.state == "in_review":
            return [p for p, d in self.decisions.items() if d.decision == PENDING]
        if self.state == "approved":
            return sorted(p for p in self.content.requests if not self.committed.get(p))
        if self.state == "under_evaluation":
            return [p for p, e in self.evaluations.items() if e.verdict == PENDING]
        return []

    def _id(self) -> int:
        if self.id is None:
            raise InvalidInput("program has not been saved yet")
        return self.id


def _standing_in(acting_for: str | None) -> dict[str, str]:
    """Event data of a step taken by delegation: "decided by B acting for A"."""
    return {"acting_for": acting_for} if acting_for else {}


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
