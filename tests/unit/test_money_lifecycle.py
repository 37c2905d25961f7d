"""The money lifecycle of one program, pure domain: commitment, tranches, the run, evaluation.

Programs are built straight in a state (no database) and the one shared machine of
config/workflows/joint-program.yaml is fired on them, as in test_transitions.py.
Money moves are checked as the ledger moves the program hands to the repository, and
due times as the scheduled work it asks for.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import yaml

from config.settings import WORKFLOWS_DIR
from workflow.domain import events as ev
from workflow.domain.definition import parse_definition
from workflow.domain.errors import Conflict, InvalidInput, NotPermitted, TransitionNotAllowed
from workflow.domain.machine import GUARDS, WorkflowMachine
from workflow.domain.program import (
    DISBURSING_STATES,
    EvaluationReport,
    LedgerMove,
    Program,
    ProgramContent,
    ScheduledWork,
)

RAW = yaml.safe_load((WORKFLOWS_DIR / "joint-program.yaml").read_text(encoding="utf-8"))
DEFINITION = parse_definition(RAW, "joint-program.yaml", GUARDS)
MACHINE = WorkflowMachine(DEFINITION)

COORDINATOR = "coord@munsan-high.kr"
CITY_OFFICER = "budget@paju.go.kr"
OE_OFFICER = "budget@goepj.kr"
OFFICER_OF = {"city": CITY_OFFICER, "education_office": OE_OFFICER}
CITY_EVALUATOR = "eval@paju.go.kr"
OE_EVALUATOR = "eval@goepj.kr"
EVALUATOR_OF = {"city": CITY_EVALUATOR, "education_office": OE_EVALUATOR}
PARTIES = ("city", "education_office")
YEAR = 2026
REQUESTS = {"city": 80_000_000, "education_office": 20_000_000}
HELD_AT = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
EXPIRES_AT = HELD_AT + timedelta(days=120)
STATES = tuple(DEFINITION.states)


def program_in(
    state: str,
    *,
    requests: dict[str, int] | None = None,
    held: dict[str, int] | None = None,
    committed: dict[str, int] | None = None,
    disbursed: dict[str, int] | None = None,
    start: date | None = None,
    end: date | None = None,
    expires_at: datetime | None = None,
) -> Program:
    """A saved-looking program (id 7) put straight into ``state`` with the given money."""
    content = ProgramContent(
        title="High school–university linkage",
        category="linkage",
        requests=dict(requests or REQUESTS),
        fiscal_year=YEAR,
        start=start,
        end=end,
    )
    program = Program.create(DEFINITION, "munsan-high", content, COORDINATOR)
    program.id = 7
    program.state = state
    program.submitted_by = {COORDINATOR}
    program.holds = dict(held or {})
    program.committed = dict(committed or {})
    program.disbursed = dict(disbursed or {})
    program.holds_expire_at = expires_at
    program.events.clear()
    return program


def approved(**kwargs: object) -> Program:
    """Approved by both parties, every share held, its holds due to lapse 120 days on."""
    return program_in("approved", held=dict(REQUESTS), expires_at=EXPIRES_AT, **kwargs)  # type: ignore[arg-type]


def funded(state: str = "funded", **kwargs: object) -> Program:
    return program_in(state, committed=dict(REQUESTS), **kwargs)  # type: ignore[arg-type]


def under_evaluation(spent: dict[str, int], disbursed: dict[str, int] | None = None) -> Program:
    program = funded("evaluation_due", disbursed=disbursed)
    program.submit_report(MACHINE, EvaluationReport(dict(spent), "done", COORDINATOR))
    program.events.clear()
    return program


def types(program: Program) -> list[str]:
    return [e.type for e in program.events]


def seoul_midnight(day: date) -> datetime:
    """00:00 in Seoul (UTC+9, no daylight saving) written out by hand, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=9)


def snapshot(program: Program) -> tuple[object, ...]:
    return (
        program.state,
        dict(program.holds),
        dict(program.committed),
        dict(program.disbursed),
        program.tranches,
        list(program.events),
        list(program.ledger_moves),
        list(program.scheduled),
        program.holds_expire_at,
        {p: (e.verdict, e.by) for p, e in program.evaluations.items()},
    )


