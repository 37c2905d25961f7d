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
        *([f"  refund due {splits(p['refunds_due'])}"] if p.get("refunds_due") else []),
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
    for f in p.get("files", []):
        size, digest = f"{f['size']:,} bytes", f["sha256"][:12]
        lines.append(f"  file       {f['name']} ({f['kind']}, {size}, sha256 {digest})")
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
