"""Refunds (정산 반납) and envelope amendments (추경), pure domain: no database.

An underspent program's report leaves a refund due per funder; the funder's officer
records it in parts or whole, each a ``refund`` ledger move; the program closes when
every evaluation is accepted and nothing is due. Amendments move an envelope's amount,
never below what it holds and has committed.
"""

from __future__ import annotations

import pytest

from tests.unit.test_money_lifecycle import (
    EVALUATOR_OF,
    MACHINE,
    YEAR,
    funded,
    types,
    under_evaluation,
)
from workflow.domain import events as ev
from workflow.domain.amendments import LOWER, RAISE, amended, check_amendment
from workflow.domain.budget import Envelope
from workflow.domain.errors import (
    Conflict,
    InsufficientBudget,
    InvalidInput,
    TransitionNotAllowed,
)
from workflow.domain.program import LedgerMove, Program, refund_due
from workflow.domain.program.content import merged_requests

PAID = {"city": 80_000_000, "education_office": 20_000_000}
SPENT = {"city": 70_000_000, "education_office": 20_000_000}  # city paid 10,000,000 too much


def underspent() -> Program:
    program = under_evaluation(SPENT, disbursed=dict(PAID))
    program.version = 5
    return program


def accept_all(program: Program) -> None:
    for party, evaluator in EVALUATOR_OF.items():
        program.evaluate(MACHINE, party, "accept", evaluator)


@pytest.mark.parametrize(
    ("disbursed", "spent", "due"),
    [(80, 70, 10), (80, 80, 0), (50, 70, 0), (0, 0, 0), (1, 0, 1)],
)
def test_a_refund_is_due_of_what_was_paid_out_and_not_spent(
    disbursed: int, spent: int, due: int
) -> None:
    assert refund_due(disbursed, spent) == due


def test_a_report_below_what_was_paid_leaves_a_refund_due_to_that_funder_only() -> None:
    assert underspent().refunds_due() == {"city": 10_000_000}


def test_accepted_by_every_party_an_underspent_program_waits_for_its_refund() -> None:
    program = underspent()
    accept_all(program)
    assert program.state == "under_evaluation"
    assert program.refunds_due() == {"city": 10_000_000}
    assert not [m for m in program.ledger_moves if m.kind == "release"]


def test_a_refund_in_parts_moves_money_back_and_the_last_part_closes_the_program() -> None:
    program = underspent()
    accept_all(program)
    program.events.clear()

    assert program.record_refund(MACHINE, "city", 4_000_000, "first part") == 6_000_000
    assert program.state == "under_evaluation"
    assert program.committed["city"] == 76_000_000 and program.disbursed["city"] == 76_000_000
    assert program.ledger_moves == [
        LedgerMove("refund", "city", YEAR, 4_000_000, "refund:7:city:5")
    ]

    program.ledger_moves.clear()
    program.version = 6
    assert program.record_refund(MACHINE, "city", 6_000_000) == 0
    assert program.state == "closed"
    assert types(program) == [ev.REFUND_RECORDED, ev.REFUND_RECORDED, ev.PROGRAM_CLOSED]
    assert program.committed == SPENT and program.disbursed == SPENT
    assert program.ledger_moves == [
        LedgerMove("refund", "city", YEAR, 6_000_000, "refund:7:city:6")
    ]


def test_a_refund_before_the_evaluations_leaves_the_last_acceptance_to_close_it() -> None:
    program = underspent()
    program.record_refund(MACHINE, "city", 10_000_000)
    assert program.state == "under_evaluation" and program.refunds_due() == {}
    accept_all(program)
    assert program.state == "closed"


def test_closing_releases_what_was_committed_and_never_paid_out() -> None:
    program = under_evaluation(
        {"city": 30_000_000, "education_office": 20_000_000},
        disbursed={"city": 40_000_000, "education_office": 20_000_000},
    )
    program.record_refund(MACHINE, "city", 10_000_000)
    program.ledger_moves.clear()
    accept_all(program)
    assert program.state == "closed"
    released = [(m.party, m.amount, m.source) for m in program.ledger_moves]
    assert released == [("city", 40_000_000, "committed")]  # 80 committed - 40 paid
    assert program.committed["city"] == 30_000_000 == program.disbursed["city"]