# -- commitment ---------------------------------------------------------------------


@pytest.mark.parametrize("party", PARTIES)
def test_one_funder_committing_turns_its_hold_into_a_commitment_and_waits_for_the_other(
    party: str,
) -> None:
    program = approved()

    amount = program.commit(MACHINE, party, OFFICER_OF[party])

    other = next(p for p in PARTIES if p != party)
    assert amount == REQUESTS[party]
    assert program.state == "approved"
    assert program.committed == {party: REQUESTS[party]}
    assert program.holds == {other: REQUESTS[other]}
    assert program.ledger_moves == [
        LedgerMove("commit", party, YEAR, REQUESTS[party], f"commit:7:{party}")
    ]
    assert program.events[0].type == ev.FUNDS_COMMITTED
    assert program.events[0].data == {"party": party, "amount": REQUESTS[party]}
    assert ev.FUNDS_COMMITTED in types(program) and "ProgramFunded" not in types(program)
    assert program.scheduled == []
    assert program.holds_expire_at == EXPIRES_AT  # the other hold can still lapse
    assert program.called_off == []
    assert program.pending_parties() == [other]


def test_the_program_is_funded_only_when_every_funder_has_committed() -> None:
    program = approved()

    program.commit(MACHINE, "city", CITY_OFFICER)
    program.commit(MACHINE, "education_office", OE_OFFICER)

    assert program.state == "funded"
    assert program.holds == {}
    assert program.committed == REQUESTS
    assert types(program) == [ev.FUNDS_COMMITTED, ev.FUNDS_COMMITTED, "ProgramFunded"]
    assert program.ledger_moves == [
        LedgerMove("commit", "city", YEAR, 80_000_000, "commit:7:city"),
        LedgerMove("commit", "education_office", YEAR, 20_000_000, "commit:7:education_office"),
    ]
    # Nothing is held any more, so nothing can lapse: the pending expiry is called off.
    assert program.holds_expire_at is None
    assert program.called_off == ["expire"]
    assert program.pending_parties() == []


def test_a_single_funder_program_is_funded_by_its_one_commitment() -> None:
    program = program_in(
        "approved", requests={"city": 50_000_000}, held={"city": 50_000_000}, expires_at=EXPIRES_AT
    )

    program.commit(MACHINE, "city", CITY_OFFICER)

    assert program.state == "funded"
    assert program.committed == {"city": 50_000_000}


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (date(2026, 3, 2), datetime(2026, 3, 1, 15, 0, tzinfo=UTC)),
        (date(2026, 9, 1), datetime(2026, 8, 31, 15, 0, tzinfo=UTC)),
        (None, datetime(2025, 12, 31, 15, 0, tzinfo=UTC)),  # Jan 1 of the fiscal year
    ],
)
def test_funding_schedules_the_activation_at_the_start_of_the_start_day_in_seoul(
    start: date | None, due: datetime
) -> None:
    program = approved(start=start)

    program.commit(MACHINE, "education_office", OE_OFFICER)
    assert program.scheduled == []
    program.commit(MACHINE, "city", CITY_OFFICER)

    assert program.scheduled == [ScheduledWork("activate", due, "activate:7")]
    assert due == seoul_midnight(start or date(YEAR, 1, 1))


@pytest.mark.parametrize("party", PARTIES)
def test_a_second_commitment_of_the_same_party_is_a_conflict_that_changes_nothing(
    party: str,
) -> None:
    program = approved()
    program.commit(MACHINE, party, OFFICER_OF[party])
    before = snapshot(program)

    with pytest.raises(Conflict, match=f"{party} has already committed its share of program 7"):
        program.commit(MACHINE, party, "other@officer.kr")

    assert snapshot(program) == before


