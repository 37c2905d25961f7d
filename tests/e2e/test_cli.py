"""The ``jointflow`` command line end to end, in-process (``main(argv)``) on the embedded default.

One SQLite file (no broker: the holds are placed in-process before a command returns)
is set up through the CLI once for the module; each test makes its own programs in it.
Every refusal is checked the way a script sees it: the exit code (1 refused or
invalid, 2 usage), one clear line on stderr, and the program unchanged afterwards.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.runner import REPO, Env, Result, run_in_process, run_subprocess

YEAR = 2026
COORD = "coord@munsan-high.kr"
OTHER_COORD = "coord@paju-youth.kr"
CITY_APPROVER = "approver@paju.go.kr"
OE_APPROVER = "approver@goepj.kr"
CITY_OFFICER = "budget@paju.go.kr"
OE_OFFICER = "budget@goepj.kr"
CITY_COORD_APPROVER = "team@paju.go.kr"  # coordinator and approver in the city
CITY_ENVELOPE, OE_ENVELOPE = 1_930_000_000, 530_000_000


class Jointflow:
    """Runs the ``jointflow`` command line against one database: in this process by
    default (``main(argv)``, see ``tests.e2e.runner``), or each call as a real process."""

    def __init__(self, env: Env, *, subprocess: bool = False) -> None:
        self.env = env
        self.subprocess = subprocess

    def __call__(
        self, *args: str, as_: str | None = None, code: int = 0, env: Env | None = None
    ) -> Result:
        argv = [*(["--as", as_] if as_ else []), *args]
        run = run_subprocess if self.subprocess else run_in_process
        result = run(argv, {**self.env, **(env or {})})
        assert result.code == code, f"expected exit {code}: {result}"
        return result

    def many(self, *calls: tuple[tuple[str, ...], dict[str, Any]]) -> list[Result]:
        """Independent commands, each its own transaction: at once as separate processes,
        one after the other in this process (its streams and environment are global)."""
        if not self.subprocess:
            return [self(*args, **kwargs) for args, kwargs in calls]
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(self, *args, **kwargs) for args, kwargs in calls]
            return [f.result() for f in futures]

    def show(self, program_id: int) -> dict[str, Any]:
        detail: dict[str, Any] = self("program", "show", str(program_id), "--json").json
        return detail

    def create(
        self,
        as_: str = COORD,
        org: str = "munsan-high",
        city: int = 80_000_000,
        education_office: int = 20_000_000,
        title: str = "Linkage program",
    ) -> int:
        result = self(
            "program",
            "create",
            "--title",
            title,
            "--org",
            org,
            "--category",
            "linkage",
            "--request",
            f"city={city}",
            "--request",
            f"education_office={education_office:,}",
            "--start",
            f"{YEAR}-03-02",
            "--end",
            f"{YEAR}-12-18",
            "--json",
            as_=as_,
        )
        program_id: int = result.json["id"]
        return program_id

    def in_review(self, as_: str = COORD, org: str = "munsan-high") -> int:
        program_id = self.create(as_=as_, org=org)
        assert (
            self("program", "submit", str(program_id), "--json", as_=as_).json["state"]
            == "in_review"
        )
        return program_id


def call(*args: str, **kwargs: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    return args, kwargs


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli") / "jointflow.db"


@pytest.fixture(scope="module")
def jf(database: Path) -> Jointflow:
    """The Paju setting, made by an operator and the budget officers through the CLI."""
    jf = Jointflow(
        {
            "JOINTFLOW_DATABASE_URL": f"sqlite:///{database}",
            "XDG_DATA_HOME": str(database.parent / "xdg"),
        }
    )
    assert "revision" in jf("db", "upgrade").out
    added = jf.many(
        call("org", "add", "city", "--name", "Paju City", "--funder"),
        call("org", "add", "education_office", "--name", "Paju Office of Education", "--funder"),
        call("org", "add", "munsan-high", "--name", "Munsan High School"),
        call("org", "add", "paju-youth", "--name", "Paju Youth Centre", "--json"),
    )
    assert added[0].out.strip() == "organization city added"
    assert added[3].json == {"key": "paju-youth"}
    jf.many(
        *[
            call(
                "user",
                "add",
                email,
                "--name",
                email.split("@")[0],
                "--org",
                org,
                *[arg for role in roles for arg in ("--role", role)],
            )
            for email, org, roles in [
                (COORD, "munsan-high", ["coordinator"]),
                (OTHER_COORD, "paju-youth", ["coordinator"]),
                (CITY_APPROVER, "city", ["approver"]),
                (OE_APPROVER, "education_office", ["approver"]),
                (CITY_OFFICER, "city", ["budget_officer"]),
                (OE_OFFICER, "education_office", ["budget_officer"]),
                (CITY_COORD_APPROVER, "city", ["coordinator", "approver"]),
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
            f"{CITY_ENVELOPE:,}",
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
    return jf


def balances(database: Path) -> dict[str, tuple[int, int]]:
    """The envelopes' (held, committed) read straight from the file, to compare around refusals."""
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT party, held, committed FROM envelopes").fetchall()
    return {party: (held, committed) for party, held, committed in rows}


