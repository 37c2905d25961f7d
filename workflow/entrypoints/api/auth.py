"""Bearer tokens: who is calling. Only the token's hash is looked up, and never logged.

The caller's email is left on ``request.state.user`` for the access log and the
idempotency keys (which are kept per user).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from workflow.domain.tokens import token_hash, well_formed
from workflow.entrypoints.api.problems import Unauthorized
from workflow.entrypoints.api.services import Services, services
from workflow.service_layer.messagebus import MessageBus

bearer = HTTPBearer(auto_error=False, description="A token from `jointflow user token EMAIL`")


def token_of(authorization: str | None) -> str:
    """The secret of an ``Authorization: Bearer ...`` header, or a 401."""
    if not authorization:
        raise Unauthorized("a bearer token is required (Authorization: Bearer TOKEN)")
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not well_formed(secret):
        raise Unauthorized("the bearer token is malformed")
    return secret


def owner_of(bus: MessageBus, secret: str) -> str:
    """The email of the token's user, or a 401 (unknown, expired or revoked)."""
    hashed = token_hash(secret)
    email: str | None = bus.query(lambda uow: uow.directory.token_owner(hashed, uow.now))
    if email is None:
        raise Unauthorized("the bearer token is unknown, expired or revoked")
    return email


def current_user(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    found: Annotated[Services, Depends(services)],
) -> str:
    cached = getattr(request.state, "user", None)
    if cached:  # the idempotency layer authenticated this request already
        return str(cached)
    email = owner_of(found.bus, token_of(request.headers.get("authorization")))
    request.state.user = email
    return email


User = Annotated[str, Depends(current_user)]
