"""``jointflow demo`` end to end: the whole year on the embedded default, as a newcomer runs it.

The demo itself is a real subprocess with an empty HOME and no JOINTFLOW_* settings: the
demo must find its SQLite file on its own, play February to December, and leave a
database whose pipeline, ledger and audit chain hold up when read back through the CLI
(in-process, with the same HOME and no settings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.runner import Result, run_in_process, run_subprocess


def jointflow(home: Path, *args: str, subprocess: bool = False) -> Result:
    env = {"HOME": str(home), "XDG_DATA_HOME": None}
    if subprocess:
        return run_subprocess(args, env, timeout=300)
    return run_in_process(args, env)


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    home = tmp_path_factory.mktemp("home")
    result = jointflow(home, "demo", subprocess=True)
    assert result.code == 0, result.err
    return home, result.out


def as_json(home: Path, *args: str) -> Any:
    result = jointflow(home, *args, "--json")
    assert result.code == 0, result.err
    return result.json


def test_the_demo_plays_the_whole_year_to_closed_programs(played: tuple[Path, str]) -> None:
    home, out = played
    pipeline = {}
    for row in as_json(home, "program", "list"):
        pipeline[row["state"]] = pipeline.get(row["state"], 0) + 1
    assert pipeline == {
        "closed": 21, "cancelled": 1, "expired": 1, "rejected": 1, "withdrawn": 1,
        "in_review": 3,  # the next year's first proposals, left for the visitor
    }  # fmt: skip
    assert "#25 retried from the waitlist" in out  # money released by a lapsed hold
    assert "settled, unspent back" in out
    # Paid more than it spent, #13 closes once its refund is back (반납), in parts.
    assert out.count("#13 refund received: city") == 2
    assert "#13 refund received: education_office 4,000,000원 -> closed" in out
    # Next year's third proposal waits until the supplementary budget (추경) lets it in.
    assert "supplementary budget (추경): education_office 2027 +500,000,000원" in out
    assert "#28 retried from the waitlist after the 추경   -> in_review" in out
    assert "Audit chain:" in out and "verified" in out


def test_the_demo_shows_inboxes_a_delegation_and_the_reminders(played: tuple[Path, str]) -> None:
    home, out = played
    assert "inbox of kang.hyewon@goe.go.kr: 2 task(s)" in out
    assert "for kang.hyewon@goe.go.kr" in out  # the deputy's inbox while she is on leave
    assert "approve by oh.taeyang for kang.hyewon" in out
    assert "reminder digest to kang.hyewon@goe.go.kr" in out
    assert "escalation to oh.taeyang@goe.go.kr" in out
    # The budget officer hears of the lapsed hold and the waitlisted program's money at once.
    assert "budget notice to han.jiyoung@goe.go.kr: [jointflow] 예산 알림: " in out
    assert "예산 보류 기한(2026-06-04)이 지나 보류액이 해제되었습니다" in out
    assert "예산이 확보되어 심사를 시작합니다" in out
    decided = [
        e
        for e in as_json(home, "program", "history", "22")
        if e["type"] == "PartyApproved" and e["data"]["party"] == "education_office"
    ]
    assert [(e["actor"], e["data"].get("acting_for")) for e in decided] == [
        ("oh.taeyang@goe.go.kr", "kang.hyewon@goe.go.kr")
    ]
    messages = jointflow(home, "--as", "kang.hyewon@goe.go.kr", "notifications", "list", "--json")
    digests = [m for m in messages.json if m["kind"] == "reminder_digest"]
    assert len({m["created_at"][:10] for m in digests}) == len(digests) >= 2  # one a day
    assert {m["kind"] for m in messages.json} == {"reminder_digest", "review_request"}


def test_the_year_ends_with_every_won_accounted_for(played: tuple[Path, str]) -> None:
    home, _ = played
    report = {row["party"]: row for row in as_json(home, "budget", "report", "--year", "2026")}
    entries = as_json(home, "budget", "ledger")
    for party, row in report.items():
        mine = [e for e in entries if e["party"] == party and e["year"] == 2026]

        def total(
            kind: str, source: str | None = None, entries: list[dict[str, Any]] = mine
        ) -> int:
            return sum(
                e["amount"]
                for e in entries
                if e["kind"] == kind and (source is None or e["source"] == source)
            )

        assert row["held"] == 0
        assert row["held"] == total("hold") - total("release", "held") - total("commit")
        assert row["committed"] == (
            total("commit") - total("release", "committed") - total("refund")
        )
        assert row["disbursed"] == total("disburse") - total("refund")
        assert row["refund_due"] == 0
        assert row["committed"] == row["disbursed"]  # settled: what is left was paid out
        assert row["available"] == row["amount"] - row["committed"] > 0
    assert sum(e["amount"] for e in entries if e["kind"] == "refund") == 12_000_000
    next_year = {row["party"]: row for row in as_json(home, "budget", "report", "--year", "2027")}
    amended = [e for e in entries if e["kind"] == "amend"]
    assert [(e["party"], e["year"], e["source"], e["amount"]) for e in amended] == [
        ("education_office", 2027, "raise", 500_000_000)
    ]
    assert next_year["education_office"]["amount"] == 550_000_000
    assert jointflow(home, "audit", "verify").code == 0


def test_a_closed_program_shows_its_report_evaluations_and_settlement(
    played: tuple[Path, str],
) -> None:
    home, _ = played
    detail = as_json(home, "program", "show", "4")
    assert detail["state"] == "closed"
    assert detail["report"]["spent"] == detail["committed"]
    assert {e["verdict"] for e in detail["evaluations"].values()} == {"accepted"}
    history = [e["type"] for e in as_json(home, "program", "history", "4")]
    for event in ("ProgramFunded", "ProgramActivated", "EvaluationDue", "ProgramClosed"):
        assert history.count(event) == 1, event
    assert history.count("CommitmentReleased") == 2  # the unspent part of each funder's share


def test_the_demo_refuses_a_database_that_holds_data_until_reset(played: tuple[Path, str]) -> None:
    home, _ = played
    again = jointflow(home, "demo")
    assert again.code == 1
    assert "already holds data" in again.err and "--reset" in again.err
    assert jointflow(home, "demo", "--reset").code == 0
