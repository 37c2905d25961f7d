"""Commands: orders given to the engine by a person (CLI, API) or a worker.

Every command carries the acting user's email (``actor``; ``None`` for operator and
system commands). Handlers in ``service_layer.handlers`` carry them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from workflow.domain.delivery import Outcome, RetryPolicy
from workflow.domain.directory import DEFAULT_LOCALE


@dataclass(frozen=True)
class Command:
    actor: str | None


@dataclass(frozen=True)
class AddOrganization(Command):
    key: str
    name: str
    funder: bool = False


@dataclass(frozen=True)
class AddUser(Command):
    email: str
    name: str
    org: str
    roles: tuple[str, ...]
    locale: str = DEFAULT_LOCALE


@dataclass(frozen=True)
class IssueToken(Command):
    """The operator gives a user a personal API token (the secret is shown once)."""

    email: str
    days: int = 90


@dataclass(frozen=True)
class RevokeTokens(Command):
    """The operator ends every token a user holds."""

    email: str


@dataclass(frozen=True)
class AddEnvelope(Command):
    party: str
    year: int
    amount: int


@dataclass(frozen=True)
class AmendEnvelope(Command):
    """A supplementary budget or correction (추경): ``by`` raises (+) or lowers (-)."""

    party: str
    year: int
    by: int
    reason: str


@dataclass(frozen=True)
class CreateProgram(Command):
    title: str
    org: str
    category: str
    requests: dict[str, int]
    start: date | None = None
    end: date | None = None
    year: int | None = None
    description: str = ""
    workflow: str | None = None  # None: the deployment's default workflow


@dataclass(frozen=True)
class UpdateProgram(Command):
    program_id: int
    title: str | None = None
    category: str | None = None
    requests: dict[str, int] | None = None
    start: date | None = None
    end: date | None = None
    year: int | None = None
    description: str | None = None
    expected_version: int | None = None  # refuse unless the program is still this version
    drop_requests: tuple[str, ...] = ()  # funders leaving the split (``requests`` merges)


@dataclass(frozen=True)
class SubmitProgram(Command):
    program_id: int


@dataclass(frozen=True)
class DecideReview(Command):
    program_id: int
    decision: str  # a key of ``program.DECISIONS``
    comment: str = ""
    expected_version: int | None = None  # refuse unless the program is still this version


@dataclass(frozen=True)
class DecideTask(Command):
    """A decision taken from one's inbox: the review task names the program and party."""

    task_id: int
    decision: str
    comment: str = ""


@dataclass(frozen=True)
class WithdrawProgram(Command):
    program_id: int
    reason: str = ""


@dataclass(frozen=True)
class PlaceHolds(Command):
    """System: hold each funder's share for a submitted (or waitlisted) program."""

    program_id: int


@dataclass(frozen=True)
class SendBudgetNotice(Command):
    """System: tell the coordinator and budget officers what money did to a program."""

    program_id: int
    what: str
    parties: tuple[str, ...]
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetryWaitlisted(Command):
    """System: money was released in ``year``; retry waitlisted programs in order."""

    year: int
    parties: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class CommitFunds(Command):
    """A budget officer commits their party's held share of an approved program."""

    program_id: int


@dataclass(frozen=True)
class DisburseFunds(Command):
    program_id: int
    amount: int
    memo: str = ""


@dataclass(frozen=True)
class RecordRefund(Command):
    """A funder's budget officer records money paid back on an underspent program."""

    program_id: int
    amount: int
    party: str | None = None  # None: the acting officer's own party
    memo: str = ""


@dataclass(frozen=True)
class ReportFile:
    name: str
    content: bytes


@dataclass(frozen=True)
class SubmitReport(Command):
    """The coordinator's evaluation report: actual spend per funder, and a summary."""

    program_id: int
    spent: dict[str, int]
    summary: str
    file: ReportFile | None = None


@dataclass(frozen=True)
class EvaluateReport(Command):
    program_id: int
    verdict: str  # a key of ``program.VERDICTS``
    score: int | None = None
    comment: str = ""


@dataclass(frozen=True)
class CancelProgram(Command):
    """An admin stops a funded or running program."""

    program_id: int
    reason: str


@dataclass(frozen=True)
class RunScheduled(Command):
    """System: carry out one row of scheduled work (activation, end of run, hold expiry)."""

    work_id: int


@dataclass(frozen=True)
class ClaimTask(Command):
    """Take a task from one's queue: nobody else can then act on it."""

    task_id: int


@dataclass(frozen=True)
class ReleaseTask(Command):
    """Give a claimed task back to its queue."""

    task_id: int


