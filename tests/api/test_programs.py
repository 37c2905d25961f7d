"""Each route's success path and its refusals, through the real app on both databases."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests import support as s
from tests.api.helpers import CITY_EVALUATOR, DEPUTY, OE_EVALUATOR, PROGRAM, SUPERVISOR, Api
from workflow.service_layer.messagebus import SYSTEM_STREAM
from workflow.service_layer.scheduler import run_scheduled_work


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and {"type", "title", "detail"} <= set(body)
    return body


def test_a_program_goes_from_create_to_closed_through_the_api(api: Api) -> None:
    created = api.post("/programs", s.COORDINATOR, PROGRAM)
    body = api.ok(created, 201)
    pid = body["id"]
    assert created.headers["location"] == f"/api/v1/programs/{pid}"
    assert body["state"] == "draft" and body["requested"] == PROGRAM["requests"]
    assert created.headers["etag"] == f'"v{body["version"]}"'
    assert api.ok(api.post(f"/programs/{pid}/submit", s.COORDINATOR))["state"] == "in_review"
    api.ok(api.post(f"/programs/{pid}/decisions", s.CITY_APPROVER, {"decision": "approve"}))
    done = api.ok(api.post(f"/programs/{pid}/decisions", s.OE_APPROVER, {"decision": "approve"}))
    assert done["state"] == "approved" and done["holds"] == PROGRAM["requests"]
    api.ok(api.post(f"/programs/{pid}/commitments", s.CITY_OFFICER))
    funded = api.ok(api.post(f"/programs/{pid}/commitments", s.OE_OFFICER))
    assert funded["state"] == "funded" and funded["committed"] == PROGRAM["requests"]
    tranche = {"amount": 30_000_000, "memo": "first"}
    paid = api.ok(api.post(f"/programs/{pid}/disbursements", s.CITY_OFFICER, tranche))
    assert paid["disbursed"] == {"city": 30_000_000}
    api.clock.advance(days=330)  # past the end of the run
    run_scheduled_work(api.bus)
    assert api.ok(api.get(f"/programs/{pid}", s.COORDINATOR))["state"] == "evaluation_due"
    spent = {"spent": {"city": 30_000_000, "education_office": 0}, "summary": "done"}
    assert api.ok(api.post(f"/programs/{pid}/report", s.COORDINATOR, spent))["report"]
    for who in (CITY_EVALUATOR, OE_EVALUATOR):
        verdict = {"verdict": "accept", "score": 4, "comment": "good"}
        last = api.ok(api.post(f"/programs/{pid}/evaluations", who, verdict))
    assert last["evaluations"]["city"]["score"] == 4
    events = api.ok(api.get(f"/programs/{pid}/events", s.COORDINATOR))
    assert events[0]["type"] == "ProgramCreated"
    assert all({"hash", "prev_hash", "stream"} <= set(e) for e in events)
    assert all(a["hash"] == b["prev_hash"] for a, b in zip(events, events[1:], strict=False))
    ledger = api.ok(api.get(f"/programs/{pid}/ledger", s.CITY_OFFICER))
    assert {e["kind"] for e in ledger} >= {"hold", "commit", "disburse"}
    verified = api.ok(api.get("/audit/verify", s.ADMIN))
    assert verified["ok"] is True and verified["events"] > len(events)


def test_the_answer_is_the_same_program_the_cli_shows(api: Api) -> None:
    pid = api.draft()
    assert api.ok(api.get(f"/programs/{pid}", s.COORDINATOR)) == s.detail(
        api.bus, pid, s.COORDINATOR
    )


def test_another_organizations_draft_does_not_exist_for_its_neighbours(api: Api) -> None:
    pid = api.draft()
    problem(api.get(f"/programs/{pid}", s.OTHER_COORDINATOR), 404)
    problem(api.get(f"/programs/{pid}", s.CITY_APPROVER), 404)
    problem(api.get(f"/programs/{pid}/events", s.OTHER_COORDINATOR), 404)
    assert api.ok(api.get("/programs", s.OTHER_COORDINATOR))["items"] == []
    assert api.ok(api.get(f"/programs/{pid}", s.ADMIN))["id"] == pid
    # Nor does any action on it tell them it exists, whose it is or what state it is in.
    for who, method, path, body in [
        (s.OTHER_COORDINATOR, "PATCH", "", {"title": "x"}),
        (s.OTHER_COORDINATOR, "POST", "/submit", None),
        (s.OTHER_COORDINATOR, "POST", "/withdraw", {}),
        (s.CITY_APPROVER, "POST", "/decisions", {"decision": "approve"}),
        (s.CITY_OFFICER, "POST", "/commitments", None),
    ]:
        refused = problem(api.send(method, f"/programs/{pid}{path}", who, body), 404)
        assert refused["detail"] == f"program {pid} does not exist", (who, path)


@pytest.mark.parametrize(
    "amount",
    ["80000000", 80_000_000.0, 8e7, True, 0, -1, 10**13, None, [1], {"a": 1}],
)
def test_an_amount_that_is_not_a_whole_krw_in_range_is_422(api: Api, amount: object) -> None:
    body = {**PROGRAM, "requests": {"city": amount}}
    found = problem(api.post("/programs", s.COORDINATOR, body), 422)
    assert found["errors"][0]["loc"] == ["body", "requests", "city"]
    assert api.ok(api.get("/programs", s.ADMIN))["items"] == []


def test_unknown_fields_and_malformed_json_are_422_problems(api: Api) -> None:
    found = problem(api.post("/programs", s.COORDINATOR, {**PROGRAM, "state": "approved"}), 422)
    assert found["errors"][0]["type"] == "extra_forbidden"
    raw = api.client.post(
        "/api/v1/programs",
        content=b'{"title": ',
        headers={**api.auth(s.COORDINATOR), "content-type": "application/json"},
    )
    problem(raw, 422)
    pid = api.submitted()
    bad = {"amount": 1, "memo": "", "party": "city"}
    problem(api.post(f"/programs/{pid}/disbursements", s.CITY_OFFICER, bad), 422)


def test_the_domain_refusals_get_their_statuses(api: Api) -> None:
    pid = api.draft()
    # another school's draft does not exist for a funder's staff; once submitted it does,
    # and then an approver cannot submit and a coordinator cannot decide
    problem(api.post(f"/programs/{pid}/submit", s.CITY_OFFICER), 404)
    api.ok(api.post(f"/programs/{pid}/submit", s.COORDINATOR))
    problem(api.post(f"/programs/{pid}/withdraw", s.CITY_OFFICER, {}), 403)
    problem(api.post(f"/programs/{pid}/decisions", s.COORDINATOR, {"decision": "approve"}), 403)
    # not allowed in this state: a second submission, a commitment before approval
    problem(api.post(f"/programs/{pid}/submit", s.COORDINATOR), 409)
    problem(api.post(f"/programs/{pid}/commitments", s.CITY_OFFICER), 409)
    # the domain's own checks: an unknown funder, a category not in the workflow
    problem(api.post("/programs", s.COORDINATOR, {**PROGRAM, "requests": {"mars": 5}}), 404)
    problem(api.get("/programs/999999", s.ADMIN), 404)
    history = api.ok(api.get(f"/programs/{pid}/events", s.ADMIN))
    refused = [e for e in history if e["type"] == "ActionRefused"]
    assert len(refused) == 5  # every refusal on the program's stream is audited


def test_a_patch_with_a_stale_etag_is_412_and_changes_nothing(api: Api) -> None:
    pid = api.draft()
    tag = api.get(f"/programs/{pid}", s.COORDINATOR).headers["etag"]
    edited = api.send("PATCH", f"/programs/{pid}", s.COORDINATOR, {"title": "New"}, If_Match=tag)
    assert api.ok(edited)["title"] == "New" and edited.headers["etag"] != tag
    stale = api.send("PATCH", f"/programs/{pid}", s.COORDINATOR, {"title": "Old"}, If_Match=tag)
    assert problem(stale, 412)["version"] == api.ok(edited)["version"]
    assert api.ok(api.get(f"/programs/{pid}", s.COORDINATOR))["title"] == "New"
    bogus = api.send("PATCH", f"/programs/{pid}", s.COORDINATOR, {"title": "X"}, If_Match='"x"')
    problem(bogus, 412)
    anyone = api.send("PATCH", f"/programs/{pid}", s.COORDINATOR, {"title": "Y"}, If_Match="*")
    assert api.ok(anyone)["title"] == "Y"


def test_a_decision_on_a_stale_etag_is_412(api: Api) -> None:
    pid = api.submitted()
    tag = api.get(f"/programs/{pid}", s.CITY_APPROVER).headers["etag"]
    approve = {"decision": "approve"}
    api.ok(api.post(f"/programs/{pid}/decisions", s.CITY_APPROVER, approve, If_Match=tag))
    problem(api.post(f"/programs/{pid}/decisions", s.OE_APPROVER, approve, If_Match=tag), 412)
    changes = {"decision": "request_changes", "comment": "split differently"}
    done = api.ok(api.post(f"/programs/{pid}/decisions", s.OE_APPROVER, changes))
    assert done["state"] == "revision_requested"


def test_withdraw_and_cancel(api: Api) -> None:
    pid = api.submitted()
    withdrawn = api.post(f"/programs/{pid}/withdraw", s.COORDINATOR, {"reason": "no staff"})
    assert api.ok(withdrawn)["state"] == "withdrawn"
    funded = api.funded()
    problem(api.post(f"/programs/{funded}/cancel", s.COORDINATOR, {"reason": "x"}), 403)
    problem(api.post(f"/programs/{funded}/cancel", s.ADMIN, {}), 422)
    cancelled = api.ok(api.post(f"/programs/{funded}/cancel", s.ADMIN, {"reason": "closed"}))
    assert cancelled["state"] == "cancelled"


def test_the_program_list_filters_and_pages_with_an_opaque_cursor(api: Api) -> None:
    ids = [api.draft() for _ in range(5)]
    api.ok(api.post(f"/programs/{ids[0]}/submit", s.COORDINATOR))
    first = api.ok(api.get("/programs?limit=2", s.COORDINATOR))
    assert [p["id"] for p in first["items"]] == ids[:2] and first["next"]
    second = api.ok(api.get(f"/programs?limit=2&after={first['next']}", s.COORDINATOR))
    third = api.ok(api.get(f"/programs?limit=2&after={second['next']}", s.COORDINATOR))
    assert [p["id"] for p in second["items"] + third["items"]] == ids[2:]
    assert third["next"] is None
    assert [p["id"] for p in api.ok(api.get("/programs?state=in_review", s.ADMIN))["items"]] == [
        ids[0]
    ]
    waiting = api.ok(api.get("/programs?waiting_on=city", s.ADMIN))["items"]
    assert [p["id"] for p in waiting] == [ids[0]]
    assert api.ok(api.get("/programs?year=2025", s.ADMIN))["items"] == []
    problem(api.get("/programs?after=bogus", s.ADMIN), 422)
    problem(api.get("/programs?limit=501", s.ADMIN), 422)
    problem(api.get("/programs?limit=0", s.ADMIN), 422)


def test_the_inbox_claims_releases_and_reassigns(api: Api) -> None:
    pids = [api.submitted() for _ in range(3)]
    page = api.ok(api.get("/tasks?limit=2", s.CITY_APPROVER))
    assert len(page["items"]) == 2 and page["next"]
    rest = api.ok(api.get(f"/tasks?limit=2&after={page['next']}", s.CITY_APPROVER))
    assert len(rest["items"]) == 1 and rest["next"] is None
    task = page["items"][0]["task"]
    assert api.ok(api.post(f"/tasks/{task}/claim", s.CITY_APPROVER))["claimed_by"]
    problem(api.post(f"/tasks/{task}/claim", DEPUTY), 409)
    problem(api.post(f"/tasks/{task}/release", DEPUTY), 409)
    api.ok(api.post(f"/tasks/{task}/release", s.CITY_APPROVER))
    problem(api.post(f"/tasks/{task}/reassign", s.CITY_APPROVER, {"to": DEPUTY}), 403)
    assert pids and problem(api.post("/tasks/999999/claim", s.CITY_APPROVER), 404)


def test_bulk_decisions_report_each_task(api: Api) -> None:
    for _ in range(2):
        api.submitted()
    tasks = [t["task"] for t in api.ok(api.get("/tasks", s.CITY_APPROVER))["items"]]
    body = {"action": "approve", "tasks": [*tasks, 999999]}
    done = api.ok(api.post("/tasks/bulk", s.CITY_APPROVER, body))
    assert [r["ok"] for r in done] == [True, True, False]
    problem(api.post("/tasks/bulk", s.CITY_APPROVER, {"action": "explode", "tasks": [1]}), 422)


def test_delegation_is_set_and_cleared_by_the_caller(api: Api) -> None:
    period = {"to": s.CITY_OFFICER, "from": "2026-02-02", "until": "2026-02-10"}
    done = api.ok(api.send("PUT", "/me/delegation", s.CITY_APPROVER, period))
    assert done["to"] == s.CITY_OFFICER
    api.submitted()
    inbox = api.ok(api.get("/tasks", s.CITY_OFFICER))["items"]
    assert inbox and inbox[0]["acting_for"] == s.CITY_APPROVER
    assert api.send("DELETE", "/me/delegation", s.CITY_APPROVER).status_code == 204
    problem(api.send("PUT", "/me/delegation", s.CITY_APPROVER, {**period, "to": "x@y.kr"}), 404)


def test_budget_report_envelopes_and_the_waiting_board(api: Api) -> None:
    report = api.ok(api.get("/budget/report?year=2026", s.CITY_OFFICER))
    assert [r["party"] for r in report] == ["city"]
    assert {r["party"] for r in api.ok(api.get("/budget/report", s.ADMIN))} == {
        "city",
        "education_office",
    }
    envelope = {"party": "city", "year": 2027, "amount": 5_000}
    added = api.post("/budget/envelopes", s.CITY_OFFICER, envelope)
    assert api.ok(added, 201)["amount"] == 5_000
    bad = {"party": "education_office", "year": 2027, "amount": 5_000}
    problem(api.post("/budget/envelopes", s.CITY_OFFICER, bad), 403)
    pid = api.submitted()
    board = api.ok(api.get("/waiting", s.CITY_APPROVER))
    assert [r["program"] for r in board] == [pid]
    assert {w["org"] for w in board[0]["waiting_for"]} == {"city", "education_office"}


def test_workflows_are_listed_with_their_diagram(api: Api) -> None:
    found = api.ok(api.get("/workflows", s.COORDINATOR))
    assert "joint-program" in [w["key"] for w in found]
    one = api.ok(api.get("/workflows/joint-program", s.COORDINATOR))
    assert one["mermaid"].startswith("stateDiagram-v2") and one["states"]
    problem(api.get("/workflows/nothing", s.COORDINATOR), 404)


def test_only_an_admin_verifies_the_audit_chain_and_a_refusal_is_audited(api: Api) -> None:
    problem(api.get("/audit/verify", s.COORDINATOR), 403)
    system = api.bus.query(lambda uow: uow.events.history(SYSTEM_STREAM))
    assert (system[-1].type, system[-1].actor) == ("ActionRefused", s.COORDINATOR)
    assert json.loads(system[-1].data)["query"] == "audit_check"
    assert api.ok(api.get("/audit/verify", s.ADMIN))["ok"] is True


def test_notifications_are_the_callers_own_and_read_one_or_all(api: Api) -> None:
    assert api.ok(api.get("/notifications?unread=true", s.COORDINATOR)) == []
    problem(api.post("/notifications/999999/read", s.COORDINATOR), 404)
    # Waitlisted on two days (more than the city's whole envelope): two budget notices.
    too_much = {**PROGRAM, "requests": {"city": 1_940_000_000}}
    for _ in range(2):
        pid = api.ok(api.post("/programs", s.COORDINATOR, too_much), 201)["id"]
        assert api.ok(api.post(f"/programs/{pid}/submit", s.COORDINATOR))["state"] == "waitlisted"
        api.clock.advance(days=1)
    unread = api.ok(api.get("/notifications?unread=true", s.COORDINATOR))
    assert len(unread) == 2 and not any(n["read"] for n in unread), unread
    first = unread[0]["id"]
    problem(api.post(f"/notifications/{first}/read", s.CITY_OFFICER), 404)  # not theirs
    assert api.ok(api.post(f"/notifications/{first}/read", s.COORDINATOR))["marked"] == 1
    left = api.ok(api.get("/notifications?unread=true", s.COORDINATOR))
    assert first not in [n["id"] for n in left]
    assert api.ok(api.post("/notifications/read", s.COORDINATOR))["marked"] == 1
    assert api.ok(api.get("/notifications?unread=true", s.COORDINATOR)) == []


def test_supervisor_reassigns_within_the_queue(api: Api) -> None:
    assert SUPERVISOR  # a supervisor of munsan-high: reassigns munsan-high's tasks only
    api.submitted()
    task = api.ok(api.get("/tasks", s.CITY_APPROVER))["items"][0]["task"]
    problem(api.post(f"/tasks/{task}/reassign", SUPERVISOR, {"to": DEPUTY}), 403)
