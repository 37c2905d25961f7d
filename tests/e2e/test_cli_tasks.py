"""People's queues from the command line, in-process (``main(argv)``) on the embedded default.

The Paju setting and two programs in review are made in-process (through the real bus,
on a clock set to the days they entered review) into one SQLite file; the commands
under test then run in-process with ``JOINTFLOW_NOW`` on 8 October 2026: the
approver's inbox (table and JSON, earliest due first, one review overdue past Hangul
Day), a claim, another approver's decision refused while the task is claimed (exit 1,
one line, nothing changed), a supervisor's reassignment that lets that approver decide,
and the "waiting on whom" board as JSON. Then the inbox a page at a time (``--limit``,
``--after TASK``, the hint that more follow) and its usage errors (exit 2).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests import support as s
from tests.conftest import make_settings
from tests.e2e.test_cli import CITY_APPROVER, COORD, OE_APPROVER, Jointflow, call
from workflow.adapters.database import engine_for, upgrade
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain.calendar import SEOUL

DEPUTY = "deputy@paju.go.kr"
CITY_SUPERVISOR = "chief@paju.go.kr"
NOW = "2026-10-08T10:00"  # Thursday, Seoul time
CITY_LEFT = 1_930_000_000 - 2 * 80_000_000
OE_LEFT = 530_000_000 - 2 * 20_000_000


def seoul(*args: int) -> datetime:
    return datetime(*args, tzinfo=SEOUL).astimezone(UTC)  # type: ignore[misc]


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> tuple[Jointflow, list[int]]:
    """Program 1 entered review on Friday 18 September (due 7 October), program 2 on
    Wednesday 23 September (due 13 October)."""
    folder = tmp_path_factory.mktemp("cli-tasks")
    url = f"sqlite:///{folder / 'jointflow.db'}"
    upgrade(engine_for(url))
    now = [seoul(2026, 9, 18, 10, 0)]
    bus = bootstrap(make_settings(url), clock=lambda: now[0])
    s.seed(bus)
    for email, roles in [(DEPUTY, ("approver",)), (CITY_SUPERVISOR, ("supervisor",))]:
        bus.handle(
            c.AddUser(actor=None, email=email, name=email.split("@")[0], org="city", roles=roles)
        )
    programs = [s.submitted(bus)]
    now[0] = seoul(2026, 9, 23, 9, 0)
    programs.append(s.submitted(bus))
    engine_for(url).dispose()
    return Jointflow(
        {"JOINTFLOW_DATABASE_URL": url, "JOINTFLOW_NOW": NOW, "XDG_DATA_HOME": str(folder / "xdg")}
    ), programs


def test_inbox_claim_a_blocked_decision_reassignment_and_the_waiting_board(
    setting: tuple[Jointflow, list[int]],
) -> None:
    jf, (early, late) = setting
    table, listed, office = jf.many(
        call("inbox", as_=CITY_APPROVER),
        call("inbox", "--json", as_=CITY_APPROVER),
        call("inbox", "--json", as_=OE_APPROVER),
    )
    assert [(r["program"], r["remaining_if_approved"]) for r in office.json] == [
        (early, OE_LEFT),
        (late, OE_LEFT),
    ]
    rows = listed.json
    assert [
        (
            r["program"],
            r["kind"],
            r["party"],
            r["due"],
            r["overdue_days"],
            r["claimed_by"],
            r["remaining_if_approved"],
        )
        for r in rows
    ] == [
        (early, "review", "city", "2026-10-07T14:59:59.999999+00:00", 1, None, CITY_LEFT),
        (late, "review", "city", "2026-10-13T14:59:59.999999+00:00", 0, None, CITY_LEFT),
    ]
    lines = table.out.splitlines()
    assert lines[0].split() == [
        "task",
        "due",
        "overdue",
        "kind",
        "program",
        "party",
        "claimed",
        "by",
        "remaining",
        "if",
        "approved",
        "title",
    ]
    assert lines[2].split()[:6] == [
        str(rows[0]["task"]),
        "2026-10-07",
        "1",
        "review",
        str(early),
        "city",
    ]
    assert f"₩{CITY_LEFT:,}" in lines[2] and "High school–university linkage" in lines[2]
    assert lines[3].split()[:5] == [str(rows[1]["task"]), "2026-10-13", "review", str(late), "city"]
    assert len(lines) == 4

    task = rows[0]["task"]
    assert jf("task", "claim", str(task), as_=CITY_APPROVER).out.strip() == (f"task {task} claimed")
    blocked, show_before = jf.many(
        call("program", "decide", str(early), "approve", as_=DEPUTY, code=1),
        call("program", "show", str(early), "--json"),
    )
    assert blocked.error_line == (
        f"jointflow: {DEPUTY} may not act on program {early}: its "
        f"review task for city is claimed by {CITY_APPROVER}"
    )
    assert blocked.out == ""
    assert show_before.json["parties"] == {"city": "pending", "education_office": "pending"}

    assert (
        jf("task", "reassign", str(task), "--to", DEPUTY, as_=CITY_SUPERVISOR).out.strip()
        == f"task {task} reassigned to {DEPUTY}"
    )
    decided, refused_claim = jf.many(
        call("program", "decide", str(early), "approve", "--json", as_=DEPUTY),
        call("task", "claim", str(rows[1]["task"]), as_=OE_APPROVER, code=1),
    )
    assert decided.json["parties"] == {"city": "approved", "education_office": "pending"}
    assert refused_claim.error_line == (
        f"jointflow: {OE_APPROVER} may not take task {rows[1]['task']}: it sits in the "
        "approver queue of city"
    )

    board, coordinator = jf.many(call("waiting", "--json"), call("inbox", "--json", as_=COORD))
    assert board.json == [
        {
            "program": early,
            "title": "High school–university linkage",
            "state": "in_review",
            "waiting_on": ["education_office"],
            "waiting_for": [{"org": "education_office", "step": "review"}],
            "business_days_waiting": 11,
            "sla_days": 10,
            "last_reminder": None,
            "overdue": True,  # 11 business days against an SLA of 10
            "waitlisted_for": [],
        },
        {
            "program": late,
            "title": "High school–university linkage",
            "state": "in_review",
            "waiting_on": ["city", "education_office"],
            "waiting_for": [
                {"org": "city", "step": "review"},
                {"org": "education_office", "step": "review"},
            ],
            "business_days_waiting": 8,
            "sla_days": 10,
            "last_reminder": None,
            "overdue": False,
            "waitlisted_for": [],
        },
    ]
    assert coordinator.json == []


def test_tick_sends_the_due_reminders_once_and_the_board_shows_them(
    setting: tuple[Jointflow, list[int]],
) -> None:
    """Runs after the test above (same module database): program 1's office review, due
    7 October, has its 'before' and 'due' rungs waiting; program 2's are still ahead."""
    jf, (early, late) = setting
    first, again = jf("tick"), jf("tick")
    sent = {" ".join(line.split()[1:]): int(line.split()[0]) for line in first.out.splitlines()}
    assert sent["before reminder sent"] == sent["due reminder sent"] >= 1
    assert sent["digests"] >= 1
    assert again.out.strip() == "nothing due"
    board, messages = jf.many(
        call("waiting", "--json"), call("notifications", "list", "--json", as_=OE_APPROVER)
    )
    reminded = {row["program"]: row["last_reminder"] for row in board.json}
    assert reminded == {early: seoul(2026, 10, 8, 10, 0).isoformat(), late: None}
    digests = [m for m in messages.json if m["kind"] == "reminder_digest"]
    assert len(digests) == 1  # beside the two review requests
    assert f"#{early} " in digests[0]["body"] and f"#{late} " not in digests[0]["body"]


