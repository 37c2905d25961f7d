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
        )
        for r in report
    ]
    headers = ["party", "year", "amount", "held", "committed", "disbursed", "available"]
    return table(rows, [say(h) for h in headers])


def program_text(p: dict[str, Any]) -> str:
    lines = [
        f"Program {p['id']}: {p['title']}",
        f"  state      {p['state']}   (workflow {p['workflow']}, round {p['review_round']})",
        f"  org        {p['org']}   category {p['category']}   fiscal year {p['year']}",
        f"  dates      {p['start'] or '-'} .. {p['end'] or '-'}",
        f"  requested  {splits(p['requested'])}",
        f"  held       {splits(p['holds'])}"
        + (f"   (expires {p['holds_expire_at'][:10]})" if p["holds_expire_at"] else ""),
        f"  committed  {splits(p['committed'])}",
        f"  disbursed  {splits(p['disbursed'])}",
        "  review     " + ", ".join(f"{k}: {v}" for k, v in p["parties"].items()),
    ]
    if p["report"]:
        r = p["report"]
        lines.append(f"  report     spent {splits(r['spent'])} (round {r['round']}, {r['by']})")
        lines.append(f"             {r['summary']}")
    if p["evaluations"]:
        lines.append(
            "  evaluation "
            + ", ".join(
                f"{k}: {e['verdict']}" + (f" ({e['score']}/5)" if e["score"] else "")
                for k, e in p["evaluations"].items()
            )
        )
    for work in p["scheduled"]:
        lines.append(f"  scheduled  {work['action']} at {work['due_at'][:16]} UTC")
    if p["waiting_for"]:
        lines.append("  waiting on " + waiting_text(p["waiting_for"]))
    return "\n".join(lines)


def waiting_text(steps: list[dict[str, str]]) -> str:
    """``city (review), education_office (review)``."""
    return ", ".join(f"{s['org']} ({s['step']})" for s in steps)


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
