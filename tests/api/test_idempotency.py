"""``Idempotency-Key``: a repeated POST returns the first response and has no second
effect, even when the repeats arrive at once; and two decisions on one ETag."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests import support as s
from tests.api.helpers import PROGRAM, Api, make_api


def programs(api: Api) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.ok(api.get("/programs", s.ADMIN))["items"]
    return items


def test_a_repeat_returns_the_first_response_and_creates_nothing_more(api: Api) -> None:
    first = api.post("/programs", s.COORDINATOR, PROGRAM, Idempotency_Key="k-1")
    again = api.post("/programs", s.COORDINATOR, PROGRAM, Idempotency_Key="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(programs(api)) == 1


def test_the_same_key_with_another_body_is_422_and_does_nothing(api: Api) -> None:
    api.ok(api.post("/programs", s.COORDINATOR, PROGRAM, Idempotency_Key="k-2"), 201)
    other = api.post("/programs", s.COORDINATOR, {**PROGRAM, "title": "Other"},
                     Idempotency_Key="k-2")  # fmt: skip
    assert other.status_code == 422
    assert other.json()["type"] == "urn:jointflow:problem:invalid-input"
    assert len(programs(api)) == 1


@pytest.mark.parametrize("key", ["a\x00b", "\x7f", "k\xe9y", "k" * 256])
def test_a_key_that_is_not_1_to_255_printable_ascii_characters_is_422(api: Api, key: str) -> None:
    headers = {**api.auth(s.COORDINATOR), "Idempotency-Key": key.encode("latin-1")}
    refused = api.client.post("/api/v1/programs", json=PROGRAM, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "Idempotency-Key"
    assert programs(api) == []


def test_keys_are_per_user_and_a_refusal_is_replayed_too(api: Api) -> None:
    pid = api.submitted()
    path = f"/programs/{pid}/commitments"
    refused = api.post(path, s.CITY_OFFICER, None, Idempotency_Key="same")
    assert refused.status_code == 409
    assert api.post(path, s.CITY_OFFICER, None, Idempotency_Key="same").json() == refused.json()
    created = api.post("/programs", s.COORDINATOR, PROGRAM, Idempotency_Key="same")
    assert created.status_code == 201  # another user's key of the same name is another key


def test_without_a_valid_token_nothing_is_kept(api: Api) -> None:
    response = api.client.post(
        "/api/v1/programs", json=PROGRAM, headers={"Idempotency-Key": "anon"}
    )
    assert response.status_code == 401
    assert api.post("/programs", s.COORDINATOR, PROGRAM, Idempotency_Key="anon").status_code == 201


async def _at_once(api: Api, count: int, requests: list[tuple[str, str, Any, dict[str, str]]]
                   ) -> list[httpx.Response]:  # fmt: skip
    transport = httpx.ASGITransport(app=api.client.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        return await asyncio.gather(
            *[
                client.post("/api/v1" + path, json=body, headers={**api.auth(who), **headers})
                for path, who, body, headers in requests * count
            ]
        )


@pytest.mark.postgres
def test_fifty_concurrent_posts_with_one_key_have_one_effect(postgres_url: str) -> None:
    for api in make_api(postgres_url):
        request = ("/programs", s.COORDINATOR, PROGRAM, {"Idempotency-Key": "burst"})
        responses = asyncio.run(_at_once(api, 50, [request]))
        assert {r.status_code for r in responses} == {201}
        assert len({r.text for r in responses}) == 1
        assert len(programs(api)) == 1


@pytest.mark.postgres
def test_two_decisions_on_the_same_etag_one_lands_one_is_412(postgres_url: str) -> None:
    for api in make_api(postgres_url):
        pid = api.submitted()
        tag = api.get(f"/programs/{pid}", s.ADMIN).headers["etag"]
        path = f"/programs/{pid}/decisions"
        approve = {"decision": "approve"}
        responses = asyncio.run(
            _at_once(
                api,
                1,
                [
                    (path, s.CITY_APPROVER, approve, {"If-Match": tag}),
                    (path, s.OE_APPROVER, approve, {"If-Match": tag}),
                ],
            )
        )
        assert sorted(r.status_code for r in responses) == [200, 412]
        assert api.ok(api.get(f"/programs/{pid}", s.ADMIN))["state"] == "in_review"
