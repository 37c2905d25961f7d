"""The money lifecycle from the command line, in-process (``main(argv)``) on the embedded default.

The Paju setting (funders, users with every role, the 2026 envelopes) is made through
the CLI once for the module into a template SQLite file; each test runs on its own copy,
so the clock can move (``JOINTFLOW_NOW`` per call) and ``tick`` can be counted exactly
without another test's programs falling due. Every amount is checked to the won against
``budget report`` and ``budget ledger``; every refusal the way a script sees it: exit 1
and one ``jointflow: ...`` line (2 for a usage error), and nothing changed.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.runner import Env, Result
from tests.e2e.test_cli import (
    CITY_APPROVER,
    CITY_ENVELOPE,
    CITY_OFFICER,
    COORD,
    OE_APPROVER,
    OE_ENVELOPE,
    OE_OFFICER,
    YEAR,
    Jointflow,
    call,
)

CITY_EVALUATOR = "evaluation@paju.go.kr"
OE_EVALUATOR = "evaluation@goepj.kr"
ADMIN = "admin@paju.go.kr"
FEB = "2026-02-02T09:00"  # the default clock of every call: review and funding season
REPORT = ("budget", "report", "--year", str(YEAR), "--json")
LEDGER_FIELDS = {"id", "at", "party", "year", "program", "kind", "source", "amount", "key", "actor"}


class Money(Jointflow):
    """A Jointflow on its own copy of the template database."""

    def __init__(self, env: Env, database: Path) -> None:
        super().__init__(env)
        self.database = database

    def approved(self, *asks: dict[str, int], end: str = f"{YEAR}-12-18") -> list[int]:
        """Programs created, submitted (holds placed in-process) and approved by both
        parties, one step of all of them at a time."""
        created = self.many(*[call(*create_args(requests, end), as_=COORD) for requests in asks])
        ids = [str(result.json["id"]) for result in created]
        self.many(*[call("program", "submit", i, as_=COORD) for i in ids])
        self.many(*[call("program", "decide", i, "approve", as_=CITY_APPROVER) for i in ids])
        decided = self.many(
            *[call("program", "decide", i, "approve", "--json", as_=OE_APPROVER) for i in ids]
        )
        for result, requests in zip(decided, asks, strict=True):
            assert result.json["state"] == "approved" and result.json["holds"] == requests
        return [int(i) for i in ids]


def create_args(requests: dict[str, int], end: str = f"{YEAR}-12-18") -> tuple[str, ...]:
    return (
        "program",
        "create",
        "--title",
        "Linkage program",
        "--org",
        "munsan-high",
        "--category",
        "linkage",
        *[a for party, amount in requests.items() for a in ("--request", f"{party}={amount:,}")],
        "--start",
        f"{YEAR}-03-02",
        "--end",
        end,
        "--json",
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Paju setting with evaluators, an admin, officers, approvers and a coordinator."""
    database = tmp_path_factory.mktemp("cli-money") / "template.db"
    jf = Jointflow(
        {
            "JOINTFLOW_DATABASE_URL": f"sqlite:///{database}",
            "JOINTFLOW_NOW": FEB,
            "XDG_DATA_HOME": str(database.parent / "xdg"),
        }
    )
    jf("db", "upgrade")
    jf.many(
        call("org", "add", "city", "--name", "Paju City", "--funder"),
        call("org", "add", "education_office", "--name", "Paju Office of Education", "--funder"),
        call("org", "add", "munsan-high", "--name", "Munsan High School"),
    )
    jf.many(
        *[
            call("user", "add", email, "--name", email.split("@")[0], "--org", org, "--role", role)
            for email, org, role in [
                (COORD, "munsan-high", "coordinator"),
                (CITY_APPROVER, "city", "approver"),
                (OE_APPROVER, "education_office", "approver"),
                (CITY_OFFICER, "city", "budget_officer"),
                (OE_OFFICER, "education_office", "budget_officer"),
                (CITY_EVALUATOR, "city", "evaluator"),
                (OE_EVALUATOR, "education_office", "evaluator"),
                (ADMIN, "city", "admin"),
            ]
        ]
    )
    jf.many(
        call(
            "budget",
            "envelope",
            "add",
            "--party",
            "city",
            "--year",
            str(YEAR),
            "--amount",
            str(CITY_ENVELOPE),
            as_=CITY_OFFICER,
        ),
        call(
            "budget",
            "envelope",
            "add",
            "--party",
            "education_office",
            "--year",
            str(YEAR),
            "--amount",
            str(OE_ENVELOPE),
            as_=OE_OFFICER,
        ),
    )
    return database


