"""The answers' shapes, as the contract states them: what each field always holds.

The read models (``adapters.views``, ``queues``) build the answers; these models only
describe them, and allow more fields than they name (an answer may grow). The contract
test (Schemathesis) holds the two together: an answer that leaves its shape fails it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class Step(Answer):
    org: str
    step: str


class Report(Answer):
    spent: dict[str, int]
    summary: str
    by: str
    file: dict[str, Any] | None
    round: int


class File(Answer):
    """A file attached to a program (``program files --json``)."""

    name: str
    kind: str = Field(description="proposal | report")
    round: int = Field(description="The round it was (or will be) submitted with")
    size: int
    sha256: str
    content_type: str
    attached_by: str
    attached_at: str
    sealed: bool = Field(description="Submitted with its round: kept, never changed or removed")


class Evaluation(Answer):
    verdict: str
    score: int | None
    by: str | None
    comment: str


class Scheduled(Answer):
    action: str
    due_at: str


class Shortfall(Answer):
    """Why a waitlisted program waits: a funder whose envelope cannot hold its share."""

    party: str
    requested: int
    available: int
    missing: int
    has_envelope: bool


class Decided(Answer):
    """A party's decision in the current review round."""

    decision: str
    by: str
    at: str
    comment: str
    acting_for: str | None


class Reason(Answer):
    """Words given for a setback: rejected, changes_requested, withdrawn, cancelled,
    evaluation_returned."""

    kind: str
    by: str
    at: str
    party: str | None
    round: int | None
    acting_for: str | None
    text: str


class Program(Answer):
    """``program show --json``; the ``ETag`` header carries ``version``."""

    id: int
    title: str
    state: str
    workflow: str
    org: str
    category: str
    year: int
    start: date | None
    end: date | None
    description: str
    review_round: int
    parties: dict[str, str]
    requested: dict[str, int]
    holds: dict[str, int]
    holds_expire_at: str | None
    committed: dict[str, int]
    disbursed: dict[str, int]
    refunds_due: dict[str, int]
    report: Report | None
    files: list[File]
    evaluations: dict[str, Evaluation]
    scheduled: list[Scheduled]
    waiting_on: list[str]
    waiting_for: list[Step]
    decisions: dict[str, Decided]
    reasons: list[Reason]
    waitlisted_for: list[Shortfall] = Field(
        description="While waitlisted: each short funder, with how much is missing"
    )
    created_by: str
    version: int


class ProgramRow(Answer):
    id: int
    title: str
    state: str
    org: str
    category: str
    year: int
    requested: dict[str, int]
    waiting_on: list[str]
    waiting_for: list[Step]


class ProgramPage(Answer):
    items: list[ProgramRow]
    next: str | None = Field(description="`after` for the next page; null on the last")


class InboxRow(Answer):
    task: int
    program: int
    title: str
    kind: str
    party: str | None
    queue: str
    due: str
    overdue_days: int
    claimed_by: str | None
    acting_for: str | None


class TaskPage(Answer):
    items: list[InboxRow]
    next: str | None = Field(description="`after` for the next page; null on the last")


class Event(Answer):
    seq: int
    type: str
    actor: str
    at: str
    data: dict[str, Any]
    stream: str
    prev_hash: str
    hash: str
    text: str = Field(description="The event as a sentence in the reader's language")


class LedgerEntry(Answer):
    id: int
    at: str
    party: str
    year: int
    program: int | None
    kind: str
    source: str | None
    amount: int
    key: str
    actor: str


class TaskClaim(Answer):
    task: int
    claimed_by: str | None


class BulkItem(Answer):
    task: int
    ok: bool
    program: int | None
    error: str | None


class Delegation(Answer):
    to: str
    starts_on: date = Field(alias="from")
    ends_on: date = Field(alias="until")


class Notification(Answer):
    id: int
    kind: str
    day: str
    subject: str
    body: str
    read: bool


class NotificationMark(Answer):
    id: int
    marked: int  # 1, or 0 when it was read already


class NotificationsMarked(Answer):
    marked: int  # how many were unread


class BudgetLine(Answer):
    party: str
    year: int
    amount: int
    held: int
    committed: int
    disbursed: int
    available: int
    refund_due: int


class Amendment(Answer):
    party: str
    year: int
    by: int
    amount: int
    available: int


class Envelope(Answer):
    party: str
    year: int
    amount: int


class Waiting(Answer):
    program: int
    state: str
    sla_days: int | None
    last_reminder: str | None
    waiting_on: list[str]
    waiting_for: list[Step]
    waitlisted_for: list[Shortfall]


class Party(Answer):
    key: str
    role: str


class WorkflowSummary(Answer):
    key: str
    version: int
    title: str
    parties: list[Party]


class State(Answer):
    name: str
    type: str
    role: str | None
    sla_days: int | None


class Transition(Answer):
    trigger: str
    sources: list[str]
    dest: str
    by: str


class Workflow(WorkflowSummary):
    initial: str
    states: list[State]
    transitions: list[Transition]
    mermaid: str


class AuditCheck(Answer):
    ok: bool
    events: int
    broken: str | None


class Health(Answer):
    status: str


class Readiness(Answer):
    status: str
    checks: dict[str, bool]
    down: list[str]


class Person(Answer):
    email: str
    name: str
    org: str
    roles: list[str]
    locale: str
    active: bool


class PersonChange(Person):
    """The person after an admin's change, and what it handed back."""

    claims_returned: list[int] = Field(description="Tasks back in their queues")
    delegations_ended: int
    tokens_revoked: int


class Organization(Answer):
    key: str
    name: str
    funder: bool


class OrganizationPeople(Organization):
    users: list[Person]
