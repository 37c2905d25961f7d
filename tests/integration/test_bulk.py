"""Bulk actions on tasks: every item checked on its own, partial failures reported per task."""

from __future__ import annotations

from typing import Any

from tests import support as s
from workflow.domain import commands as c
from workflow.service_layer.bulk import bulk
from workflow.service_layer.messagebus import MessageBus

OTHER_CITY_APPROVER = "approver2@paju.go.kr"


def review_task(bus: MessageBus, program_id: int, party: str) -> int:
    tasks = bus.query(lambda uow: uow.tasks.of_program(program_id))
    found: int = next(
        t["id"]
        for t in tasks
        if t["kind"] == "review" and t["party"] == party and t["state"] == "open"
    )
    return found


def state(bus: MessageBus, program_id: int) -> Any:
    return bus.query(lambda uow: uow.programs.get(program_id)).state


def test_bulk_approval_decides_what_it_may_and_says_why_not_for_the_rest(bus: MessageBus) -> None:
    s.seed(bus)
    bus.handle(
        c.AddUser(
            actor=None, email=OTHER_CITY_APPROVER, name="other", org="city", roles=("approver",)
        )
    )
    first, second, claimed, own = (s.submitted(bus) for _ in range(4))
    s.decide(bus, first, s.OE_APPROVER)
    blocked = review_task(bus, claimed, "city")
    bus.handle(c.ClaimTask(actor=OTHER_CITY_APPROVER, task_id=blocked))
    office_task = review_task(bus, own, "education_office")
    submit_task = next(
        t["id"] for t in bus.query(lambda uow: uow.tasks.of_program(own)) if t["kind"] == "submit"
    )
    tasks = [
        review_task(bus, first, "city"),
        review_task(bus, second, "city"),
        blocked,
        office_task,
        submit_task,
        9999,
        review_task(bus, first, "city"),
    ]

    results = bulk(bus, s.CITY_APPROVER, "approve", tasks)

    assert [(r.task, r.ok) for r in results] == [
        (tasks[0], True),
        (tasks[1], True),
        (blocked, False),
        (office_task, False),
        (submit_task, False),
        (9999, False),
    ]  # the repeated task is done once
    errors = {r.task: r.error for r in results if not r.ok}
    assert "claimed by approver2@paju.go.kr" in errors[blocked]
    assert errors[office_task] == (
        f"task {office_task} sits in education_office's queue, not city's"
    )
    assert "is a submit task" in errors[submit_task]
    assert errors[9999] == "task 9999 does not exist"
    assert state(bus, first) == "approved"  # the office had approved already
    assert state(bus, second) == "in_review"
    assert bus.query(lambda uow: uow.programs.get(claimed)).decisions["city"].decision == "pending"


def test_bulk_claim_takes_the_open_tasks_and_reports_the_taken_ones(bus: MessageBus) -> None:
    s.seed(bus)
    bus.handle(
        c.AddUser(
            actor=None, email=OTHER_CITY_APPROVER, name="other", org="city", roles=("approver",)
        )
    )
    programs = [s.submitted(bus) for _ in range(3)]
    tasks = [review_task(bus, p, "city") for p in programs]
    bus.handle(c.ClaimTask(actor=OTHER_CITY_APPROVER, task_id=tasks[1]))

    results = bulk(bus, s.CITY_APPROVER, "claim", tasks)

    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error == f"task {tasks[1]} is already claimed by {OTHER_CITY_APPROVER}"
    claimants = {
        t["id"]: t["claimed_by"]
        for p in programs
        for t in bus.query(lambda uow, p=p: uow.tasks.of_program(p))
    }
    assert [claimants[t] for t in tasks] == [s.CITY_APPROVER, OTHER_CITY_APPROVER, s.CITY_APPROVER]
