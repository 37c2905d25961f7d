"""``jointflow webhook ...`` and ``deliveries ...``: what leaves the building, for the
operator (or an admin) -- organizations' webhooks, and every delivery with its attempts,
its last error and the re-drive of the failed ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from workflow.domain import commands as c
from workflow.domain.errors import NotPermitted
from workflow.domain.messaging import WEBHOOK_EVENTS
from workflow.domain.visibility import Viewer
from workflow.entrypoints.cli_context import Context, json_option, pass_ctx
from workflow.entrypoints.cli_words import say, when
from workflow.entrypoints.output import emit_json, table

T = TypeVar("T")


@click.group()
def webhook() -> None:
    """Organizations' webhooks: signed POSTs of the program events they want."""


@webhook.command("add")
@click.option("--org", "org", required=True, metavar="KEY", help="The organization.")
@click.option("--url", required=True, help="Where to POST (http:// or https://).")
@click.option(
    "--events",
    required=True,
    metavar="E1,E2",
    help=f"Event types, comma-separated ({', '.join(WEBHOOK_EVENTS)}).",
)
@click.option("--secret", help="The signing secret (default: one is made and shown once).")
@json_option
@pass_ctx
def webhook_add(
    ctx: Context, org: str, url: str, events: str, secret: str | None, as_json: bool
) -> None:
    """Register a webhook; prints its id and its secret, this once."""
    wanted = tuple(e.strip() for e in events.split(","))
    added = ctx.handle(
        c.AddWebhook(actor=ctx.actor, org=org, url=url, events=wanted, secret=secret)
    )
    if as_json:
        emit_json({"id": added.id, "secret": added.secret})
        return
    click.echo(say("webhook {id} for {org}: POST {url}", id=added.id, org=org, url=url))
    click.echo(say("secret: {secret}", secret=added.secret))
    click.echo(say("(the secret is not shown again: sign checks use it)"), err=True)


@webhook.command("list")
@click.option("--org", "org", metavar="KEY", help="Only this organization's.")
@json_option
@pass_ctx
def webhook_list(ctx: Context, org: str | None, as_json: bool) -> None:
    """The live webhooks (secrets are never shown)."""
    hooks = ctx.view(_operators_only(lambda uow: uow.webhooks.listing(org)))
    rows = [
        {
            "id": h.id,
            "org": h.org,
            "url": h.url,
            "events": list(h.events),
            "created_at": h.created_at.isoformat(),
        }
        for h in hooks
    ]
    if as_json:
        emit_json(rows)
    elif not rows:
        click.echo(say("no webhooks"))
    else:
        click.echo(
            table(
                [(r["id"], r["org"], r["url"], ",".join(r["events"])) for r in rows],
                [say("id"), say("org"), say("url"), say("events")],
            )
        )


@webhook.command("remove")
@click.argument("webhook_id", type=int, metavar="ID")
@pass_ctx
def webhook_remove(ctx: Context, webhook_id: int) -> None:
    """Stop posting to a webhook (what is queued for it is not sent)."""
    ctx.handle(c.RemoveWebhook(actor=ctx.actor, webhook_id=webhook_id))
    click.echo(say("webhook {id} removed", id=webhook_id))


@webhook.command("test")
@click.argument("webhook_id", type=int, metavar="ID")
@json_option
@pass_ctx
def webhook_test(ctx: Context, webhook_id: int, as_json: bool) -> None:
    """Post a signed WebhookTest event to the webhook and say what became of it."""
    delivery_id = ctx.handle(c.TestWebhook(actor=ctx.actor, webhook_id=webhook_id))
    [row] = _deliveries(ctx, [delivery_id])
    if as_json:
        emit_json(row)
        return
    outcome = {"sent": "delivered", "pending": "not delivered yet", "sending": "under way"}
    status = say(outcome.get(row["status"], row["status"]))
    line = say("test delivery {id}: {status}", id=delivery_id, status=status)
    click.echo(line + (f" ({row['last_error']})" if row["last_error"] else ""))


@click.group()
def deliveries() -> None:
    """Every message's deliveries (email, in-app, webhook): attempts, errors, re-drives."""


@deliveries.command("list")
@click.option("--failed", is_flag=True, help="Only the failed: dead, or waiting to retry.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=200, show_default=True)
@json_option
@pass_ctx
def deliveries_list(ctx: Context, failed: bool, limit: int, as_json: bool) -> None:
    """Newest first: recipient, channel, what, status, attempts, last error."""
    rows = ctx.view(_operators_only(lambda uow: uow.deliveries.listing(failed, limit)))
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo(say("no failed deliveries") if failed else say("no deliveries"))
        return
    click.echo(
        table(
            [
                (
                    r["id"],
                    r["channel"],
                    r["recipient"],
                    r["what"],
                    say(r["status"]),
                    r["attempts"],
                    when(r["due_at"]) if r["status"] == "pending" else "",
                    (r["last_error"] or "")[:60],
                )
                for r in rows
            ],
            [
                say(h)
                for h in (
                    "id",
                    "channel",
                    "recipient",
                    "what",
                    "status",
                    "attempts",
                    "next",
                    "last error",
                )
            ],
        )
    )


@deliveries.command("retry")
@click.argument("delivery_ids", type=int, nargs=-1, metavar="[ID ...]")
@click.option("--all-failed", "every", is_flag=True, help="Every dead delivery.")
@json_option
@pass_ctx
def deliveries_retry(
    ctx: Context, delivery_ids: tuple[int, ...], every: bool, as_json: bool
) -> None:
    """Re-drive failed deliveries now, with a fresh count of attempts."""
    if bool(delivery_ids) == every:
        raise click.UsageError(say("give delivery IDs or --all-failed"))
    retried: list[int] = ctx.handle(
        c.RetryDeliveries(actor=ctx.actor, delivery_ids=None if every else delivery_ids)
    )
    after = _deliveries(ctx, retried)
    if as_json:
        emit_json(after)
        return
    if not retried:
        click.echo(say("no failed deliveries"))
    for row in sorted(after, key=lambda d: d["id"]):
        click.echo(
            say(
                "delivery {id} ({channel} to {recipient}): {status}",
                id=row["id"],
                channel=row["channel"],
                recipient=row["recipient"],
                status=say(row["status"]),
            )
        )


def _operators_only(read: Callable[[Any], T]) -> Callable[[Any, Viewer], T]:
    """Deliveries name every recipient: the operator's and admins' to read."""

    def reader(uow: Any, viewer: Viewer) -> T:
        if not viewer.sees_everything:
            raise NotPermitted(
                "only the operator or an admin reads deliveries and webhooks",
                reason="operators_only",
            )
        return read(uow)

    return reader


def _deliveries(ctx: Context, ids: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ctx.query(
        lambda uow: uow.deliveries.listing(limit=len(ids) or 1, ids=ids)
    )
    return rows
