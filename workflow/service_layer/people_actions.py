"""What an admin may do to each person and organization right now, asked of the
handlers themselves (``bus.allowed``), as ``actions`` does for a program: the people
page offers exactly what the handlers would carry out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from workflow.domain import commands as c
from workflow.service_layer.messagebus import MessageBus

USER_ACTIONS = ("deactivate", "activate", "roles", "locale")


def _user_probes(actor: str, user: Mapping[str, Any]) -> dict[str, c.Command]:
    email = str(user["email"])
    return {
        "deactivate": c.DeactivateUser(actor=actor, email=email),
        "activate": c.ActivateUser(actor=actor, email=email),
        "roles": c.SetRoles(actor=actor, email=email, roles=tuple(user["roles"])),
        "locale": c.SetLocale(actor=actor, email=email, locale=str(user["locale"])),
    }


def available(
    bus: MessageBus, actor: str, orgs: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, frozenset[str]], dict[str, bool]]:
    """(per user's email: the actions allowed on them; per organization: may rename),
    from one probing transaction. ``orgs``: ``people_views.people``'s listing."""
    asked: list[tuple[str, str, c.Command]] = []
    for org in orgs:
        rename = c.RenameOrganization(actor=actor, key=org["key"], name=org["name"])
        asked.append(("org", str(org["key"]), rename))
        for user in org["users"]:
            probes = _user_probes(actor, user)
            asked += [(user["email"], name, cmd) for name, cmd in probes.items()]
    answers = bus.allowed([cmd for _, _, cmd in asked]) if asked else []
    users: dict[str, set[str]] = {}
    renames: dict[str, bool] = {}
    for (who, name, _), yes in zip(asked, answers, strict=True):
        if who == "org":
            renames[name] = yes
        elif yes:
            users.setdefault(who, set()).add(name)
    return {k: frozenset(v) for k, v in users.items()}, renames
