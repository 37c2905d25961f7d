"""The pages: my work, programs (list, one, new, edit, its actions), waiting.

Every form posts back here with the CSRF token; every action is a command through the
bus (so a refusal is audited and shown on the page it came from), then a redirect to
the page (post/redirect/get), so a reload never acts twice.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from workflow.adapters import queues, views
from workflow.domain import commands as c
from workflow.domain.calendar import seoul_date
from workflow.domain.errors import InvalidInput, WorkflowError
from workflow.domain.messaging import PERSON_CHANNELS
from workflow.domain.money import parse_krw
from workflow.entrypoints.api.problems import status_of
from workflow.entrypoints.api.services import services_of
from workflow.entrypoints.web import pages
from workflow.entrypoints.web.render import page
from workflow.entrypoints.web.session import CSRF_FIELD, CSRF_HEADER, check_csrf, person
from workflow.service_layer.bulk import bulk
from workflow.service_layer.messagebus import MessageBus

router = APIRouter(include_in_schema=False)
Person = Annotated[str, Depends(person)]
Id = Annotated[int, Path(ge=1, lt=2**63)]


def bus_of(request: Request) -> MessageBus:
    return services_of(request).bus


async def form_of(request: Request) -> dict[str, Any]:
    """The posted form, its CSRF token checked (the field, or htmx's header)."""
    form = await request.form()
    check_csrf(request, str(form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""))
    return {k: form.getlist(k) if k == "task" else form.get(k) for k in form}


Form = Annotated[dict[str, Any], Depends(form_of)]


def see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


# -- my work --


@router.get("/inbox")
def my_work(
    request: Request, email: Person, after: Annotated[int | None, Query(ge=1, lt=2**63)] = None
) -> Response:
    found = pages.inbox(bus_of(request), email, after)
    return page(request, "my_work.html", email, tasks=found.rows, more=found.more, results=None,
                error=None, orgs=pages.organizations(bus_of(request)))  # fmt: skip


@router.post("/tasks/{task_id}/{action}")
def task_action(request: Request, email: Person, form: Form, task_id: Id, action: str) -> Response:
    commands = {"claim": c.ClaimTask, "release": c.ReleaseTask}
    if action not in commands:
        raise InvalidInput(f"no task action {action!r}")
    error = None
    try:
        bus_of(request).handle(commands[action](actor=email, task_id=task_id))
    except WorkflowError as err:
        error = err
    if request.headers.get("hx-request"):
        found = pages.inbox(bus_of(request), email, None)
        row = next((t for t in found.rows if t["task"] == task_id), None)
        return page(request, "_task_row.html", email, t=row, error=error,
                    orgs=pages.organizations(bus_of(request)))  # fmt: skip
    return see_other("/inbox")


@router.post("/tasks/bulk")
def bulk_action(request: Request, email: Person, form: Form) -> Response:
    action = str(form.get("action") or "")
    ids = [int(x) for x in form.get("task") or [] if str(x).isdigit() and len(str(x)) < 19]
    results = bulk(bus_of(request), email, action, ids, str(form.get("comment") or ""))
    found = pages.inbox(bus_of(request), email, None)
    return page(request, "my_work.html", email, tasks=found.rows, more=found.more,
                results=results, error=None, orgs=pages.organizations(bus_of(request)))  # fmt: skip


# -- programs --


@router.get("/programs")
def program_list(request: Request, email: Person, state: str | None = None) -> Response:
    found = bus_of(request).view(
        lambda uow, who: views.program_list(uow, who, state=state or None, limit=500), email
    )
    return page(request, "programs.html", email, programs=found, state=state,
                orgs=pages.organizations(bus_of(request)))  # fmt: skip


@router.get("/programs/new")
def new_program(request: Request, email: Person) -> Response:
    year = bus_of(request).query(lambda uow: seoul_date(uow.now).year)
    return _program_form(request, email, None, {"year": year}, None)


@router.post("/programs/new")
def create_program(request: Request, email: Person, form: Form) -> Response:
    try:
        fields = _content(form, pages.funders(pages.organizations(bus_of(request))))
        pid = bus_of(request).handle(c.CreateProgram(actor=email, org=_my_org(request, email),
                                                     **fields))  # fmt: skip
    except WorkflowError as err:
        return _program_form(request, email, None, form, err)
    return see_other(f"/programs/{pid}")


@router.get("/programs/{program_id}/edit")
def edit_program(request: Request, email: Person, program_id: Id) -> Response:
    detail = pages.program_page(bus_of(request), email, program_id)["p"]
    values = {
        "title": detail["title"],
        "category": detail["category"],
        "year": detail["year"],
        "start": detail["start"] or "",
        "end": detail["end"] or "",
        "description": detail["description"],
        **{f"request_{party}": f"{amount:,}" for party, amount in detail["requested"].items()},
    }
    return _program_form(request, email, detail, values, None)


@router.post("/programs/{program_id}/edit")
def update_program(request: Request, email: Person, form: Form, program_id: Id) -> Response:
    try:
        fields = _content(form, pages.funders(pages.organizations(bus_of(request))))
        fields["requests"] = fields["requests"] or None  # none given: unchanged
        fields["drop_requests"] = tuple(  # a funder leaves the split only when ticked
            k.removeprefix("drop_") for k in sorted(form) if k.startswith("drop_") and form[k]
        )
        bus_of(request).handle(c.UpdateProgram(actor=email, program_id=program_id, **fields))
    except WorkflowError as err:
        detail = pages.program_page(bus_of(request), email, program_id)["p"]
        return _program_form(request, email, detail, form, err)
    return see_other(f"/programs/{program_id}")


@router.get("/programs/{program_id}")
def show_program(request: Request, email: Person, program_id: Id) -> Response:
    return program_response(request, email, program_id, None)


@router.post("/programs/{program_id}/{action}")
def act(request: Request, email: Person, form: Form, program_id: Id, action: str) -> Response:
    try:
        bus_of(request).handle(_command(action, email, program_id, form))
    except WorkflowError as err:
        return program_response(request, email, program_id, err)
    return see_other(f"/programs/{program_id}")


def _command(action: str, email: str, pid: int, form: dict[str, Any]) -> c.Command:
    text = {k: str(v or "").strip() for k, v in form.items() if k != "task"}
    if action in ("approve", "reject", "request-changes"):
        return c.DecideReview(actor=email, program_id=pid, decision=action,
                              comment=text.get("comment", ""))  # fmt: skip
    if action in ("accept", "return"):
        score = text.get("score") or None
        if score is not None and not score.isdigit():
            raise InvalidInput("the score is a whole number from 1 to 5", field="score")
        return c.EvaluateReport(actor=email, program_id=pid, verdict=action,
                                score=int(score) if score else None,
                                comment=text.get("comment", ""))  # fmt: skip
    simple = {"submit": c.SubmitProgram, "commit": c.CommitFunds}
    if action in simple:
        return simple[action](actor=email, program_id=pid)
    if action == "withdraw":
        return c.WithdrawProgram(actor=email, program_id=pid, reason=text.get("reason", ""))
    if action == "cancel":
        return c.CancelProgram(actor=email, program_id=pid, reason=text.get("reason", ""))
    if action == "disburse":
        amount = _amount(text.get("amount", ""), "amount", "the tranche")
        return c.DisburseFunds(actor=email, program_id=pid, amount=amount,
                               memo=text.get("memo", ""))  # fmt: skip
    if action == "refund":
        amount = _amount(text.get("amount", ""), "amount", "the refund")
        return c.RecordRefund(actor=email, program_id=pid, amount=amount,
                              memo=text.get("memo", ""))  # fmt: skip
    if action == "report":
        spent = {
            k.removeprefix("spent_"): _amount(v, k, f"the spend of {k.removeprefix('spent_')}")
            if v not in ("0", "") else 0
            for k, v in text.items() if k.startswith("spent_")
        }  # fmt: skip
        return c.SubmitReport(actor=email, program_id=pid, spent=spent,
                              summary=text.get("summary", ""))  # fmt: skip
    raise InvalidInput(f"no program action {action!r}")


def program_response(
    request: Request, email: str, pid: int, err: WorkflowError | None = None
) -> Response:
    """A program's page, with the refusal of the action just tried (every route's)."""
    data = pages.program_page(bus_of(request), email, pid)
    status = 200 if err is None else status_of(err)
    return page(request, "program.html", email, status=status, error=err, **data)


def _my_org(request: Request, email: str) -> str:
    found: str = bus_of(request).query(lambda uow: uow.directory.user(email).org)
    return found


def _content(form: dict[str, Any], parties: list[str]) -> dict[str, Any]:
    """The proposal's fields as the domain takes them; amounts as people type them."""
    text = {k: str(v or "").strip() for k, v in form.items() if k != "task"}
    requests = {
        party: _amount(text[f"request_{party}"], f"request_{party}", f"the request to {party}")
        for party in parties
        if text.get(f"request_{party}")
    }
    return {
        "title": text.get("title", ""),
        "category": text.get("category", ""),
        "requests": requests,
        "start": _day(text.get("start"), "start"),
        "end": _day(text.get("end"), "end"),
        "year": _year(text.get("year")),
        "description": text.get("description", ""),
    }


def _amount(value: str, field: str, what: str) -> int:
    """``parse_krw``, its refusal naming the form's field (shown next to it)."""
    try:
        return parse_krw(value, what)
    except InvalidInput as err:
        context = {**err.context, "field": field, "what": what}  # the form's field, named
        raise InvalidInput(err.message, reason=err.reason, **context) from None


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field} must be a date (YYYY-MM-DD)", field=field) from None


