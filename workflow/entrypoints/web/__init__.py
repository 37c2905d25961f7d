"""The web pages (issue 15), served under ``/`` by the API's own application.

Server-rendered Jinja2 pages with htmx for in-place actions (vendored under
``static/``: no CDN, no build step). They call the same handlers and read models as the
API. ``install`` adds the pages, their static files, the security headers and the HTML
rendering of refusals (paths under ``/api`` keep their problem details).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflow.domain.errors import WorkflowError
from workflow.entrypoints.api import problems
from workflow.entrypoints.web import (
    routes_auth,
    routes_exports,
    routes_files,
    routes_money,
    routes_pages,
    routes_people,
)
from workflow.entrypoints.web.render import page
from workflow.entrypoints.web.session import (
    CSRF_COOKIE,
    CsrfRefused,
    SignInNeeded,
    signed_in,
)

STATIC = Path(__file__).resolve().parent / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


class WebMiddleware:
    """Each browser's CSRF value, and the security headers of every page; paths under
    ``/api`` pass straight through (a plain ASGI layer: nothing on the API's path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/api"):
            await self.app(scope, receive, send)
            return
        cookies = Request(scope).cookies
        scope.setdefault("state", {})["csrf_browser"] = cookies.get(
            CSRF_COOKIE
        ) or secrets.token_urlsafe(32)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(routes_auth.router)
    app.include_router(routes_files.router)
    app.include_router(routes_pages.router)
    app.include_router(routes_money.router)
    app.include_router(routes_exports.router)
    app.include_router(routes_people.router)
    app.add_middleware(WebMiddleware)
    app.add_exception_handler(SignInNeeded, _sign_in)
    app.add_exception_handler(WorkflowError, _refused)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith("/api")


async def _sign_in(request: Request, _exc: Exception) -> Response:
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WorkflowError)
    if not _is_page(request):
        return problems.workflow_error(request, exc)
    status = 403 if isinstance(exc, CsrfRefused) else problems.status_of(exc)
    return page(request, "error.html", signed_in(request), status=status, message=exc.message,
                refusal=exc)  # fmt: skip


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not _is_page(request):
        return problems.http_error(request, exc)
    message = "no such page" if exc.status_code == 404 else str(exc.detail)
    return page(request, "error.html", signed_in(request), status=exc.status_code,
                message=message)  # fmt: skip


async def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not _is_page(request):
        return problems.validation_error(request, exc)
    return page(request, "error.html", signed_in(request), status=422,
                message="; ".join(str(e.get("msg")) for e in exc.errors()))  # fmt: skip
