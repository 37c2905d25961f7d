"""Downloads for the offices' own reporting and for audit / 정보공개 requests: the program
list, the budget report and a program's whole audit trail, as XLSX or CSV.

Each reads the same read model as its page and the API, as the signed-in person may see
it (another school's draft is not found here either); this module only turns rows into
columns headed in the person's language.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from workflow.adapters import views
from workflow.domain.calendar import SEOUL
from workflow.entrypoints.web import pages
from workflow.entrypoints.web.i18n import Words
from workflow.entrypoints.web.render import me, words_for
from workflow.entrypoints.web.routes_pages import bus_of
from workflow.entrypoints.web.session import person
from workflow.entrypoints.web.sheets import WRITERS, Sheet, download

router = APIRouter(include_in_schema=False)
Person = Annotated[str, Depends(person)]
Id = Annotated[int, Path(ge=1, lt=2**63)]
ENGLISH = Words("en")
BUDGET_FIGURES = ("amount", "held", "committed", "disbursed", "available")
AUDIT_COLUMNS = ("seq", "at", "type", "actor", "data", "stream", "prev_hash", "hash")


def _format(fmt: str) -> str:
    if fmt not in WRITERS:
        raise HTTPException(404)
    return fmt


Format = Annotated[str, Depends(_format)]


def _words(request: Request, email: str) -> Words:
    return words_for(request, me(request, email))


def _names(orgs: dict[str, Any]) -> Callable[[str], str]:
    """An organization's name for its key (the key itself if it has none)."""
    return lambda key: str(orgs[key].name) if key in orgs else key


@router.get("/exports/programs.{fmt}")
def programs(request: Request, email: Person, fmt: Format, state: str | None = None) -> Response:
    bus = bus_of(request)
    found = bus.view(lambda uow, who: views.program_list(uow, who, state=state or None), email)
    orgs = pages.organizations(bus)
    funders = sorted(k for k, o in orgs.items() if o.funder)
    name = _names(orgs)
    _ = _words(request, email)
    fixed = [_("number"), _("title"), _("org"), _("category"), _("year"), _("state")]
    headers = [*fixed, *[_("request_for", party=name(f)) for f in funders], _("waiting_on")]
    rows = [
        [p["id"], p["title"], name(p["org"]), p["category"], p["year"], _.state(p["state"]),
         *[p["requested"].get(f) for f in funders], ", ".join(map(name, p["waiting_on"]))]
        for p in found
    ]  # fmt: skip
    money = frozenset(range(len(fixed), len(fixed) + len(funders)))
    sheet = Sheet(_("programs"), headers, rows, money)
    return download(sheet, fmt, _("file_programs"), ENGLISH("file_programs"))


@router.get("/exports/budget.{fmt}")
def budget(
    request: Request,
    email: Person,
    fmt: Format,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Response:
    bus = bus_of(request)
    report = bus.view(lambda uow, who: views.budget_report(uow, who, year), email)
    name = _names(pages.organizations(bus))
    _ = _words(request, email)
    figures = [_("envelope" if f == "amount" else f) for f in BUDGET_FIGURES]
    rows = [[name(r["party"]), r["year"], *[r[f] for f in BUDGET_FIGURES]] for r in report]
    sheet = Sheet(_("budget"), [_("party"), _("year"), *figures], rows,
                  frozenset(range(2, 2 + len(BUDGET_FIGURES))))  # fmt: skip
    suffix = f"_{year}" if year else ""
    return download(sheet, fmt, _("file_budget") + suffix, ENGLISH("file_budget") + suffix)


@router.get("/programs/{program_id}/audit.{fmt}")
def audit(request: Request, email: Person, fmt: Format, program_id: Id) -> Response:
    bus = bus_of(request)
    history = bus.view(
        lambda uow, who: views.program_history(uow, who, program_id, chain=True), email
    )
    _ = _words(request, email)
    headers = [_(f"audit_{column}") for column in AUDIT_COLUMNS]
    rows = [[_audit_cell(column, e[column]) for column in AUDIT_COLUMNS] for e in history]
    sheet = Sheet(_("timeline"), headers, rows)
    return download(sheet, fmt, _("file_audit", id=program_id),
                    ENGLISH("file_audit", id=program_id))  # fmt: skip


def _audit_cell(column: str, value: Any) -> str | int:
    """An event's field as the trail shows it: instants in Seoul time (ISO 8601), the
    data as the JSON it was recorded as."""
    if column == "at":
        moment = datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(SEOUL).isoformat()
    if column == "data":
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value if isinstance(value, int) else str(value)
