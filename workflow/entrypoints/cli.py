"""The ``jointflow`` command line: every action a person or operator takes.

The acting user comes from ``--as EMAIL`` or ``JOINTFLOW_USER``; ``db``, ``org`` and
``user`` are the operator's and need none. Reads show what the acting user may see;
without one the CLI is the operator on the server and sees everything. Human output by
default, in Korean (``--lang en``, or an acting user whose locale is English, for
English: ``cli_words``), ``--json`` per command for scripts (machine keys, raw values).
Errors are one line on stderr: exit 1 for a refused or invalid action (nothing
changed), a bad setting or a database that cannot be reached, 2 for a usage error.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click
from sqlalchemy.exc import InterfaceError, OperationalError

from config.settings import get_settings
from workflow.adapters import views
from workflow.adapters.database import current_revision, engine_for, head_revision, upgrade
from workflow.adapters.definitions import DefinitionRegistry, load_file
from workflow.domain import commands as c
from workflow.domain.definition import ROLES
from workflow.domain.directory import LOCALES
from workflow.domain.errors import NotFound, WorkflowError
from workflow.domain.tokens import DEFAULT_DAYS
from workflow.entrypoints import cli_words
from workflow.entrypoints.cli_context import (
    Context,
    json_option,
    pass_ctx,
    refusal_line,
)
from workflow.entrypoints.cli_words import LANGS, money, role, say, when
from workflow.entrypoints.output import budget_table, emit_json, ledger_table, table
from workflow.entrypoints.params import KRW, FilePath
from workflow.service_layer.scheduler import run_scheduled_work, send_due_reminders


class AuditBroken(WorkflowError):
    code = "audit-broken"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="jointflow", prog_name="jointflow")
@click.option(
    "--lang",
    type=click.Choice(LANGS),
    help="Language of the output (default: the acting user's locale, else ko). "
    "--json output is the same in every language.",
)
@click.option(
    "--as",
    "actor",
    metavar="EMAIL",
    envvar="JOINTFLOW_USER",
    help="Act as this user (default: $JOINTFLOW_USER). Reads then show what "
    "this user may see; without a user you are the operator on the server "
    "and see everything.",
)
@click.pass_context
def cli(ctx: click.Context, lang: str | None, actor: str | None) -> None:
    """jointflow: joint review, budget holds and audit for jointly funded programs."""
    ctx.obj = Context(actor.strip().lower() if actor else None, lang)


# -- operator: database, organizations, users --


@cli.group()
def db() -> None:
    """Database schema (operator)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the newest version."""
    settings = get_settings()
    upgrade(engine_for(settings.database_url))
    click.echo(say("database at revision {revision}", revision=head_revision()))


@db.command("status")
def db_status() -> None:
    """Show the schema revision of the configured database."""
    engine = engine_for(get_settings().database_url)
    click.echo(
        say(
            "{url}: revision {revision} (newest {head})",
            url=engine.url.render_as_string(hide_password=True),
            revision=current_revision(engine) or say("none"),
            head=head_revision(),
        )
    )


@cli.group()
def org() -> None:
    """Organizations (operator)."""


@org.command("add")
@click.argument("key")
@click.option("--name", required=True)
@click.option("--funder", is_flag=True, help="A funding party with budget envelopes.")
@json_option
@pass_ctx
def org_add(ctx: Context, key: str, name: str, funder: bool, as_json: bool) -> None:
    """Add an organization (a school, centre, city team or funder)."""
    added = ctx.handle(c.AddOrganization(actor=None, key=key, name=name, funder=funder))
    emit_json({"key": added}) if as_json else click.echo(say("organization {key} added", key=added))


@org.command("list")
@json_option
@pass_ctx
def org_list(ctx: Context, as_json: bool) -> None:
    orgs = ctx.query(lambda uow: uow.directory.organizations())
    if as_json:
        emit_json([{"key": o.key, "name": o.name, "funder": o.funder} for o in orgs])
    else:
        click.echo(
            table(
                [(o.key, o.name, say("yes") if o.funder else "") for o in orgs],
                [say("key"), say("name"), say("funder")],
            )
        )


@cli.group()
def user() -> None:
    """Users (operator)."""


@user.command("add")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--org", "org_key", required=True, metavar="KEY")
@click.option(
    "--role",
    "roles",
    required=True,
    multiple=True,
    metavar="ROLE",
    # Not a click.Choice: a missing --role would print the choices after click's "Error:"
    # line; an unknown role is the domain's refusal, which names the roles too.
    help=f"One of: {', '.join(sorted(ROLES))}; repeat for several.",
)
@click.option("--locale", type=click.Choice(LOCALES), default=LOCALES[0], show_default=True)
@json_option
@pass_ctx
def user_add(
    ctx: Context,
    email: str,
    name: str,
    org_key: str,
    roles: tuple[str, ...],
    locale: str,
    as_json: bool,
) -> None:
    """Add a user to an organization with one or more roles."""
    user_id = ctx.handle(
        c.AddUser(actor=None, email=email, name=name, org=org_key, roles=roles, locale=locale)
    )
    if as_json:
        emit_json({"id": user_id})
    else:
        click.echo(say("user {email} added (id {id})", email=email, id=user_id))


@user.command("list")
@click.option("--org", "org_key", metavar="KEY")
@json_option
@pass_ctx
def user_list(ctx: Context, org_key: str | None, as_json: bool) -> None:
    found = ctx.query(lambda uow: uow.directory.users(org_key))
    rows = [
        {
            "email": u.email,
            "name": u.name,
            "org": u.org,
            "roles": sorted(u.roles),
            "locale": u.locale,
            "active": u.active,
        }
        for u in found
    ]
    if as_json:
        emit_json(rows)
    else:
        click.echo(
            table(
                [(r["email"], r["name"], r["org"], ", ".join(map(role, r["roles"]))) for r in rows],
                [say("email"), say("name"), say("org"), say("roles")],
            )
        )


@user.command("token")
@click.argument("email")
@click.option(
    "--expires-days",
    "days",
    type=int,
    default=DEFAULT_DAYS,
    show_default=True,
    help="Days until the token stops working.",
)
@json_option
@pass_ctx
def user_token(ctx: Context, email: str, days: int, as_json: bool) -> None:
    """Make a personal API token for EMAIL; it is shown this once (only its hash is kept)."""
    issued = ctx.handle(c.IssueToken(actor=None, email=email, days=days))
    expires = issued.expires_at.isoformat()
    if as_json:
        emit_json({"token": issued.token, "expires_at": expires})
    else:
        click.echo(issued.token)
        until = when(issued.expires_at)
        click.echo(
            say("(for {email}, until {until}; it is not shown again)", email=email, until=until),
            err=True,
        )


@user.command("set-password")
@click.argument("email")
@click.option(
    "--password-stdin",
    "from_stdin",
    is_flag=True,
    help="Read the password from standard input (one line) instead of asking for it.",
)
@pass_ctx
def user_set_password(ctx: Context, email: str, from_stdin: bool) -> None:
    """Set EMAIL's password for signing in to the web pages (only an argon2 hash is kept)."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(say("password"), hide_input=True, confirmation_prompt=True)
    ctx.handle(c.SetPassword(actor=None, email=email, password=password))
    click.echo(say("password of {email} set", email=email))


