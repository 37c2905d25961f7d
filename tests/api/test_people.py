"""People and organizations over HTTP (issue 16): the admins' listing and changes, a
deactivated person's token refused at once, and refusals as problem details that change
nothing."""

from __future__ import annotations

from typing import get_args

import pytest

from tests import support as s
from tests.api.helpers import DEPUTY, Api
from workflow.domain.definition import ROLES
from workflow.entrypoints.api.routes_people import Locale, Role


def test_the_contracts_roles_and_locales_are_the_domains() -> None:
    assert set(get_args(Role)) == ROLES
    assert get_args(Locale) == ("ko", "en")


def test_an_admin_lists_every_organization_with_its_people(api: Api) -> None:
    orgs = api.ok(api.get("/people", s.ADMIN))
    city = next(o for o in orgs if o["key"] == "city")
    approver = next(u for u in city["users"] if u["email"] == s.CITY_APPROVER)
    assert approver == {"email": s.CITY_APPROVER, "name": "approver", "org": "city",
                        "roles": ["approver"], "locale": "ko", "active": True}  # fmt: skip
    refused = api.get("/people", s.COORDINATOR)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith(
        "application/problem+json"
    )


def test_a_deactivated_persons_token_stops_working_at_once(api: Api) -> None:
    task = api.review_task()
    api.ok(api.post(f"/tasks/{task}/claim", s.CITY_APPROVER))

    done = api.ok(api.post(f"/users/{s.CITY_APPROVER}/deactivate", s.ADMIN))

    assert done["active"] is False and done["claims_returned"] == [task]
    assert api.get("/tasks", s.CITY_APPROVER).status_code == 401
    items = api.ok(api.get("/tasks?limit=500", DEPUTY))["items"]
    assert next(t for t in items if t["task"] == task)["claimed_by"] is None
    again = api.ok(api.post(f"/users/{s.CITY_APPROVER}/activate", s.ADMIN))
    assert again["active"] is True
    assert api.get("/tasks", s.CITY_APPROVER).status_code == 401  # a new token is needed


def test_roles_locale_and_organization_name_change(api: Api) -> None:
    roles = api.ok(api.send("PUT", f"/users/{DEPUTY}/roles", s.ADMIN,
                            {"roles": ["approver", "supervisor"]}))  # fmt: skip
    assert roles["roles"] == ["approver", "supervisor"]
    locale = api.ok(api.send("PUT", f"/users/{DEPUTY}/locale", s.ADMIN, {"locale": "en"}))
    assert locale["locale"] == "en"
    renamed = api.ok(
        api.send("PATCH", "/organizations/paju-youth", s.ADMIN, {"name": "청소년센터"})
    )
    assert renamed == {"key": "paju-youth", "name": "청소년센터", "funder": False}


@pytest.mark.parametrize(
    ("method", "path", "body", "who", "status"),
    [
        ("POST", f"/users/{DEPUTY}/deactivate", None, s.CITY_APPROVER, 403),
        ("PUT", f"/users/{DEPUTY}/roles", {"roles": ["admin"]}, s.COORDINATOR, 403),
        ("PUT", f"/users/{DEPUTY}/roles", {"roles": ["boss"]}, s.ADMIN, 422),
        ("PUT", f"/users/{DEPUTY}/locale", {"locale": "fr"}, s.ADMIN, 422),
        ("PATCH", "/organizations/city", {"name": "Mine"}, s.COORDINATOR, 403),
        ("PATCH", "/organizations/nowhere", {"name": "Nowhere"}, s.ADMIN, 404),
        ("POST", "/users/nobody@x.kr/deactivate", None, s.ADMIN, 404),
        ("POST", f"/users/{s.ADMIN}/deactivate", None, s.ADMIN, 409),  # the last admin
        ("POST", f"/users/{DEPUTY}/activate", None, s.ADMIN, 409),  # already active
    ],
)
def test_a_refusal_is_a_problem_and_changes_nothing(
    api: Api, method: str, path: str, body: object, who: str, status: int
) -> None:
    before = s.stored(api.bus)
    refused = api.send(method, path, who, body)
    assert refused.status_code == status, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert s.stored(api.bus) == before
