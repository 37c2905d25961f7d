"""What a coordinator writes: a program's content, and the rules it must keep."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from workflow.domain.definition import WorkflowDefinition
from workflow.domain.errors import InvalidInput
from workflow.domain.money import check_amount
from workflow.domain.text import KEY_MAX, TITLE_MAX, check_line, check_text

EDITABLE_STATES = ("draft", "revision_requested")
FISCAL_YEARS = range(2000, 2101)  # the fiscal years the engine accepts, for every door


@dataclass
class ProgramContent:
    """What a coordinator writes and may edit while the program is editable."""

    title: str
    category: str
    requests: dict[str, int]
    fiscal_year: int
    start: date | None = None
    end: date | None = None
    description: str = ""


def check_fiscal_year(year: int) -> int:
    if year not in FISCAL_YEARS:
        raise InvalidInput(
            f"fiscal year {year} is out of range ({FISCAL_YEARS.start}-{FISCAL_YEARS.stop - 1})",
            reason="year_out_of_range",
            year=year,
            low=FISCAL_YEARS.start,
            high=FISCAL_YEARS.stop - 1,
        )
    return year


def check_content(definition: WorkflowDefinition, content: ProgramContent) -> None:
    """Refuse content the workflow cannot carry: a title or description too long or
    empty where it must not be, unknown category or party, bad amounts."""
    check_line(content.title, "title", TITLE_MAX)
    check_text(content.description, "description")
    check_line(content.category, "category", KEY_MAX)
    if definition.categories and content.category not in definition.categories:
        raise InvalidInput(
            f"unknown category {content.category!r} (known: {', '.join(definition.categories)})",
            reason="unknown_category",
            category=content.category,
            known=list(definition.categories),
        )
    if not content.requests:
        raise InvalidInput(
            "a program must request a share from at least one funder",
            reason="no_request",
            field="requests",
        )
    for party, amount in content.requests.items():
        if definition.party(party) is None:
            raise InvalidInput(
                f"{party!r} is not a party of workflow {definition.key} "
                f"(parties: {', '.join(definition.party_keys)})",
                reason="not_a_workflow_party",
                party=party,
                workflow=definition.key,
                parties=list(definition.party_keys),
            )
        check_amount(amount, f"request from {party}")
    if content.start and content.end and content.end < content.start:
        raise InvalidInput(
            f"end date {content.end} is before start date {content.start}",
            reason="ends_before_start",
            start=str(content.start),
            end=str(content.end),
        )
    check_fiscal_year(content.fiscal_year)


def content_data(content: ProgramContent) -> dict[str, Any]:
    return {
        "title": content.title,
        "category": content.category,
        "requests": dict(sorted(content.requests.items())),
        "year": content.fiscal_year,
        "start": content.start.isoformat() if content.start else None,
        "end": content.end.isoformat() if content.end else None,
        "description": content.description,
    }


def merged_requests(
    old: dict[str, int], given: dict[str, int], dropped: tuple[str, ...] = ()
) -> dict[str, int]:
    """A request edit names only the funders it changes: the others keep their share,
    and a funder leaves the split only when dropped by name."""
    for party in dropped:
        if party in given:
            raise InvalidInput(f"{party} is both given a request and dropped", party=party)
        if party not in old:
            raise InvalidInput(
                f"cannot drop {party}'s request: the program asks nothing of {party} "
                f"(requests: {', '.join(sorted(old)) or 'none'})",
                party=party,
            )
    merged = {**old, **given}
    for party in dropped:
        merged.pop(party)
    if not merged:
        raise InvalidInput("a program must request a share from at least one funder")
    return dict(sorted(merged.items()))
