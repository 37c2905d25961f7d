"""``jointflow user deactivate|activate|set-roles|set-locale`` and ``org rename``: an
admin's changes to people and organizations (issue 16).

With ``--as EMAIL`` (or ``JOINTFLOW_USER``) the acting user must be an active admin;
without one it is the operator on the server, as for ``user add``. The rules are the
domain's (``domain.people``); these commands only translate.
"""

from __future__ import annotations

from typing import Any

import click

from workflow.adapters.people_views import person
from workflow.domain import commands as c
from workflow.domain.definition import ROLES
from workflow.domain.directory import LOCALES
from workflow.entrypoints.cli_context import Context, json_option, pass_ctx
from workflow.entrypoints.cli_words import say
from workflow.entrypoints.output import emit_json
from workflow.service_layer.handlers import PersonChanged

ROLE_LIST = ", ".join(sorted(ROLES))


def _changed(done: PersonChanged) -> dict[str, Any]:
    return {
        **person(done.user),
        "claims_returned": done.claims_returned,
        "delegations_ended": done.delegations_ended,
        "tokens_revoked": done.tokens_revoked,
    }


def _show(done: PersonChanged, what: str, as_json: bool) -> None:
    if as_json:
        emit_json(_changed(done))
        return
    click.echo(what)
    if done.claims_returned:
        tasks = ", ".join(map(str, done.claims_returned))
        click.echo("  " + say("task(s) back in their queues: {tasks}", tasks=tasks))
    if done.delegations_ended:
        click.echo("  " + say("delegation(s) ended: {n}", n=done.delegations_ended))
    if done.tokens_revoked:
        click.echo("  " + say("token(s) and session(s) revoked: {n}", n=done.tokens_revoked))


@click.command("deactivate")
@click.argument("email")
@json_option
@pass_ctx
def user_deactivate(ctx: Context, email: str, as_json: bool) -> None:
    """Deactivate EMAIL (admin): their claimed tasks go back to their queues, their
    delegations (given and received) end, their tokens and sessions stop working, and
    they can no longer act or sign in. The last active admin cannot be deactivated."""
    done = ctx.handle(c.DeactivateUser(actor=ctx.actor, email=email))
    _show(done, say("user {email} deactivated", email=done.user.email), as_json)


@click.command("activate")
@click.argument("email")
@json_option
@pass_ctx
def user_activate(ctx: Context, email: str, as_json: bool) -> None:
    """Reactivate EMAIL (admin); they need a new token or password sign-in."""
    done = ctx.handle(c.ActivateUser(actor=ctx.actor, email=email))
    _show(done, say("user {email} reactivated", email=done.user.email), as_json)


@click.command("set-roles")
@click.argument("email")
@click.option(
    "--roles",
    required=True,
    metavar="ROLE[,ROLE...]",
    help=f"The user's roles from now on, comma-separated; from: {ROLE_LIST}.",
)
@json_option
@pass_ctx
def user_set_roles(ctx: Context, email: str, roles: str, as_json: bool) -> None:
    """Replace EMAIL's roles (admin); it takes effect at once, and tasks they claimed in
    queues they leave go back to those queues."""
    given = tuple(r.strip() for r in roles.split(",") if r.strip())
    done = ctx.handle(c.SetRoles(actor=ctx.actor, email=email, roles=given))
    roles = ", ".join(sorted(done.user.roles))
    _show(done, say("user {email} has roles {roles}", email=done.user.email, roles=roles), as_json)


@click.command("set-locale")
@click.argument("email")
@click.argument("locale", type=click.Choice(LOCALES))
@json_option
@pass_ctx
def user_set_locale(ctx: Context, email: str, locale: str, as_json: bool) -> None:
    """Set the language EMAIL reads messages and pages in (admin): ko or en."""
    done = ctx.handle(c.SetLocale(actor=ctx.actor, email=email, locale=locale))
    _show(done, say("user {email} reads {locale}", email=done.user.email,
                    locale=done.user.locale), as_json)  # fmt: skip


@click.command("rename")
@click.argument("key")
@click.option("--name", required=True, help="The organization's new name.")
@json_option
@pass_ctx
def org_rename(ctx: Context, key: str, name: str, as_json: bool) -> None:
    """Rename the organization KEY (admin); its key stays."""
    found = ctx.handle(c.RenameOrganization(actor=ctx.actor, key=key, name=name))
    if as_json:
        emit_json({"key": found.key, "name": found.name, "funder": found.funder})
    else:
        click.echo(say("organization {key} is now named {name}", key=found.key, name=found.name))


USER_COMMANDS = (user_deactivate, user_activate, user_set_roles, user_set_locale)
ORG_COMMANDS = (org_rename,)
