"""The people listing (issue 16): every organization with its users, their roles, locale
and whether they are active, for the admins (``domain.people``) — one read for the CLI's
``--json``, the API and the people page."""

from __future__ import annotations

from typing import Any

from workflow.domain.people import ensure_may_see_people
from workflow.domain.permissions import User
from workflow.domain.visibility import Viewer
from workflow.service_layer.unit_of_work import UnitOfWork


def person(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "name": user.name,
        "org": user.org,
        "roles": sorted(user.roles),
        "locale": user.locale,
        "active": user.active,
    }


def people(uow: UnitOfWork, who: Viewer) -> list[dict[str, Any]]:
    """Organizations by key, each with its users by email."""
    ensure_may_see_people(who)
    members: dict[str, list[dict[str, Any]]] = {}
    for user in uow.directory.users():
        members.setdefault(user.org, []).append(person(user))
    return [
        {"key": o.key, "name": o.name, "funder": o.funder, "users": members.get(o.key, [])}
        for o in uow.directory.organizations()
    ]
