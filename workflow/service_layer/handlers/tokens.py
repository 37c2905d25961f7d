"""The operator's token commands: issue a personal API token, revoke a user's tokens.

Audited on the directory stream like the other operator commands; the event names the
user and the expiry, never the secret or its hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.events import OPERATOR, Event
from workflow.domain.tokens import check_days, new_token
from workflow.service_layer.handlers.common import DIRECTORY_STREAM
from workflow.service_layer.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class IssuedToken:
    """The secret (shown to the operator once, stored nowhere) and when it stops working."""

    token: str
    expires_at: datetime


def issue_token(cmd: c.IssueToken, uow: UnitOfWork) -> IssuedToken:
    user = uow.directory.user(cmd.email)
    expires_at = uow.now + timedelta(days=check_days(cmd.days))
    secret, hashed = new_token()
    uow.directory.add_token(user.email, hashed, expires_at, uow.now)
    uow.events.append(
        DIRECTORY_STREAM,
        [Event(ev.TOKEN_ISSUED, {"email": user.email, "expires_at": expires_at.isoformat()})],
        OPERATOR,
        uow.now,
    )
    return IssuedToken(secret, expires_at)


def revoke_tokens(cmd: c.RevokeTokens, uow: UnitOfWork) -> int:
    """How many live tokens were revoked."""
    user = uow.directory.user(cmd.email)
    revoked = uow.directory.revoke_tokens(user.email, uow.now)
    uow.events.append(
        DIRECTORY_STREAM,
        [Event(ev.TOKENS_REVOKED, {"email": user.email, "revoked": revoked})],
        OPERATOR,
        uow.now,
    )
    return revoked