def _year(value: str | None) -> int | None:
    if not value:
        return None
    if not value.isdigit() or len(value) != 4:
        raise InvalidInput("the fiscal year has four digits", field="year")
    return int(value)


def _program_form(
    request: Request,
    email: str,
    detail: dict[str, Any] | None,
    values: dict[str, Any],
    err: WorkflowError | None,
) -> Response:
    bus = bus_of(request)
    orgs = pages.organizations(bus)
    machine = bus.query(lambda uow: uow.current_workflow(uow.default_workflow))
    status = 200 if err is None else status_of(err)
    return page(request, "program_form.html", email, status=status, detail=detail,
                values=values, error=err, orgs=orgs, funders=pages.funders(orgs),
                categories=machine.definition.categories,
                field=(err.context.get("field") if err else None))  # fmt: skip


# -- waiting (the budget page: routes_money) --


@router.get("/waiting")
def waiting(request: Request, email: Person, party: str | None = None,
            overdue: bool = False) -> Response:  # fmt: skip
    board = bus_of(request).view(queues.waiting, email)
    rows = [r for r in board if (not party or party in r["waiting_on"])
            and (not overdue or r["overdue"])]  # fmt: skip
    orgs = pages.organizations(bus_of(request))
    return page(request, "waiting.html", email, rows=rows, party=party, overdue=overdue,
                orgs=orgs,
                names={"orgs": {k: o.name for k, o in orgs.items()}})  # fmt: skip