def test_committing_again_after_funding_is_a_conflict() -> None:
    program = approved()
    for party in PARTIES:
        program.commit(MACHINE, party, OFFICER_OF[party])

    with pytest.raises(Conflict, match="already committed"):
        program.commit(MACHINE, "city", CITY_OFFICER)
    assert program.state == "funded"


@pytest.mark.parametrize("state", [s for s in STATES if s != "approved"])
def test_committing_outside_approved_is_refused(state: str) -> None:
    program = program_in(state, held=dict(REQUESTS))
    before = snapshot(program)

    with pytest.raises(TransitionNotAllowed, match=f"it is {state}, not approved"):
        program.commit(MACHINE, "city", CITY_OFFICER)

    assert snapshot(program) == before


def test_a_party_that_funds_no_share_cannot_commit() -> None:
    program = program_in("approved", requests={"city": 80_000_000}, held={"city": 80_000_000})
    before = snapshot(program)

    with pytest.raises(NotPermitted, match="education_office is not a funding party of program 7"):
        program.commit(MACHINE, "education_office", OE_OFFICER)

    assert snapshot(program) == before


# -- disbursement -------------------------------------------------------------------


def test_tranches_are_numbered_per_program_across_funders() -> None:
    program = funded()

    tranches = [
        program.disburse("city", 30_000_000, "spring term"),
        program.disburse("education_office", 20_000_000),
        program.disburse("city", 50_000_000, "autumn term"),
    ]

    assert tranches == [1, 2, 3]
    assert program.tranches == 3
    assert program.disbursed == {"city": 80_000_000, "education_office": 20_000_000}
    assert program.committed == REQUESTS  # disbursed money stays counted as committed
    assert program.ledger_moves == [
        LedgerMove("disburse", "city", YEAR, 30_000_000, "disburse:7:1"),
        LedgerMove("disburse", "education_office", YEAR, 20_000_000, "disburse:7:2"),
        LedgerMove("disburse", "city", YEAR, 50_000_000, "disburse:7:3"),
    ]
    assert [e.data for e in program.events] == [
        {"party": "city", "amount": 30_000_000, "tranche": 1, "memo": "spring term"},
        {"party": "education_office", "amount": 20_000_000, "tranche": 2, "memo": ""},
        {"party": "city", "amount": 50_000_000, "tranche": 3, "memo": "autumn term"},
    ]
    assert set(types(program)) == {ev.FUNDS_DISBURSED}


def test_a_tranche_may_take_exactly_what_is_left_of_the_commitment_and_no_more() -> None:
    program = funded(disbursed={"city": 30_000_000})
    before = snapshot(program)

    with pytest.raises(InvalidInput, match="only 50,000,000 KRW of its commitment is left"):
        program.disburse("city", 50_000_001)
    assert snapshot(program) == before

    assert program.disburse("city", 50_000_000) == 1
    with pytest.raises(InvalidInput, match="only 0 KRW"):
        program.disburse("city", 1)
    assert program.disbursed["city"] == 80_000_000


def test_while_a_report_stands_a_tranche_may_not_pay_out_more_than_the_reported_spend() -> None:
    """Else settlement, which keeps the reported spend committed, would leave more paid
    out than committed (hypothesis found it: report 0 spent, then pay 1,000,000)."""
    program = under_evaluation(
        {"city": 60_000_000, "education_office": 0}, disbursed={"city": 50_000_000}
    )
    before = snapshot(program)

    with pytest.raises(InvalidInput, match="only 10,000,000 KRW of the reported spend is left"):
        program.disburse("city", 10_000_001)
    with pytest.raises(InvalidInput, match="only 0 KRW of the reported spend"):
        program.disburse("education_office", 1)
    assert snapshot(program) == before

    assert program.disburse("city", 10_000_000) == 1


def test_a_party_without_a_commitment_has_nothing_to_disburse() -> None:
    program = funded(requests={"city": 80_000_000})
    program.committed = {"city": 80_000_000}

    with pytest.raises(InvalidInput, match="only 0 KRW"):
        program.disburse("education_office", 1_000_000)
    assert program.ledger_moves == []