def program_count(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        count: int = conn.execute("SELECT count(*) FROM programs").fetchone()[0]
    return count


def position(jf: Jointflow) -> dict[str, dict[str, int]]:
    report = jf("budget", "report", "--year", str(YEAR), "--json").json
    for row in report:
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
        assert row["available"] == row["amount"] - row["held"] - row["committed"]
    return {row["party"]: row for row in report}


def test_a_program_goes_from_draft_through_joint_review_to_approved(
    jf: Jointflow, database: Path
) -> None:
    before = balances(database)
    program_id = jf.create()
    jf(
        "program",
        "update",
        str(program_id),
        "--title",
        "Munsan–Paju University linkage",
        "--request",
        "city=90,000,000",
        "--request",
        "education_office=20000000",
        as_=COORD,
    )
    # JOINTFLOW_USER acts like --as; the holds are placed before submit returns.
    submitted = jf(
        "program", "submit", str(program_id), "--json", env={"JOINTFLOW_USER": COORD}
    ).json
    assert submitted["state"] == "in_review"

    detail = jf.show(program_id)
    assert {"id", "state", "workflow", "parties", "requested", "holds"} <= set(detail)
    assert detail["id"] == program_id and detail["workflow"] == "joint-program@4"
    assert detail["title"] == "Munsan–Paju University linkage"
    assert detail["parties"] == {"city": "pending", "education_office": "pending"}
    assert detail["requested"] == {"city": 90_000_000, "education_office": 20_000_000}
    assert detail["holds"] == detail["requested"]
    decided = jf(
        "program",
        "decide",
        str(program_id),
        "approve",
        "--comment",
        "좋습니다",
        "--json",
        as_=CITY_APPROVER,
    ).json
    assert decided["parties"] == {"city": "approved", "education_office": "pending"}
    on_city, on_office = jf.many(
        call("program", "list", "--waiting-on", "city", "--json"),
        call("program", "list", "--waiting-on", "education_office", "--json"),
    )
    assert program_id not in [row["id"] for row in on_city.json]
    assert program_id in [row["id"] for row in on_office.json]
    out = jf("program", "decide", str(program_id), "approve", as_=OE_APPROVER).out
    assert "approved" in out

    approved = jf("program", "list", "--state", "approved", "--org", "munsan-high", "--json").json
    assert {"id", "title", "state"} <= set(approved[0])
    assert {r["state"] for r in approved} == {"approved"}
    assert program_id in [r["id"] for r in approved]

    history = jf("program", "history", str(program_id), "--json").json
    assert all(set(e) == {"seq", "type", "actor", "at", "data"} for e in history)
    assert [e["seq"] for e in history] == list(range(1, len(history) + 1))
    types = [e["type"] for e in history]
    for expected in (
        "ProgramCreated",
        "ProgramUpdated",
        "ProgramSubmitted",
        "BudgetHeld",
        "ReviewStarted",
        "PartyApproved",
        "ProgramApproved",
    ):
        assert expected in types, types
    assert types.count("BudgetHeld") == 2 and types.count("ProgramApproved") == 1
    assert {e["actor"] for e in history if e["type"] == "PartyApproved"} == {
        CITY_APPROVER,
        OE_APPROVER,
    }

    after = position(jf)
    assert after["city"]["held"] - before["city"][0] == 90_000_000
    assert after["education_office"]["held"] - before["education_office"][0] == 20_000_000
    assert after["city"]["amount"] == CITY_ENVELOPE
    assert after["education_office"]["amount"] == OE_ENVELOPE


def test_changes_requested_revised_resubmitted_and_withdrawn_releases_the_holds(
    jf: Jointflow, database: Path
) -> None:
    before = balances(database)
    program_id = jf.in_review()
    sent_back = jf(
        "program",
        "decide",
        str(program_id),
        "request-changes",
        "--comment",
        "split the cost differently",
        "--json",
        as_=OE_APPROVER,
    ).json
    assert sent_back["state"] == "revision_requested"
    jf(
        "program",
        "update",
        str(program_id),
        "--request",
        "city=80000000",
        "--request",
        "education_office=30000000",
        as_=COORD,
    )
    again = jf("program", "submit", str(program_id), "--json", as_=COORD).json
    assert again["state"] == "in_review" and again["review_round"] == 2
    assert again["parties"] == {"city": "pending", "education_office": "pending"}
    assert again["holds"] == {"city": 80_000_000, "education_office": 30_000_000}

    gone = jf(
        "program",
        "withdraw",
        str(program_id),
        "--reason",
        "school year changed",
        "--json",
        as_=COORD,
    ).json
    assert gone["state"] == "withdrawn" and gone["holds"] == {}
    assert {party: (row["held"], row["committed"]) for party, row in position(jf).items()} == before


def test_refused_actions_exit_1_name_the_problem_and_change_nothing(
    jf: Jointflow, database: Path
) -> None:
    program_id = jf.in_review()
    pid = str(program_id)
    before, programs_before, budget_before = (
        jf.show(program_id),
        program_count(database),
        balances(database),
    )

    refused = jf.many(
        call("program", "show", "999999", code=1),
        call("program", "decide", pid, "approve", as_=COORD, code=1),
        call("program", "withdraw", pid, as_=CITY_APPROVER, code=1),
        call("program", "withdraw", pid, as_=OTHER_COORD, code=1),
        call("program", "update", pid, "--title", "late edit", as_=COORD, code=1),
        call("program", "submit", pid, code=1),
        call("program", "submit", pid, as_="nobody@nowhere.kr", code=1),
        call(
            "program",
            "create",
            "--title",
            "T",
            "--org",
            "munsan-high",
            "--category",
            "linkage",
            "--year",
            str(YEAR),
            "--request",
            "city=-5",
            as_=COORD,
            code=1,
        ),
        call(
            "program",
            "create",
            "--title",
            "T",
            "--org",
            "munsan-high",
            "--category",
            "astronomy",
            "--year",
            str(YEAR),
            "--request",
            "city=5",
            as_=COORD,
            code=1,
        ),
        call(
            "program",
            "create",
            "--title",
            "T",
            "--org",
            "paju-youth",
            "--category",
            "linkage",
            "--year",
            str(YEAR),
            "--request",
            "city=5",
            as_=COORD,
            code=1,
        ),
        call(
            "budget",
            "envelope",
            "add",
            "--party",
            "education_office",
            "--year",
            "2027",
            "--amount",
            "1000",
            as_=CITY_OFFICER,
            code=1,
        ),
        call(
            "budget",
            "envelope",
            "add",
            "--party",
            "city",
            "--year",
            "2027",
            "--amount",
            str(10**13),
            as_=CITY_OFFICER,
            code=1,
        ),
    )
    lines = [r.error_line for r in refused]
    expected = [
        "program 999999 does not exist",
        "needs the approver role",
        "needs the coordinator role",
        "belongs to munsan-high",
        "cannot update",
        "needs an acting user",
        "nobody@nowhere.kr",
        "greater than 0",
        "unknown category 'astronomy'",
        "may not create programs",
        "may not manage education_office",
        "below 10^13",
    ]
    for line, words in zip(lines, expected, strict=True):
        assert words in line, (line, words)

    usage = jf.many(
        call(
            "program",
            "create",
            "--title",
            "T",
            "--org",
            "munsan-high",
            "--category",
            "linkage",
            "--year",
            str(YEAR),
            "--request",
            "city=abc",
            as_=COORD,
            code=2,
        ),
        call(
            "program",
            "create",
            "--org",
            "munsan-high",
            "--category",
            "linkage",
            "--request",
            "city=5",
            as_=COORD,
            code=2,
        ),
        call(
            "budget",
            "envelope",
            "add",
            "--party",
            "city",
            "--year",
            "2027",
            "--amount",
            "1.5e9",
            as_=CITY_OFFICER,
            code=2,
        ),
        call("program", "decide", pid, "maybe", as_=CITY_APPROVER, code=2),
        # There is no way to name the party you decide for: it is your organization.
        call(
            "program",
            "decide",
            pid,
            "approve",
            "--party",
            "education_office",
            as_=CITY_APPROVER,
            code=2,
        ),
    )
    for result, words in zip(
        usage, ["city=abc", "--title", "1.5e9", "maybe", "--party"], strict=True
    ):
        assert words in result.usage_error, result

    assert jf.show(program_id) == before
    assert program_count(database) == programs_before
    assert balances(database) == budget_before
    refusals = [
        e for e in jf("program", "history", pid, "--json").json if e["type"] == "ActionRefused"
    ]
    assert len(refusals) >= 6  # refused attempts on this program are audited too

    # A city approver's decision is always the city's: the office's side stays pending,
    # and deciding again (for any side) is refused.
    city_only = jf("program", "decide", pid, "approve", "--json", as_=CITY_APPROVER).json
    assert city_only["parties"] == {"city": "approved", "education_office": "pending"}
    assert (
        "already decided"
        in jf("program", "decide", pid, "reject", as_=CITY_APPROVER, code=1).error_line
    )
    assert jf.show(program_id) == city_only


def test_nobody_decides_on_a_program_they_created_and_submitted(jf: Jointflow) -> None:
    program_id = jf.in_review(as_=CITY_COORD_APPROVER, org="city")
    before = jf.show(program_id)
    line = jf(
        "program", "decide", str(program_id), "approve", as_=CITY_COORD_APPROVER, code=1
    ).error_line
    assert "separation of duties" in line
    assert jf.show(program_id) == before


def test_audit_verify_and_workflow_definitions(
    jf: Jointflow, database: Path, tmp_path: Path
) -> None:
    assert "audit chain verified" in jf("audit", "verify").out
    refused = jf("audit", "verify", as_=CITY_COORD_APPROVER, code=1).error_line
    assert "needs the admin role" in refused
    good = REPO / "config" / "workflows" / "joint-program.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        good.read_text().replace(
            "  withdrawn:          {type: final}",
            "  withdrawn:          {type: final}\n  limbo: {type: human, role: coordinator, "
            "sla_days: 3}",
        )
    )
    tampered = tmp_path / "tampered.db"
    with sqlite3.connect(database) as source, sqlite3.connect(tampered) as copy:
        source.backup(copy)
        copy.execute("DROP TRIGGER events_no_update")
        event_id = copy.execute(
            "SELECT id FROM events WHERE type = 'PartyApproved' ORDER BY id LIMIT 1"
        ).fetchone()[0]
        copy.execute("UPDATE events SET actor = 'someone@else.kr' WHERE id = ?", (event_id,))
    valid, invalid, mermaid, broken = jf.many(
        call("workflow", "validate", str(good)),
        call("workflow", "validate", str(bad), code=1),
        call("workflow", "show", "--format", "mermaid"),
        call("audit", "verify", env={"JOINTFLOW_DATABASE_URL": f"sqlite:///{tampered}"}, code=1),
    )
    assert "is valid" in valid.out and "parties: city, education_office" in valid.out
    assert "'limbo'" in invalid.error_line and "unreachable" in invalid.error_line
    assert mermaid.out.startswith("stateDiagram-v2")
    assert "draft --> submitted: submit" in mermaid.out
    assert f"event {event_id} " in broken.error_line
    assert "content does not match its hash" in broken.error_line
