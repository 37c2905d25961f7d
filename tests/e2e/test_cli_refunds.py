"""``program refund``, ``budget envelope amend`` and ``program update --drop-request`` by
the command line: ``--json`` figures and exit codes (refusals exit 1, usage errors 2)."""

# ruff: noqa: F811 - the fixtures test_cli_money defines are imported, then asked for
from __future__ import annotations

from tests.e2e.test_cli import CITY_APPROVER, CITY_OFFICER, COORD, OE_OFFICER, YEAR
from tests.e2e.test_cli_money import (  # noqa: F401 - fixtures
    CITY_EVALUATOR,
    OE_EVALUATOR,
    REPORT,
    Money,
    at,
    jf,
    template,
)

DEC = "2026-12-20T10:00"  # after the run's end (2026-12-18)


def owing(jf: Money) -> str:
    """Funded, the city's 30,000,000 paid out, run, reported 20,000,000 spent."""
    [program_id] = jf.approved({"city": 80_000_000, "education_office": 20_000_000})
    pid = str(program_id)
    jf("program", "commit", pid, as_=CITY_OFFICER)
    jf("program", "commit", pid, as_=OE_OFFICER)
    jf("program", "disburse", pid, "--amount", "3000만", as_=CITY_OFFICER)
    jf("tick", env=at("2026-03-02T00:00"))
    jf("tick", env=at(DEC))
    jf("program", "report", pid, "--spent", "city=20,000,000", "--spent", "education_office=0",
       "--summary", "done", as_=COORD, env=at(DEC))  # fmt: skip
    return pid


def test_a_refund_is_recorded_in_parts_and_closes_the_accepted_program(jf: Money) -> None:
    pid = owing(jf)
    assert jf("program", "show", pid, "--json").json["refunds_due"] == {"city": 10_000_000}
    rows = {r["party"]: r for r in jf(*REPORT).json}
    assert rows["city"]["refund_due"] == 10_000_000
    for evaluator in (CITY_EVALUATOR, OE_EVALUATOR):
        jf("program", "evaluate", pid, "accept", as_=evaluator, env=at(DEC))
    part = jf("program", "refund", pid, "--party", "city", "--amount", "400만", "--memo", "1차",
              "--json", as_=CITY_OFFICER, env=at(DEC)).json  # fmt: skip
    assert part["refund"] == {"party": "city", "amount": 4_000_000}
    assert (part["state"], part["refunds_due"]) == ("under_evaluation", {"city": 6_000_000})
    last = jf("program", "refund", pid, "--amount", "6,000,000", as_=CITY_OFFICER, env=at(DEC))
    assert "closed" in last.out
    shown = jf("program", "show", pid, "--json").json
    assert shown["state"] == "closed" and shown["committed"]["city"] == 20_000_000
    ledger = jf("budget", "ledger", "--program", pid, "--json").json
    assert [e["amount"] for e in ledger if e["kind"] == "refund"] == [4_000_000, 6_000_000]


def test_refunds_not_due_or_not_theirs_exit_1_and_bad_amounts_exit_2(jf: Money) -> None:
    pid = owing(jf)
    too_much = jf("program", "refund", pid, "--amount", "10,000,001", as_=CITY_OFFICER, code=1)
    assert "only 10,000,000 KRW is due" in too_much.error_line
    jf("program", "refund", pid, "--amount", "1", as_=OE_OFFICER, code=1)
    jf("program", "refund", pid, "--amount", "1", as_=CITY_APPROVER, code=1)
    jf("program", "refund", pid, "--amount", "0", as_=CITY_OFFICER, code=1)
    jf("program", "refund", pid, "--amount", "1.5", as_=CITY_OFFICER, code=2)
    history = jf("program", "history", pid, "--json").json
    assert [e["type"] for e in history].count("ActionRefused") == 4
    assert jf("program", "show", pid, "--json").json["refunds_due"] == {"city": 10_000_000}


def test_an_envelope_is_amended_either_way_never_below_what_is_promised(jf: Money) -> None:
    amend = ("budget", "envelope", "amend", "--party", "city", "--year", str(YEAR))
    raised = jf(*amend, "--by", "+1억", "--reason", "제1회 추경", "--json", as_=CITY_OFFICER).json
    assert raised["by"] == 100_000_000 and raised["amount"] == raised["available"]
    before = {r["party"]: r for r in jf(*REPORT).json}["city"]["amount"]
    jf.approved({"city": 80_000_000})
    lowered = jf(*amend, "--by", "-5000만", "--reason", "감액", "--json", as_=CITY_OFFICER).json
    assert lowered["amount"] == before - 50_000_000
    refused = jf(*amend, "--by", f"-{lowered['amount']}", "--reason", "x", as_=CITY_OFFICER, code=1)
    assert "holds 80,000,000 KRW" in refused.error_line
    jf(*amend, "--by", "+1", "--reason", "x", as_=OE_OFFICER, code=1)
    jf(*amend, "--by", "++1", "--reason", "x", as_=CITY_OFFICER, code=2)
    jf(*amend, "--by", "1", "--reason", "  ", as_=CITY_OFFICER, code=1)
    ledger = jf("budget", "ledger", "--party", "city", "--json").json
    assert [(e["kind"], e["source"]) for e in ledger if e["kind"] == "amend"] == [
        ("amend", "raise"),
        ("amend", "lower"),
    ]


def test_an_update_names_only_the_funders_it_changes_and_prints_the_split(jf: Money) -> None:
    created = jf("program", "create", "--title", "t", "--org", "munsan-high", "--category",
                 "linkage", "--request", "city=80000000", "--request",
                 "education_office=20000000", "--year", str(YEAR), "--json", as_=COORD)  # fmt: skip
    pid = str(created.json["id"])
    merged = jf("program", "update", pid, "--request", "city=70000000", "--json", as_=COORD).json
    assert merged["requested"] == {"city": 70_000_000, "education_office": 20_000_000}
    dropped = jf("program", "update", pid, "--drop-request", "education_office", as_=COORD)
    assert "city ₩70,000,000" in dropped.out and "education_office" not in dropped.out
    jf("program", "update", pid, "--drop-request", "city", as_=COORD, code=1)
    jf("program", "update", pid, "--drop-request", "university", as_=COORD, code=1)
