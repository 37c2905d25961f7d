"""Human tasks in their queues (PRODUCT §5, issue 4) through the real bus, both backends.

Every human step of the workflow opens its tasks and every change closes the ones no
longer asked for: completed by the queue that did the work, cancelled otherwise
(another party's decision, a withdrawal, the hold's expiry). Due dates count Seoul
business days (Chuseok, the substitute holiday of National Foundation Day and Hangul
Day all fall in the first review of these tests). The inbox orders by due date and
shows overdue business days and what the party's envelope keeps; claims, releases and
reassignments follow their rules with exact messages; a claimed task blocks anyone
else's decision but not its claimant's; the "waiting on whom" board counts business
days. Last, PostgreSQL only: many connections claiming one task at the same instant,
exactly one wins, and a claim racing a decision never lets both through.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from config.settings import WORKFLOWS_DIR
from tests import support as s
from tests.conftest import make_settings
from workflow.adapters import queues
from workflow.adapters.database import make_engine
from workflow.adapters.unit_of_work import SqlUnitOfWorkFactory
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.calendar import SEOUL
from workflow.domain.errors import Conflict, NotFound, NotPermitted, WorkflowError
from workflow.domain.events import program_stream
from workflow.service_layer.messagebus import MessageBus
from workflow.service_layer.scheduler import run_due_work

DEPUTY = "deputy@paju.go.kr"  # a second approver of the city
CITY_SUPERVISOR = "chief@paju.go.kr"
OE_SUPERVISOR = "chief@goepj.kr"
CITY_EVALUATOR = "eval@paju.go.kr"
OE_EVALUATOR = "eval@goepj.kr"
CITY_TEAM = "team@paju.go.kr"  # a city team that runs programs and approves others'
CITY_COORDINATOR = "youth@paju.go.kr"  # a city team that only runs programs
SHARES = {"city": 80_000_000, "education_office": 20_000_000}
CITY_ENVELOPE, OE_ENVELOPE = 1_930_000_000, 530_000_000


def seoul(*args: int) -> datetime:
    return datetime(*args, tzinfo=SEOUL).astimezone(UTC)  # type: ignore[misc]


def end_of(day: str) -> datetime:
    """The end of a Seoul day: when a task due that day becomes overdue."""
    return datetime.fromisoformat(f"{day}T23:59:59.999999+09:00")


WEDNESDAY = seoul(2026, 9, 23, 9, 0)  # the eve of Chuseok (24-26 September)


# -- the clock and the bus ------------------------------------------------------------


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(WEDNESDAY)


def add_people(bus: MessageBus) -> None:
    s.seed(bus)
    for email, org, roles in [
        (DEPUTY, "city", ("approver",)),
        (CITY_SUPERVISOR, "city", ("supervisor",)),
        (OE_SUPERVISOR, "education_office", ("supervisor",)),
        (CITY_EVALUATOR, "city", ("evaluator",)),
        (OE_EVALUATOR, "education_office", ("evaluator",)),
        (CITY_TEAM, "city", ("coordinator", "approver")),
        (CITY_COORDINATOR, "city", ("coordinator",)),
    ]:
        bus.handle(
            c.AddUser(actor=None, email=email, name=email.split("@")[0], org=org, roles=roles)
        )


@pytest.fixture
def bus(database_url: str, clock: Clock) -> Iterator[MessageBus]:
    bus = bootstrap(make_settings(database_url), clock=clock)
    add_people(bus)
    yield bus
    count, broken = bus.query(lambda uow: uow.events.verify())
    assert broken is None and count > 0


# -- reading tasks --------------------------------------------------------------------


Row = tuple[str, str, str, str | None]  # kind, queue, state, claimed_by or closed_by


def tasks(bus: MessageBus, program_id: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = bus.query(lambda uow: uow.tasks.of_program(program_id))
    return found


def rows(bus: MessageBus, program_id: int) -> list[Row]:
    """Each task of the program in the order opened: closed ones name who closed them,
    live ones who claimed them."""
    return [
        (
            t["kind"],
            f"{t['queue_org']}/{t['queue_role']}",
            t["state"],
            t["closed_by"] if t["state"] in ("completed", "cancelled") else t["claimed_by"],
        )
        for t in tasks(bus, program_id)
    ]


def task_id(bus: MessageBus, program_id: int, kind: str, org: str) -> int:
    live = [
        t["id"]
        for t in tasks(bus, program_id)
        if t["kind"] == kind and t["queue_org"] == org and t["state"] in ("open", "claimed")
    ]
    assert len(live) == 1, tasks(bus, program_id)
    found: int = live[0]
    return found


def program_state(bus: MessageBus, program_id: int) -> str:
    state: str = bus.query(lambda uow: uow.programs.get(program_id).state)
    return state


def history(bus: MessageBus, program_id: int) -> list[Any]:
    return list(bus.query(lambda uow: uow.events.history(program_stream(program_id))))


def inbox(bus: MessageBus, email: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = bus.query(
        lambda uow: queues.inbox(uow, uow.directory.user(email))
    )
    return found


def waiting(bus: MessageBus) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = bus.view(queues.waiting, None)
    return found


def refused(bus: MessageBus, cmd: c.Command, error: type[WorkflowError], message: str) -> None:
    """The command is refused with exactly ``message``."""
    with pytest.raises(error) as caught:
        bus.handle(cmd)
    assert caught.value.message == message


REVIEW = "review"
CITY_REVIEW = (REVIEW, "city/approver")
OE_REVIEW = (REVIEW, "education_office/approver")
SUBMIT = ("submit", "munsan-high/coordinator")
REVISE = ("revise", "munsan-high/coordinator")
CITY_COMMIT = ("commit_funds", "city/budget_officer")
OE_COMMIT = ("commit_funds", "education_office/budget_officer")
REPORT = ("submit_evaluation", "munsan-high/coordinator")
CITY_EVALUATE = ("evaluate", "city/evaluator")
OE_EVALUATE = ("evaluate", "education_office/evaluator")


def row(task: tuple[str, str], state: str, who: str | None = None) -> Row:
    return (*task, state, who)


# -- the whole lifecycle --------------------------------------------------------------


def test_every_human_step_opens_its_tasks_and_closes_them_as_the_program_moves_on(
    bus: MessageBus, clock: Clock
) -> None:
    pid = s.create(bus, start=date(2026, 10, 5), end=date(2026, 10, 29))
    assert rows(bus, pid) == [row(SUBMIT, "open")]
    done = [row(SUBMIT, "completed", s.COORDINATOR)]

    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=pid))  # holds placed inline
    assert program_state(bus, pid) == "in_review"
    assert rows(bus, pid) == [*done, row(CITY_REVIEW, "open"), row(OE_REVIEW, "open")]
    assert [t["party"] for t in tasks(bus, pid)] == [None, "city", "education_office"]

    # The city asks for changes: its review is done, the other party's is void.
    s.decide(bus, pid, s.CITY_APPROVER, "request-changes")
    done += [
        row(CITY_REVIEW, "completed", s.CITY_APPROVER),
        row(OE_REVIEW, "cancelled", s.CITY_APPROVER),
    ]
    assert rows(bus, pid) == [*done, row(REVISE, "open")]

    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=pid))  # resubmitted
    assert program_state(bus, pid) == "in_review"
    done.append(row(REVISE, "completed", s.COORDINATOR))
    assert rows(bus, pid) == [*done, row(CITY_REVIEW, "open"), row(OE_REVIEW, "open")]

    s.decide(bus, pid, s.OE_APPROVER)
    assert rows(bus, pid) == [
        *done,
        row(CITY_REVIEW, "open"),
        row(OE_REVIEW, "completed", s.OE_APPROVER),
    ]
    s.decide(bus, pid, s.CITY_APPROVER)
    assert program_state(bus, pid) == "approved"
    done += [
        row(CITY_REVIEW, "completed", s.CITY_APPROVER),
        row(OE_REVIEW, "completed", s.OE_APPROVER),
    ]
    assert rows(bus, pid) == [*done, row(CITY_COMMIT, "open"), row(OE_COMMIT, "open")]

    bus.handle(c.CommitFunds(actor=s.CITY_OFFICER, program_id=pid))
    assert rows(bus, pid) == [
        *done,
        row(CITY_COMMIT, "completed", s.CITY_OFFICER),
        row(OE_COMMIT, "open"),
    ]
    bus.handle(c.CommitFunds(actor=s.OE_OFFICER, program_id=pid))
    assert program_state(bus, pid) == "funded"
    done += [
        row(CITY_COMMIT, "completed", s.CITY_OFFICER),
        row(OE_COMMIT, "completed", s.OE_OFFICER),
    ]
    assert rows(bus, pid) == done  # funded and active ask nobody for anything

    clock.at = seoul(2026, 10, 30, 9, 0)  # the day after the end: one sweep starts and ends it
    assert sorted(run_due_work(bus).elements()) == ["activate: done", "finish: done"]
    assert program_state(bus, pid) == "evaluation_due"
    assert rows(bus, pid) == [*done, row(REPORT, "open")]

    def report() -> None:
        bus.handle(
            c.SubmitReport(actor=s.COORDINATOR, program_id=pid, spent=SHARES, summary="done")
        )

    def evaluate(actor: str, verdict: str) -> None:
        bus.handle(c.EvaluateReport(actor=actor, program_id=pid, verdict=verdict, score=4))

    report()
    done.append(row(REPORT, "completed", s.COORDINATOR))
    assert rows(bus, pid) == [*done, row(CITY_EVALUATE, "open"), row(OE_EVALUATE, "open")]

    # Round 1: the city accepts, the office returns the report.
    evaluate(CITY_EVALUATOR, "accept")
    evaluate(OE_EVALUATOR, "return")
    done += [
        row(CITY_EVALUATE, "completed", CITY_EVALUATOR),
        row(OE_EVALUATE, "completed", OE_EVALUATOR),
    ]
    assert rows(bus, pid) == [*done, row(REPORT, "open")]
    # Round 2: the city returns it before the office has looked: the office's is void.
    report()
    evaluate(CITY_EVALUATOR, "return")
    done += [
        row(REPORT, "completed", s.COORDINATOR),
        row(CITY_EVALUATE, "completed", CITY_EVALUATOR),
        row(OE_EVALUATE, "cancelled", CITY_EVALUATOR),
    ]
    assert rows(bus, pid) == [*done, row(REPORT, "open")]
    # Round 3: both accept; the closed program asks nothing more.
    report()
    evaluate(OE_EVALUATOR, "accept")
    evaluate(CITY_EVALUATOR, "accept")
    assert program_state(bus, pid) == "closed"
    done += [
        row(REPORT, "completed", s.COORDINATOR),
        row(OE_EVALUATE, "completed", OE_EVALUATOR),
        row(CITY_EVALUATE, "completed", CITY_EVALUATOR),
    ]
    assert sorted(rows(bus, pid)) == sorted(done)
    assert waiting(bus) == [] and inbox(bus, s.COORDINATOR) == []


def test_a_rejection_completes_the_deciders_review_and_cancels_the_other_partys(
    bus: MessageBus,
) -> None:
    rejected = s.submitted(bus)
    s.decide(bus, rejected, s.OE_APPROVER, "reject")
    assert rows(bus, rejected) == [
        row(SUBMIT, "completed", s.COORDINATOR),
        row(CITY_REVIEW, "cancelled", s.OE_APPROVER),
        row(OE_REVIEW, "completed", s.OE_APPROVER),
    ]
    after_approval = s.submitted(bus)
    s.decide(bus, after_approval, s.CITY_APPROVER)
    s.decide(bus, after_approval, s.OE_APPROVER, "reject")
    assert rows(bus, after_approval)[1:] == [
        row(CITY_REVIEW, "completed", s.CITY_APPROVER),
        row(OE_REVIEW, "completed", s.OE_APPROVER),
    ]
    assert program_state(bus, after_approval) == "rejected"


def test_a_withdrawal_cancels_whatever_the_program_still_asked_for(bus: MessageBus) -> None:
    draft = s.create(bus)
    in_review = s.submitted(bus)
    s.decide(bus, in_review, s.CITY_APPROVER)
    revising = s.submitted(bus)
    s.decide(bus, revising, s.OE_APPROVER, "request-changes")
    approved = s.submitted(bus)
    s.decide(bus, approved, s.CITY_APPROVER)
    s.decide(bus, approved, s.OE_APPROVER)
    bus.handle(c.CommitFunds(actor=s.OE_OFFICER, program_id=approved))
    for pid in (draft, in_review, revising, approved):
        bus.handle(c.WithdrawProgram(actor=s.COORDINATOR, program_id=pid, reason="no staff"))
        assert program_state(bus, pid) == "withdrawn"
        assert not [t for t in tasks(bus, pid) if t["state"] in ("open", "claimed")]
    assert rows(bus, draft) == [row(SUBMIT, "cancelled", s.COORDINATOR)]
    assert rows(bus, in_review)[1:] == [
        row(CITY_REVIEW, "completed", s.CITY_APPROVER),
        row(OE_REVIEW, "cancelled", s.COORDINATOR),
    ]
    assert rows(bus, revising)[-1] == row(REVISE, "cancelled", s.COORDINATOR)
    assert rows(bus, approved)[-2:] == [
        row(CITY_COMMIT, "cancelled", s.COORDINATOR),
        row(OE_COMMIT, "completed", s.OE_OFFICER),
    ]
    assert waiting(bus) == []


def test_withdrawing_a_program_of_an_approving_organization_cancels_its_review_even_claimed(
    bus: MessageBus,
) -> None:
    """A city team's own program: the city's review is not the coordinator's to complete,
    and a city approver's claim on it does not stop the withdrawal."""
    claimed = s.submitted(bus, actor=CITY_COORDINATOR, org="city")
    bus.handle(c.ClaimTask(actor=s.CITY_APPROVER, task_id=task_id(bus, claimed, REVIEW, "city")))
    unclaimed = s.submitted(bus, actor=CITY_COORDINATOR, org="city")
    for pid in (claimed, unclaimed):
        bus.handle(c.WithdrawProgram(actor=CITY_COORDINATOR, program_id=pid))
        assert program_state(bus, pid) == "withdrawn"
        assert rows(bus, pid) == [
            ("submit", "city/coordinator", "completed", CITY_COORDINATOR),
            row(CITY_REVIEW, "cancelled", CITY_COORDINATOR),
            row(OE_REVIEW, "cancelled", CITY_COORDINATOR),
        ]