@pytest.mark.parametrize("amount", [0, -5, 10**13, 1.5, True])
def test_a_tranche_must_be_a_positive_whole_amount_of_won(amount: object) -> None:
    program = funded()
    with pytest.raises(InvalidInput):
        program.disburse("city", amount)  # type: ignore[arg-type]
    assert program.tranches == 0 and program.ledger_moves == []


@pytest.mark.parametrize("state", DISBURSING_STATES)
def test_money_is_paid_out_from_funding_to_after_closing(state: str) -> None:
    assert funded(state).disburse("city", 1_000_000) == 1


@pytest.mark.parametrize("state", [s for s in STATES if s not in DISBURSING_STATES])
def test_money_is_not_paid_out_before_funding_or_after_the_program_ended_otherwise(
    state: str,
) -> None:
    program = funded(state)
    before = snapshot(program)

    with pytest.raises(TransitionNotAllowed, match=f"it is {state}"):
        program.disburse("city", 1_000_000)

    assert snapshot(program) == before


def test_disbursement_states_are_exactly_those_after_funding_but_not_cancelled_or_expired() -> None:
    assert set(DISBURSING_STATES) == {
        "funded",
        "active",
        "evaluation_due",
        "under_evaluation",
        "closed",
    }


# -- the run, moved by the scheduled worker -----------------------------------------


@pytest.mark.parametrize(
    ("end", "finish_due"),
    [
        (date(2026, 11, 30), datetime(2026, 11, 30, 15, 0, tzinfo=UTC)),  # 12-01 00:00 Seoul
        (None, datetime(2026, 12, 31, 15, 0, tzinfo=UTC)),  # after Dec 31 of the fiscal year
    ],
)
def test_activation_starts_the_run_and_schedules_its_end_when_the_end_date_is_over_in_seoul(
    end: date | None, finish_due: datetime
) -> None:
    program = funded(start=date(2026, 3, 2), end=end)

    assert program.run_scheduled(MACHINE, "activate", seoul_midnight(date(2026, 3, 2))) is True

    assert program.state == "active"
    assert types(program) == ["ProgramActivated"]
    assert program.scheduled == [ScheduledWork("finish", finish_due, "finish:7")]
    assert program.ledger_moves == []


def test_the_end_of_the_run_makes_the_evaluation_due() -> None:
    program = funded("active")

    assert program.run_scheduled(MACHINE, "finish", datetime(2026, 12, 31, tzinfo=UTC)) is True

    assert program.state == "evaluation_due"
    assert types(program) == ["EvaluationDue"]
    assert program.scheduled == []


@pytest.mark.parametrize(
    ("action", "state"),
    [
        ("activate", "cancelled"),
        ("activate", "active"),
        ("activate", "approved"),
        ("finish", "funded"),
        ("finish", "cancelled"),
        ("finish", "evaluation_due"),
        ("unknown", "funded"),
    ],
)
def test_work_for_a_program_that_has_moved_on_does_nothing(action: str, state: str) -> None:
    program = funded(state)
    before = snapshot(program)

    assert program.run_scheduled(MACHINE, action, datetime(2027, 1, 1, tzinfo=UTC)) is False

    assert snapshot(program) == before


@pytest.mark.parametrize("state", ["in_review", "revision_requested", "approved"])
def test_expiry_when_due_releases_every_hold_and_ends_the_program(state: str) -> None:
    program = program_in(state, held=dict(REQUESTS), expires_at=EXPIRES_AT)

    assert program.run_scheduled(MACHINE, "expire", EXPIRES_AT) is True

    assert program.state == "expired"
    assert program.holds == {}
    assert program.holds_expire_at is None
    assert program.ledger_moves == [
        LedgerMove("release", "city", YEAR, 80_000_000, "release:7:1:city", source="held"),
        LedgerMove(
            "release",
            "education_office",
            YEAR,
            20_000_000,
            "release:7:1:education_office",
            source="held",
        ),
    ]
    assert types(program) == [
        ev.HOLDS_EXPIRED,
        ev.HOLD_RELEASED,
        ev.HOLD_RELEASED,
        "ProgramExpired",
    ]
    assert program.events[0].data == {"expired_at": EXPIRES_AT.isoformat(), "holds": REQUESTS}
    assert {e.data["reason"] for e in program.events[1:3]} == {"hold expired"}


