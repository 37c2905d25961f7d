"""Reminders and escalation (issue 4 §3): the ladder played by moving the clock.

The workflow's ladder (config/workflows/joint-program.yaml): 1 business day before the
due day, on it, every 2 business days overdue, escalation to the queue organization's
supervisors after 5 -- each sent at 08:00 Seoul at the earliest, one message per person
per Seoul day. Two programs are submitted on Monday 2026-11-02 (no holiday in November),
so both review tasks are due at the end of Monday 2026-11-16 (10 business days).
"""

from __future__ import annotations

import importlib.util
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text

from tests import support as s
from tests.conftest import make_settings
from workflow.adapters import queues
from workflow.adapters.definitions import load_file
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.calendar import SEOUL
from workflow.domain.definition import parse_definition
from workflow.domain.errors import DefinitionError
from workflow.domain.machine import GUARDS
from workflow.domain.reminders import ReminderLadder
from workflow.service_layer.messagebus import MessageBus
from workflow.service_layer.reminders import preview, sweep_batch
from workflow.service_layer.scheduler import run_due_work, send_due_reminders

OE_APPROVER_EN = "approver2@goepj.kr"  # the same queue as OE_APPROVER, reads English
CITY_SUPERVISOR = "chief@paju.go.kr"
OE_SUPERVISOR = "chief@goepj.kr"  # reads English