def test_the_holds_expiry_cancels_every_live_task_claimed_or_not(
    bus: MessageBus, clock: Clock
) -> None:
    in_review = s.submitted(bus)
    bus.handle(c.ClaimTask(actor=s.CITY_APPROVER, task_id=task_id(bus, in_review, REVIEW, "city")))
    revising = s.submitted(bus)
    s.decide(bus, revising, s.CITY_APPROVER, "request-changes")
    approved = s.submitted(bus)
    s.decide(bus, approved, s.CITY_APPROVER)
    s.decide(bus, approved, s.OE_APPROVER)
    bus.handle(
        c.ClaimTask(
            actor=s.OE_OFFICER, task_id=task_id(bus, approved, "commit_funds", "education_office")
        )
    )
    clock.at = seoul(2027, 1, 21, 9, 1)  # 120 days after the holds
    assert run_due_work(bus)["expire: done"] == 3
    for pid in (in_review, revising, approved):
        assert program_state(bus, pid) == "expired"
    assert rows(bus, in_review)[1:] == [
        row(CITY_REVIEW, "cancelled", "system"),
        row(OE_REVIEW, "cancelled", "system"),
    ]
    assert rows(bus, revising)[-1] == row(REVISE, "cancelled", "system")
    assert rows(bus, approved)[-2:] == [
        row(CITY_COMMIT, "cancelled", "system"),
        row(OE_COMMIT, "cancelled", "system"),
    ]
    assert waiting(bus) == [] and inbox(bus, s.OE_OFFICER) == []


