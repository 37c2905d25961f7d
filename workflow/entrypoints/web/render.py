"""Rendering a page: the Jinja2 templates with the person, their words and the form token.

Templates only show what the read models and ``bus.allowed`` answered; they decide
nothing. Autoescaped; the Content-Security-Policy allows scripts from this site only.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from workflow.domain.people import manages_people
from workflow.domain.permissions import User
from workflow.entrypoints.api.services import services_of
from workflow.entrypoints.narrative import Narrator
from workflow.entrypoints.web.i18n import Words, pick_locale
from workflow.entrypoints.web.session import CSRF_FIELD, csrf_token, ensure_csrf_cookie

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANG_COOKIE = "jf_lang"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["q"] = lambda value: quote(str(value), safe="")
    env.globals["narrate"] = Narrator  # history as sentences (``narrative``)
    return env


def me(request: Request, email: str | None) -> User | None:
    """The signed-in person's directory record (name, roles, locale), once per request."""
    if email is None:
        return None
    cached: User | None = getattr(request.state, "me", None)
    if cached is None:
        cached = services_of(request).bus.query(lambda uow: uow.directory.user(email))
        request.state.me = cached
    return cached


def words_for(request: Request, person: User | None) -> Words:
    return Words(pick_locale(request.cookies.get(LANG_COOKIE), person.locale if person else None))


def page(
    request: Request, template: str, viewer: str | None, status: int = 200, **values: Any
) -> HTMLResponse:
    """``viewer``: the signed-in person's email (None on the sign-in page)."""
    person = me(request, viewer)
    words = words_for(request, person)
    context = {
        "_": words,
        "lang": words.locale,
        "me": person,
        "people_link": manages_people(person),
        "path": request.url.path,
        "csrf_field": CSRF_FIELD,
        "csrf": csrf_token(request),
        **values,
    }
    html = environment().get_template(template).render(context)
    response = HTMLResponse(html, status_code=status)
    ensure_csrf_cookie(request, response)
    return response