def seoul(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SEOUL).astimezone(UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def make_bus(url: str, clock: Clock) -> MessageBus:
    bus = bootstrap(make_settings(url), clock=clock)
    s.seed(bus)
    for email, org, roles, locale in [
        (OE_APPROVER_EN, "education_office", ("approver",), "en"),
        (CITY_SUPERVISOR, "city", ("supervisor",), "ko"),
        (OE_SUPERVISOR, "education_office", ("supervisor",), "en"),
    ]:
        bus.handle(
            c.AddUser(
                actor=None,
                email=email,
                name=email.split("@")[0],
                org=org,
                roles=roles,
                locale=locale,
            )
        )
    return bus


@pytest.fixture
def clock() -> Clock:
    return Clock(seoul(date(2026, 11, 2)))


@pytest.fixture
def bus(database_url: str, clock: Clock) -> MessageBus:
    return make_bus(database_url, clock)


def messages(bus: MessageBus, email: str) -> list[dict[str, Any]]:
    """The person's in-app digests (reminders, escalations), not the one-off notices."""
    rows: list[dict[str, Any]] = bus.query(lambda uow: uow.notifications.of_user(email))
    return [r for r in rows if r["kind"] in ("reminder_digest", "escalation")]


def two_programs(bus: MessageBus) -> list[int]:
    return [s.submitted(bus), s.submitted(bus, city=50_000_000, education_office=30_000_000)]


def test_the_ladder_over_a_month(bus: MessageBus, clock: Clock) -> None:
    programs = two_programs(bus)
    sent_days: dict[str, list[date]] = {}
    day = date(2026, 11, 2)
    while day <= date(2026, 12, 2):
        clock.at = seoul(day, 9)
        run_due_work(bus)
        if day == date(2026, 11, 19):  # city approves both, 3 business days late
            clock.at = seoul(day, 10)
            for program_id in programs:
                s.decide(bus, program_id, s.CITY_APPROVER)
        day += timedelta(days=1)
    for who in (
        s.CITY_APPROVER,
        s.OE_APPROVER,
        OE_APPROVER_EN,
        CITY_SUPERVISOR,
        OE_SUPERVISOR,
        s.COORDINATOR,
        s.CITY_OFFICER,
    ):
        sent_days[who] = sorted(
            date.fromisoformat(m["created_at"][:10]) for m in messages(bus, who)
        )
    nov = [date(2026, 11, d) for d in (13, 16, 18)]
    oe_days = [*nov, *(date(2026, 11, d) for d in (20, 24, 26, 30)), date(2026, 12, 2)]
    # created_at is UTC: 09:00 Seoul is the same calendar day.
    assert sent_days[s.CITY_APPROVER] == nov  # before, due, overdue 2; then it approved
    assert sent_days[s.OE_APPROVER] == oe_days  # every 2 business days while overdue
    assert sent_days[OE_APPROVER_EN] == oe_days  # the whole queue, while nobody claims
    assert sent_days[OE_SUPERVISOR] == [date(2026, 11, 23)]  # 5 business days overdue
    assert sent_days[CITY_SUPERVISOR] == []  # the city's tasks closed before escalation
    # The coordinator's draft task closed on submission: never reminded.
    assert sent_days[s.COORDINATOR] == sent_days[s.CITY_OFFICER] == []
    every = [m for who in sent_days for m in messages(bus, who)]
    assert Counter(m["kind"] for m in every) == {"reminder_digest": 19, "escalation": 1}
    # Digests: both programs' tasks in each of the day's one message.
    for m in every:
        assert all(f"#{p} " in m["body"] for p in programs), m["body"]

    # Each (task, rung) once; the next overdue rung is the only row waiting.
    def rungs(uow: Any) -> Counter[tuple[str, str, str]]:
        return Counter(
            (task["queue_org"], row["rung"], row["status"])
            for program_id in programs
            for task in uow.tasks.of_program(program_id)
            for row in uow.reminders.of_task(task["id"])
        )

    found = bus.query(rungs)
    assert {status for org, _, status in found if org == "munsan-high"} == {"void"}
    assert {k: n for k, n in found.items() if k[0] != "munsan-high"} == {
        (org, rung, status): 2
        for org, rung, status in [
            ("city", "before", "sent"),
            ("city", "due", "sent"),
            ("city", "overdue:2", "sent"),
            ("city", "overdue:4", "void"),
            ("city", "escalate", "void"),
            ("education_office", "before", "sent"),
            ("education_office", "due", "sent"),
            *(("education_office", f"overdue:{n}", "sent") for n in (2, 4, 6, 8, 10, 12)),
            ("education_office", "overdue:14", "pending"),
            ("education_office", "escalate", "sent"),
        ]
    }
    # The "waiting on whom" board: still waiting on the office, last reminded on Dec 2.
    board = bus.view(queues.waiting, None)
    assert {(b["program"], tuple(b["waiting_on"]), b["last_reminder"]) for b in board} == {
        (p, ("education_office",), seoul(date(2026, 12, 2), 9).isoformat()) for p in programs
    }
    # Recorded as events on each person's stream; the audit chain holds.
    history = bus.query(lambda uow: uow.events.history(f"user:{OE_SUPERVISOR}"))
    assert [e.type for e in history] == [ev.TASK_ESCALATED]
    assert bus.query(lambda uow: uow.events.verify())[1] is None


def test_quiet_hours_hold_everything_until_eight(bus: MessageBus, clock: Clock) -> None:
    two_programs(bus)
    friday = date(2026, 11, 13)  # the "before" rung's day; nobody swept during it
    clock.at = seoul(friday, 22, 30)
    assert send_due_reminders(bus) == Counter()
    waiting = bus.query(preview)
    assert (
        waiting["quiet"] and waiting["sends_at"] == seoul(friday + timedelta(days=1), 8).isoformat()
    )
    assert {m["to"] for m in waiting["messages"]} == {
        s.CITY_APPROVER,
        s.OE_APPROVER,
        OE_APPROVER_EN,
    }
    clock.at = seoul(friday + timedelta(days=1), 7, 59)
    assert send_due_reminders(bus) == Counter()
    assert messages(bus, s.CITY_APPROVER) == []
    clock.at = seoul(friday + timedelta(days=1), 8, 0)
    sent = send_due_reminders(bus)
    assert sent["before reminder sent"] == 4 and sent["digests"] == 3
    [digest] = messages(bus, s.CITY_APPROVER)
    assert digest["kind"] == "reminder_digest" and not digest["read"]
    assert send_due_reminders(bus) == Counter()  # a re-run sends nothing
    assert bus.query(preview)["messages"] == []


def test_korean_and_english_bodies(bus: MessageBus, clock: Clock) -> None:
    first, second = two_programs(bus)
    clock.at = seoul(date(2026, 11, 18), 9)  # overdue 2 business days; nothing swept before
    send_due_reminders(bus)
    [ko] = messages(bus, s.OE_APPROVER)
    assert ko["subject"] == "[jointflow] 처리할 업무 2건 알림 (11월 18일)"
    assert (
        f"#{first} High school–university linkage (2,000만 원) 검토, "
        "마감 2영업일 경과 (마감일 11월 16일)" in ko["body"]
    )
    assert "(3,000만 원)" in ko["body"]
    assert "확인: http://127.0.0.1:8000/inbox" in ko["body"]  # JOINTFLOW_BASE_URL's default
    [en] = messages(bus, OE_APPROVER_EN)
    assert en["subject"] == "[jointflow] 2 tasks need your attention (18 November)"
    assert (
        f"review of #{second} High school–university linkage (₩30,000,000), "
        "overdue 2 business days (due 16 November)" in en["body"]
    )
    # A late sweep sends one reminder per task, not one per missed rung, and the next
    # overdue rung is the next multiple still ahead.
    clock.at = seoul(date(2026, 11, 25), 9)  # 7 business days overdue: escalate too
    sent = send_due_reminders(bus)
    assert sent["overdue reminder sent"] == 4 and sent["escalate reminder sent"] == 4
    [escalated] = messages(bus, OE_SUPERVISOR)
    assert escalated["kind"] == "escalation"
    assert escalated["subject"] == "[jointflow] 2 overdue tasks escalated to you (25 November)"
    assert "overdue 7 business days" in escalated["body"]
    assert "escalated, waiting on queue education_office/approver" in escalated["body"]
    [city_chief] = messages(bus, CITY_SUPERVISOR)
    assert city_chief["subject"] == "[jointflow] 기한 초과 업무 2건 상위 보고 (11월 25일)"
    assert "상위 보고: city/approver 대기열 처리 대기" in city_chief["body"]
    pending = bus.query(
        lambda uow: [
            r["rung"]
            for r in uow.reminders.of_task(uow.tasks.of_program(first)[-1]["id"])
            if r["status"] == "pending"
        ]
    )
    assert pending == ["overdue:8"]


def test_claimed_tasks_remind_the_claimant_and_digests_grow(bus: MessageBus, clock: Clock) -> None:
    first, second = two_programs(bus)
    task = bus.query(
        lambda uow: next(
            t for t in uow.tasks.of_program(first) if t["queue_org"] == "education_office"
        )
    )
    bus.handle(c.ClaimTask(actor=OE_APPROVER_EN, task_id=task["id"]))
    clock.at = seoul(date(2026, 11, 16), 9)  # the due day
    send_due_reminders(bus)
    [ko] = messages(bus, s.OE_APPROVER)
    assert f"#{second} " in ko["body"] and f"#{first} " not in ko["body"]
    [en] = messages(bus, OE_APPROVER_EN)
    assert "due today (16 November)" in en["body"] and f"#{first} " in en["body"]
    bus.handle(c.MarkNotificationRead(actor=OE_APPROVER_EN, notification_id=en["id"]))
    # Later the same day another reminder for the same person joins that day's digest:
    # the task it names is already there, so it is updated, not repeated.
    [city] = messages(bus, s.CITY_APPROVER)
    bus.handle(c.MarkNotificationRead(actor=s.CITY_APPROVER, notification_id=city["id"]))
    other = bus.query(
        lambda uow: next(t for t in uow.tasks.of_program(second) if t["queue_org"] == "city")
    )
    clock.at = seoul(date(2026, 11, 16), 15)
    s.in_transaction(
        bus, lambda uow: uow.reminders.add(other["id"], "overdue:98", uow.now, uow.now)
    )
    send_due_reminders(bus)
    [grown] = messages(bus, s.CITY_APPROVER)
    assert grown["id"] == city["id"] and not grown["read"]
    assert grown["body"].count(f"#{second} ") == 1
    assert grown["subject"].startswith("[jointflow] 처리할 업무 2건")


def test_a_crash_mid_sweep_sends_nothing_and_loses_nothing(bus: MessageBus, clock: Clock) -> None:
    two_programs(bus)
    clock.at = seoul(date(2026, 11, 13), 9)
    with bus.uow() as uow:  # the worker dies before its transaction commits
        assert sweep_batch(uow)["digests"] == 3
    assert messages(bus, s.CITY_APPROVER) == []
    assert send_due_reminders(bus)["before reminder sent"] == 4
    assert send_due_reminders(bus) == Counter()
    assert len(messages(bus, s.CITY_APPROVER)) == 1


def test_closed_tasks_are_not_reminded(bus: MessageBus, clock: Clock) -> None:
    first, second = two_programs(bus)
    bus.handle(c.WithdrawProgram(actor=s.COORDINATOR, program_id=first))
    clock.at = seoul(date(2026, 11, 30), 9)
    send_due_reminders(bus)
    for who in (s.CITY_APPROVER, s.OE_APPROVER):
        [digest] = messages(bus, who)
        assert f"#{second} " in digest["body"] and f"#{first} " not in digest["body"]


def test_the_ladder_is_validated() -> None:
    path = Path(__file__).resolve().parents[2] / "config" / "workflows" / "joint-program.yaml"
    assert load_file(path).reminders == ReminderLadder(1, True, 2, 5)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["reminders"] = {"before_due_days": -1, "on_due": "yes", "every": 2}
    with pytest.raises(DefinitionError) as err:
        parse_definition(data, "x.yaml", GUARDS)
    text = str(err.value)
    assert "reminders: unknown setting 'every'" in text
    assert "reminders: before_due_days must be a whole number of business days" in text
    assert "reminders: on_due must be true or false, got 'yes'" in text
    data["reminders"] = {"on_due": False}
    with pytest.raises(DefinitionError, match="every rung is off"):
        parse_definition(data, "x.yaml", GUARDS)


@pytest.mark.postgres
def test_two_sweeps_at_once_send_nothing_twice(postgres_url: str, clock: Clock) -> None:
    buses = [make_bus(postgres_url, clock)]
    buses.append(bootstrap(make_settings(postgres_url), clock=clock))
    for _ in range(10):
        two_programs(buses[0])
    clock.at = seoul(date(2026, 11, 25), 9)
    barrier = threading.Barrier(2)
    results: list[Any] = [None, None]

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = send_due_reminders(buses[i], batch=7)
        except Exception as err:  # noqa: BLE001 - judged below
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(isinstance(r, Counter) for r in results), results
    sent = sum((r for r in results), Counter())
    # 40 tasks (20 programs x 2 parties): due, overdue:2 (one per task: catch-up) and
    # escalate; no "before" (the late sweep sends it too: it is due and unsent).
    assert sent["before reminder sent"] == 40 and sent["due reminder sent"] == 40
    assert sent["overdue reminder sent"] == 40 and sent["escalate reminder sent"] == 40
    for who in (s.CITY_APPROVER, s.OE_APPROVER, OE_APPROVER_EN, OE_SUPERVISOR):
        [message] = messages(buses[0], who)
        assert sum(line.startswith("- ") for line in message["body"].splitlines()) == 20
    assert send_due_reminders(buses[1]) == Counter()
    assert buses[0].query(lambda uow: uow.events.verify())[1] is None


def test_a_task_opened_waits_on_two_rows_and_older_rows_are_brought_to_that(
    bus: MessageBus, clock: Clock
) -> None:
    """A row per rung, as revisions before 0018 wrote them, is migrated to the next rung
    of each ladder: the later pending reminders go (sending the earliest writes them),
    the escalation and what was sent stay."""
    first, second = two_programs(bus)

    def rows(uow: Any) -> dict[int, list[tuple[str, str]]]:
        found = {}
        for program_id in (first, second):
            for task in uow.tasks.of_program(program_id):
                if task["state"] == "open":
                    found[task["id"]] = [
                        (r["rung"], r["status"]) for r in uow.reminders.of_task(task["id"])
                    ]
        return found

    opened = bus.query(rows)
    assert len(opened) == 4 and all(
        v == [("before", "pending"), ("escalate", "pending")] for v in opened.values()
    )
    clock.at = seoul(date(2026, 11, 13), 9)  # the day before the due day
    send_due_reminders(bus)
    a, b, *_ = sorted(opened)
    at = seoul(date(2026, 11, 18), 8)

    def old_rows(uow: Any) -> None:  # as a row per rung had them
        for task_id in (a, b):
            uow.reminders.add(task_id, "overdue:2", at, uow.now)
        uow.reminders.add(b, "overdue:4", seoul(date(2026, 11, 20), 8), uow.now)

    s.in_transaction(bus, old_rows)
    with bus.uow() as uow:
        uow.conn.execute(text(migration("0018").LATER_RUNGS))
        uow.commit()
    migrated = bus.query(rows)
    assert migrated[a] == [("before", "sent"), ("due", "pending"), ("escalate", "pending")]
    assert migrated[b] == [("before", "sent"), ("due", "pending"), ("escalate", "pending")]


def migration(revision: str) -> Any:
    """A migration's module (its file name starts with its number: no import by name)."""
    folder = Path(__file__).resolve().parents[2] / "workflow/adapters/migrations/versions"
    [path] = folder.glob(f"{revision}_*.py")
    spec = importlib.util.spec_from_file_location(f"migration_{revision}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