# -- due dates ------------------------------------------------------------------------


def test_due_dates_count_seoul_business_days_past_chuseok_and_the_october_holidays(
    bus: MessageBus, clock: Clock
) -> None:
    """From Wednesday 23 September: Chuseok (24-26), the weekend, National Foundation
    Day's substitute (Monday 5 October) and Hangul Day (Friday 9 October) do not count."""
    draft = s.create(bus)
    assert [t["due_at"] for t in tasks(bus, draft)] == [end_of("2026-10-27")]  # 20 days
    pid = s.submitted(bus)
    review = tasks(bus, pid)[1:]
    assert [t["due_at"] for t in review] == [end_of("2026-10-13")] * 2  # 10 days
    assert review[0]["due_at"].isoformat() == "2026-10-13T14:59:59.999999+00:00"
    assert {t["created_at"] for t in review} == {WEDNESDAY}
    clock.at = seoul(2026, 9, 25, 11, 0)  # Chuseok itself: the count starts the day after
    s.decide(bus, pid, s.CITY_APPROVER, "request-changes")
    assert tasks(bus, pid)[-1]["due_at"] == end_of("2026-10-20")  # 15 days
    clock.at = seoul(2026, 10, 8, 23, 30)  # late on Thursday: the hour does not matter
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=pid))
    s.decide(bus, pid, s.CITY_APPROVER)
    s.decide(bus, pid, s.OE_APPROVER)
    assert [t["due_at"] for t in tasks(bus, pid)[-2:]] == [end_of("2026-10-23")] * 2