def test_expiry_of_an_approved_program_with_one_commitment_also_releases_the_commitment() -> None:
    program = approved()
    program.commit(MACHINE, "city", CITY_OFFICER)
    program.ledger_moves.clear()
    program.events.clear()

    assert program.run_scheduled(MACHINE, "expire", EXPIRES_AT + timedelta(hours=1)) is True

    assert program.state == "expired"
    assert program.holds == {}
    assert program.committed == {"city": 0}
    assert program.ledger_moves == [
        LedgerMove(
            "release",
            "education_office",
            YEAR,
            20_000_000,
            "release:7:1:education_office",
            source="held",
        ),
        LedgerMove(
            "release", "city", YEAR, 80_000_000, "release-commitment:7:city", source="committed"
        ),
    ]
    assert types(program) == [
        ev.HOLDS_EXPIRED,
        ev.HOLD_RELEASED,
        ev.COMMITMENT_RELEASED,
        "ProgramExpired",
    ]


def test_expiry_before_it_is_due_does_nothing() -> None:
    program = approved()
    before = snapshot(program)

    assert program.run_scheduled(MACHINE, "expire", EXPIRES_AT - timedelta(seconds=1)) is False

    assert snapshot(program) == before


@pytest.mark.parametrize(
    "state", [s for s in STATES if s not in ("in_review", "revision_requested", "approved")]
)
def test_expiry_in_a_state_that_cannot_expire_does_nothing(state: str) -> None:
    program = program_in(state, held=dict(REQUESTS), expires_at=EXPIRES_AT)
    before = snapshot(program)

    assert program.run_scheduled(MACHINE, "expire", EXPIRES_AT + timedelta(days=1)) is False

    assert snapshot(program) == before


def test_expiry_without_an_expiry_time_does_nothing() -> None:
    program = program_in("in_review", held=dict(REQUESTS))  # its holds were called off
    assert program.run_scheduled(MACHINE, "expire", EXPIRES_AT) is False
    assert program.state == "in_review"


# -- the evaluation report ----------------------------------------------------------


def report(
    spent: dict[str, int],
    summary: str = "Twelve weekend labs, 240 students",
    attachment: dict[str, object] | None = None,
) -> EvaluationReport:
    return EvaluationReport(spent, summary, COORDINATOR, attachment)


def test_a_report_within_the_bounds_starts_the_evaluation_by_every_party() -> None:
    program = funded("evaluation_due", disbursed={"city": 50_000_000})
    attachment = {"name": "report.pdf", "size": 3, "sha256": "ab" * 32}

    program.submit_report(
        MACHINE, report({"city": 60_000_000, "education_office": 0}, attachment=attachment)
    )

    assert program.state == "under_evaluation"
    assert program.evaluation_round == 1
    assert {p: e.verdict for p, e in program.evaluations.items()} == {
        "city": "pending",
        "education_office": "pending",
    }
    assert program.report is not None and program.report.spent["city"] == 60_000_000
    assert program.events[0].type == "EvaluationReportSubmitted"
    assert program.events[0].data == {
        "trigger": "report",
        "from": "evaluation_due",
        "to": "under_evaluation",
        "spent": {"city": 60_000_000, "education_office": 0},
        "summary": "Twelve weekend labs, 240 students",
        "attachment": attachment,
    }
    assert program.ledger_moves == []  # money moves only at settlement
    assert program.pending_parties() == list(PARTIES)