@user.command("revoke-tokens")
@click.argument("email")
@pass_ctx
def user_revoke_tokens(ctx: Context, email: str) -> None:
    """End every API token and web session EMAIL holds."""
    revoked = ctx.handle(c.RevokeTokens(actor=None, email=email))
    click.echo(say("{count} token(s) of {email} revoked", count=revoked, email=email))


# -- budget --


@cli.group()
def budget() -> None:
    """Budget envelopes and the budget position."""


@budget.group()
def envelope() -> None:
    """A funding party's envelope for a fiscal year."""


@envelope.command("add")
@click.option("--party", required=True, metavar="KEY")
@click.option("--year", required=True, type=int)
@click.option("--amount", required=True, type=KRW)
@pass_ctx
def envelope_add(ctx: Context, party: str, year: int, amount: int) -> None:
    """Open an envelope (budget officer of the party, or admin)."""
    ctx.handle(c.AddEnvelope(actor=ctx.actor, party=party, year=year, amount=amount))
    click.echo(
        say("envelope {party} {year}: {amount}", party=party, year=year, amount=money(amount))
    )


@budget.command("report")
@click.option("--year", type=int)
@json_option
@pass_ctx
def budget_report(ctx: Context, year: int | None, as_json: bool) -> None:
    """Amount, held, committed, disbursed and available per party and year."""
    report = ctx.view(lambda uow, who: views.budget_report(uow, who, year))
    emit_json(report) if as_json else click.echo(budget_table(report))


@budget.command("ledger")
@click.option("--party", metavar="KEY")
@click.option("--program", "program_id", type=int, metavar="ID")
@json_option
@pass_ctx
def budget_ledger(ctx: Context, party: str | None, program_id: int | None, as_json: bool) -> None:
    """Every ledger entry (hold, commit, disburse, release, refund, amend), oldest first."""
    entries = ctx.view(lambda uow, who: views.ledger_entries(uow, who, party, program_id))
    emit_json(entries) if as_json else click.echo(ledger_table(entries))


# -- scheduled work --


@cli.command("tick")
@json_option
@pass_ctx
def tick(ctx: Context, as_json: bool) -> None:
    """Run the due scheduled work now (starts, ends, hold expiries), then send the due
    reminders and retry the due deliveries, at JOINTFLOW_NOW.

    Beat does this on its own in a deployment; on the embedded default, run it daily.
    ``--json`` gives the scheduled work's outcomes; the reminders are in the text output.
    """
    outcomes = run_scheduled_work(ctx.bus)
    sent = send_due_reminders(ctx.bus)
    delivered = ctx.bus.courier.deliver_due(ctx.bus)
    if as_json:
        emit_json(dict(sorted(outcomes.items())))
    elif not outcomes and not sent and not delivered:
        click.echo(say("nothing due"))
    else:
        done = [*sorted(outcomes.items()), *sorted(sent.items()), *sorted(delivered.items())]
        for outcome, count in done:
            click.echo(f"{count:>4}  {say(outcome)}")