@pytest.mark.parametrize(
    "entered", [seoul(2026, 9, 23, 0, 0), seoul(2026, 9, 23, 9, 0), seoul(2026, 9, 23, 23, 59)]
)
def test_a_three_business_day_review_entered_on_23_september_is_due_at_the_end_of_the_30th(
    database_url: str, tmp_path: Path, entered: datetime
) -> None:
    """The SLA comes from the definition: a copy of the workflow with a 3-day review.
    At midnight Seoul it is still the 22nd in UTC; the Seoul day is what counts."""
    source = (WORKFLOWS_DIR / "joint-program.yaml").read_text(encoding="utf-8")
    review = "in_review:          {type: review, role: approver, sla_days: 10"
    assert source.count(review) == 1
    source, bumped = re.subn(
        r"^version: (\d+)$",
        lambda m: f"version: {int(m[1]) + 100}",
        source.replace(review, review.replace("10", "3")),
        flags=re.M,
    )
    assert bumped == 1
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "joint-program.yaml").write_text(source, encoding="utf-8")
    bus = bootstrap(make_settings(database_url, workflows_dir=folder), clock=lambda: entered)
    add_people(bus)
    pid = s.submitted(bus)
    due = [t["due_at"] for t in tasks(bus, pid) if t["kind"] == REVIEW]
    assert due == [end_of("2026-09-30")] * 2
    assert due[0] == datetime(2026, 9, 30, 14, 59, 59, 999999, tzinfo=UTC)
    waits = waiting(bus)
    assert [(w["program"], w["sla_days"], w["business_days_waiting"]) for w in waits] == [
        (pid, 3, 0)
    ]


# -- the inbox ------------------------------------------------------------------------


