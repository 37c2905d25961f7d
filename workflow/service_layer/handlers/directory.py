"""The operator's commands: organizations and users (audited on the directory stream)."""

from __future__ import annotations

from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.directory import (
    check_email,
    check_locale,
    check_name,
    check_org_key,
    check_roles,
)
from workflow.domain.events import OPERATOR, Event
from workflow.service_layer.handlers.common import DIRECTORY_STREAM
from workflow.service_layer.unit_of_work import UnitOfWork


def add_organization(cmd: c.AddOrganization, uow: UnitOfWork) -> str:
    key, name = check_org_key(cmd.key), check_name(cmd.name, "organization name")
    uow.directory.add_organization(key, name, cmd.funder, uow.now)
    uow.events.append(
        DIRECTORY_STREAM,
        [Event(ev.ORGANIZATION_ADDED, {"key": key, "name": name, "funder": cmd.funder})],
        OPERATOR,
        uow.now,
    )
    return key


def add_user(cmd: c.AddUser, uow: UnitOfWork) -> int:
    email, name = check_email(cmd.email), check_name(cmd.name)
    roles = check_roles(cmd.roles)
    check_locale(cmd.locale)
    uow.directory.organization(cmd.org)
    user_id = uow.directory.add_user(email, name, cmd.org, roles, cmd.locale, uow.now)
    uow.events.append(
        DIRECTORY_STREAM,
        [Event(ev.USER_ADDED, {"email": email, "org": cmd.org, "roles": list(roles)})],
        OPERATOR,
        uow.now,
    )
    return user_id