@pytest.fixture
def jf(template: Path, tmp_path: Path) -> Money:
    database = tmp_path / "jointflow.db"
    with sqlite3.connect(template) as source, sqlite3.connect(database) as copy:
        source.backup(copy)
    return Money(
        {
            "JOINTFLOW_DATABASE_URL": f"sqlite:///{database}",
            "JOINTFLOW_NOW": FEB,
            "XDG_DATA_HOME": str(tmp_path / "xdg"),
        },
        database,
    )


def at(moment: str) -> dict[str, str]:
    return {"JOINTFLOW_NOW": moment}


def positions(result: Result) -> dict[str, dict[str, int]]:
    """``budget report --json`` per party, each row's arithmetic checked."""
    rows = result.json
    for row in rows:
        assert set(row) == {
            "party",
            "year",
            "amount",
            "held",
            "committed",
            "disbursed",
            "available",
            "refund_due",
        }
        assert 0 <= row["refund_due"] <= row["disbursed"]
        assert row["available"] == row["amount"] - row["held"] - row["committed"]
        assert 0 <= row["disbursed"] <= row["committed"] <= row["amount"] - row["held"]
    return {row["party"]: row for row in rows}


def money(result: Result) -> dict[str, tuple[int, int, int]]:
    """(held, committed, disbursed) per party, to the won."""
    return money_of(positions(result))


def money_of(position: dict[str, dict[str, int]]) -> dict[str, tuple[int, int, int]]:
    return {
        party: (row["held"], row["committed"], row["disbursed"]) for party, row in position.items()
    }


def snapshot(database: Path) -> tuple[Any, ...]:
    """Programs and money, read straight from the file, to compare around refusals."""
    with sqlite3.connect(database) as conn:
        return tuple(
            conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in (
                "envelopes",
                "programs",
                "program_requests",
                "party_evaluations",
                "ledger_entries",
                "scheduled_work",
                "report_files",
            )
        )


def check_books(
    jf: Money, *more: tuple[tuple[str, ...], dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, dict[str, int]], list[Result]]:
    """Envelope balances equal the sums of their ledger entries. Returns the whole ledger,
    the budget position and the results of ``more`` (reads), run in the same batch."""
    report, ledger, *others = jf.many(call(*REPORT), call("budget", "ledger", "--json"), *more)
    entries: list[dict[str, Any]] = ledger.json
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)
    assert len({e["key"] for e in entries}) == len(entries)
    for entry in entries:
        assert set(entry) == LEDGER_FIELDS and entry["amount"] > 0
        assert entry["kind"] in {"hold", "commit", "disburse", "release"}
        assert entry["source"] in ({"held", "committed"} if entry["kind"] == "release" else {None})
    position = positions(report)
    for party, row in position.items():
        sums = Counter[tuple[str, str | None]]()
        for e in entries:
            if e["party"] == party:
                sums[e["kind"], e["source"]] += e["amount"]
        assert row["held"] == (
            sums["hold", None] - sums["release", "held"] - sums["commit", None]
        ), party
        assert row["committed"] == sums["commit", None] - sums["release", "committed"], party
        assert row["disbursed"] == sums["disburse", None], party
    return entries, position, others