def test_the_inbox_lists_the_queues_tasks_earliest_due_first_with_overdue_days_and_budget(
    bus: MessageBus, clock: Clock
) -> None:
    clock.at = seoul(2026, 9, 18, 10, 0)  # Friday: due Wednesday 7 October
    early = s.submitted(bus)
    clock.at = WEDNESDAY  # due Tuesday 13 October
    late = s.submitted(bus, city=150_000_000, education_office=0)
    decided = s.submitted(bus)
    s.decide(bus, decided, s.CITY_APPROVER)  # the city's part is done: not in its inbox
    draft = s.create(bus)  # the coordinator's submit: due 27 October
    revising = s.submitted(bus)  # later task, earlier due: the revise is due 20 October
    s.decide(bus, revising, s.OE_APPROVER, "request-changes")
    bus.handle(c.ClaimTask(actor=DEPUTY, task_id=task_id(bus, late, REVIEW, "city")))

    city_left = CITY_ENVELOPE - 3 * SHARES["city"] - 150_000_000
    oe_left = OE_ENVELOPE - 3 * SHARES["education_office"]
    box = inbox(bus, s.CITY_APPROVER)
    assert [
        (
            r["program"],
            r["kind"],
            r["party"],
            r["queue"],
            r["due"],
            r["overdue_days"],
            r["claimed_by"],
            r["remaining_if_approved"],
        )
        for r in box
    ] == [
        (
            early,
            REVIEW,
            "city",
            "city/approver",
            "2026-10-07T14:59:59.999999+00:00",
            0,
            None,
            city_left,
        ),
        (
            late,
            REVIEW,
            "city",
            "city/approver",
            "2026-10-13T14:59:59.999999+00:00",
            0,
            DEPUTY,
            city_left,
        ),
    ]
    assert box[0]["title"] == "High school–university linkage"
    assert box[0]["task"] == task_id(bus, early, REVIEW, "city")
    assert set(box[0]) >= {
        "task",
        "program",
        "title",
        "kind",
        "party",
        "queue",
        "due",
        "overdue_days",
        "claimed_by",
        "remaining_if_approved",
    }
    assert inbox(bus, DEPUTY) == box  # the same queue; the claim shows who has it
    assert [(r["program"], r["remaining_if_approved"]) for r in inbox(bus, s.OE_APPROVER)] == [
        (early, oe_left),
        (late, oe_left),
        (decided, oe_left),
    ]  # every party reviews
    assert [
        (r["program"], r["kind"], r["remaining_if_approved"]) for r in inbox(bus, s.COORDINATOR)
    ] == [(revising, "revise", None), (draft, "submit", None)]
    assert inbox(bus, s.OTHER_COORDINATOR) == [] and inbox(bus, s.CITY_OFFICER) == []
    json.dumps(box)  # what `inbox --json` prints

    # Overdue counts business days after the due day: 8, 12-15 October (9th: Hangul Day).
    clock.at = seoul(2026, 10, 13, 23, 59)
    assert [r["overdue_days"] for r in inbox(bus, s.CITY_APPROVER)] == [3, 0]
    clock.at = seoul(2026, 10, 15, 10, 0)
    assert [r["overdue_days"] for r in inbox(bus, s.CITY_APPROVER)] == [5, 2]
    assert [r["overdue_days"] for r in inbox(bus, s.COORDINATOR)] == [0, 0]


# -- claim, release, reassign ---------------------------------------------------------