@dataclass(frozen=True)
class ReassignTask(Command):
    """A supervisor hands a task of their organization to someone in its queue."""

    task_id: int
    to: str


@dataclass(frozen=True)
class SetDelegation(Command):
    """The acting user names a delegate for a period of leave (대결)."""

    to: str
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class ClearDelegation(Command):
    pass


@dataclass(frozen=True)
class MarkNotificationRead(Command):
    """The acting user has read one of their messages (``None``: all of them)."""

    notification_id: int | None


@dataclass(frozen=True)
class SendDueReminders(Command):
    """System: one batch of the reminder sweep (due rows become people's messages)."""

    limit: int = 500


@dataclass(frozen=True)
class SetPassword(Command):
    """The operator sets a user's sign-in password (``user set-password``)."""

    email: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class SignIn(Command):
    """Someone at the sign-in page (no actor yet): a session when the password is right."""

    email: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class RequestSignInLink(Command):
    """Someone at the sign-in page asks for a one-time link by mail (no actor yet)."""

    email: str


@dataclass(frozen=True)
class UseSignInLink(Command):
    """Someone opened a mailed link and pressed its button: a session if it still works."""

    secret: str = field(repr=False)


@dataclass(frozen=True)
class SignOut(Command):
    """The acting user ends the session whose secret they hold."""

    secret: str = field(repr=False)


@dataclass(frozen=True)
class NotifyEvents(Command):
    """The notification worker: what a program change's events tell whom (rules, webhooks).

    ``message_id``: the outbox message that carried them (names each occasion once);
    ``by``: who acted; ``at``: when (ISO 8601)."""

    program_id: int
    message_id: int
    events: tuple[dict[str, Any], ...]
    by: str
    at: str


@dataclass(frozen=True)
class BeginDelivery(Command):
    """Mark an attempt at a due delivery; ``stale_seconds``: also retake one whose last
    attempt was marked that long ago and never reconciled (the sweep's)."""

    delivery_id: int
    stale_seconds: float | None = None


@dataclass(frozen=True)
class FinishDelivery(Command):
    """Reconcile an attempt with its outcome; a transient failure waits by ``policy``."""

    delivery_id: int
    number: int
    outcome: Outcome
    policy: RetryPolicy
    jitter: float = 0.5
    notification_id: int | None = None
    recipient: str = ""


@dataclass(frozen=True)
class BeginDeliveries(Command):
    """Claim a batch: mark an attempt at up to ``limit`` due deliveries in one
    transaction (``stale_seconds`` as for ``BeginDelivery``; ``skip``: ids not to take,
    those a sweep has tried already)."""

    limit: int = 25
    stale_seconds: float | None = None
    skip: tuple[int, ...] = ()


@dataclass(frozen=True)
class FinishDeliveries(Command):
    """Reconcile a batch's attempts in one transaction (each as ``FinishDelivery``)."""

    outcomes: tuple[FinishDelivery, ...]


@dataclass(frozen=True)
class RetryDeliveries(Command):
    """The operator re-drives failed deliveries (None: every dead one)."""

    delivery_ids: tuple[int, ...] | None


@dataclass(frozen=True)
class SetPreferences(Command):
    """A person chooses the channels of kinds of message: (kind, channels) pairs."""

    choices: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class AddWebhook(Command):
    """The operator registers an organization's webhook (``secret``: None, one is made)."""

    org: str
    url: str
    events: tuple[str, ...]
    secret: str | None = None


@dataclass(frozen=True)
class RemoveWebhook(Command):
    webhook_id: int


@dataclass(frozen=True)
class TestWebhook(Command):
    """Post a test event to a webhook, through the same delivery as any other."""

    webhook_id: int


# -- people and organizations (issue 16; an admin's, or the operator's with no actor) --


@dataclass(frozen=True)
class DeactivateUser(Command):
    email: str


@dataclass(frozen=True)
class ActivateUser(Command):
    email: str


@dataclass(frozen=True)
class SetRoles(Command):
    email: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class SetLocale(Command):
    email: str
    locale: str


@dataclass(frozen=True)
class RenameOrganization(Command):
    key: str
    name: str


@dataclass(frozen=True)
class AttachDocument(Command):
    """The coordinator attaches a file to a proposal or an evaluation report."""

    program_id: int
    name: str
    content: bytes
    kind: str = "proposal"  # a key of ``documents.KINDS``


@dataclass(frozen=True)
class RemoveDocument(Command):
    """The coordinator removes a file of the round still open (never a submitted one)."""

    program_id: int
    name: str
