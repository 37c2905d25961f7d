"""How the CLI shows things: JSON for scripts, aligned plain text for people."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from workflow.domain.money import format_krw


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def splits(amounts: dict[str, int]) -> str:
    return ", ".join(f"{party} {format_krw(a)}" for party, a in amounts.items()) or "-"


def budget_table(report: list[dict[str, Any]]) -> str:
    rows = [
        (
            r["party"],
            r["year"],
            format_krw(r["amount"]),
            format_krw(r["held"]),
            format_krw(r["committed"]),
            format_krw(r["disbursed"]),
            format_krw(r["available"]),
            format_krw(r["refund_due"]),
        )
        for r in report
    ]
    return table(
        rows,
        ["party", "year", "amount", "held", "committed", "disbursed", "available", "refund due"],
    )


def ledger_table(entries: list[dict[str, Any]]) -> str:
    rows = [
        (
            e["id"],
            e["at"][:19],
            e["party"],
            e["year"],
            e["program"] or "-",
            e["kind"] + (f" ({e['source']})" if e["source"] else ""),
            format_krw(e["amount"]),
            e["actor"],
        )
        for e in entries
    ]
    return table(rows, ["id", "at", "party", "year", "program", "kind", "amount", "actor"])