def test_claim_release_and_reassign_follow_the_queue_rules_with_clear_messages(
    bus: MessageBus,
) -> None:
    pid = s.submitted(bus)
    city = task_id(bus, pid, REVIEW, "city")
    oe = task_id(bus, pid, REVIEW, "education_office")

    refused(
        bus,
        c.ClaimTask(actor=s.OE_APPROVER, task_id=city),
        NotPermitted,
        f"{s.OE_APPROVER} may not take task {city}: it sits in the approver queue of city",
    )
    refused(
        bus,
        c.ClaimTask(actor=s.CITY_OFFICER, task_id=city),
        NotPermitted,
        f"{s.CITY_OFFICER} may not take task {city}: it sits in the approver queue of city",
    )
    refused(
        bus, c.ClaimTask(actor=s.CITY_APPROVER, task_id=999), NotFound, "task 999 does not exist"
    )
    refused(
        bus, c.ClaimTask(actor=None, task_id=city), NotPermitted, "this action needs an acting user"
    )

    assert bus.handle(c.ClaimTask(actor=s.CITY_APPROVER, task_id=city)) == city
    refused(
        bus,
        c.ClaimTask(actor=DEPUTY, task_id=city),
        Conflict,
        f"task {city} is already claimed by {s.CITY_APPROVER}",
    )
    refused(
        bus,
        c.ClaimTask(actor=s.CITY_APPROVER, task_id=city),
        Conflict,
        f"task {city} is already claimed by {s.CITY_APPROVER}",
    )
    refused(
        bus,
        c.ReleaseTask(actor=DEPUTY, task_id=city),
        Conflict,
        f"task {city} is not claimed by {DEPUTY} "
        f"(task {city} is already claimed by {s.CITY_APPROVER})",
    )
    refused(
        bus,
        c.ReleaseTask(actor=s.OE_APPROVER, task_id=oe),
        Conflict,
        f"task {oe} is not claimed by {s.OE_APPROVER} (task {oe} is open)",
    )
    assert bus.handle(c.ReleaseTask(actor=s.CITY_APPROVER, task_id=city)) == city
    assert rows(bus, pid)[1] == row(CITY_REVIEW, "open")
    assert bus.handle(c.ClaimTask(actor=DEPUTY, task_id=city)) == city

    # Reassignment: a supervisor of the task's own organization, to someone in its queue.
    refused(
        bus,
        c.ReassignTask(actor=OE_SUPERVISOR, task_id=city, to=s.CITY_APPROVER),
        NotPermitted,
        f"{OE_SUPERVISOR} may not reassign task {city}: it belongs to city, not education_office",
    )
    refused(
        bus,
        c.ReassignTask(actor=s.CITY_APPROVER, task_id=city, to=s.CITY_APPROVER),
        NotPermitted,
        f"{s.CITY_APPROVER} may not reassign task {city}: it needs the "
        "supervisor role (has: approver)",
    )
    refused(
        bus,
        c.ReassignTask(actor=CITY_SUPERVISOR, task_id=city, to=s.CITY_OFFICER),
        NotPermitted,
        f"{s.CITY_OFFICER} may not take task {city}: it sits in the approver queue of city",
    )
    refused(
        bus,
        c.ReassignTask(actor=CITY_SUPERVISOR, task_id=city, to="nobody@paju.go.kr"),
        NotFound,
        "no user with email 'nobody@paju.go.kr'",
    )
    assert (
        bus.handle(c.ReassignTask(actor=CITY_SUPERVISOR, task_id=city, to=s.CITY_APPROVER)) == city
    )
    assert rows(bus, pid)[1] == row(CITY_REVIEW, "claimed", s.CITY_APPROVER)
    assert bus.handle(c.ReassignTask(actor=OE_SUPERVISOR, task_id=oe, to=s.OE_APPROVER)) == oe
    assert rows(bus, pid)[2] == row(OE_REVIEW, "claimed", s.OE_APPROVER)

    # Closed tasks can be neither claimed nor reassigned.
    s.decide(bus, pid, s.CITY_APPROVER)
    refused(bus, c.ClaimTask(actor=DEPUTY, task_id=city), Conflict, f"task {city} is completed")
    refused(
        bus,
        c.ReassignTask(actor=CITY_SUPERVISOR, task_id=city, to=DEPUTY),
        Conflict,
        f"task {city} is completed",
    )
    refused(
        bus,
        c.ReleaseTask(actor=s.CITY_APPROVER, task_id=city),
        Conflict,
        f"task {city} is not claimed by {s.CITY_APPROVER} (task {city} is completed)",
    )

    task_events = [
        (e.type, e.actor, json.loads(e.data))
        for e in history(bus, pid)
        if e.type.startswith("Task")
    ]
    city_q, oe_q = "city/approver", "education_office/approver"
    assert task_events == [
        (
            ev.TASK_CLAIMED,
            s.CITY_APPROVER,
            {"task": city, "kind": REVIEW, "queue": city_q, "by": s.CITY_APPROVER},
        ),
        (
            ev.TASK_RELEASED,
            s.CITY_APPROVER,
            {"task": city, "kind": REVIEW, "queue": city_q, "by": s.CITY_APPROVER},
        ),
        (ev.TASK_CLAIMED, DEPUTY, {"task": city, "kind": REVIEW, "queue": city_q, "by": DEPUTY}),
        (
            ev.TASK_REASSIGNED,
            CITY_SUPERVISOR,
            {"task": city, "kind": REVIEW, "queue": city_q, "from": DEPUTY, "to": s.CITY_APPROVER},
        ),
        (
            ev.TASK_REASSIGNED,
            OE_SUPERVISOR,
            {"task": oe, "kind": REVIEW, "queue": oe_q, "from": None, "to": s.OE_APPROVER},
        ),
    ]


def test_nobody_takes_a_task_of_a_program_they_created_or_submitted(bus: MessageBus) -> None:
    """Separation of duties: a city team approves others' programs, never its own."""
    own = s.submitted(bus, actor=CITY_TEAM, org="city")
    city = task_id(bus, own, REVIEW, "city")
    message = (
        f"{CITY_TEAM} may not take task {city} of program {own}: they created or "
        "submitted it (separation of duties)"
    )
    refused(bus, c.ClaimTask(actor=CITY_TEAM, task_id=city), NotPermitted, message)
    refused(
        bus,
        c.ReassignTask(actor=CITY_SUPERVISOR, task_id=city, to=CITY_TEAM),
        NotPermitted,
        message,
    )
    assert rows(bus, own)[1] == row(CITY_REVIEW, "open")
    others = s.submitted(bus)
    assert (
        bus.handle(c.ClaimTask(actor=CITY_TEAM, task_id=task_id(bus, others, REVIEW, "city"))) > 0
    )
    # The inbox still shows the queue's task of their own program: the queue is theirs.
    assert [r["program"] for r in inbox(bus, CITY_TEAM)] == [own, others]


