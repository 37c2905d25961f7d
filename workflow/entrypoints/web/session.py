"""Who is signed in, and the CSRF token of every form.

The session cookie holds a session token (``passwords.SESSION`` long, only its hash
stored, revoked by signing out) followed by an HMAC of it under the site's secret, so a
cookie that was not issued here is refused before any database look-up. Both cookies
are HttpOnly and SameSite=Lax, Secure over https.

CSRF: a random per-browser value in its own cookie; each form carries an HMAC of it
(``csrf_token``), and htmx sends the same as ``X-CSRF-Token``. A page of another site
can make the browser send the cookie but cannot read it, so cannot forge the token.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request, Response

from workflow.adapters.unit_of_work import SqlUnitOfWork
from workflow.domain.errors import WorkflowError
from workflow.domain.passwords import SESSION
from workflow.domain.permissions import User
from workflow.domain.tokens import token_hash
from workflow.entrypoints.api.services import services_of

SESSION_COOKIE = "jf_session"
CSRF_COOKIE = "jf_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class SignInNeeded(Exception):  # noqa: N818 - a redirect, not an error
    """The page needs a signed-in person: the browser goes to the sign-in page."""


class CsrfRefused(WorkflowError):
    code = "csrf-refused"


def _mac(secret: bytes, purpose: str, value: str) -> str:
    return hmac.new(secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def _secret(request: Request) -> bytes:
    return services_of(request).site_secret


def session_secret(request: Request) -> str | None:
    """The session token of a well-signed cookie, else None."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    token, _, mac = cookie.rpartition(".")
    if not token or not hmac.compare_digest(mac, _mac(_secret(request), "session", token)):
        return None
    return token


def signed_in(request: Request) -> str | None:
    """The email of the person whose live session the request carries, else None; their
    directory record is read in the same transaction (``render.me`` takes it from
    ``request.state.me``)."""
    cached = getattr(request.state, "user", None)
    if cached:
        return str(cached)
    token = session_secret(request)
    if token is None:
        return None
    hashed = token_hash(token)

    def session_user(uow: SqlUnitOfWork) -> User | None:
        email = uow.directory.token_owner(hashed, uow.now)  # None: unknown, expired, revoked
        found: User | None = None if email is None else uow.directory.user(email)
        return found

    user = services_of(request).bus.query(session_user)
    if user is None:
        return None
    request.state.user, request.state.me = user.email, user
    return user.email


def person(request: Request) -> str:
    """The dependency of every page behind the sign-in."""
    email = signed_in(request)
    if email is None:
        raise SignInNeeded
    return email


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def start_session(request: Request, response: Response, token: str) -> None:
    value = f"{token}.{_mac(_secret(request), 'session', token)}"
    response.set_cookie(SESSION_COOKIE, value, max_age=int(SESSION.total_seconds()),
                        httponly=True, samesite="lax", secure=_secure(request))  # fmt: skip


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")


def csrf_token(request: Request) -> str:
    """The token this browser's forms carry (its cookie is set by ``CsrfCookie``)."""
    browser = request.cookies.get(CSRF_COOKIE) or request.state.csrf_browser
    return _mac(_secret(request), "csrf", browser)


def check_csrf(request: Request, given: str | None) -> None:
    browser = request.cookies.get(CSRF_COOKIE)
    expected = _mac(_secret(request), "csrf", browser) if browser else None
    if not given or expected is None or not hmac.compare_digest(given, expected):
        raise CsrfRefused("the form's security token is missing or stale: reload the page")


def ensure_csrf_cookie(request: Request, response: Response) -> None:
    """Give a browser without one its CSRF value (before its first form is rendered)."""
    if CSRF_COOKIE not in request.cookies:
        response.set_cookie(CSRF_COOKIE, request.state.csrf_browser, httponly=True,
                            samesite="lax", secure=_secure(request))  # fmt: skip