def test_the_inbox_a_page_at_a_time_and_its_usage_errors(
    setting: tuple[Jointflow, list[int]],
) -> None:
    """The education office's queue (untouched by the test above): both programs."""
    jf, (early, late) = setting
    first, listed, whole = jf.many(
        call("inbox", "--limit", "1", as_=OE_APPROVER),
        call("inbox", "--limit", "1", "--json", as_=OE_APPROVER),
        call("inbox", "--json", as_=OE_APPROVER),
    )
    assert [r["program"] for r in whole.json] == [early, late]
    [row] = listed.json
    assert row == whole.json[0]
    lines = first.out.splitlines()
    assert lines[2].split()[:5] == [str(row["task"]), "2026-10-07", "1", "review", str(early)]
    assert lines[3:] == [
        f"more tasks wait after these 1; the next page: jointflow inbox "
        f"--after {row['task']} --limit 1"
    ]

    after = str(row["task"])
    last, last_json, beyond, default_page = jf.many(
        call("inbox", "--after", after, "--limit", "1", as_=OE_APPROVER),
        call("inbox", "--after", after, "--limit", "1", "--json", as_=OE_APPROVER),
        call("inbox", "--after", str(whole.json[1]["task"]), as_=OE_APPROVER),
        call("inbox", as_=OE_APPROVER),
    )
    assert last_json.json == whole.json[1:]
    assert len(last.out.splitlines()) == 3 and "more tasks" not in last.out
    assert beyond.out.strip() == f"nothing waiting after task {whole.json[1]['task']}"
    assert len(default_page.out.splitlines()) == 4 and "more tasks" not in default_page.out

    zero, negative, word, too_many, no_value, unknown = jf.many(
        call("inbox", "--limit", "0", as_=OE_APPROVER, code=2),
        call("inbox", "--limit", "-3", as_=OE_APPROVER, code=2),
        call("inbox", "--limit", "ten", as_=OE_APPROVER, code=2),
        call("inbox", "--limit", "501", as_=OE_APPROVER, code=2),
        call("inbox", "--after", as_=OE_APPROVER, code=2),
        call("inbox", "--after", "999999", as_=OE_APPROVER, code=1),
    )
    for result, value in ((zero, "0"), (negative, "-3"), (too_many, "501")):
        assert result.usage_error == (
            f"Error: Invalid value for '--limit': {value} is not in the range 1<=x<=500."
        ), result
        assert result.out == ""
    assert word.usage_error == (
        "Error: Invalid value for '--limit': 'ten' is not a valid integer range."
    )
    assert "--after" in no_value.usage_error
    assert unknown.error_line == "jointflow: task 999999 does not exist"
