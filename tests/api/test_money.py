"""Refunds, envelope amendments and merged request edits over HTTP, on both databases."""

from __future__ import annotations

from typing import Any

from tests import support as s
from tests.api.helpers import CITY_EVALUATOR, NOTHING_SPENT, OE_EVALUATOR, Api
from tests.api.test_programs import problem


def owing(api: Api) -> int:
    """Paid 10,000,000 by the city, reported nothing spent: all of it is due back."""
    pid = api.evaluation_due()
    api.ok(api.post(f"/programs/{pid}/disbursements", s.CITY_OFFICER, {"amount": 10_000_000}))
    api.ok(api.post(f"/programs/{pid}/report", s.COORDINATOR, NOTHING_SPENT))
    return pid


def budget(api: Api, who: str = s.ADMIN) -> dict[str, dict[str, Any]]:
    return {r["party"]: r for r in api.ok(api.get("/budget/report?year=2026", who))}


def test_a_refund_in_parts_settles_an_underspent_program_through_the_api(api: Api) -> None:
    pid = owing(api)
    shown = api.ok(api.get(f"/programs/{pid}", s.COORDINATOR))
    assert shown["refunds_due"] == {"city": 10_000_000}
    assert budget(api)["city"]["refund_due"] == 10_000_000
    for who in (CITY_EVALUATOR, OE_EVALUATOR):
        api.ok(api.post(f"/programs/{pid}/evaluations", who, {"verdict": "accept"}))
    part = {"amount": 4_000_000, "party": "city", "memo": "first transfer"}
    first = api.ok(api.post(f"/programs/{pid}/refunds", s.CITY_OFFICER, part))
    assert (first["state"], first["refunds_due"]) == ("under_evaluation", {"city": 6_000_000})
    last = api.ok(api.post(f"/programs/{pid}/refunds", s.CITY_OFFICER, {"amount": 6_000_000}))
    assert (last["state"], last["refunds_due"]) == ("closed", {})
    assert budget(api)["city"]["refund_due"] == 0
    ledger = api.ok(api.get(f"/programs/{pid}/ledger", s.CITY_OFFICER))
    assert [e["amount"] for e in ledger if e["kind"] == "refund"] == [4_000_000, 6_000_000]


def test_refunds_not_due_or_not_theirs_are_problems_and_audited(api: Api) -> None:
    pid = owing(api)
    path = f"/programs/{pid}/refunds"
    assert (
        "only 10,000,000 KRW"
        in problem(api.post(path, s.CITY_OFFICER, {"amount": 10_000_001}), 422)["detail"]
    )
    assert "nothing back" in problem(api.post(path, s.OE_OFFICER, {"amount": 1}), 409)["detail"]
    problem(api.post(path, s.CITY_APPROVER, {"amount": 1}), 403)
    problem(api.post(path, s.CITY_OFFICER, {"amount": 1, "party": "education_office"}), 403)
    problem(api.post(path, s.CITY_OFFICER, {"amount": 0}), 422)
    problem(api.post(path, s.CITY_OFFICER, {"amount": 1.5}), 422)
    history = api.ok(api.get(f"/programs/{pid}/events", s.ADMIN))
    assert [e["type"] for e in history].count("ActionRefused") == 4  # 422s never reach it
    assert api.ok(api.get(f"/programs/{pid}", s.ADMIN))["refunds_due"] == {"city": 10_000_000}


def test_an_amendment_raises_or_lowers_the_envelope_and_is_refused_below_what_is_promised(
    api: Api,
) -> None:
    body = {"party": "city", "year": 2026, "by": 70_000_000, "reason": "제1회 추경"}
    raised = api.ok(api.post("/budget/amendments", s.CITY_OFFICER, body), 201)
    assert (raised["amount"], raised["by"]) == (2_000_000_000, 70_000_000)
    api.funded()
    lower = {**body, "by": -1_999_000_000, "reason": "correction"}
    refused = problem(api.post("/budget/amendments", s.CITY_OFFICER, lower), 409)
    assert "has committed 80,000,000 KRW" in refused["detail"]
    problem(api.post("/budget/amendments", s.OE_OFFICER, body), 403)
    problem(api.post("/budget/amendments", s.CITY_OFFICER, {**body, "by": 0}), 422)
    problem(api.post("/budget/amendments", s.CITY_OFFICER, {**body, "by": "5"}), 422)
    problem(api.post("/budget/amendments", s.CITY_OFFICER, {**body, "year": 2027}), 404)
    assert budget(api)["city"]["amount"] == 2_000_000_000


def test_a_raise_lets_the_waitlisted_program_in(api: Api) -> None:
    pid = api.submitted(requests={"education_office": 600_000_000})
    assert api.ok(api.get(f"/programs/{pid}", s.COORDINATOR))["state"] == "waitlisted"
    body = {"party": "education_office", "year": 2026, "by": 70_000_000, "reason": "추경"}
    api.ok(api.post("/budget/amendments", s.OE_OFFICER, body), 201)
    assert api.ok(api.get(f"/programs/{pid}", s.COORDINATOR))["state"] == "in_review"


def test_a_patch_merges_the_request_map_and_drops_a_funder_only_by_name(api: Api) -> None:
    pid = api.draft()
    path = f"/programs/{pid}"
    merged = api.ok(api.send("PATCH", path, s.COORDINATOR, {"requests": {"city": 70_000_000}}))
    assert merged["requested"] == {"city": 70_000_000, "education_office": 20_000_000}
    dropped = api.ok(api.send("PATCH", path, s.COORDINATOR, {"drop_requests": ["city"]}))
    assert dropped["requested"] == {"education_office": 20_000_000}
    everything = {"drop_requests": ["education_office"]}
    assert (
        "at least one funder"
        in problem(api.send("PATCH", path, s.COORDINATOR, everything), 422)["detail"]
    )