def test_a_claimed_task_blocks_anyone_elses_decision_but_not_the_claimants(bus: MessageBus) -> None:
    pid = s.submitted(bus)
    city = task_id(bus, pid, REVIEW, "city")
    bus.handle(c.ClaimTask(actor=s.CITY_APPROVER, task_id=city))
    before = (program_state(bus, pid), rows(bus, pid), len(history(bus, pid)))
    for decision in ("approve", "reject", "request-changes"):
        refused(
            bus,
            c.DecideReview(actor=DEPUTY, program_id=pid, decision=decision),
            NotPermitted,
            f"{DEPUTY} may not act on program {pid}: its review task for "
            f"city is claimed by {s.CITY_APPROVER}",
        )
    after = history(bus, pid)
    assert (program_state(bus, pid), rows(bus, pid)) == before[:2]
    assert len(after) == before[2] + 3
    assert [(e.type, e.actor, json.loads(e.data)["code"]) for e in after[-3:]] == [
        (ev.ACTION_REFUSED, DEPUTY, "not-permitted")
    ] * 3
    detail = bus.query(lambda uow: uow.programs.get(pid))
    assert detail.decisions["city"].decision == "pending"

    # The other party is not held up by the city's claim.
    s.decide(bus, pid, s.OE_APPROVER)
    s.decide(bus, pid, s.CITY_APPROVER)
    assert program_state(bus, pid) == "approved"
    assert rows(bus, pid)[1:3] == [
        row(CITY_REVIEW, "completed", s.CITY_APPROVER),
        row(OE_REVIEW, "completed", s.OE_APPROVER),
    ]

    # A released task is anyone's again; a claim on a budget task blocks the same way.
    other = s.submitted(bus)
    task = task_id(bus, other, REVIEW, "city")
    bus.handle(c.ClaimTask(actor=s.CITY_APPROVER, task_id=task))
    bus.handle(c.ReleaseTask(actor=s.CITY_APPROVER, task_id=task))
    s.decide(bus, other, DEPUTY, "reject")
    assert rows(bus, other)[1] == row(CITY_REVIEW, "completed", DEPUTY)
    bus.handle(
        c.AddUser(
            actor=None,
            email="deputy-budget@paju.go.kr",
            name="d",
            org="city",
            roles=("budget_officer",),
        )
    )
    bus.handle(
        c.ClaimTask(
            actor="deputy-budget@paju.go.kr", task_id=task_id(bus, pid, "commit_funds", "city")
        )
    )
    refused(
        bus,
        c.CommitFunds(actor=s.CITY_OFFICER, program_id=pid),
        NotPermitted,
        f"{s.CITY_OFFICER} may not act on program {pid}: its commit_funds task for city "
        "is claimed by deputy-budget@paju.go.kr",
    )
    positions = bus.query(lambda uow: uow.programs.get(pid).committed)
    assert not positions.get("city")


# -- the waiting board ----------------------------------------------------------------


def test_the_waiting_board_names_whom_each_program_waits_on_in_business_days(
    bus: MessageBus, clock: Clock
) -> None:
    draft = s.create(bus)
    half = s.submitted(bus)
    s.decide(bus, half, s.CITY_APPROVER)
    approved = s.submitted(bus)
    s.decide(bus, approved, s.CITY_APPROVER)
    clock.at = seoul(2026, 9, 28, 9, 0)  # Monday after Chuseok: the approval came later
    s.decide(bus, approved, s.OE_APPROVER)
    funded = s.submitted(bus)
    for actor in (s.CITY_APPROVER, s.OE_APPROVER):
        s.decide(bus, funded, actor)
    for actor in (s.CITY_OFFICER, s.OE_OFFICER):
        bus.handle(c.CommitFunds(actor=actor, program_id=funded))
    assert program_state(bus, funded) == "funded"

    clock.at = seoul(2026, 10, 2, 16, 0)  # Friday: 28, 29, 30 September, 1, 2 October
    assert waiting(bus) == [
        {
            "program": draft,
            "title": "High school–university linkage",
            "state": "draft",
            "waiting_on": ["munsan-high"],
            "waiting_for": [{"org": "munsan-high", "step": "submit"}],
            "business_days_waiting": 5,
            "sla_days": 20,
            "last_reminder": None,
            "overdue": False,
            "waitlisted_for": [],
        },
        {
            "program": half,
            "title": "High school–university linkage",
            "state": "in_review",
            "waiting_on": ["education_office"],
            "waiting_for": [{"org": "education_office", "step": "review"}],
            "business_days_waiting": 5,
            "sla_days": 10,
            "last_reminder": None,
            "overdue": False,
            "waitlisted_for": [],
        },
        {
            "program": approved,
            "title": "High school–university linkage",
            "state": "approved",
            "waiting_on": ["city", "education_office"],
            "waiting_for": [
                {"org": "city", "step": "commit_funds"},
                {"org": "education_office", "step": "commit_funds"},
            ],
            "business_days_waiting": 4,
            "sla_days": 10,
            "last_reminder": None,
            "overdue": False,
            "waitlisted_for": [],
        },
    ]
    clock.at = seoul(2026, 10, 12, 8, 0)  # past the substitute holiday and Hangul Day
    assert [w["business_days_waiting"] for w in waiting(bus)] == [9, 9, 8]
    clock.at = seoul(2026, 10, 16, 16, 0)
    assert [w["overdue"] for w in waiting(bus)] == [False, True, True]  # SLAs 20, 10, 10
    bus.handle(c.CommitFunds(actor=s.CITY_OFFICER, program_id=approved))
    assert waiting(bus)[-1]["waiting_on"] == ["education_office"]
    json.dumps(waiting(bus))  # what `waiting --json` prints