@pytest.mark.parametrize(
    ("spent", "message"),
    [
        (
            {"city": 60_000_000},
            "report the actual spend for every funder of program 7: city, education_office",
        ),
        ({}, r"\(got: none\)"),
        ({"city": 60_000_000, "education_office": 0, "university": 0}, "every funder"),
        (
            {"city": 80_000_001, "education_office": 0},
            r"reported spend for city \(80,000,001 KRW\) exceeds its commitment",
        ),
        ({"city": 60_000_000, "education_office": -1}, "greater than 0"),
        ({"city": 60_000_000.0, "education_office": 0}, "whole number"),
    ],
)
def test_a_report_outside_the_bounds_is_invalid_and_changes_nothing(
    spent: dict[str, int], message: str
) -> None:
    program = funded("evaluation_due", disbursed={"city": 50_000_000})
    before = snapshot(program)

    with pytest.raises(InvalidInput, match=message):
        program.submit_report(MACHINE, report(spent))

    assert snapshot(program) == before
    assert program.report is None and program.evaluation_round == 0


@pytest.mark.parametrize(
    "spent",
    [
        {"city": 50_000_000, "education_office": 0},
        {"city": 80_000_000, "education_office": 20_000_000},
        {"city": 49_999_999, "education_office": 0},  # under what was paid: a refund is due
        {"city": 0, "education_office": 0},
    ],
)
def test_the_reported_spend_may_be_anything_up_to_what_was_committed(
    spent: dict[str, int],
) -> None:
    program = funded("evaluation_due", disbursed={"city": 50_000_000})
    program.submit_report(MACHINE, report(spent))
    assert program.state == "under_evaluation"


@pytest.mark.parametrize("summary", ["", "   \n"])
def test_a_report_needs_a_summary(summary: str) -> None:
    program = funded("evaluation_due")
    with pytest.raises(InvalidInput, match="needs a summary"):
        program.submit_report(MACHINE, report(dict(REQUESTS), summary))
    assert program.state == "evaluation_due"


@pytest.mark.parametrize("state", ["funded", "active", "under_evaluation", "closed"])
def test_a_report_is_taken_only_when_the_evaluation_is_due(state: str) -> None:
    program = funded(state)
    with pytest.raises(TransitionNotAllowed, match=f"it is {state}"):
        program.submit_report(MACHINE, report(dict(REQUESTS)))
    assert program.state == state


# -- evaluation and settlement ------------------------------------------------------


def test_one_party_accepting_keeps_the_program_under_evaluation() -> None:
    program = under_evaluation({"city": 60_000_000, "education_office": 20_000_000})

    program.evaluate(MACHINE, "city", "accept", CITY_EVALUATOR, 4, "solid")

    assert program.state == "under_evaluation"
    assert program.ledger_moves == []
    assert types(program) == [ev.EVALUATION_ACCEPTED]
    assert program.events[0].data == {"party": "city", "score": 4, "comment": "solid", "round": 1}
    assert program.pending_parties() == ["education_office"]


def test_acceptance_by_every_party_closes_the_program_releasing_the_unspent_commitment() -> None:
    program = under_evaluation(
        {"city": 60_000_000, "education_office": 0}, disbursed={"city": 50_000_000}
    )

    program.evaluate(MACHINE, "education_office", "accept", OE_EVALUATOR, 5)
    program.evaluate(MACHINE, "city", "accept", CITY_EVALUATOR)

    assert program.state == "closed"
    assert program.committed == {"city": 60_000_000, "education_office": 0}
    assert program.disbursed == {"city": 50_000_000}
    assert program.ledger_moves == [
        LedgerMove(
            "release", "city", YEAR, 20_000_000, "release-commitment:7:city", source="committed"
        ),
        LedgerMove(
            "release",
            "education_office",
            YEAR,
            20_000_000,
            "release-commitment:7:education_office",
            source="committed",
        ),
    ]
    assert types(program) == [
        ev.EVALUATION_ACCEPTED,
        ev.EVALUATION_ACCEPTED,
        "ProgramClosed",
        ev.COMMITMENT_RELEASED,
        ev.COMMITMENT_RELEASED,
    ]
    assert {e.data["reason"] for e in program.events if e.type == ev.COMMITMENT_RELEASED} == {
        "unspent at closing"
    }
    # what was spent but not yet paid may still be paid out after closing
    assert program.disburse("city", 10_000_000) == 1
    with pytest.raises(InvalidInput):
        program.disburse("city", 1)


