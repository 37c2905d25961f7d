"""One small function per command: load, check rights, ask the domain, save.

Handlers run inside a unit of work the message bus opens and commits. Whatever a
change sets in motion leaves through the outbox in the same transaction (``common``'s
reactions): the budget worker's holds after a submission, the waitlist retry after
money is released, the budget notices, the events the notification worker turns into
messages and webhooks; and each email or webhook delivery to attempt. Due times (start,
end, hold expiry) are written as scheduled-work rows in the same transaction too; the
sweeps carry them out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflow.domain import commands as c
from workflow.service_layer.handlers import (
    amendments,
    delegation,
    deliveries,
    directory,
    documents,
    evaluation,
    funding,
    messages,
    notify,
    people,
    programs,
    refunds,
    review,
    scheduled,
    tasks,
    tokens,
    webhooks,
)
from workflow.service_layer.handlers.amendments import AmendedEnvelope
from workflow.service_layer.handlers.common import BUDGET_NOTICE, PLACE_HOLDS, RETRY_WAITLISTED
from workflow.service_layer.handlers.funding import Committed, Disbursed
from workflow.service_layer.handlers.people import PersonChanged
from workflow.service_layer.handlers.refunds import Refunded
from workflow.service_layer.handlers.scheduled import WorkOutcome
from workflow.service_layer.handlers.tokens import IssuedToken, SignedIn
from workflow.service_layer.handlers.webhooks import AddedWebhook
from workflow.service_layer.outgoing import DELIVER, NOTIFY
from workflow.service_layer.ports import OutboxMessage
from workflow.service_layer.unit_of_work import UnitOfWork

HANDLERS: dict[type[c.Command], Callable[[Any, UnitOfWork], Any]] = {
    c.AddOrganization: directory.add_organization,
    c.AddUser: directory.add_user,
    c.IssueToken: tokens.issue_token,
    c.RevokeTokens: tokens.revoke_tokens,
    c.SetPassword: tokens.set_password,
    c.SignIn: tokens.sign_in,
    c.RequestSignInLink: tokens.request_sign_in_link,
    c.UseSignInLink: tokens.use_sign_in_link,
    c.SignOut: tokens.sign_out,
    c.AddEnvelope: funding.add_envelope,
    c.CreateProgram: programs.create_program,
    c.UpdateProgram: programs.update_program,
    c.SubmitProgram: programs.submit_program,
    c.WithdrawProgram: programs.withdraw_program,
    c.CancelProgram: programs.cancel_program,
    c.DecideReview: review.decide_review,
    c.DecideTask: review.decide_task,
    c.PlaceHolds: funding.place_holds,
    c.RetryWaitlisted: funding.retry_waitlisted,
    c.CommitFunds: funding.commit_funds,
    c.DisburseFunds: funding.disburse_funds,
    c.RecordRefund: refunds.record_refund,
    c.AmendEnvelope: amendments.amend_envelope,
    c.SubmitReport: evaluation.submit_report,
    c.EvaluateReport: evaluation.evaluate_report,
    c.RunScheduled: scheduled.run_scheduled,
    c.ClaimTask: tasks.claim_task,
    c.ReleaseTask: tasks.release_task,
    c.ReassignTask: tasks.reassign_task,
    c.SetDelegation: delegation.set_delegation,
    c.ClearDelegation: delegation.clear_delegation,
    c.SendBudgetNotice: messages.send_budget_notice,
    c.SendDueReminders: messages.send_due_reminders,
    c.MarkNotificationRead: messages.mark_read,
    c.NotifyEvents: notify.notify_events,
    c.BeginDelivery: deliveries.begin_delivery,
    c.FinishDelivery: deliveries.finish_delivery,
    c.BeginDeliveries: deliveries.begin_deliveries,
    c.FinishDeliveries: deliveries.finish_deliveries,
    c.RetryDeliveries: deliveries.retry_deliveries,
    c.SetPreferences: deliveries.set_preferences,
    c.AddWebhook: webhooks.add_webhook,
    c.RemoveWebhook: webhooks.remove_webhook,
    c.TestWebhook: webhooks.test_webhook,
    c.DeactivateUser: people.deactivate_user,
    c.ActivateUser: people.activate_user,
    c.SetRoles: people.set_roles,
    c.SetLocale: people.set_locale,
    c.RenameOrganization: people.rename_organization,
    c.AttachDocument: documents.attach_document,
    c.RemoveDocument: documents.remove_document,
}

# Outbox task name -> the command a worker carries out for it.
MESSAGE_COMMANDS: dict[str, Callable[[OutboxMessage], c.Command]] = {
    PLACE_HOLDS: lambda m: c.PlaceHolds(actor=None, program_id=int(m.payload["program_id"])),
    RETRY_WAITLISTED: lambda m: c.RetryWaitlisted(actor=None, year=int(m.payload["year"])),
    BUDGET_NOTICE: lambda m: c.SendBudgetNotice(
        actor=None,
        program_id=int(m.payload["program_id"]),
        what=str(m.payload["what"]),
        parties=tuple(m.payload["parties"]),
        details=tuple(m.payload["details"]),
    ),
    NOTIFY: lambda m: c.NotifyEvents(
        actor=None,
        program_id=int(m.payload["program_id"]),
        message_id=m.id,
        events=tuple(m.payload["events"]),
        by=str(m.payload["by"]),
        at=str(m.payload["at"]),
    ),
    # A delivery handed to a worker: it claims a batch of whatever is due, that one too
    # (of the courier's size: the bus sets ``limit``).
    DELIVER: lambda m: c.BeginDeliveries(actor=None),
}

# Outbox tasks a relay may hand a worker several at a time (``outbox_ids``), carried out
# in one transaction (``MessageBus.handle_messages``): notices, which only read the
# program and write messages, so a burst of decisions costs one commit per group.
TOGETHER = frozenset({NOTIFY})

__all__ = [
    "AddedWebhook",
    "AmendedEnvelope",
    "Refunded",
    "BUDGET_NOTICE",
    "DELIVER",
    "HANDLERS",
    "IssuedToken",
    "PersonChanged",
    "SignedIn",
    "MESSAGE_COMMANDS",
    "NOTIFY",
    "PLACE_HOLDS",
    "RETRY_WAITLISTED",
    "TOGETHER",
    "Committed",
    "Disbursed",
    "WorkOutcome",
]