# -- audit and workflow definitions --


@cli.group()
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("verify")
@json_option
@pass_ctx
def audit_verify(ctx: Context, as_json: bool) -> None:
    """Check every event's hash chain; exit 1 naming the first broken event."""
    result = ctx.view(views.audit_check)
    if as_json:
        emit_json(result)
    if result["broken"] is not None:
        broken = result["broken"]
        raise AuditBroken(f"audit chain broken at {broken}", reason="audit_broken", at=broken)
    if not as_json:
        click.echo(say("audit chain verified: {count} events", count=result["events"]))


@cli.group()
def workflow() -> None:
    """Workflow definitions."""


@workflow.command("validate")
@click.argument("file", type=FilePath(path_type=Path))
def workflow_validate(file: Path) -> None:
    """Validate a definition file; name every problem."""
    definition = load_file(file)
    click.echo(
        say(
            "{file}: {key} version {version} is valid ({states} states, {transitions} "
            "transitions, parties: {parties})",
            file=file,
            key=definition.key,
            version=definition.version,
            states=len(definition.states),
            transitions=len(definition.transitions),
            parties=", ".join(definition.party_keys),
        )
    )


@workflow.command("show")
@click.argument("key", required=False)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "mermaid"]), default="text", show_default=True
)
def workflow_show(key: str | None, fmt: str) -> None:
    """Show a definition's states and transitions (text or a Mermaid diagram)."""
    from workflow.entrypoints.diagram import definition_mermaid, definition_text

    settings = get_settings()
    files = DefinitionRegistry(settings.workflows_dir).files()
    key = key or settings.default_workflow
    if key not in files:
        raise NotFound(
            f"no workflow {key!r} (known: {', '.join(sorted(files))})",
            reason="no_workflow",
            workflow=key,
            known=sorted(files),
        )
    definition = files[key][0]
    click.echo(definition_mermaid(definition) if fmt == "mermaid" else definition_text(definition))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def web(host: str, port: int) -> None:
    """Serve the web pages and the HTTP API in this process (the Procfile's `web` runs
    several uvicorn workers instead)."""
    import uvicorn

    get_settings()  # a bad setting is one line here, before the server starts
    click.echo(
        say(
            "jointflow pages at {url}  (API: /api/v1, docs: /api/docs)",
            url=f"http://{host}:{port}/",
        )
    )
    uvicorn.run("workflow.entrypoints.api:app", host=host, port=port, log_level="warning")


@cli.command()
@click.option("--reset", is_flag=True, help="Empty an existing SQLite database first.")
def demo(reset: bool) -> None:
    """Seed the Paju setting and play a whole year on the configured database."""
    from workflow.entrypoints.demo import run_demo

    run_demo(get_settings(), reset=reset)


def _register_commands() -> None:
    from workflow.entrypoints import cli_files  # noqa: F401 - program attach/files/file
    from workflow.entrypoints.cli_money import amend, refund
    from workflow.entrypoints.cli_program import program
    from workflow.entrypoints.cli_tasks import delegate, inbox, task, waiting

    program.add_command(refund)
    envelope.add_command(amend)

    for command in (program, inbox, task, waiting, delegate):
        cli.add_command(command)
    from workflow.entrypoints.cli_reminders import notifications, reminders

    cli.add_command(reminders)
    cli.add_command(notifications)
    from workflow.entrypoints.cli_notify import deliveries, webhook

    cli.add_command(webhook)
    cli.add_command(deliveries)
    from workflow.entrypoints.cli_people import ORG_COMMANDS, USER_COMMANDS

    for command in USER_COMMANDS:
        user.add_command(command)
    for command in ORG_COMMANDS:
        org.add_command(command)


_register_commands()


def main(argv: list[str] | None = None) -> None:
    """Console script: map refusals to exit 1 and usage errors to exit 2."""
    cli_words.use(None)  # Korean until the command line says otherwise
    try:
        cli.main(args=argv, prog_name="jointflow", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.Abort:
        click.echo(say("aborted"), err=True)
        sys.exit(1)
    except WorkflowError as err:
        click.echo(refusal_line(err), err=True)
        sys.exit(1)
    except (OperationalError, InterfaceError) as err:  # down, unreachable, refused us
        click.echo(f"jointflow: {_database_failed(err)}", err=True)
        sys.exit(1)
    except OSError as err:
        click.echo(f"jointflow: {err}", err=True)
        sys.exit(1)


_NO_DATABASE = re.compile(r'database "(?P<name>[^"]+)" does not exist')


def _database_failed(err: OperationalError | InterfaceError) -> str:
    """One line: a database that does not exist named as such, else the driver's first line."""
    reason = str(err.orig or err).strip().splitlines()[0]
    missing = _NO_DATABASE.search(reason)
    if missing:
        return say(
            "the database {name} (JOINTFLOW_DATABASE_URL) does not exist: create it first "
            "(createdb {name})",
            name=missing["name"],
        )
    return say("the database (JOINTFLOW_DATABASE_URL) failed: {reason}", reason=reason)