def test_closing_with_everything_spent_releases_nothing() -> None:
    program = under_evaluation(dict(REQUESTS))
    for party in PARTIES:
        program.evaluate(MACHINE, party, "accept", EVALUATOR_OF[party])
    assert program.state == "closed"
    assert program.ledger_moves == []
    assert program.committed == REQUESTS


@pytest.mark.parametrize("party", PARTIES)
def test_a_return_by_either_party_sends_the_report_back_without_moving_money(party: str) -> None:
    program = under_evaluation({"city": 60_000_000, "education_office": 20_000_000})

    program.evaluate(MACHINE, party, "return", EVALUATOR_OF[party], None, "add receipts")

    assert program.state == "evaluation_due"
    assert program.ledger_moves == []
    assert types(program) == [ev.EVALUATION_RETURNED, "EvaluationReportReturned"]
    assert program.committed == REQUESTS


def test_a_new_report_after_a_return_starts_a_new_round_with_every_verdict_pending() -> None:
    program = under_evaluation({"city": 60_000_000, "education_office": 20_000_000})
    program.evaluate(MACHINE, "city", "accept", CITY_EVALUATOR, 4)
    program.evaluate(MACHINE, "education_office", "return", OE_EVALUATOR)

    program.submit_report(MACHINE, report({"city": 70_000_000, "education_office": 20_000_000}))

    assert program.state == "under_evaluation"
    assert program.evaluation_round == 2
    assert {p: (e.verdict, e.by) for p, e in program.evaluations.items()} == {
        "city": ("pending", None),
        "education_office": ("pending", None),
    }
    program.evaluate(MACHINE, "city", "accept", CITY_EVALUATOR)  # may decide again
    program.evaluate(MACHINE, "education_office", "accept", OE_EVALUATOR)
    assert program.state == "closed"
    assert [m.amount for m in program.ledger_moves] == [10_000_000]  # the second report counts


def test_the_same_party_evaluating_twice_in_a_round_is_a_conflict_that_changes_nothing() -> None:
    program = under_evaluation(dict(REQUESTS))
    program.evaluate(MACHINE, "city", "accept", CITY_EVALUATOR)
    before = snapshot(program)

    with pytest.raises(Conflict, match="city has already evaluated program 7 in this round"):
        program.evaluate(MACHINE, "city", "return", "other@paju.go.kr")

    assert snapshot(program) == before


def test_a_party_evaluating_after_its_return_ended_the_round_is_a_conflict() -> None:
    program = under_evaluation(dict(REQUESTS))
    program.evaluate(MACHINE, "city", "return", CITY_EVALUATOR)

    with pytest.raises(Conflict, match="city has already evaluated"):
        program.evaluate(MACHINE, "city", "accept", CITY_EVALUATOR)
    with pytest.raises(TransitionNotAllowed, match="it is evaluation_due, not under_evaluation"):
        program.evaluate(MACHINE, "education_office", "accept", OE_EVALUATOR)


@pytest.mark.parametrize("score", [0, 6, -1, 10])
def test_a_score_outside_one_to_five_is_invalid(score: int) -> None:
    program = under_evaluation(dict(REQUESTS))
    with pytest.raises(InvalidInput, match=f"score must be 1 to 5, got {score}"):
        program.evaluate(MACHINE, "city", "accept", CITY_EVALUATOR, score)
    assert program.evaluations["city"].verdict == "pending"


@pytest.mark.parametrize("score", [1, 5, None])
def test_a_score_from_one_to_five_or_none_is_kept(score: int | None) -> None:
    program = under_evaluation(dict(REQUESTS))
    program.evaluate(MACHINE, "city", "accept", CITY_EVALUATOR, score)
    assert program.evaluations["city"].score == score


def test_an_unknown_verdict_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="unknown verdict 'maybe'"):
        under_evaluation(dict(REQUESTS)).evaluate(MACHINE, "city", "maybe", CITY_EVALUATOR)


