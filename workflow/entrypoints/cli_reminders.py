"""``jointflow reminders preview`` and ``notifications list|read``: the reminder digests."""

from __future__ import annotations

from typing import Any

import click

from workflow.adapters import views
from workflow.domain import commands as c
from workflow.domain.messaging import parse_channels
from workflow.entrypoints.cli_context import Context, json_option, pass_ctx
from workflow.entrypoints.cli_words import say, when
from workflow.entrypoints.output import emit_json, table
from workflow.service_layer.reminders import preview as preview_sweep


@click.group()
def reminders() -> None:
    """Reminders and escalations of open tasks (sent by `jointflow tick` / the relay's sweep)."""


@reminders.command("preview")
@json_option
@pass_ctx
def reminders_preview(ctx: Context, as_json: bool) -> None:
    """What the next sweep would send, to whom, without sending anything."""
    plan: dict[str, Any] = ctx.query(preview_sweep)
    if as_json:
        emit_json(plan)
        return
    if plan["quiet"]:
        click.echo(
            say(
                "quiet hours (22:00-08:00 Seoul): nothing is sent before {at}",
                at=when(plan["sends_at"]),
            )
        )
    if not plan["messages"]:
        click.echo(say("no reminder due"))
        return
    click.echo(
        table(
            [
                (
                    m["to"],
                    say(m["kind"]),
                    len(m["tasks"]),
                    ", ".join(f"{t['task']} ({'+'.join(t['rungs'])})" for t in m["tasks"]),
                )
                for m in plan["messages"]
            ],
            [say("to"), say("kind"), say("tasks"), say("task (rungs)")],
        )
    )
    if plan["unaddressed"]:
        click.echo(
            say(
                "{count} due reminder(s) have nobody to go to (empty queue or no supervisor)",
                count=plan["unaddressed"],
            )
        )


@click.group()
def notifications() -> None:
    """Your messages (in-app) and how you are sent each kind (email, in-app)."""


@notifications.command("list")
@click.option("--unread", is_flag=True, help="Only messages not read yet.")
@json_option
@pass_ctx
def notifications_list(ctx: Context, unread: bool, as_json: bool) -> None:
    """Your messages, newest first."""
    email = ctx.require_actor()
    rows: list[dict[str, Any]] = ctx.query(
        lambda uow: uow.notifications.of_user(email, unread_only=unread)
    )
    if as_json:
        emit_json(
            [
                {k: r[k] for k in ("id", "kind", "subject", "body", "created_at", "read")}
                for r in rows
            ]
        )
        return
    if not rows:
        click.echo(say("no messages"))
        return
    for r in rows:
        click.echo(f"[{r['id']}] {'  ' if r['read'] else '* '}{r['subject']}")
        click.echo("    " + r["body"].replace("\n", "\n    "))


@notifications.command("read")
@click.argument("message_id", type=int, metavar="ID", required=False)
@click.option("--all", "every", is_flag=True, help="Mark all your messages read.")
@pass_ctx
def notifications_read(ctx: Context, message_id: int | None, every: bool) -> None:
    """Mark one of your messages read (or --all of them)."""
    if (message_id is None) == (not every):
        raise click.UsageError(say("give a message ID or --all"))
    marked = ctx.handle(
        c.MarkNotificationRead(actor=ctx.require_actor(), notification_id=message_id)
    )
    click.echo(
        say("message {id} marked read", id=message_id)
        if message_id is not None
        else say("{count} message(s) marked read", count=marked)
    )


@notifications.command("prefs")
@click.option(
    "--set",
    "choices",
    multiple=True,
    metavar="KIND=email,inapp",
    help="Channels for a kind of message (email, inapp, both, or none); repeat per kind.",
)
@json_option
@pass_ctx
def notifications_prefs(ctx: Context, choices: tuple[str, ...], as_json: bool) -> None:
    """Show (or --set) how you are sent each kind of message."""
    email = ctx.require_actor()
    parsed = []
    for choice in choices:
        kind, eq, channels = choice.partition("=")
        if not eq:
            raise click.UsageError(
                say("--set takes KIND=CHANNELS, got {value}", value=repr(choice))
            )
        parsed.append((kind.strip(), parse_channels(channels)))
    if parsed:
        ctx.handle(c.SetPreferences(actor=email, choices=tuple(parsed)))
    rows = ctx.query(lambda uow: views.notification_preferences(uow, email))
    if as_json:
        emit_json(rows)
        return
    click.echo(
        table(
            [
                (
                    r["kind"],
                    ",".join(r["channels"]) or say("none"),
                    say("required") if r["required"] else "",
                    "" if r["chosen"] else say("(default)"),
                )
                for r in rows
            ],
            [say("kind"), say("channels"), "", ""],
        )
    )
