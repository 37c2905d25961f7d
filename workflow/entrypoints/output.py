"""How the CLI shows things: JSON for scripts, aligned plain text for people.

Tables align by display width, not by characters: a Hangul syllable (or any East Asian
wide character) takes two terminal columns, a combining mark none.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from typing import Any

import click

from workflow.domain.money import format_krw
from workflow.entrypoints.cli_words import money, say, when


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: wide and full-width characters two, combining
    marks and zero-width characters none, everything else one."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def pad(text: str, width: int) -> str:
    """``text`` followed by spaces up to ``width`` display columns."""
    return text + " " * max(0, width - display_width(text))


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(display_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
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
            money(r["amount"]),
            money(r["held"]),
            money(r["committed"]),
            money(r["disbursed"]),
            money(r["available"]),
            money(r["refund_due"]),
        )
        for r in report
    ]
    headers = ["party", "year", "amount", "held", "committed", "disbursed", "available",
               "refund due"]  # fmt: skip
    return table(rows, [say(h) for h in headers])


def ledger_table(entries: list[dict[str, Any]]) -> str:
    rows = [
        (
            e["id"],
            when(e["at"]),
            e["party"],
            e["year"],
            e["program"] or "-",
            say(e["kind"]) + (f" ({say(e['source'])})" if e["source"] else ""),
            money(e["amount"]),
            e["actor"],
        )
        for e in entries
    ]
    headers = ["id", "at", "party", "year", "program", "kind", "amount", "actor"]
    return table(rows, [say(h) for h in headers])