def test_a_party_that_does_not_evaluate_the_program_cannot_evaluate() -> None:
    with pytest.raises(NotPermitted, match="university is not an evaluating party"):
        under_evaluation(dict(REQUESTS)).evaluate(MACHINE, "university", "accept", "d@u.ac.kr")


@pytest.mark.parametrize("state", ["funded", "active", "evaluation_due", "closed"])
def test_evaluating_outside_the_evaluation_is_refused(state: str) -> None:
    program = funded(state)
    with pytest.raises(TransitionNotAllowed, match=f"it is {state}, not under_evaluation"):
        program.evaluate(MACHINE, "city", "accept", CITY_EVALUATOR)


# -- cancellation and withdrawal ----------------------------------------------------


@pytest.mark.parametrize("state", ["funded", "active"])
def test_cancelling_returns_what_was_committed_but_not_disbursed(state: str) -> None:
    program = funded(state, disbursed={"city": 30_000_000})

    program.cancel(MACHINE, "the partner university withdrew")

    assert program.state == "cancelled"
    assert program.committed == {"city": 30_000_000, "education_office": 0}
    assert program.disbursed == {"city": 30_000_000}
    assert program.ledger_moves == [
        LedgerMove(
            "release", "city", YEAR, 50_000_000, "release-commitment:7:city", source="committed"
        ),
        LedgerMove(
            "release",
            "education_office",
            YEAR,
            20_000_000,
            "release-commitment:7:education_office",
            source="committed",
        ),
    ]
    assert types(program) == ["ProgramCancelled", ev.COMMITMENT_RELEASED, ev.COMMITMENT_RELEASED]
    assert program.events[0].data["reason"] == "the partner university withdrew"
    assert {e.data["reason"] for e in program.events[1:]} == {"cancelled"}


def test_cancelling_a_fully_paid_program_releases_nothing() -> None:
    program = funded("active", disbursed=dict(REQUESTS))
    program.cancel(MACHINE, "stopped")
    assert program.state == "cancelled"
    assert program.ledger_moves == []


@pytest.mark.parametrize("state", [s for s in STATES if s not in ("funded", "active")])
def test_only_a_funded_or_running_program_can_be_cancelled(state: str) -> None:
    program = funded(state)
    before = snapshot(program)

    with pytest.raises(TransitionNotAllowed, match=f"it is {state}"):
        program.cancel(MACHINE, "stopped")

    assert snapshot(program) == before


@pytest.mark.parametrize("reason", ["", "  "])
def test_a_cancellation_needs_a_reason(reason: str) -> None:
    program = funded()
    with pytest.raises(InvalidInput, match="needs a reason"):
        program.cancel(MACHINE, reason)
    assert program.state == "funded" and program.ledger_moves == []


def test_withdrawing_an_approved_program_with_one_commitment_releases_it_and_the_other_hold() -> (
    None
):
    program = approved()
    program.commit(MACHINE, "city", CITY_OFFICER)
    program.ledger_moves.clear()
    program.events.clear()
    program.called_off.clear()

    program.withdraw(MACHINE, "the school closed the course")

    assert program.state == "withdrawn"
    assert program.holds == {}
    assert program.committed == {"city": 0}
    assert program.ledger_moves == [
        LedgerMove(
            "release",
            "education_office",
            YEAR,
            20_000_000,
            "release:7:1:education_office",
            source="held",
        ),
        LedgerMove(
            "release", "city", YEAR, 80_000_000, "release-commitment:7:city", source="committed"
        ),
    ]
    assert types(program) == ["ProgramWithdrawn", ev.HOLD_RELEASED, ev.COMMITMENT_RELEASED]
    assert program.called_off == ["expire"]  # nothing left to lapse


@pytest.mark.parametrize("state", ["funded", "active", "evaluation_due", "closed"])
def test_a_funded_program_cannot_be_withdrawn(state: str) -> None:
    program = funded(state)
    with pytest.raises(TransitionNotAllowed):
        program.withdraw(MACHINE, "")
    assert program.committed == REQUESTS and program.ledger_moves == []
