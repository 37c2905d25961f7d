"""Signing in and out, and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from workflow.domain import commands as c
from workflow.domain.directory import LOCALES
from workflow.domain.passwords import LOCKED
from workflow.domain.people import INACTIVE
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
    return page(request, "login.html", None, next=local_path(next), error=None, email="")


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
                    error=error, email=email)  # fmt: skip
    response = RedirectResponse(local_path(next), status_code=303)
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
