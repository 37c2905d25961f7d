"""The budget page: each envelope's position, the refunds due to each party, the
waitlist, and the amendment form (추경) for the envelopes the person may amend."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from workflow.adapters import views
from workflow.domain import commands as c
from workflow.domain.errors import InvalidInput, WorkflowError
from workflow.domain.money import parse_signed_krw
from workflow.entrypoints.api.problems import status_of
from workflow.entrypoints.web import pages
from workflow.entrypoints.web.render import page
from workflow.entrypoints.web.routes_pages import Form, Person, bus_of, see_other
from workflow.service_layer.budget_actions import amendable

router = APIRouter(include_in_schema=False)
Year = Annotated[int | None, Query(ge=2000, le=2100)]


@router.get("/budget")
def budget(request: Request, email: Person, year: Year = None) -> Response:
    return _budget_page(request, email, year, None)


@router.post("/budget/amend")
def amend(request: Request, email: Person, form: Form) -> Response:
    text = {k: str(v or "").strip() for k, v in form.items() if k != "task"}
    try:
        year = text.get("year", "")
        if not year.isdigit() or len(year) != 4:
            raise InvalidInput("the fiscal year has four digits", field="year")
        by = parse_signed_krw(text.get("by", ""), "the amendment")
        bus_of(request).handle(
            c.AmendEnvelope(
                actor=email,
                party=text.get("party", ""),
                year=int(year),
                by=by,
                reason=text.get("reason", ""),
            )
        )
    except WorkflowError as err:
        return _budget_page(request, email, None, err)
    return see_other("/budget")


def _budget_page(
    request: Request, email: str, year: int | None, err: WorkflowError | None
) -> Response:
    bus = bus_of(request)
    report = bus.view(lambda uow, who: views.budget_report(uow, who, year), email)
    waitlist = bus.view(lambda uow, who: views.waitlist(uow, who, year), email)
    status = 200 if err is None else status_of(err)
    return page(request, "budget.html", email, status=status, error=err, report=report,
                waitlist=waitlist, year=year, orgs=pages.organizations(bus),
                amendable=amendable(bus, email, report))  # fmt: skip
