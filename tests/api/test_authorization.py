"""The authorization matrix: every action × every person (each role, their own
organization or another's, on a program of their own organization or not), generated
from one table. Exactly the cells the table allows succeed; every other is 403 or 404
(404 where the program is one the caller may not even see) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests import support as s
from tests.api.helpers import CITY_EVALUATOR, NOTHING_SPENT, PROGRAM, SUPERVISOR, Api

# Who is who: role, organization, and whether munsan-high's programs are their own.
PEOPLE = {
    s.COORDINATOR: "coordinator of munsan-high (the program's own organization)",
    s.OTHER_COORDINATOR: "coordinator of paju-youth (another school)",
    SUPERVISOR: "supervisor of munsan-high",
    s.CITY_APPROVER: "approver of city",
    s.OE_APPROVER: "approver of education_office",
    s.CITY_OFFICER: "budget officer of city",
    s.OE_OFFICER: "budget officer of education_office",
    CITY_EVALUATOR: "evaluator of city",
    s.ADMIN: "admin",
}
COORDINATOR = {s.COORDINATOR}
APPROVERS = {s.CITY_APPROVER, s.OE_APPROVER}
OFFICERS = {s.CITY_OFFICER, s.OE_OFFICER}
MUNSAN = {s.COORDINATOR, SUPERVISOR}
ENVELOPE = {"party": "city", "year": 2027, "amount": 1_000}
FUNDERS = APPROVERS | OFFICERS | {CITY_EVALUATOR, s.ADMIN}


@dataclass(frozen=True)
class Action:
    name: str
    setup: Callable[[Api], int | None]  # a program in the state the action needs
    method: str
    path: str  # {id}: the program's; {task}: a task's (then setup makes the task)
    body: dict[str, Any] | None
    allowed: set[str]


ACTIONS = [
    Action("create", lambda a: None, "POST", "/programs", PROGRAM, COORDINATOR),
    Action("read a draft", Api.draft, "GET", "/programs/{id}", None, MUNSAN | {s.ADMIN}),
    Action(
        "read a submitted one", Api.submitted, "GET", "/programs/{id}", None, MUNSAN | FUNDERS
    ),  # fmt: skip
    Action(
        "history of a draft", Api.draft, "GET", "/programs/{id}/events", None, MUNSAN | {s.ADMIN}
    ),  # fmt: skip
    Action("edit", Api.draft, "PATCH", "/programs/{id}", {"title": "Edited"}, COORDINATOR),
    Action("submit", Api.draft, "POST", "/programs/{id}/submit", None, COORDINATOR),
    Action("withdraw", Api.submitted, "POST", "/programs/{id}/withdraw", {}, COORDINATOR),
    Action(
        "decide",
        Api.submitted,
        "POST",
        "/programs/{id}/decisions",
        {"decision": "approve"},
        APPROVERS,
    ),  # fmt: skip
    Action("commit funds", Api.approved, "POST", "/programs/{id}/commitments", None, OFFICERS),
    Action(
        "disburse",
        Api.funded,
        "POST",
        "/programs/{id}/disbursements",
        {"amount": 1_000_000},
        OFFICERS,
    ),  # fmt: skip
    Action(
        "cancel", Api.funded, "POST", "/programs/{id}/cancel", {"reason": "stop"}, {s.ADMIN}
    ),  # fmt: skip
    Action(
        "open the city's envelope",
        lambda a: None,
        "POST",
        "/budget/envelopes",
        ENVELOPE,
        {s.CITY_OFFICER, s.ADMIN},
    ),  # fmt: skip
    Action("verify the audit chain", lambda a: None, "GET", "/audit/verify", None, {s.ADMIN}),
    Action(
        "ledger of a submitted one",
        Api.submitted,
        "GET",
        "/programs/{id}/ledger",
        None,
        MUNSAN | FUNDERS,
    ),  # fmt: skip
    Action(
        "report", Api.evaluation_due, "POST", "/programs/{id}/report", NOTHING_SPENT, COORDINATOR
    ),  # fmt: skip
    Action(
        "evaluate",
        Api.under_evaluation,
        "POST",
        "/programs/{id}/evaluations",
        {"verdict": "accept", "score": 4},
        {CITY_EVALUATOR},
    ),  # fmt: skip
    Action(
        "claim a city review",
        Api.review_task,
        "POST",
        "/tasks/{task}/claim",
        None,
        {s.CITY_APPROVER},
    ),  # fmt: skip
]


@pytest.mark.parametrize("action", ACTIONS, ids=[a.name for a in ACTIONS])
def test_exactly_the_allowed_people_may_act(api: Api, action: Action) -> None:
    outcome = {}
    for who in PEOPLE:
        target = action.setup(api)
        path = action.path.format(id=target, task=target)
        pid = None if "{task}" in action.path else target
        program = f"/programs/{pid}"
        before = api.ok(api.get(program, s.ADMIN)) if pid and action.method != "GET" else None
        body = action.body
        if action.path == "/budget/envelopes":  # one envelope per party and year
            body = {**ENVELOPE, "year": 2027 + list(PEOPLE).index(who)}
        response = api.send(action.method, path, who, body)
        outcome[who] = response.status_code
        if who not in action.allowed:
            assert response.status_code in (403, 404), (who, response.text)
            if before is not None:
                assert api.ok(api.get(program, s.ADMIN)) == before  # nothing changed
    succeeded = {who for who, status in outcome.items() if 200 <= status < 300}
    assert succeeded == action.allowed, outcome
