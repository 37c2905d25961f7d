"""The record through the API, on both databases: a waitlisted program's answer says
which funder is short and by how much (numbers, ``waitlisted_for``), the waiting board
lists it with the same numbers, and each event carries its sentence (``text``) beside
the raw data, in the reader's language."""

from __future__ import annotations

from tests import support as s
from tests.api.helpers import PROGRAM, Api

SHORT = {
    "party": "education_office",
    "requested": 600_000_000,
    "available": 530_000_000,
    "missing": 70_000_000,
    "has_envelope": True,
}


def test_a_waitlisted_programs_answer_says_who_is_short_and_by_how_much(api: Api) -> None:
    pid = api.submitted(requests={"city": 10_000_000, "education_office": 600_000_000})

    body = api.ok(api.get(f"/programs/{pid}", s.OE_APPROVER))
    board = {r["program"]: r for r in api.ok(api.get("/waiting", s.OE_APPROVER))}

    assert body["state"] == "waitlisted" and body["waitlisted_for"] == [SHORT]
    assert board[pid]["waitlisted_for"] == [SHORT]
    assert board[pid]["waiting_for"] == [{"org": "education_office", "step": "budget"}]


def test_decisions_and_reasons_name_who_when_and_why(api: Api) -> None:
    pid = api.submitted(requests=PROGRAM["requests"])
    sent_back = {"decision": "request_changes", "comment": "예산 내역 보완 바람"}
    body = api.ok(api.post(f"/programs/{pid}/decisions", s.CITY_APPROVER, sent_back))

    assert body["decisions"]["city"]["decision"] == "changes_requested"
    assert body["decisions"]["city"]["by"] == s.CITY_APPROVER
    assert [r["text"] for r in body["reasons"]] == ["예산 내역 보완 바람"]
    assert body["waitlisted_for"] == []


def test_each_event_carries_its_sentence_beside_the_raw_data(api: Api) -> None:
    pid = api.submitted(requests=PROGRAM["requests"])
    sent_back = {"decision": "request_changes", "comment": "예산 내역 보완 바람"}
    api.ok(api.post(f"/programs/{pid}/decisions", s.CITY_APPROVER, sent_back))

    events = api.ok(api.get(f"/programs/{pid}/events", s.COORDINATOR))

    changes = next(e for e in events if e["type"] == "ChangesRequested")
    assert changes["data"]["comment"] == "예산 내역 보완 바람"
    assert changes["text"] == "approver(Paju City) 보완 요청: 예산 내역 보완 바람"
    held = next(e for e in events if e["type"] == "BudgetHeld")
    assert "8,000만 원" in held["text"] or "2,000만 원" in held["text"]
