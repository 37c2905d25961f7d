"""``jointflow inbox``, ``task ...`` and ``waiting``: people's queues of work."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

import click

from workflow.adapters import queues
from workflow.adapters.unit_of_work import SqlUnitOfWork
from workflow.domain import commands as c
from workflow.domain.visibility import Viewer
from workflow.entrypoints import cli_records, records
from workflow.entrypoints.cli_context import Context, json_option, pass_ctx
from workflow.entrypoints.cli_words import lang, money, say
from workflow.entrypoints.output import emit_json, table
from workflow.entrypoints.params import DATE
from workflow.service_layer.bulk import BULK_ACTIONS, bulk


@click.command("inbox")
@click.option(
    "--limit",
    type=click.IntRange(1, queues.MAX_LIMIT),
    default=queues.DEFAULT_LIMIT,
    show_default=True,
    help="Tasks per page.",
)
@click.option(
    "--after",
    "after",
    type=int,
    metavar="TASK",
    help="The page that follows this task (the last one shown).",
)
@json_option
@pass_ctx
def inbox(ctx: Context, limit: int, after: int | None, as_json: bool) -> None:
    """Your tasks and your queues' tasks, earliest due first, a page at a time.

    --json prints the page's rows; when it holds --limit rows, --after its last task
    reads on.
    """
    ctx.require_actor()

    def read(uow: SqlUnitOfWork, who: Viewer) -> queues.InboxPage:
        assert who.user is not None  # an acting user was given
        return queues.inbox_page(uow, who.user, limit, after)

    page = ctx.view(read)
    rows = page.rows
    if as_json:
        emit_json(rows)
        return
    click.echo(
        table(
            [
                (
                    r["task"],
                    r["due"][:10],
                    r["overdue_days"] or "",
                    say(r["kind"]),
                    r["program"],
                    r["party"] or "-",
                    r["claimed_by"] or "",
                    money(r["remaining_if_approved"])
                    if r["remaining_if_approved"] is not None
                    else "",
                    r["title"],
                )
                for r in rows
            ],
            [
                say(h)
                for h in (
                    "task",
                    "due",
                    "overdue",
                    "kind",
                    "program",
                    "party",
                    "claimed by",
                    "remaining if approved",
                    "title",
                )
            ],
        )
        if rows
        else say("nothing waiting after task {task}", task=after)
        if after is not None
        else say("nothing waiting")
    )
    if page.more:
        click.echo(
            say(
                "more tasks wait after these {count}; the next page: {command}",
                count=len(rows),
                command=f"jointflow inbox --after {rows[-1]['task']}"
                + (f" --limit {limit}" if limit != queues.DEFAULT_LIMIT else ""),
            )
        )


@click.group()
def task() -> None:
    """Claim, release or reassign tasks."""


@task.command("claim")
@click.argument("task_id", type=int, metavar="TASK")
@pass_ctx
def claim(ctx: Context, task_id: int) -> None:
    """Take a task from your queue: nobody else can act on it until you release it."""
    ctx.handle(c.ClaimTask(actor=ctx.actor, task_id=task_id))
    click.echo(say("task {task} claimed", task=task_id))


@task.command("release")
@click.argument("task_id", type=int, metavar="TASK")
@pass_ctx
def release(ctx: Context, task_id: int) -> None:
    """Give a task you claimed back to its queue."""
    ctx.handle(c.ReleaseTask(actor=ctx.actor, task_id=task_id))
    click.echo(say("task {task} released", task=task_id))


@task.command("reassign")
@click.argument("task_id", type=int, metavar="TASK")
@click.option("--to", "to", required=True, metavar="EMAIL")
@pass_ctx
def reassign(ctx: Context, task_id: int, to: str) -> None:
    """Hand a task of your organization to someone in its queue (supervisor)."""
    ctx.handle(c.ReassignTask(actor=ctx.actor, task_id=task_id, to=to))
    click.echo(say("task {task} reassigned to {to}", task=task_id, to=to))


@task.command("bulk")
@click.argument("action", type=click.Choice(BULK_ACTIONS))
@click.argument("task_ids", type=int, nargs=-1, required=True, metavar="TASK [TASK ...]")
@click.option("--comment", default="")
@json_option
@pass_ctx
def bulk_(
    ctx: Context, action: str, task_ids: tuple[int, ...], comment: str, as_json: bool
) -> None:
    """Claim or decide several tasks; each is checked on its own. Exit 1 if any failed."""
    results = bulk(ctx.bus, ctx.actor, action, list(task_ids), comment)
    if as_json:
        emit_json([asdict(r) for r in results])
    else:
        for r in results:
            done = say("{action} done", action=say(action)) + (
                say(" (program {program})", program=r.program) if r.program else ""
            )
            refused = say("refused: {error}", error=r.error)
            click.echo(say("task {task}: ", task=r.task) + (done if r.ok else refused))
    if not all(r.ok for r in results):
        raise SystemExit(1)


@click.command("waiting")
@json_option
@pass_ctx
def waiting(ctx: Context, as_json: bool) -> None:
    """The "waiting on whom" board: each program's open step, whom it waits on, how long;
    a waitlisted program, which funder is short and by how much."""
    rows, tell = ctx.view(records.read_waiting)
    tell = tell.speaking(lang())
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo(cli_records.Text(tell)("nothing_waiting"))
        return
    click.echo(table(*cli_records.waiting_rows(rows, tell)))


@click.group()
def delegate() -> None:
    """Name a colleague who acts for you while you are away (대결)."""


@delegate.command("set")
@click.option("--to", "to", required=True, metavar="EMAIL")
@click.option("--from", "starts_on", required=True, type=DATE)
@click.option("--until", "ends_on", required=True, type=DATE)
@pass_ctx
def delegate_set(ctx: Context, to: str, starts_on: date, ends_on: date) -> None:
    """Route your queues to EMAIL from one day to another (both included)."""
    ctx.handle(c.SetDelegation(actor=ctx.actor, to=to, starts_on=starts_on, ends_on=ends_on))
    click.echo(
        say("{to} acts for you from {start} until {end}", to=to, start=starts_on, end=ends_on)
    )


@delegate.command("clear")
@pass_ctx
def delegate_clear(ctx: Context) -> None:
    """End your delegation now."""
    ctx.handle(c.ClearDelegation(actor=ctx.actor))
    click.echo(say("delegation cleared"))