def test_a_program_goes_from_create_to_closed_by_the_cli_and_the_clock(
    jf: Money, tmp_path: Path
) -> None:
    city, office = 80_000_000, 20_000_000
    [program_id] = jf.approved({"city": city, "education_office": office})
    pid = str(program_id)
    assert money(jf(*REPORT)) == {"city": (city, 0, 0), "education_office": (office, 0, 0)}

    # Commitment: each budget officer turns their own party's hold into a commitment.
    out = jf("program", "commit", pid, as_=CITY_OFFICER).out
    assert out.strip() == f"program {program_id} ₩80,000,000 committed: now approved"
    assert money(jf(*REPORT)) == {"city": (0, city, 0), "education_office": (office, 0, 0)}
    funded = jf("program", "commit", pid, "--json", as_=OE_OFFICER).json
    assert funded["state"] == "funded" and funded["holds"] == {}
    assert funded["committed"] == {"city": city, "education_office": office}
    assert funded["disbursed"] == {} and funded["holds_expire_at"] is None
    assert funded["report"] is None and funded["evaluations"] == {}
    # Activation at 00:00 Seoul on the start date; the pending expiry was called off.
    assert funded["scheduled"] == [{"action": "activate", "due_at": "2026-03-01T15:00:00+00:00"}]
    assert money(jf(*REPORT)) == {"city": (0, city, 0), "education_office": (0, office, 0)}

    # A first tranche while funded, to the won.
    out = jf(
        "program",
        "disburse",
        pid,
        "--amount",
        "12,345,678",
        "--memo",
        "1학기 운영비",
        as_=CITY_OFFICER,
    ).out
    assert out.strip() == (f"program {program_id} tranche 1 of ₩12,345,678 disbursed: now funded")
    # The clock: a minute before the start nothing is due (and nothing moves).
    report, early = jf.many(call(*REPORT), call("tick", env=at("2026-03-01T23:59")))
    assert money(report) == {"city": (0, city, 12_345_678), "education_office": (0, office, 0)}
    assert early.out.strip() == "nothing due"
    # At the start, activation once; a second sweep at the same time finds nothing.
    started = jf("tick", env=at("2026-03-02T00:00"))
    assert started.out.split() == ["1", "activate:", "done"]
    again, active = jf.many(
        call("tick", "--json", env=at("2026-03-02T00:00")), call("program", "show", pid, "--json")
    )
    assert again.json == {}
    assert active.json["state"] == "active"
    # The run is active through its end date (12-18): it ends at 12-19 00:00 Seoul.
    assert active.json["scheduled"] == [{"action": "finish", "due_at": "2026-12-18T15:00:00+00:00"}]

    # More tranches while it runs: the office's whole share, the city's second.
    paid = jf(
        "program",
        "disburse",
        pid,
        "--amount",
        "20000000",
        "--json",
        as_=OE_OFFICER,
        env=at("2026-06-01T10:00"),
    ).json
    assert paid["state"] == "active" and paid["disbursed"] == {
        "education_office": office,
        "city": 12_345_678,
    }
    jf(
        "program",
        "disburse",
        pid,
        "--amount",
        "37,654,322",
        as_=CITY_OFFICER,
        env=at("2026-09-01T10:00"),
    )
    last_minute = jf("tick", "--json", env=at("2026-12-18T23:59"))
    assert last_minute.json == {}
    report, finished = jf.many(call(*REPORT), call("tick", "--json", env=at("2026-12-19")))
    assert money(report) == {"city": (0, city, 50_000_000), "education_office": (0, office, office)}
    assert finished.json == {"finish: done": 1}

    # The report (with its document), returned once, reported again, accepted by both.
    document = tmp_path / "결과보고서.pdf"
    document.write_bytes(b"%PDF-1.7\n% \xeb\xac\xb8\xec\x82\xb0 results\n")
    reported = jf(
        "program",
        "report",
        pid,
        "--spent",
        "city=60,000,000",
        "--spent",
        "education_office=20000000",
        "--summary",
        "42 students, 12 sessions",
        "--file",
        str(document),
        "--json",
        as_=COORD,
        env=at("2026-12-21T10:00"),
    ).json
    assert reported["state"] == "under_evaluation"
    assert reported["report"] == {
        "spent": {"city": 60_000_000, "education_office": office},
        "summary": "42 students, 12 sessions",
        "by": COORD,
        "round": 1,
        "file": {
            "name": "결과보고서.pdf",
            "size": len(document.read_bytes()),
            "sha256": hashlib.sha256(document.read_bytes()).hexdigest(),
        },
    }
    assert reported["evaluations"] == {
        party: {"verdict": "pending", "score": None, "by": None, "comment": ""}
        for party in ("city", "education_office")
    }
    assert reported["scheduled"] == []
    assert reported["waiting_on"] == ["city", "education_office"]
    returned = jf(
        "program",
        "evaluate",
        pid,
        "return",
        "--score",
        "2",
        "--comment",
        "attach the attendance sheets",
        "--json",
        as_=CITY_EVALUATOR,
    ).json
    assert returned["state"] == "evaluation_due"
    assert returned["evaluations"]["city"] == {
        "verdict": "returned",
        "score": 2,
        "by": CITY_EVALUATOR,
        "comment": "attach the attendance sheets",
    }
    jf(
        "program",
        "report",
        pid,
        "--spent",
        "city=60000000",
        "--spent",
        "education_office=20000000",
        "--summary",
        "42 students, 12 sessions, attendance",
        as_=COORD,
        env=at("2026-12-22T10:00"),
    )
    out = jf("program", "evaluate", pid, "accept", "--score", "4", as_=CITY_EVALUATOR).out
    assert out.strip() == f"program {program_id} accept recorded: now under_evaluation"
    closed = jf(
        "program",
        "evaluate",
        pid,
        "accept",
        "--score",
        "5",
        "--comment",
        "훌륭함",
        "--json",
        as_=OE_EVALUATOR,
    ).json
    assert closed["state"] == "closed"
    assert closed["report"]["round"] == 2 and closed["report"]["file"] is None
    assert closed["evaluations"] == {
        "city": {"verdict": "accepted", "score": 4, "by": CITY_EVALUATOR, "comment": ""},
        "education_office": {
            "verdict": "accepted",
            "score": 5,
            "by": OE_EVALUATOR,
            "comment": "훌륭함",
        },
    }
    # Settlement: each commitment shrank to the reported spend; the rest went back.
    assert closed["committed"] == {"city": 60_000_000, "education_office": office}
    assert closed["disbursed"] == {"city": 50_000_000, "education_office": office}
    assert closed["scheduled"] == [] and closed["waiting_on"] == []

    entries, position, [history, audit] = check_books(
        jf, call("program", "history", pid, "--json"), call("audit", "verify")
    )
    assert {
        party: (row["held"], row["committed"], row["disbursed"], row["available"])
        for party, row in position.items()
    } == {
        "city": (0, 60_000_000, 50_000_000, CITY_ENVELOPE - 60_000_000),
        "education_office": (0, office, office, OE_ENVELOPE - office),
    }
    assert [(e["kind"], e["source"], e["party"], e["amount"], e["actor"]) for e in entries] == [
        ("hold", None, "city", city, "system"),
        ("hold", None, "education_office", office, "system"),
        ("commit", None, "city", city, CITY_OFFICER),
        ("commit", None, "education_office", office, OE_OFFICER),
        ("disburse", None, "city", 12_345_678, CITY_OFFICER),
        ("disburse", None, "education_office", office, OE_OFFICER),
        ("disburse", None, "city", 37_654_322, CITY_OFFICER),
        ("release", "committed", "city", 20_000_000, OE_EVALUATOR),
    ]
    assert {e["program"] for e in entries} == {program_id}
    assert {e["year"] for e in entries} == {YEAR}
    # Each entry is stamped with its command's clock (JOINTFLOW_NOW, Seoul time, in UTC).
    assert [e["at"] for e in entries][:5] == ["2026-02-02T00:00:00+00:00"] * 5
    assert entries[5]["at"] == "2026-06-01T01:00:00+00:00"

    types = [e["type"] for e in history.json]
    for expected in (
        "FundsCommitted",
        "ProgramFunded",
        "FundsDisbursed",
        "ProgramActivated",
        "EvaluationDue",
        "EvaluationReportSubmitted",
        "EvaluationReportReturned",
        "ProgramClosed",
        "CommitmentReleased",
    ):
        assert expected in types, (expected, types)
    assert types.count("FundsDisbursed") == 3 and types.count("ProgramActivated") == 1
    assert "audit chain verified" in audit.out


