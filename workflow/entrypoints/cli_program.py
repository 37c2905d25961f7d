"""``jointflow program ...``: coordinators and approvers acting on programs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from workflow.adapters import views
from workflow.domain import commands as c
from workflow.domain.program import DECISIONS, SCORES, VERDICTS
from workflow.entrypoints import cli_records, records
from workflow.entrypoints.cli_context import Context, json_option, pass_ctx
from workflow.entrypoints.cli_words import lang, money, say, splits
from workflow.entrypoints.cli_words import state as state_name
from workflow.entrypoints.output import emit_json, table
from workflow.entrypoints.params import DATE, KRW, SPLIT, FilePath, splits_to_dict


@click.group()
def program() -> None:
    """Create, submit, review and follow programs."""


def content_options(required: bool) -> list[click.Option]:
    return [
        click.Option(["--title"], required=required),
        click.Option(["--category"], required=required),
        click.Option(
            ["--request", "requests"],
            type=SPLIT,
            multiple=True,
            required=required,
            help="A funder's share, PARTY=KRW; repeat per funder. On update, only the "
            "funders named change (drop one with --drop-request).",
        ),
        click.Option(["--start"], type=DATE),
        click.Option(["--end"], type=DATE),
        click.Option(["--year"], type=int, help="Fiscal year (default: the start's year)."),
        click.Option(["--description"]),
    ]


def _with(options: list[click.Option]):  # type: ignore[no-untyped-def]
    def decorate(command: click.Command) -> click.Command:
        command.params[:0] = options
        return command

    return decorate


@program.command("create")
@click.option("--org", "org_key", required=True, metavar="KEY")
@click.option(
    "--workflow",
    "workflow_key",
    metavar="KEY",
    help="Default: $JOINTFLOW_DEFAULT_WORKFLOW, else joint-program.",
)
@json_option
@pass_ctx
def create(
    ctx: Context,
    org_key: str,
    workflow_key: str | None,
    as_json: bool,
    title: str,
    category: str,
    requests: tuple[tuple[str, int], ...],
    start: date | None,
    end: date | None,
    year: int | None,
    description: str | None,
) -> None:
    """Draft a program asking each funder for a share."""
    program_id = ctx.handle(
        c.CreateProgram(
            actor=ctx.actor,
            title=title,
            org=org_key,
            category=category,
            requests=splits_to_dict(requests),
            start=start,
            end=end,
            year=year,
            description=description or "",
            workflow=workflow_key,
        )
    )
    if as_json:
        emit_json({"id": program_id})
    else:
        click.echo(say("program {id} created", id=program_id))


_with(content_options(required=True))(create)


@program.command("update")
@click.argument("program_id", type=int, metavar="ID")
@click.option(
    "--drop-request",
    "dropped",
    multiple=True,
    metavar="PARTY",
    help="Remove a funder from the split (its hold is released); repeatable.",
)
@json_option
@pass_ctx
def update(
    ctx: Context,
    program_id: int,
    dropped: tuple[str, ...],
    as_json: bool,
    title: str | None,
    category: str | None,
    requests: tuple[tuple[str, int], ...],
    start: date | None,
    end: date | None,
    year: int | None,
    description: str | None,
) -> None:
    """Edit a draft or a program sent back for changes."""
    ctx.handle(
        c.UpdateProgram(
            actor=ctx.actor,
            program_id=program_id,
            title=title,
            category=category,
            requests=splits_to_dict(requests) or None,
            start=start,
            end=end,
            year=year,
            description=description,
            drop_requests=dropped,
        )
    )
    detail = ctx.view(lambda uow, who: views.program_detail(uow, who, program_id))
    if as_json:
        emit_json(detail)
        return
    split = ", ".join(f"{p} {money(a)}" for p, a in detail["requested"].items())
    click.echo(say("program {id} updated; requested: {split}", id=program_id, split=split))


_with(content_options(required=False))(update)


def _report_state(ctx: Context, program_id: int, done: str, as_json: bool) -> None:
    """``done``: what happened, already in the command's language (``say``)."""
    detail = ctx.view(lambda uow, who: views.program_detail(uow, who, program_id))
    if as_json:
        emit_json(detail)
    else:
        click.echo(
            say(
                "program {id} {done}: now {state}",
                id=program_id,
                done=done,
                state=state_name(detail["state"]),
            )
        )


@program.command("submit")
@click.argument("program_id", type=int, metavar="ID")
@json_option
@pass_ctx
def submit(ctx: Context, program_id: int, as_json: bool) -> None:
    """Submit (or resubmit after changes) for joint review; holds follow."""
    ctx.handle(c.SubmitProgram(actor=ctx.actor, program_id=program_id))
    _report_state(ctx, program_id, say("submitted"), as_json)


@program.command("decide")
@click.argument("program_id", type=int, metavar="ID")
@click.argument("decision", type=click.Choice(list(DECISIONS)))
@click.option("--comment", default="")
@json_option
@pass_ctx
def decide(ctx: Context, program_id: int, decision: str, comment: str, as_json: bool) -> None:
    """Decide your own party's side of the joint review."""
    ctx.handle(
        c.DecideReview(actor=ctx.actor, program_id=program_id, decision=decision, comment=comment)
    )
    _report_state(
        ctx, program_id, say("{decision} recorded", decision=state_name(decision)), as_json
    )


@program.command("withdraw")
@click.argument("program_id", type=int, metavar="ID")
@click.option("--reason", default="")
@json_option
@pass_ctx
def withdraw(ctx: Context, program_id: int, reason: str, as_json: bool) -> None:
    """Withdraw your organization's program (any time before it is funded)."""
    ctx.handle(c.WithdrawProgram(actor=ctx.actor, program_id=program_id, reason=reason))
    _report_state(ctx, program_id, say("withdrawn"), as_json)


