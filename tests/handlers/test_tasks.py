"""People's queues through the bus on the fakes: claims, releases, a supervisor's
reassignment, bulk actions item by item, and the reminder digest of an overdue review."""

from __future__ import annotations

from datetime import UTC, datetime

from tests import support as s
from tests.fakes import Clock, FakeUnitOfWorkFactory
from tests.handlers import helpers as h
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.errors import Conflict, NotPermitted
from workflow.service_layer.bulk import bulk
from workflow.service_layer.messagebus import SYSTEM_STREAM, MessageBus
from workflow.service_layer.scheduler import send_due_reminders

REVIEWS_DUE = datetime(2026, 1, 19, 14, 59, 59, 999999, tzinfo=UTC)  # end of 19 Jan, Seoul


def city_review(bus: MessageBus, fakes: FakeUnitOfWorkFactory) -> tuple[int, int]:
    program_id = s.submitted(bus)
    return program_id, h.task_id(fakes, program_id, "review", "city")


def test_each_partys_review_is_due_in_ten_business_days(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.submitted(bus)
    reviews = [t for t in fakes.reader().tasks.of_program(program_id) if t["kind"] == "review"]
    assert [(t["party"], t["due_at"]) for t in reviews] == [
        ("city", REVIEWS_DUE),
        ("education_office", REVIEWS_DUE),
    ]


def test_a_claimed_task_blocks_anyone_elses_decision_but_not_its_claimants(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id, task = city_review(bus, fakes)
    bus.handle(c.ClaimTask(actor=h.DEPUTY, task_id=task))
    assert h.types(fakes, program_id)[-1] == ev.TASK_CLAIMED

    h.refused(
        bus,
        c.DecideReview(actor=s.CITY_APPROVER, program_id=program_id, decision="approve"),
        NotPermitted,
        f"{s.CITY_APPROVER} may not act on program {program_id}: its review task for "
        f"city is claimed by {h.DEPUTY}",
    )
    assert h.program(fakes, program_id).decisions["city"].decision == "pending"

    s.decide(bus, program_id, h.DEPUTY)
    assert h.program(fakes, program_id).decisions["city"].by == h.DEPUTY
    assert h.tasks(fakes, program_id)[1] == ("review", "city/approver", "completed", h.DEPUTY)


def test_claiming_a_task_someone_else_claimed_is_a_conflict_naming_the_claimant(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    _, task = city_review(bus, fakes)
    bus.handle(c.ClaimTask(actor=h.DEPUTY, task_id=task))

    h.refused(
        bus,
        c.ClaimTask(actor=s.CITY_APPROVER, task_id=task),
        Conflict,
        f"task {task} is already claimed by {h.DEPUTY}",
    )
    assert fakes.reader().tasks.get(task).claimed_by == h.DEPUTY


def test_only_a_member_of_the_tasks_queue_may_claim_it(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    _, task = city_review(bus, fakes)
    h.refused(
        bus,
        c.ClaimTask(actor=s.OE_APPROVER, task_id=task),
        NotPermitted,
        f"{s.OE_APPROVER} may not take task {task}: it sits in the approver queue of city",
    )
    assert fakes.reader().tasks.get(task).state == "open"


def test_only_the_claimant_gives_a_task_back(bus: MessageBus, fakes: FakeUnitOfWorkFactory) -> None:
    _, task = city_review(bus, fakes)
    bus.handle(c.ClaimTask(actor=h.DEPUTY, task_id=task))

    h.refused(
        bus,
        c.ReleaseTask(actor=s.CITY_APPROVER, task_id=task),
        Conflict,
        f"task {task} is not claimed by {s.CITY_APPROVER}",
    )
    bus.handle(c.ReleaseTask(actor=h.DEPUTY, task_id=task))

    assert (fakes.reader().tasks.get(task).state, fakes.reader().tasks.get(task).claimed_by) == (
        "open",
        None,
    )


def test_a_supervisor_reassigns_a_task_to_someone_in_its_queue(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id, task = city_review(bus, fakes)
    bus.handle(c.ClaimTask(actor=h.DEPUTY, task_id=task))

    h.refused(
        bus,
        c.ReassignTask(actor=s.CITY_APPROVER, task_id=task, to=s.CITY_APPROVER),
        NotPermitted,
        "needs the supervisor role",
    )
    bus.handle(c.ReassignTask(actor=h.CITY_SUPERVISOR, task_id=task, to=s.CITY_APPROVER))

    assert fakes.reader().tasks.get(task).claimed_by == s.CITY_APPROVER
    assert h.history(fakes, program_id)[-1][1]["from"] == h.DEPUTY


def test_bulk_approval_decides_what_it_may_and_audits_every_refusal(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    first, second, claimed = (s.submitted(bus) for _ in range(3))
    s.decide(bus, first, s.OE_APPROVER)
    blocked = h.task_id(fakes, claimed, "review", "city")
    bus.handle(c.ClaimTask(actor=h.DEPUTY, task_id=blocked))
    office = h.task_id(fakes, second, "review", "education_office")
    tasks = [
        h.task_id(fakes, first, "review", "city"),
        h.task_id(fakes, second, "review", "city"),
        blocked,
        office,
        9999,
    ]

    results = bulk(bus, s.CITY_APPROVER, "approve", [*tasks, tasks[0]])

    assert [(r.task, r.ok) for r in results] == [
        (tasks[0], True),
        (tasks[1], True),
        (blocked, False),
        (office, False),
        (9999, False),
    ]
    errors = {r.task: r.error or "" for r in results if not r.ok}
    assert f"claimed by {h.DEPUTY}" in errors[blocked]
    assert errors[office] == f"task {office} sits in education_office's queue, not city's"
    assert errors[9999] == "task 9999 does not exist"
    assert [h.state(fakes, p) for p in (first, second, claimed)] == [
        "approved",
        "in_review",
        "in_review",
    ]
    # Each refusal is on its task's program's stream (an unknown task: the system's).
    for program_id, task in [(claimed, blocked), (second, office), (SYSTEM_STREAM, 9999)]:
        refusal = h.last_refusal(fakes, program_id)
        assert (refusal["task"], refusal["reason"]) == (task, errors[task])


def test_bulk_claim_takes_the_open_tasks_and_reports_the_taken_ones(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    tasks = [city_review(bus, fakes)[1] for _ in range(3)]
    bus.handle(c.ClaimTask(actor=h.DEPUTY, task_id=tasks[1]))

    results = bulk(bus, s.CITY_APPROVER, "claim", tasks)

    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error == f"task {tasks[1]} is already claimed by {h.DEPUTY}"
    assert [fakes.reader().tasks.get(t).claimed_by for t in tasks] == [
        s.CITY_APPROVER,
        h.DEPUTY,
        s.CITY_APPROVER,
    ]


def test_an_overdue_review_reminds_its_queue_once_in_a_digest(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory, clock: Clock
) -> None:
    program_id, task = city_review(bus, fakes)
    bus.handle(c.ClaimTask(actor=h.DEPUTY, task_id=task))
    clock.at = datetime(2026, 1, 19, 23, 0, tzinfo=UTC)  # 08:00 on the 20th in Seoul

    sent = send_due_reminders(bus)

    assert sent["digests"] >= 1
    digest = [
        n for n in fakes.reader().notifications.of_user(h.DEPUTY) if n["kind"] == "reminder_digest"
    ]
    assert [(i["task"], i["program"]) for n in digest for i in n["items"]] == [(task, program_id)]
    city = fakes.reader().notifications.of_user(s.CITY_APPROVER)
    assert [n["kind"] for n in city] == ["review_request"]  # no digest: claimed, not theirs
    assert send_due_reminders(bus)["digests"] == 0  # nothing twice


def test_a_deactivated_queue_member_gets_no_reminder_digest(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory, clock: Clock
) -> None:
    program_id, task = city_review(bus, fakes)
    bus.handle(c.DeactivateUser(actor=s.ADMIN, email=h.CITY_TEAM))
    clock.at = datetime(2026, 1, 19, 23, 0, tzinfo=UTC)  # 08:00 on the 20th in Seoul

    send_due_reminders(bus)

    def digests(email: str) -> list[int]:
        found = fakes.reader().notifications.of_user(email)
        return [i["task"] for n in found if n["kind"] == "reminder_digest" for i in n["items"]]

    assert digests(s.CITY_APPROVER) == digests(h.DEPUTY) == [task]
    assert digests(h.CITY_TEAM) == []
