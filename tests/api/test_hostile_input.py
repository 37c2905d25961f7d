"""The API with what a careless or a hostile client sends, on SQLite and PostgreSQL:
ids no row can have are 404 like any unknown id, text past the domain's limits is 422
with the domain's sentence, and nothing is a 500."""

from __future__ import annotations

import base64

import pytest

from tests import support as s
from tests.api.helpers import PROGRAM, Api
from workflow.domain.text import KEY_MAX, TEXT_MAX, TITLE_MAX
from workflow.entrypoints.api.schemas import ProgramIn

NO_ROW = ["9223372036854775808", "99999999999999999999999", "0", "-1"]


def problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    return response.json()  # type: ignore[attr-defined, no-any-return]


def cursor(kind: str, number: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{number}".encode()).decode().rstrip("=")


@pytest.mark.parametrize("number", NO_ROW)
def test_a_path_id_no_row_can_have_is_404(api: Api, number: str) -> None:
    api.submitted()
    before = s.stored(api.bus)
    for method, path, who in [
        ("GET", f"/programs/{number}", s.ADMIN),
        ("GET", f"/programs/{number}/events", s.ADMIN),
        ("GET", f"/programs/{number}/ledger", s.ADMIN),
        ("POST", f"/programs/{number}/submit", s.COORDINATOR),
        ("POST", f"/programs/{number}/commitments", s.CITY_OFFICER),
        ("POST", f"/tasks/{number}/claim", s.CITY_APPROVER),
        ("POST", f"/tasks/{number}/release", s.CITY_APPROVER),
        ("POST", f"/notifications/{number}/read", s.COORDINATOR),
    ]:
        body = problem(api.send(method, path, who), 404)
        assert body["type"] == "urn:jointflow:problem:not-found", (path, body)
    bulk = api.ok(api.post("/tasks/bulk", s.CITY_APPROVER, {"action": "claim", "tasks": [10**30]}))
    assert [r["ok"] for r in bulk] == [False]
    assert s.stored(api.bus) == before


def test_a_cursor_past_every_id_is_an_unknown_task_or_an_empty_page(api: Api) -> None:
    api.submitted()
    far = "99999999999999999999999"
    problem(api.get(f"/tasks?after={cursor('tasks', far)}", s.CITY_APPROVER), 404)
    page = api.ok(api.get(f"/programs?after={cursor('programs', far)}", s.ADMIN))
    assert page == {"items": [], "next": None}
    problem(api.get(f"/programs?after={cursor('tasks', '1')}", s.ADMIN), 422)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "t" * (TITLE_MAX + 1)),
        ("description", "d" * (TEXT_MAX + 1)),
        ("org", "o" * (KEY_MAX + 1)),
    ],
)
def test_text_past_the_domains_limits_is_422(api: Api, field: str, value: str) -> None:
    before = s.stored(api.bus)
    problem(api.post("/programs", s.COORDINATOR, {**PROGRAM, field: value}), 422)
    assert s.stored(api.bus) == before


def test_text_the_schema_lets_through_is_refused_by_the_domain_with_its_sentence(api: Api) -> None:
    body = problem(api.post("/programs", s.COORDINATOR, {**PROGRAM, "title": "a\nb"}), 422)
    assert body["detail"] == "title must not hold line breaks or other control characters"
    # A NUL the contract itself refuses (its pattern), in a body and in a filter alike.
    problem(api.post("/programs", s.COORDINATOR, {**PROGRAM, "title": "a\u0000b"}), 422)
    problem(api.get("/programs?state=draft%00", s.ADMIN), 422)


def test_the_schemas_declare_the_domains_limits() -> None:
    properties = ProgramIn.model_json_schema()["properties"]
    assert properties["title"]["maxLength"] == TITLE_MAX
    assert properties["description"]["maxLength"] == TEXT_MAX
    assert properties["org"]["maxLength"] == KEY_MAX
