"""Domain events: facts in the past tense, appended to the hash-chained audit log.

An aggregate records ``Event(type, data)``; the unit of work stamps the stream,
acting user and time when it appends them in the same transaction as the change.
Event types are plain strings so a workflow definition (data) can name the event a
transition records; the well-known ones are listed here so code never misspells them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROGRAM_CREATED = "ProgramCreated"
PROGRAM_UPDATED = "ProgramUpdated"
PROGRAM_SUBMITTED = "ProgramSubmitted"
PROGRAM_RESUBMITTED = "ProgramResubmitted"
PARTY_APPROVED = "PartyApproved"
PARTY_REJECTED = "PartyRejected"
CHANGES_REQUESTED = "ChangesRequested"
PROGRAM_APPROVED = "ProgramApproved"
PROGRAM_REJECTED = "ProgramRejected"
PROGRAM_WITHDRAWN = "ProgramWithdrawn"
PROGRAM_WAITLISTED = "ProgramWaitlisted"
REVIEW_STARTED = "ReviewStarted"
PROGRAM_FUNDED = "ProgramFunded"
EVALUATION_DUE = "EvaluationDue"
PROGRAM_CLOSED = "ProgramClosed"
PROGRAM_CANCELLED = "ProgramCancelled"
BUDGET_HELD = "BudgetHeld"
BUDGET_UNAVAILABLE = "BudgetUnavailable"
HOLD_RELEASED = "HoldReleased"
FUNDS_COMMITTED = "FundsCommitted"
FUNDS_DISBURSED = "FundsDisbursed"
COMMITMENT_RELEASED = "CommitmentReleased"
HOLDS_EXPIRED = "HoldsExpired"
EVALUATION_ACCEPTED = "EvaluationAccepted"
EVALUATION_RETURNED = "EvaluationReturned"
ENVELOPE_ADDED = "EnvelopeAdded"
ENVELOPE_AMENDED = "EnvelopeAmended"
REFUND_RECORDED = "RefundRecorded"
ORGANIZATION_ADDED = "OrganizationAdded"
DOCUMENT_ATTACHED = "DocumentAttached"
DOCUMENT_REMOVED = "DocumentRemoved"
USER_ADDED = "UserAdded"
TOKEN_ISSUED = "TokenIssued"
TOKENS_REVOKED = "TokensRevoked"
PASSWORD_SET = "PasswordSet"
SIGNED_IN = "SignedIn"
SIGN_IN_REFUSED = "SignInRefused"
ACCOUNT_LOCKED = "AccountLocked"
SIGNED_OUT = "SignedOut"
SIGN_IN_LINK_SENT = "SignInLinkSent"
SIGN_IN_LINK_REFUSED = "SignInLinkRefused"
ACTION_REFUSED = "ActionRefused"
USER_DEACTIVATED = "UserDeactivated"
USER_ACTIVATED = "UserActivated"
USER_ROLES_CHANGED = "UserRolesChanged"
USER_LOCALE_CHANGED = "UserLocaleChanged"
ORGANIZATION_RENAMED = "OrganizationRenamed"
TASK_CLAIMED = "TaskClaimed"
TASK_RELEASED = "TaskReleased"
TASK_REASSIGNED = "TaskReassigned"
REMINDER_DIGEST_SENT = "ReminderDigestSent"
TASK_ESCALATED = "TaskEscalated"
BUDGET_NOTICE_SENT = "BudgetNoticeSent"
DELEGATION_SET = "DelegationSet"
DELEGATION_CLEARED = "DelegationCleared"
PREFERENCE_SET = "NotificationPreferenceSet"
WEBHOOK_ADDED = "WebhookAdded"
WEBHOOK_REMOVED = "WebhookRemoved"
DELIVERY_DEAD = "DeliveryDeadLettered"
DELIVERY_RETRIED = "DeliveryRetried"


# The actors of what no person does: the engine by itself, and the operator on the server.
SYSTEM = "system"
OPERATOR = "operator"


@dataclass(frozen=True)
class Event:
    """A fact to append; ``data`` holds only JSON-safe values (ints, strings, lists, dicts)."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)


def program_stream(program_id: int) -> str:
    """The audit stream of one program: its own hash chain."""
    return f"program:{program_id}"


def envelope_stream(party: str, year: int) -> str:
    return f"envelope:{party}:{year}"


# The longest stream name: a person's, "user:" and an email (domain.text.EMAIL_MAX).
STREAM_MAX = 300


def user_stream(email: str) -> str:
    """A person's stream: the messages they were sent."""
    return f"user:{email}"
