"""The admins' people page (issue 16): every organization with its users, and the forms
to deactivate or reactivate, change roles and language, rename an organization.

Each form posts with the CSRF token; each change is a command through the bus (a
refusal is audited and shown on the page), then a redirect back (post/redirect/get).
Which forms show is what the handlers allow (``people_actions``), never a rule here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from workflow.adapters.people_views import people
from workflow.domain import commands as c
from workflow.domain.definition import ROLES
from workflow.domain.directory import LOCALES
from workflow.domain.errors import InvalidInput, WorkflowError
from workflow.domain.text import EMAIL_MAX, KEY_MAX
from workflow.entrypoints.api.problems import status_of
from workflow.entrypoints.web.render import page
from workflow.entrypoints.web.routes_pages import Form, Person, bus_of, see_other
from workflow.service_layer.people_actions import available

router = APIRouter(include_in_schema=False)
Email = Annotated[str, Path(min_length=3, max_length=EMAIL_MAX)]
Key = Annotated[str, Path(min_length=1, max_length=KEY_MAX)]
ROLE_ORDER = ("coordinator", "approver", "budget_officer", "evaluator", "supervisor", "admin")
assert set(ROLE_ORDER) == ROLES  # a role added to the domain shows here too


@router.get("/people")
def people_page(request: Request, email: Person) -> Response:
    return _page(request, email, None)


@router.post("/people/users/{target}/{action}")
def change_user(
    request: Request, email: Person, form: Form, target: Email, action: str
) -> Response:
    try:
        bus_of(request).handle(_command(action, email, target, form))
    except WorkflowError as err:
        return _page(request, email, err)
    return see_other(f"/people#user-{target}")


@router.post("/people/orgs/{key}/rename")
def rename(request: Request, email: Person, form: Form, key: Key) -> Response:
    name = str(form.get("name") or "")
    try:
        bus_of(request).handle(c.RenameOrganization(actor=email, key=key, name=name))
    except WorkflowError as err:
        return _page(request, email, err)
    return see_other(f"/people#org-{key}")


def _command(action: str, actor: str, target: str, form: dict[str, object]) -> c.Command:
    if action == "deactivate":
        return c.DeactivateUser(actor=actor, email=target)
    if action == "activate":
        return c.ActivateUser(actor=actor, email=target)
    if action == "roles":
        chosen = tuple(role for role in ROLE_ORDER if form.get(f"role:{role}"))
        return c.SetRoles(actor=actor, email=target, roles=chosen)
    if action == "locale":
        return c.SetLocale(actor=actor, email=target, locale=str(form.get("locale") or ""))
    raise InvalidInput(f"no action {action!r} on a user")


def _page(request: Request, email: str, err: WorkflowError | None) -> Response:
    bus = bus_of(request)
    orgs = bus.view(people, email)
    allowed, renames = available(bus, email, orgs)
    status = 200 if err is None else status_of(err)
    return page(request, "people.html", email, status=status, error=err, orgs=orgs,
                allowed=allowed, renames=renames, roles=ROLE_ORDER,
                locales=LOCALES)  # fmt: skip