# -- funding --


@program.command("commit")
@click.argument("program_id", type=int, metavar="ID")
@json_option
@pass_ctx
def commit(ctx: Context, program_id: int, as_json: bool) -> None:
    """Commit your party's held share of an approved program (budget officer)."""
    done = ctx.handle(c.CommitFunds(actor=ctx.actor, program_id=program_id))
    _report_state(ctx, program_id, say("{amount} committed", amount=money(done.amount)), as_json)


@program.command("disburse")
@click.argument("program_id", type=int, metavar="ID")
@click.option("--amount", required=True, type=KRW)
@click.option("--memo", default="")
@json_option
@pass_ctx
def disburse(ctx: Context, program_id: int, amount: int, memo: str, as_json: bool) -> None:
    """Record a tranche paid out of your party's commitment (budget officer)."""
    done = ctx.handle(
        c.DisburseFunds(actor=ctx.actor, program_id=program_id, amount=amount, memo=memo)
    )
    paid = say("tranche {n} of {amount} disbursed", n=done.tranche, amount=money(done.amount))
    _report_state(ctx, program_id, paid, as_json)


# -- evaluation --


@program.command("report")
@click.argument("program_id", type=int, metavar="ID")
@click.option(
    "--spent",
    type=SPLIT,
    multiple=True,
    required=True,
    help="Actual spend of a funder's money, PARTY=KRW; repeat for every funder.",
)
@click.option("--summary", required=True)
@click.option(
    "--file",
    "path",
    type=FilePath(exists=True, dir_okay=False, path_type=Path),
    help="The report document (PDF, HWP/HWPX, DOCX, XLSX, PNG or JPEG, checked by its "
    "content), kept with the program.",
)
@json_option
@pass_ctx
def report(
    ctx: Context,
    program_id: int,
    spent: tuple[tuple[str, int], ...],
    summary: str,
    path: Path | None,
    as_json: bool,
) -> None:
    """Submit the evaluation report of a finished program (coordinator)."""
    attached = c.ReportFile(path.name, path.read_bytes()) if path else None
    ctx.handle(
        c.SubmitReport(
            actor=ctx.actor,
            program_id=program_id,
            spent=splits_to_dict(spent),
            summary=summary,
            file=attached,
        )
    )
    _report_state(ctx, program_id, say("report submitted"), as_json)


@program.command("evaluate")
@click.argument("program_id", type=int, metavar="ID")
@click.argument("verdict", type=click.Choice(list(VERDICTS)))
@click.option("--score", type=click.IntRange(SCORES.start, SCORES.stop - 1))
@click.option("--comment", default="")
@json_option
@pass_ctx
def evaluate(
    ctx: Context, program_id: int, verdict: str, score: int | None, comment: str, as_json: bool
) -> None:
    """Accept the evaluation report for your party, or return it for changes (evaluator)."""
    ctx.handle(
        c.EvaluateReport(
            actor=ctx.actor, program_id=program_id, verdict=verdict, score=score, comment=comment
        )
    )
    _report_state(
        ctx, program_id, say("{decision} recorded", decision=state_name(verdict)), as_json
    )


@program.command("cancel")
@click.argument("program_id", type=int, metavar="ID")
@click.option("--reason", required=True)
@json_option
@pass_ctx
def cancel(ctx: Context, program_id: int, reason: str, as_json: bool) -> None:
    """Stop a funded or running program; undisbursed money goes back (admin)."""
    ctx.handle(c.CancelProgram(actor=ctx.actor, program_id=program_id, reason=reason))
    _report_state(ctx, program_id, say("cancelled"), as_json)


@program.command("show")
@click.argument("program_id", type=int, metavar="ID")
@json_option
@pass_ctx
def show(ctx: Context, program_id: int, as_json: bool) -> None:
    """One program: state, decisions, money per funder, evaluation and what is scheduled."""
    detail, tell = ctx.view(lambda uow, who: records.read_show(uow, who, program_id))
    tell = tell.speaking(lang())
    emit_json(detail) if as_json else click.echo(cli_records.show_text(detail, tell))


@program.command("list")
@click.option("--state")
@click.option("--org", "org_key", metavar="KEY")
@click.option(
    "--waiting-on",
    metavar="ORG",
    help="Those waiting on ORG's step (a review, a commitment, an evaluation, or "
    "the coordinator's own).",
)
@json_option
@pass_ctx
def list_(
    ctx: Context, state: str | None, org_key: str | None, waiting_on: str | None, as_json: bool
) -> None:
    """Programs, filtered by state, organization or the party they wait on."""
    rows = ctx.view(lambda uow, who: views.program_list(uow, who, state, org_key, waiting_on))
    if as_json:
        emit_json(rows)
        return
    click.echo(
        table(
            [
                (
                    r["id"],
                    state_name(r["state"]),
                    r["org"],
                    r["category"],
                    splits(r["requested"]),
                    ",".join(r["waiting_on"]),
                    r["title"],
                )
                for r in rows
            ],
            [
                say(h)
                for h in ("id", "state", "org", "category", "requested", "waiting on", "title")
            ],
        )
    )


@program.command("history")
@click.argument("program_id", type=int, metavar="ID")
@json_option
@pass_ctx
def history(ctx: Context, program_id: int, as_json: bool) -> None:
    """The program's audit trail, oldest first: a sentence per event (``--json``: the
    raw events)."""
    rows, tell = ctx.view(lambda uow, who: records.read_history(uow, who, program_id))
    tell = tell.speaking(lang())
    if as_json:
        emit_json(rows)
        return
    click.echo(cli_records.history_text(rows, tell))