# -- messages and how they reach me --


@router.get("/notifications")
def messages(request: Request, email: Person) -> Response:
    found = bus_of(request).query(lambda uow: uow.notifications.of_user(email))
    return page(request, "notifications.html", email, messages=found)


@router.post("/notifications/read")
def read_messages(request: Request, email: Person, form: Form) -> Response:
    raw = str(form.get("id") or "")
    one = int(raw) if raw.isdigit() and len(raw) < 19 else None
    bus_of(request).handle(c.MarkNotificationRead(actor=email, notification_id=one))
    return see_other("/notifications")


@router.get("/settings/notifications")
def preferences(request: Request, email: Person) -> Response:
    return _preferences_page(request, email, None)


@router.post("/settings/notifications")
def set_preferences(request: Request, email: Person, form: Form) -> Response:
    kinds = [r["kind"] for r in _preferences(request, email)]
    choices = tuple(
        (kind, tuple(ch for ch in PERSON_CHANNELS if form.get(f"{kind}:{ch}"))) for kind in kinds
    )
    try:
        bus_of(request).handle(c.SetPreferences(actor=email, choices=choices))
    except WorkflowError as err:
        return _preferences_page(request, email, err)
    return see_other("/settings/notifications")


def _preferences(request: Request, email: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = bus_of(request).query(
        lambda uow: views.notification_preferences(uow, email)
    )
    return found


def _preferences_page(request: Request, email: str, err: WorkflowError | None) -> Response:
    return page(request, "preferences.html", email, status=200 if err is None else status_of(err),
                rows=_preferences(request, email), channels=PERSON_CHANNELS,
                error=err)  # fmt: skip
