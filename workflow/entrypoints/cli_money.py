"""``jointflow program refund`` and ``jointflow budget envelope amend``: the money a
budget officer moves after the fact (정산 반납, 추경)."""

from __future__ import annotations

from typing import Any

import click

from workflow.adapters import views
from workflow.domain import commands as c
from workflow.domain.errors import InvalidInput
from workflow.domain.money import parse_signed_krw
from workflow.entrypoints.cli_context import Context, json_option, pass_ctx
from workflow.entrypoints.cli_words import money, say, state
from workflow.entrypoints.output import emit_json
from workflow.entrypoints.params import KRW


class SignedKrwType(click.ParamType):  # type: ignore[type-arg]
    """``+20,000,000`` or ``-5000만``: a change to an amount, either way."""

    name = "±KRW"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_signed_krw(str(value))
        except InvalidInput:
            self.fail(f"{value!r} is not a signed whole number of KRW (e.g. +20000000)", param, ctx)


SIGNED_KRW = SignedKrwType()


@click.command("refund")
@click.argument("program_id", type=int, metavar="ID")
@click.option("--party", metavar="KEY", help="The funder paid back (default: your own).")
@click.option("--amount", required=True, type=KRW, help="What was received, in full or a part.")
@click.option("--memo", default="")
@json_option
@pass_ctx
def refund(
    ctx: Context, program_id: int, party: str | None, amount: int, memo: str, as_json: bool
) -> None:
    """Record a refund received from an underspent program (budget officer of the funder)."""
    done = ctx.handle(
        c.RecordRefund(
            actor=ctx.actor, program_id=program_id, party=party, amount=amount, memo=memo
        )
    )
    if as_json:
        detail = ctx.view(lambda uow, who: views.program_detail(uow, who, program_id))
        emit_json({**detail, "refund": {"party": done.party, "amount": done.amount}})
        return
    click.echo(
        say(
            "program {id}: refund of {amount} to {party} recorded; {due} still due; now {state}",
            id=program_id,
            amount=money(done.amount),
            party=done.party,
            due=money(done.still_due),
            state=state(done.state),
        )  # fmt: skip
    )


@click.command("amend")
@click.option("--party", required=True, metavar="KEY")
@click.option("--year", required=True, type=int)
@click.option(
    "--by", "by", required=True, type=SIGNED_KRW, help="+KRW raises the envelope, -KRW lowers it."
)
@click.option("--reason", required=True, help="Why (a supplementary budget, a correction).")
@json_option
@pass_ctx
def amend(ctx: Context, party: str, year: int, by: int, reason: str, as_json: bool) -> None:
    """Raise or lower an envelope (추경; budget officer of the party, or admin)."""
    done = ctx.handle(
        c.AmendEnvelope(actor=ctx.actor, party=party, year=year, by=by, reason=reason)
    )
    if as_json:
        emit_json(
            {
                "party": done.party,
                "year": done.year,
                "by": done.by,
                "amount": done.amount,
                "available": done.available,
            }
        )
        return
    change = ("+" if by > 0 else "-") + money(abs(by))
    click.echo(
        say(
            "envelope {party} {year}: {amount} ({change}), {available} available",
            party=party,
            year=year,
            amount=money(done.amount),
            change=change,
            available=money(done.available),
        )  # fmt: skip
    )
