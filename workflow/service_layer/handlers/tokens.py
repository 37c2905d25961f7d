"""Tokens and sign-in: the operator issues and revokes personal API tokens and sets
passwords; a person signs in with a password for a session and signs out.

A session is a token like an API one (a secret, only its hash kept), living
``passwords.SESSION``, begun by a password or by a link mailed to the person
(``sign_in_links``); signing out revokes it and ``user revoke-tokens`` ends it too.
Audited on the directory stream like the other operator commands: the events name the
user and the expiry, never a secret, a password or a hash. A refused sign-in is a
result, not an error, so the wrong try it counts is committed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain import sign_in_links as links
from workflow.domain.delivery import EMAIL
from workflow.domain.errors import NotFound
from workflow.domain.events import OPERATOR, SYSTEM, Event
from workflow.domain.messaging import SIGN_IN_LINK
from workflow.domain.passwords import SESSION, attempt, new_credentials
from workflow.domain.people import INACTIVE, ensure_active
from workflow.domain.tokens import check_days, new_token, token_hash, well_formed
from workflow.service_layer.handlers.common import DIRECTORY_STREAM, actor_email
from workflow.service_layer.outgoing import send
from workflow.service_layer.unit_of_work import UnitOfWork

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class IssuedToken:
    """The secret (shown to the operator once, stored nowhere) and when it stops working."""

    token: str
    expires_at: datetime


def issue_token(cmd: c.IssueToken, uow: UnitOfWork) -> IssuedToken:
    user = uow.directory.user(cmd.email)
    ensure_active(user)
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


@dataclass(frozen=True)
class SignedIn:
    """A sign-in's answer: the session (None: refused), or why not (``passwords.WRONG``
    or ``LOCKED``, and until when)."""

    session: IssuedToken | None
    email: str
    refusal: str | None = None
    locked_until: datetime | None = None


def set_password(cmd: c.SetPassword, uow: UnitOfWork) -> None:
    user = uow.directory.user(cmd.email)
    uow.directory.save_credentials(user.email, new_credentials(cmd.password), uow.now)
    _audit(uow, ev.PASSWORD_SET, {"email": user.email}, OPERATOR)


def sign_in(cmd: c.SignIn, uow: UnitOfWork) -> SignedIn:
    email = cmd.email.strip().lower()
    tried = attempt(uow.directory.credentials(email), cmd.password, uow.now)
    if tried.credentials is not None:
        uow.directory.save_credentials(email, tried.credentials, uow.now)
    if tried.ok and not uow.directory.user(email).active:  # the right password: say why
        tried = replace(tried, ok=False, refusal=INACTIVE)
    if not tried.ok:
        reason = {"email": email[:254], "reason": tried.refusal}
        _audit(uow, ev.SIGN_IN_REFUSED, reason, email[:254] or OPERATOR)
        if tried.locked_now:
            assert tried.locked_until is not None
            until = {"email": email, "until": tried.locked_until.isoformat()}
            _audit(uow, ev.ACCOUNT_LOCKED, until, SYSTEM)
        return SignedIn(None, email, tried.refusal, tried.locked_until)
    return SignedIn(_session(uow, email, "password"), email)


def request_sign_in_link(cmd: c.RequestSignInLink, uow: UnitOfWork) -> None:
    """Mail a one-time link to a known person; the asker learns nothing either way."""
    email = cmd.email.strip().lower()[:254]
    try:
        user = uow.directory.user(email)
    except NotFound:
        return _audit(uow, ev.SIGN_IN_LINK_REFUSED, {"email": email, "reason": links.UNKNOWN},
                      email or OPERATOR)  # fmt: skip
    refused = (
        INACTIVE
        if not user.active
        else links.may_send(uow.directory.sign_in_links_since(user.email, uow.now - HOUR))
    )
    if refused:
        return _audit(uow, ev.SIGN_IN_LINK_REFUSED, {"email": user.email, "reason": refused},
                      user.email)  # fmt: skip
    secret, hashed = new_token()
    expires_at = uow.now + links.LIFETIME
    link_id = uow.directory.add_sign_in_link(user.email, hashed, expires_at, uow.now)
    context = {"path": links.link_path(secret), "minutes": links.LIFETIME.seconds // 60}
    send(uow, user, SIGN_IN_LINK, "sign_in_link", context, f"link:{link_id}", [], (EMAIL,))
    _audit(uow, ev.SIGN_IN_LINK_SENT, {"email": user.email, "expires_at": expires_at.isoformat()},
           user.email)  # fmt: skip


def use_sign_in_link(cmd: c.UseSignInLink, uow: UnitOfWork) -> SignedIn:
    """A session for the link's owner if the link still works, once."""
    link = uow.directory.sign_in_link(token_hash(cmd.secret)) if well_formed(cmd.secret) else None
    refused = links.refusal(link, uow.now)
    if link is not None and refused is None and not uow.directory.user(link.email).active:
        refused = INACTIVE
    if (
        link is not None
        and refused is None
        and not uow.directory.use_sign_in_link(link.id, uow.now)
    ):
        refused = links.USED  # another tab used it first
    if link is None or refused is not None:
        email = link.email if link is not None else OPERATOR
        _audit(uow, ev.SIGN_IN_LINK_REFUSED, {"email": email, "reason": refused}, email)
        return SignedIn(None, email if link is not None else "", refused)
    return SignedIn(_session(uow, link.email, "link"), link.email)


def _session(uow: UnitOfWork, email: str, way: str) -> IssuedToken:
    """A new session for ``email``, audited with the way they signed in."""
    expires_at = uow.now + SESSION
    secret, hashed = new_token()
    uow.directory.add_token(email, hashed, expires_at, uow.now)
    signed = {"email": email, "expires_at": expires_at.isoformat(), "by": way}
    _audit(uow, ev.SIGNED_IN, signed, email)
    return IssuedToken(secret, expires_at)


def sign_out(cmd: c.SignOut, uow: UnitOfWork) -> None:
    email = uow.directory.user(actor_email(cmd.actor)).email
    if not well_formed(cmd.secret) or not uow.directory.revoke_token(
        email, token_hash(cmd.secret), uow.now
    ):
        raise NotFound(f"{email} holds no such session")
    _audit(uow, ev.SIGNED_OUT, {"email": email}, email)


def _audit(uow: UnitOfWork, kind: str, data: dict[str, Any], actor: str) -> None:
    uow.events.append(DIRECTORY_STREAM, [Event(kind, data)], actor, uow.now)