def test_cancelling_returns_undisbursed_money_and_the_waitlist_gets_it(jf: Money) -> None:
    city, office = 100_000_000, 100_000_000
    [program_id] = jf.approved({"city": city, "education_office": office})
    pid = str(program_id)
    # 430,000,000 of the office's envelope is left: a 450,000,000 ask must wait.
    created, _ = jf.many(
        call(*create_args({"education_office": 450_000_000}), as_=COORD),
        call("program", "commit", pid, as_=CITY_OFFICER),
    )
    waiting = str(created.json["id"])
    submitted, _ = jf.many(
        call("program", "submit", waiting, "--json", as_=COORD),
        call("program", "commit", pid, as_=OE_OFFICER),
    )
    assert submitted.json["state"] == "waitlisted" and submitted.json["holds"] == {}
    # Two officers paying out: each its own transaction, the tranches numbered in turn.
    paid = jf.many(
        call("program", "disburse", pid, "--amount", "30,000,000", as_=OE_OFFICER),
        call("program", "disburse", pid, "--amount", "40000000", as_=CITY_OFFICER),
    )
    assert sorted(r.out.split()[3] for r in paid) == ["1", "2"]
    started, report = jf.many(call("tick", "--json", env=at("2026-03-02T09:00")), call(*REPORT))
    assert started.json == {"activate: done": 1}
    assert money(report) == {
        "city": (0, city, 40_000_000),
        "education_office": (0, office, 30_000_000),
    }

    cancelled = jf(
        "program",
        "cancel",
        pid,
        "--reason",
        "school closed for renovation",
        "--json",
        as_=ADMIN,
        env=at("2026-05-11T14:00"),
    ).json
    assert cancelled["state"] == "cancelled"
    assert (
        cancelled["committed"]
        == cancelled["disbursed"]
        == {"city": 40_000_000, "education_office": 30_000_000}
    )
    assert cancelled["holds"] == {}
    assert cancelled["scheduled"] == []  # its run (the pending finish) was called off

    # The office's 70,000,000 came back: the waitlisted program got its hold (in-process).
    before = snapshot(jf.database)
    entries, position, [retried, by_program, office_only, city_of_program, history, not_ours] = (
        check_books(
            jf,
            call("program", "show", waiting, "--json"),
            call("budget", "ledger", "--program", pid, "--json"),
            call("budget", "ledger", "--party", "education_office", "--json"),
            call("budget", "ledger", "--party", "city", "--program", pid, "--json"),
            call("program", "history", pid, "--json"),
            # Nobody commits another party's share: the city funds none of this one.
            call("program", "commit", waiting, as_=CITY_OFFICER, code=1),
        )
    )
    assert snapshot(jf.database) == before
    assert "city is not one of its funding parties (education_office)" in not_ours.error_line
    assert retried.json["state"] == "in_review"
    assert retried.json["holds"] == {"education_office": 450_000_000}
    assert {
        party: (row["held"], row["committed"], row["disbursed"], row["available"])
        for party, row in position.items()
    } == {
        "city": (0, 40_000_000, 40_000_000, CITY_ENVELOPE - 40_000_000),
        "education_office": (450_000_000, 30_000_000, 30_000_000, 50_000_000),
    }

    releases = [
        (e["party"], e["amount"], e["source"], e["actor"], e["at"])
        for e in by_program.json
        if e["kind"] == "release"
    ]
    assert releases == [
        ("city", 60_000_000, "committed", ADMIN, "2026-05-11T05:00:00+00:00"),
        ("education_office", 70_000_000, "committed", ADMIN, "2026-05-11T05:00:00+00:00"),
    ]
    assert by_program.json == [e for e in entries if e["program"] == program_id]
    assert office_only.json == [e for e in entries if e["party"] == "education_office"]
    assert {e["program"] for e in office_only.json} == {program_id, int(waiting)}
    assert [e["kind"] for e in office_only.json if e["program"] == int(waiting)] == ["hold"]
    assert [(e["kind"], e["amount"]) for e in city_of_program.json] == [
        ("hold", city),
        ("commit", city),
        ("disburse", 40_000_000),
        ("release", 60_000_000),
    ]
    cancel_events = [e for e in history.json if e["type"] == "ProgramCancelled"]
    assert len(cancel_events) == 1 and cancel_events[0]["actor"] == ADMIN
    assert "school closed for renovation" in str(cancel_events[0]["data"])

    # At the end date only the waiting program's lapsed hold is due (no finish for the
    # cancelled one), and its money goes back too.
    lapsed, report = jf("tick", "--json", env=at("2026-12-18T00:00")), jf(*REPORT)
    assert lapsed.json == {"expire: done": 1}
    assert money(report)["education_office"] == (0, 30_000_000, 30_000_000)


