"""People and organizations (issue 16): the admins' listing and changes, as ``jointflow
user deactivate|activate|set-roles|set-locale`` and ``org rename``. Who may is the
domain's rule (``domain.people``); a refusal is a problem document like any other."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import Field

from workflow.adapters.people_views import people, person
from workflow.domain import commands as c
from workflow.domain.directory import ORG_KEY
from workflow.domain.text import EMAIL_MAX, KEY_MAX, NAME_MAX
from workflow.entrypoints.api import answers
from workflow.entrypoints.api.auth import User
from workflow.entrypoints.api.schemas import NO_NUL, Body
from workflow.entrypoints.api.services import bus
from workflow.service_layer.handlers import PersonChanged
from workflow.service_layer.messagebus import MessageBus

router = APIRouter(tags=["people"])
Bus = Annotated[MessageBus, Depends(bus)]
EmailPath = Annotated[str, Path(min_length=3, max_length=EMAIL_MAX, pattern=NO_NUL)]
KeyPath = Annotated[str, Path(max_length=KEY_MAX, pattern=ORG_KEY.pattern)]
# The domain's roles (``definition.ROLES``), spelled out for the contract (a test keeps
# them in step).
Role = Literal["admin", "approver", "budget_officer", "coordinator", "evaluator", "supervisor"]
Locale = Literal["ko", "en"]


class RolesIn(Body):
    roles: Annotated[list[Role], Field(min_length=1, max_length=6)]


class LocaleIn(Body):
    locale: Locale


class OrganizationIn(Body):
    name: Annotated[str, Field(min_length=1, max_length=NAME_MAX, pattern=NO_NUL)]


def _changed(done: PersonChanged) -> dict[str, Any]:
    return {
        **person(done.user),
        "claims_returned": done.claims_returned,
        "delegations_ended": done.delegations_ended,
        "tokens_revoked": done.tokens_revoked,
    }


@router.get("/people", response_model=list[answers.OrganizationPeople])
def people_list(user: User, bus: Bus) -> list[dict[str, Any]]:
    """Every organization with its users: roles, locale, whether active (admins)."""
    found: list[dict[str, Any]] = bus.view(people, user)
    return found


@router.post("/users/{email}/deactivate", response_model=answers.PersonChange)
def deactivate(email: EmailPath, user: User, bus: Bus) -> dict[str, Any]:
    """Their claims go back to the queues, their delegations end, their tokens and
    sessions stop working, and they can no longer act. The last active admin stays."""
    return _changed(bus.handle(c.DeactivateUser(actor=user, email=email)))


@router.post("/users/{email}/activate", response_model=answers.PersonChange)
def activate(email: EmailPath, user: User, bus: Bus) -> dict[str, Any]:
    return _changed(bus.handle(c.ActivateUser(actor=user, email=email)))


@router.put("/users/{email}/roles", response_model=answers.PersonChange)
def set_roles(email: EmailPath, body: RolesIn, user: User, bus: Bus) -> dict[str, Any]:
    """Replace the roles; at once, and claims in queues left go back to them."""
    return _changed(bus.handle(c.SetRoles(actor=user, email=email, roles=tuple(body.roles))))


@router.put("/users/{email}/locale", response_model=answers.PersonChange)
def set_locale(email: EmailPath, body: LocaleIn, user: User, bus: Bus) -> dict[str, Any]:
    return _changed(bus.handle(c.SetLocale(actor=user, email=email, locale=body.locale)))


@router.patch("/organizations/{key}", response_model=answers.Organization)
def rename_organization(key: KeyPath, body: OrganizationIn, user: User, bus: Bus) -> dict[str, Any]:
    found = bus.handle(c.RenameOrganization(actor=user, key=key, name=body.name))
    return {"key": found.key, "name": found.name, "funder": found.funder}