# -- PostgreSQL: claims racing ----------------------------------------------------------

RACERS = 20
ROUNDS = 3


def run_together(actions: list[Callable[[], Any]]) -> list[Any]:
    """Run every action on its own thread, all released at once; results or exceptions."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = actions[i]()
        except Exception as err:  # noqa: BLE001 - handed back to the test to judge
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results


@pytest.fixture
def racing_bus(postgres_url: str) -> Iterator[MessageBus]:
    """A bus on a pool with a connection for every racer: they meet at the database."""
    seeded = bootstrap(make_settings(postgres_url))
    add_people(seeded)
    for i in range(RACERS):
        seeded.handle(
            c.AddUser(
                actor=None,
                email=f"approver{i}@paju.go.kr",
                name=f"a{i}",
                org="city",
                roles=("approver",),
            )
        )
    factory = seeded.uow
    assert isinstance(factory, SqlUnitOfWorkFactory)
    engine = make_engine(postgres_url, pool_size=RACERS + 4, max_overflow=0, pool_timeout=60)
    bus = MessageBus(
        SqlUnitOfWorkFactory(engine, factory.registry, factory.clock), seeded.dispatcher
    )
    yield bus
    assert bus.query(lambda uow: uow.events.verify())[1] is None
    engine.dispose()


@pytest.mark.postgres
def test_many_people_claiming_one_task_at_once_exactly_one_gets_it(racing_bus: MessageBus) -> None:
    bus = racing_bus
    racers = [f"approver{i}@paju.go.kr" for i in range(RACERS)]
    for _ in range(ROUNDS):
        pid = s.submitted(bus)
        task = task_id(bus, pid, REVIEW, "city")
        results = run_together(
            [
                lambda a=actor, t=task: bus.handle(c.ClaimTask(actor=a, task_id=t))
                for actor in racers
            ]
        )
        winners = [racers[i] for i, r in enumerate(results) if r == task]
        assert len(winners) == 1, results
        losers = [r for r in results if r != task]
        assert len(losers) == RACERS - 1
        assert all(
            isinstance(r, Conflict)
            and r.message == f"task {task} is already claimed by {winners[0]}"
            for r in losers
        ), losers
        assert rows(bus, pid)[1] == row(CITY_REVIEW, "claimed", winners[0])
        claimed = [e for e in history(bus, pid) if e.type == ev.TASK_CLAIMED]
        assert [e.actor for e in claimed] == winners


@pytest.mark.postgres
def test_a_claim_racing_another_approvers_decision_never_lets_both_through(
    racing_bus: MessageBus,
) -> None:
    bus = racing_bus
    for _ in range(8):  # either may come first: both orders show up within a few rounds
        pid = s.submitted(bus)
        task = task_id(bus, pid, REVIEW, "city")
        claim, decision = run_together(
            [
                lambda t=task: bus.handle(c.ClaimTask(actor=s.CITY_APPROVER, task_id=t)),
                lambda p=pid: bus.handle(
                    c.DecideReview(actor=DEPUTY, program_id=p, decision="approve")
                ),
            ]
        )
        city = rows(bus, pid)[1]
        if claim == task:  # the claim came first: the deputy's decision was refused
            assert isinstance(decision, NotPermitted), decision
            assert city == row(CITY_REVIEW, "claimed", s.CITY_APPROVER)
            assert (
                bus.query(lambda uow, p=pid: uow.programs.get(p)).decisions["city"].decision
                == "pending"
            )
        else:  # the decision came first: nothing left to claim
            assert isinstance(claim, Conflict) and claim.message == f"task {task} is completed"
            assert decision == pid
            assert city == row(CITY_REVIEW, "completed", DEPUTY)