def test_refused_money_actions_exit_1_name_the_problem_and_change_nothing(
    jf: Money, tmp_path: Path
) -> None:
    """Each refusal exits 1 with one line (2 for usage) and leaves the file as it was."""
    [program_id] = jf.approved(
        {"city": 80_000_000, "education_office": 20_000_000}, end=f"{YEAR}-06-30"
    )
    pid = str(program_id)
    jf("program", "commit", pid, as_=CITY_OFFICER)

    def refused(*calls: tuple[tuple[str, ...], dict[str, Any]]) -> list[Result]:
        before = snapshot(jf.database)
        results = jf.many(*calls)
        assert snapshot(jf.database) == before
        return results

    # Approved, the city committed.
    twice, too_early, no_party = refused(
        call("program", "commit", pid, as_=CITY_OFFICER, code=1),
        call("program", "disburse", pid, "--amount", "1000", as_=CITY_OFFICER, code=1),
        # No way to name the party you commit for: it is your organization.
        call("program", "commit", pid, "--party", "education_office", as_=CITY_OFFICER, code=2),
    )
    assert "city has already committed its share" in twice.error_line
    assert "80,000,000 KRW" in twice.error_line
    assert f"program {program_id}: it is approved" in too_early.error_line
    assert "--party" in no_party.usage_error

    jf("program", "commit", pid, as_=OE_OFFICER)
    jf("program", "disburse", pid, "--amount", "10,000,000", as_=CITY_OFFICER)
    missing = tmp_path / "missing.pdf"

    # Funded, 10,000,000 of the city's 80,000,000 paid out.
    too_much, coordinator, not_admin, abc, score, no_file = refused(
        call("program", "disburse", pid, "--amount", "70,000,001", as_=CITY_OFFICER, code=1),
        call("program", "evaluate", pid, "accept", as_=COORD, code=1),
        call("program", "cancel", pid, "--reason", "over budget", as_=CITY_APPROVER, code=1),
        call("program", "disburse", pid, "--amount", "abc", as_=CITY_OFFICER, code=2),
        call("program", "evaluate", pid, "accept", "--score", "7", as_=CITY_EVALUATOR, code=2),
        call(
            "program",
            "report",
            pid,
            "--spent",
            "city=1",
            "--spent",
            "education_office=1",
            "--summary",
            "s",
            "--file",
            str(missing),
            as_=COORD,
            code=2,
        ),
    )
    assert "only 70,000,000 KRW of its commitment is left" in too_much.error_line
    assert "evaluator" in coordinator.error_line and COORD in coordinator.error_line
    assert "admin" in not_admin.error_line and CITY_APPROVER in not_admin.error_line
    assert "abc" in abc.usage_error
    assert "--score" in score.usage_error and "1<=x<=5" in score.usage_error
    assert "missing.pdf" in no_file.usage_error and "does not exist" in no_file.usage_error

    # One sweep on July 1st: it starts and, its end date being past, finishes too.
    assert jf("tick", "--json", env=at("2026-07-01T09:00")).json == {
        "activate: done": 1,
        "finish: done": 1,
    }
    one_funder, over_committed = refused(
        call(
            "program",
            "report",
            pid,
            "--spent",
            "city=50000000",
            "--summary",
            "s",
            as_=COORD,
            code=1,
        ),
        call(
            "program",
            "report",
            pid,
            "--spent",
            "city=80,000,001",
            "--spent",
            "education_office=0",
            "--summary",
            "s",
            as_=COORD,
            code=1,
        ),
    )
    assert "report the actual spend for every funder" in one_funder.error_line
    assert "(got: city)" in one_funder.error_line
    assert "exceeds its commitment (80,000,000 KRW)" in over_committed.error_line

    entries, position, [history] = check_books(jf, call("program", "history", pid, "--json"))
    assert [e["kind"] for e in entries] == ["hold", "hold", "commit", "commit", "disburse"]
    assert money_of(position) == {
        "city": (0, 80_000_000, 10_000_000),
        "education_office": (0, 20_000_000, 0),
    }
    types = [e["type"] for e in history.json]
    # The refused reports left no mark but their refusals.
    assert types[types.index("EvaluationDue") + 1 :] == ["ActionRefused"] * 2
    assert types.count("ActionRefused") >= 6  # refused attempts are audited
