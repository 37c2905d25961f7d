"""Signing in (by password, or by a one-time link mailed to the person) and out, and
the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from workflow.domain import commands as c
from workflow.domain.directory import LOCALES
from workflow.domain.passwords import LOCKED
from workflow.domain.people import INACTIVE
from workflow.domain.sign_in_links import LIFETIME, OPEN_PATH, REQUEST_PATH
from workflow.entrypoints.api.services import services_of
from workflow.entrypoints.web.render import LANG_COOKIE, page, words_for
from workflow.entrypoints.web.session import (
    CSRF_FIELD,
    check_csrf,
    end_session,
    person,
    session_secret,
    signed_in,
    start_session,
)
from workflow.service_layer.handlers import SignedIn

router = APIRouter(include_in_schema=False)
HOME = "/inbox"


def local_path(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return HOME
    return target


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    if signed_in(request):
        return RedirectResponse(local_path(next), status_code=303)
    return page(request, "login.html", None, next=local_path(next), error=None, email="",
                mail_link=mails_links(request))  # fmt: skip


@router.post("/login")
def login(
    request: Request,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    next: Annotated[str, Form()] = HOME,
) -> Response:
    check_csrf(request, csrf_token)
    result: SignedIn = services_of(request).bus.handle(
        c.SignIn(actor=None, email=email, password=password)
    )
    if result.session is None:
        words = words_for(request, None)
        error = (
            words("locked", until=words.when(result.locked_until))
            if result.refusal == LOCKED
            else words("deactivated_account")
            if result.refusal == INACTIVE
            else words("wrong_password")
        )
        return page(request, "login.html", None, status=401, next=local_path(next),
                    error=error, email=email, mail_link=mails_links(request))  # fmt: skip
    response = RedirectResponse(local_path(next), status_code=303)
    start_session(request, response, result.session.token)
    return response


def mails_links(request: Request) -> bool:
    """Sign-in links are offered only where mail leaves the building (SMTP configured):
    falling back to in-app, a link could only be read by someone signed in already."""
    return services_of(request).settings.smtp_host is not None


def _links_offered(request: Request) -> None:
    if not mails_links(request):
        raise HTTPException(404)


@router.get(REQUEST_PATH)
def link_form(request: Request) -> Response:
    _links_offered(request)
    return page(request, "login_link.html", None, sent_to=None)


@router.post(REQUEST_PATH)
def ask_for_link(
    request: Request,
    email: Annotated[str, Form(max_length=254)],
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """The same answer whether or not the address has an account."""
    _links_offered(request)
    check_csrf(request, csrf_token)
    services_of(request).bus.handle(c.RequestSignInLink(actor=None, email=email))
    minutes = LIFETIME.seconds // 60
    return page(request, "login_link.html", None, sent_to=email.strip(), minutes=minutes)


@router.get(OPEN_PATH)
def open_link(request: Request) -> Response:
    """The mailed link's page: its script moves the secret from the fragment into the
    form, and the button spends it (a mail scanner's GET spends nothing)."""
    return page(request, "login_link_open.html", None, refused=False)


@router.post(OPEN_PATH)
def use_link(
    request: Request,
    secret: Annotated[str, Form(max_length=100)] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    result: SignedIn = services_of(request).bus.handle(c.UseSignInLink(actor=None, secret=secret))
    if result.session is None:
        return page(request, "login_link_open.html", None, status=400, refused=True)
    response = RedirectResponse(HOME, status_code=303)
    start_session(request, response, result.session.token)
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "") -> Response:
    check_csrf(request, csrf_token)
    email, token = person(request), session_secret(request)
    assert token is not None  # person() found the session
    services_of(request).bus.handle(c.SignOut(actor=email, secret=token))
    response = RedirectResponse("/login", status_code=303)
    end_session(response)
    return response


@router.get("/lang/{locale}")
def language(request: Request, locale: str, next: str | None = None) -> Response:
    response = RedirectResponse(local_path(next), status_code=303)
    if locale in LOCALES:
        response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="lax")
    return response


@router.get("/")
def home() -> Response:
    return RedirectResponse(HOME, status_code=303)