@pytest.mark.parametrize(
    ("party", "amount", "error", "message"),
    [
        ("city", 10_000_001, InvalidInput, "only 10,000,000 KRW is due"),
        ("education_office", 1, Conflict, "owes education_office nothing back"),
        ("city", 0, InvalidInput, "greater than 0"),
        ("city", -5, InvalidInput, "greater than 0"),
        ("city", 1.5, InvalidInput, "whole number"),
    ],
)
def test_a_refund_that_is_not_due_is_refused_and_changes_nothing(
    party: str, amount: int, error: type[Exception], message: str
) -> None:
    program = underspent()
    before = (dict(program.committed), dict(program.disbursed), program.state)
    with pytest.raises(error, match=message):
        program.record_refund(MACHINE, party, amount)
    assert (dict(program.committed), dict(program.disbursed), program.state) == before
    assert not program.events and not program.ledger_moves


@pytest.mark.parametrize("state", ["funded", "active", "evaluation_due", "closed"])
def test_a_refund_is_recorded_only_while_the_report_stands(state: str) -> None:
    program = funded(state, disbursed=dict(PAID))
    with pytest.raises(TransitionNotAllowed, match=f"it is {state}"):
        program.record_refund(MACHINE, "city", 1)


def test_nothing_more_is_paid_out_on_a_report_that_owes_money_back() -> None:
    program = underspent()
    with pytest.raises(InvalidInput, match="only 0 KRW"):
        program.disburse("city", 1)


# -- amendments ----------------------------------------------------------------------

ENVELOPE = Envelope("city", YEAR, 100_000_000, held=30_000_000, committed=50_000_000)


@pytest.mark.parametrize(("by", "amount"), [(20_000_000, 120_000_000), (-20_000_000, 80_000_000)])
def test_an_amendment_moves_the_amount_and_nothing_else(by: int, amount: int) -> None:
    after = amended(ENVELOPE, check_amendment("city", YEAR, by, "추경"))
    assert after.amount == amount
    assert (after.held, after.committed, after.disbursed) == (30_000_000, 50_000_000, 0)


def test_an_amendment_is_a_raise_or_a_lower() -> None:
    assert check_amendment("city", YEAR, 1, "x").direction == RAISE
    assert check_amendment("city", YEAR, -1, "x").direction == LOWER


def test_lowering_below_what_is_held_and_committed_is_refused_naming_the_figures() -> None:
    with pytest.raises(InsufficientBudget) as refused:
        amended(ENVELOPE, check_amendment("city", YEAR, -20_000_001, "correction"))
    message = str(refused.value)
    assert "79,999,999" in message and "30,000,000" in message and "50,000,000" in message
    assert "at most 20,000,000 KRW can be taken off" in message


def test_an_envelope_cannot_be_lowered_to_nothing() -> None:
    empty = Envelope("city", YEAR, 10_000_000)
    with pytest.raises(InsufficientBudget):
        amended(empty, check_amendment("city", YEAR, -10_000_000, "gone"))


@pytest.mark.parametrize(
    ("by", "reason", "message"),
    [
        (0, "x", "changes nothing"),
        (10**13, "x", "below 10"),
        (-(10**13), "x", "below 10"),
        (True, "x", "whole number"),
        ("5", "x", "whole number"),
        (1, "  ", "needs a reason"),
    ],
)
def test_a_malformed_amendment_is_refused(by: object, reason: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_amendment("city", YEAR, by, reason)


def test_raising_past_the_amount_limit_is_refused() -> None:
    big = Envelope("city", YEAR, 10**13 - 1)
    with pytest.raises(InvalidInput, match="below 10"):
        amended(big, check_amendment("city", YEAR, 1, "x"))


# -- partial request edits -----------------------------------------------------------

OLD = {"city": 80_000_000, "education_office": 20_000_000}


def test_a_request_edit_names_only_the_funders_it_changes() -> None:
    assert merged_requests(OLD, {"city": 70_000_000}) == {
        "city": 70_000_000,
        "education_office": 20_000_000,
    }


def test_a_funder_leaves_the_split_only_when_dropped_by_name() -> None:
    assert merged_requests(OLD, {}, ("education_office",)) == {"city": 80_000_000}


@pytest.mark.parametrize(
    ("given", "dropped", "message"),
    [
        ({"city": 1}, ("city",), "both given a request and dropped"),
        ({}, ("university",), "asks nothing of university"),
        ({}, ("city", "education_office"), "at least one funder"),
    ],
)
def test_a_request_edit_that_makes_no_sense_is_refused(
    given: dict[str, int], dropped: tuple[str, ...], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        merged_requests(OLD, given, dropped)
