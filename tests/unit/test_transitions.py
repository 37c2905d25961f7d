"""Every allowed and forbidden transition of `joint-program`, and the joint review's rules.

Pure domain: the definition is read from config/workflows/joint-program.yaml, the one
shared machine is built from it, and programs are plain aggregates (no database).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from config.settings import WORKFLOWS_DIR
from workflow.domain import events as ev
from workflow.domain.budget import Envelope
from workflow.domain.definition import WorkflowDefinition, parse_definition
from workflow.domain.errors import Conflict, InvalidInput, NotPermitted, TransitionNotAllowed
from workflow.domain.events import Event
from workflow.domain.machine import GUARDS, WorkflowMachine
from workflow.domain.program import Evaluation, LedgerMove, Program, ProgramContent

RAW = yaml.safe_load((WORKFLOWS_DIR / "joint-program.yaml").read_text(encoding="utf-8"))
DEFINITION = parse_definition(RAW, "joint-program.yaml", GUARDS)
MACHINE = WorkflowMachine(DEFINITION)

COORDINATOR = "coord@munsan-high.kr"
CITY_APPROVER = "approver@paju.go.kr"
OE_APPROVER = "approver@goepj.kr"
APPROVER_OF = {"city": CITY_APPROVER, "education_office": OE_APPROVER}
PARTIES = ("city", "education_office")
NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
YEAR = 2026
REQUESTS = {"city": 80_000_000, "education_office": 20_000_000}

STATES = (
    "draft",
    "submitted",
    "waitlisted",
    "in_review",
    "revision_requested",
    "approved",
    "funded",
    "active",
    "evaluation_due",
    "under_evaluation",
    "closed",
    "cancelled",
    "expired",
    "rejected",
    "withdrawn",
)
TRIGGERS = (
    "submit",
    "hold",
    "waitlist",
    "approve",
    "request_changes",
    "reject",
    "resubmit",
    "withdraw",
    "fund",
    "activate",
    "finish",
    "report",
    "accept",
    "return_report",
    "cancel",
    "expire",
)

# (state, trigger) -> (destination, event the transition records), written out by hand
# from PRODUCT §3; every pair not listed here must be refused.
ALLOWED: dict[tuple[str, str], tuple[str, str]] = {
    ("draft", "submit"): ("submitted", "ProgramSubmitted"),
    ("draft", "withdraw"): ("withdrawn", "ProgramWithdrawn"),
    ("submitted", "hold"): ("in_review", "ReviewStarted"),
    ("submitted", "waitlist"): ("waitlisted", "ProgramWaitlisted"),
    ("submitted", "withdraw"): ("withdrawn", "ProgramWithdrawn"),
    ("waitlisted", "hold"): ("in_review", "ReviewStarted"),
    ("waitlisted", "withdraw"): ("withdrawn", "ProgramWithdrawn"),
    ("in_review", "approve"): ("approved", "ProgramApproved"),
    ("in_review", "request_changes"): ("revision_requested", "RevisionRequested"),
    ("in_review", "reject"): ("rejected", "ProgramRejected"),
    ("in_review", "withdraw"): ("withdrawn", "ProgramWithdrawn"),
    ("revision_requested", "resubmit"): ("in_review", "ProgramResubmitted"),
    ("revision_requested", "withdraw"): ("withdrawn", "ProgramWithdrawn"),
    ("approved", "withdraw"): ("withdrawn", "ProgramWithdrawn"),
    ("approved", "fund"): ("funded", "ProgramFunded"),
    ("funded", "activate"): ("active", "ProgramActivated"),
    ("active", "finish"): ("evaluation_due", "EvaluationDue"),
    ("evaluation_due", "report"): ("under_evaluation", "EvaluationReportSubmitted"),
    ("under_evaluation", "accept"): ("closed", "ProgramClosed"),
    ("under_evaluation", "return_report"): ("evaluation_due", "EvaluationReportReturned"),
    ("funded", "cancel"): ("cancelled", "ProgramCancelled"),
    ("active", "cancel"): ("cancelled", "ProgramCancelled"),
    ("in_review", "expire"): ("expired", "ProgramExpired"),
    ("revision_requested", "expire"): ("expired", "ProgramExpired"),
    ("approved", "expire"): ("expired", "ProgramExpired"),
}
FORBIDDEN = [(s, t) for s in STATES for t in TRIGGERS if (s, t) not in ALLOWED]


def program_in(
    state: str,
    *,
    definition: WorkflowDefinition = DEFINITION,
    requests: dict[str, int] | None = None,
    held: bool = False,
    year: int = YEAR,
) -> Program:
    """A saved-looking program (id 7) put straight into ``state``, with no pending events."""
    content = ProgramContent(
        title="High school–university linkage",
        category="linkage",
        requests=dict(requests or REQUESTS),
        fiscal_year=year,
    )
    program = Program.create(definition, "munsan-high", content, COORDINATOR)
    program.id = 7
    program.state = state
    if held:
        program.holds = dict(program.content.requests)
    program.events.clear()
    return program


def reviewing(**kwargs: object) -> Program:
    """A program in review holding its whole request, as the budget worker leaves it."""
    return program_in("in_review", held=True, **kwargs)  # type: ignore[arg-type]


def roomy_envelopes(year: int = YEAR) -> dict[str, Envelope]:
    return {
        "city": Envelope("city", year, 1_930_000_000),
        "education_office": Envelope("education_office", year, 530_000_000),
    }


def types(program: Program) -> list[str]:
    return [e.type for e in program.events]


# -- the transition table --


def test_the_table_lists_exactly_the_transitions_of_the_definition() -> None:
    defined = {(s, t.trigger) for t in DEFINITION.transitions for s in t.sources}
    assert defined == set(ALLOWED)
    assert set(DEFINITION.states) == set(STATES)
    assert {t.trigger for t in DEFINITION.transitions} == set(TRIGGERS)


@pytest.mark.parametrize(("state", "trigger"), sorted(ALLOWED))
def test_an_allowed_trigger_moves_the_program_and_records_its_event(
    state: str, trigger: str
) -> None:
    dest, records = ALLOWED[(state, trigger)]
    program = program_in(state, held=True)  # holds cover the request: resubmit -> in_review
    for decision in program.decisions.values():
        decision.decision = "approved"  # the AND-join guard of `approve` holds
    if trigger == "fund":  # ... and of `fund`: every funder has committed its hold
        program.committed, program.holds = program.holds, {}
    program.evaluations = {p: Evaluation("accepted") for p in PARTIES}  # ... and of `accept`

    assert MACHINE.can(program, trigger)
    assert MACHINE.fire(program, trigger) is True

    assert program.state == dest
    assert program.events == [Event(records, {"trigger": trigger, "from": state, "to": dest})]


@pytest.mark.parametrize(("state", "trigger"), FORBIDDEN)
def test_a_forbidden_trigger_is_refused_and_changes_nothing(state: str, trigger: str) -> None:
    program = program_in(state, held=True)

    assert not MACHINE.can(program, trigger)
    with pytest.raises(TransitionNotAllowed) as refused:
        MACHINE.fire(program, trigger)

    assert program.state == state
    assert program.events == []
    assert f"it is {state}" in str(refused.value)
    allowed = sorted({s for t in DEFINITION.transitions if t.trigger == trigger for s in t.sources})
    assert refused.value.reason == "wrong_state"
    assert refused.value.context == {
        "program": 7,
        "state": state,
        "trigger": trigger,
        "allowed": allowed,
    }


@pytest.mark.parametrize("state", STATES)
def test_the_machine_offers_only_the_defined_triggers_and_no_to_state_back_doors(
    state: str,
) -> None:
    expected = sorted(t for (s, t) in ALLOWED if s == state)
    assert MACHINE.triggers_from(state) == expected
    program = program_in(state)
    for back_door in (f"to_{s}" for s in STATES):
        with pytest.raises(TransitionNotAllowed):
            MACHINE.fire(program, back_door)
    assert program.state == state


def test_a_refused_trigger_names_the_states_it_is_allowed_from() -> None:
    with pytest.raises(TransitionNotAllowed, match=r"allowed from: in_review"):
        MACHINE.fire(program_in("draft"), "reject")


def test_approve_waits_while_any_party_is_pending() -> None:
    program = reviewing()
    program.decisions["city"].decision = "approved"

    assert MACHINE.fire(program, "approve") is False

    assert program.state == "in_review"
    assert program.events == []


def test_resubmit_goes_back_to_submitted_when_holds_do_not_cover_the_request() -> None:
    program = program_in("revision_requested", held=True)
    program.content.requests = {"city": 90_000_000, "education_office": 20_000_000}

    assert MACHINE.fire(program, "resubmit") is True

    assert program.state == "submitted"
    assert program.events[0].data == {
        "trigger": "resubmit",
        "from": "revision_requested",
        "to": "submitted",
    }


def test_one_machine_serves_many_programs_without_keeping_them() -> None:
    programs = [program_in("draft") for _ in range(3)]
    for program in programs:
        MACHINE.fire(program, "submit")
    assert [p.state for p in programs] == ["submitted"] * 3
    assert MACHINE._machine.models == []


# -- the joint review: one decision per party, joined --


@pytest.mark.parametrize("party", PARTIES)
def test_one_party_approving_keeps_the_program_in_review(party: str) -> None:
    program = reviewing()

    program.decide(MACHINE, party, "approve", APPROVER_OF[party], "good plan")

    assert program.state == "in_review"
    assert program.decisions[party].decision == "approved"
    assert program.decisions[party].by == APPROVER_OF[party]
    assert program.pending_parties() == [p for p in PARTIES if p != party]
    assert types(program) == [ev.PARTY_APPROVED]
    assert program.events[0].data == {"party": party, "comment": "good plan", "round": 1}


@pytest.mark.parametrize("order", [PARTIES, PARTIES[::-1]])
def test_both_parties_approving_approves_the_program_with_exactly_one_program_approved_event(
    order: tuple[str, str],
) -> None:
    program = reviewing()

    for party in order:
        program.decide(MACHINE, party, "approve", APPROVER_OF[party])

    assert program.state == "approved"
    assert types(program) == [ev.PARTY_APPROVED, ev.PARTY_APPROVED, ev.PROGRAM_APPROVED]
    assert program.holds == REQUESTS
    assert program.ledger_moves == []
    assert program.pending_parties() == list(PARTIES)  # now each funder's commitment


@pytest.mark.parametrize("party", PARTIES)
def test_rejection_by_either_party_releases_both_holds(party: str) -> None:
    program = reviewing()

    program.decide(MACHINE, party, "reject", APPROVER_OF[party], "out of scope")

    assert program.state == "rejected"
    assert program.holds == {}
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
        ev.PARTY_REJECTED,
        ev.PROGRAM_REJECTED,
        ev.HOLD_RELEASED,
        ev.HOLD_RELEASED,
    ]


def test_rejection_after_the_other_party_approved_still_rejects() -> None:
    program = reviewing()
    program.decide(MACHINE, "city", "approve", CITY_APPROVER)

    program.decide(MACHINE, "education_office", "reject", OE_APPROVER)

    assert program.state == "rejected"
    assert ev.PROGRAM_APPROVED not in types(program)
    assert [m.kind for m in program.ledger_moves] == ["release", "release"]


@pytest.mark.parametrize("party", PARTIES)
def test_a_change_request_by_either_party_sends_the_program_back_keeping_its_holds(
    party: str,
) -> None:
    program = reviewing()

    program.decide(MACHINE, party, "request-changes", APPROVER_OF[party], "add a budget line")

    assert program.state == "revision_requested"
    assert program.decisions[party].decision == "changes_requested"
    assert program.holds == REQUESTS
    assert program.ledger_moves == []
    assert types(program) == [ev.CHANGES_REQUESTED, "RevisionRequested"]


def test_the_same_party_deciding_twice_is_a_conflict_that_changes_nothing() -> None:
    program = reviewing()
    program.decide(MACHINE, "city", "approve", CITY_APPROVER)
    before = list(program.events)

    with pytest.raises(Conflict, match="city has already decided"):
        program.decide(MACHINE, "city", "reject", "other@paju.go.kr")

    assert program.state == "in_review"
    assert program.decisions["city"].decision == "approved"
    assert program.decisions["city"].by == CITY_APPROVER
    assert program.events == before
    assert program.ledger_moves == []


@pytest.mark.parametrize("state", [s for s in STATES if s != "in_review"])
def test_deciding_outside_review_is_refused(state: str) -> None:
    program = program_in(state)
    with pytest.raises(TransitionNotAllowed, match=f"it is {state}, not in_review"):
        program.decide(MACHINE, "city", "approve", CITY_APPROVER)
    assert program.decisions["city"].decision == "pending"


@pytest.mark.parametrize(
    ("decision", "ended_in"), [("reject", "rejected"), ("request-changes", "revision_requested")]
)
def test_a_party_deciding_again_after_its_decision_ended_the_review_is_a_conflict(
    decision: str, ended_in: str
) -> None:
    program = reviewing()
    program.decide(MACHINE, "city", decision, CITY_APPROVER)
    assert program.state == ended_in

    with pytest.raises(Conflict, match="city has already decided"):
        program.decide(MACHINE, "city", "approve", "other@paju.go.kr")
    with pytest.raises(TransitionNotAllowed, match=f"it is {ended_in}, not in_review"):
        program.decide(MACHINE, "education_office", "approve", OE_APPROVER)


def test_a_decision_on_a_withdrawn_program_is_not_allowed_even_for_a_party_that_decided() -> None:
    program = reviewing()
    program.decide(MACHINE, "city", "approve", CITY_APPROVER)
    program.withdraw(MACHINE, "")

    with pytest.raises(TransitionNotAllowed, match="it is withdrawn"):
        program.decide(MACHINE, "city", "approve", CITY_APPROVER)


def test_an_unknown_decision_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unknown decision 'maybe'"):
        reviewing().decide(MACHINE, "city", "maybe", CITY_APPROVER)


def test_a_party_that_does_not_review_the_program_cannot_decide() -> None:
    with pytest.raises(NotPermitted, match="university is not a reviewing party"):
        reviewing().decide(MACHINE, "university", "approve", "dean@univ.ac.kr")


# -- revisions --


def changes_requested() -> Program:
    program = reviewing()
    program.decide(MACHINE, "city", "approve", CITY_APPROVER)
    program.decide(MACHINE, "education_office", "request-changes", OE_APPROVER)
    program.events.clear()
    return program


def revised(program: Program, **changes: object) -> ProgramContent:
    old = program.content
    return ProgramContent(
        title=str(changes.get("title", old.title)),
        category=old.category,
        requests=dict(changes.get("requests", old.requests)),  # type: ignore[call-overload]
        fiscal_year=int(changes.get("year", old.fiscal_year)),  # type: ignore[call-overload]
        description=old.description,
    )


def test_resubmission_resets_every_party_to_pending_and_starts_a_new_round() -> None:
    program = changes_requested()

    program.submit(MACHINE, COORDINATOR)

    assert {p: d.decision for p, d in program.decisions.items()} == {
        "city": "pending",
        "education_office": "pending",
    }
    assert all(d.by is None for d in program.decisions.values())
    assert program.review_round == 2
    assert program.pending_parties() == list(PARTIES)


def test_an_unchanged_resubmission_goes_straight_back_to_review_keeping_its_holds() -> None:
    program = changes_requested()
    program.update(DEFINITION, revised(program, title="Linkage, revised"))

    program.submit(MACHINE, COORDINATOR)

    assert program.state == "in_review"
    assert program.holds == REQUESTS
    assert program.ledger_moves == []
    assert types(program) == [ev.PROGRAM_UPDATED, ev.PROGRAM_RESUBMITTED]
    assert COORDINATOR in program.submitted_by


def test_a_resubmission_with_a_changed_request_releases_holds_and_waits_for_new_ones() -> None:
    program = changes_requested()
    new_request = {"city": 90_000_000, "education_office": 20_000_000}
    program.update(DEFINITION, revised(program, requests=new_request))
    assert program.holds == REQUESTS  # kept while the coordinator is still editing

    program.submit(MACHINE, COORDINATOR)

    assert program.state == "submitted"
    assert program.holds == {}
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
    program.ledger_moves.clear()
    assert program.place_holds(MACHINE, roomy_envelopes(), NOW) is True
    assert program.state == "in_review"
    assert program.holds == new_request
    assert [m.key for m in program.ledger_moves] == ["hold:7:2:city", "hold:7:2:education_office"]


def test_dropping_a_party_from_a_revision_releases_its_hold_at_once() -> None:
    program = changes_requested()

    program.update(DEFINITION, revised(program, requests={"city": 80_000_000}))

    assert program.holds == {"city": 80_000_000}
    assert program.ledger_moves == [
        LedgerMove(
            "release",
            "education_office",
            YEAR,
            20_000_000,
            "release:7:1:education_office",
            source="held",
        )
    ]
    program.ledger_moves.clear()
    program.submit(MACHINE, COORDINATOR)  # the city's hold still covers the city's share
    assert program.state == "in_review"
    assert program.holds == {"city": 80_000_000}
    assert program.ledger_moves == []
    assert program.pending_parties() == ["city", "education_office"]


def test_moving_a_revision_to_another_fiscal_year_releases_every_hold_from_the_old_year() -> None:
    program = changes_requested()

    program.update(DEFINITION, revised(program, year=2027))

    assert program.holds == {}
    assert {(m.kind, m.party, m.year) for m in program.ledger_moves} == {
        ("release", "city", 2026),
        ("release", "education_office", 2026),
    }
    program.submit(MACHINE, COORDINATOR)
    assert program.state == "submitted"
    assert program.content.fiscal_year == 2027


@pytest.mark.parametrize(
    "state", ["submitted", "waitlisted", "in_review", "approved", "rejected", "withdrawn"]
)
def test_a_program_can_be_edited_only_in_draft_or_revision(state: str) -> None:
    program = program_in(state)
    with pytest.raises(TransitionNotAllowed, match="editable in: draft, revision_requested"):
        program.update(DEFINITION, revised(program, title="New title"))
    assert program.content.title == "High school–university linkage"


# -- budget holds: all funders together or none --


def test_submission_waits_for_the_budget_worker() -> None:
    program = program_in("draft")

    program.submit(MACHINE, COORDINATOR)

    assert program.state == "submitted"
    assert program.holds == {}
    assert program.submitted_by == {COORDINATOR}
    assert types(program) == [ev.PROGRAM_SUBMITTED]


def test_holds_are_placed_for_every_funder_together_and_start_the_review() -> None:
    program = program_in("submitted")

    assert program.place_holds(MACHINE, roomy_envelopes(), NOW) is True

    assert program.state == "in_review"
    assert program.holds == REQUESTS
    assert program.ledger_moves == [
        LedgerMove("hold", "city", YEAR, 80_000_000, "hold:7:1:city"),
        LedgerMove("hold", "education_office", YEAR, 20_000_000, "hold:7:1:education_office"),
    ]
    assert types(program) == [ev.BUDGET_HELD, ev.BUDGET_HELD, "ReviewStarted"]


def test_a_request_of_exactly_the_available_money_fits() -> None:
    program = program_in("submitted")
    envelopes = {
        "city": Envelope("city", YEAR, 100_000_000, held=20_000_000),
        "education_office": Envelope("education_office", YEAR, 20_000_000),
    }

    assert program.place_holds(MACHINE, envelopes, NOW) is True


def test_one_party_short_waitlists_the_program_without_holding_anything() -> None:
    program = program_in("submitted")
    envelopes = {
        "city": Envelope("city", YEAR, 1_930_000_000),
        "education_office": Envelope(
            "education_office", YEAR, 530_000_000, held=500_000_000, committed=20_000_000
        ),
    }

    assert program.place_holds(MACHINE, envelopes, NOW) is False

    assert program.state == "waitlisted"
    assert program.waitlisted_at == NOW
    assert program.holds == {}
    assert program.ledger_moves == []
    assert types(program) == [ev.BUDGET_UNAVAILABLE, "ProgramWaitlisted"]
    assert program.events[0].data == {
        "year": YEAR,
        "parties": ["education_office"],
        "shortfalls": ["education_office: requested 20,000,000, available 10,000,000"],
        "short": [
            {
                "party": "education_office",
                "requested": 20_000_000,
                "available": 10_000_000,
                "missing": 10_000_000,
                "has_envelope": True,
            }
        ],
    }


def test_a_funder_without_an_envelope_for_the_year_waitlists_the_program() -> None:
    program = program_in("submitted")

    assert program.place_holds(MACHINE, {"city": Envelope("city", YEAR, 10**9)}, NOW) is False

    assert program.state == "waitlisted"
    assert program.ledger_moves == []
    assert program.events[0].data["shortfalls"] == ["education_office has no envelope for the year"]


def test_a_waitlisted_program_still_short_stays_put_without_new_events() -> None:
    program = program_in("waitlisted")

    assert program.place_holds(MACHINE, {}, NOW) is False

    assert program.state == "waitlisted"
    assert program.events == []
    assert program.ledger_moves == []


def test_a_waitlisted_program_gets_its_holds_once_money_frees_up() -> None:
    program = program_in("waitlisted")
    program.waitlisted_at = NOW

    assert program.place_holds(MACHINE, roomy_envelopes(), NOW) is True

    assert program.state == "in_review"
    assert program.waitlisted_at is None
    assert program.holds == REQUESTS


def test_placing_holds_again_holds_nothing_twice() -> None:
    program = program_in("submitted")
    program.place_holds(MACHINE, roomy_envelopes(), NOW)
    program.ledger_moves.clear()
    program.events.clear()

    assert program.place_holds(MACHINE, roomy_envelopes(), NOW) is False

    assert program.ledger_moves == []
    assert program.events == []
    assert program.holds == REQUESTS


# -- withdrawal --


@pytest.mark.parametrize("state", ["in_review", "revision_requested", "approved"])
def test_withdrawing_a_program_that_holds_money_releases_every_hold(state: str) -> None:
    program = program_in(state, held=True)

    program.withdraw(MACHINE, "the school closed the course")

    assert program.state == "withdrawn"
    assert program.holds == {}
    assert [(m.kind, m.party) for m in program.ledger_moves] == [
        ("release", "city"),
        ("release", "education_office"),
    ]
    assert program.events[0].data["reason"] == "the school closed the course"


@pytest.mark.parametrize("state", ["draft", "submitted", "waitlisted"])
def test_withdrawing_a_program_without_holds_moves_no_money(state: str) -> None:
    program = program_in(state)

    program.withdraw(MACHINE, "")

    assert program.state == "withdrawn"
    assert program.ledger_moves == []


@pytest.mark.parametrize("state", ["rejected", "withdrawn"])
def test_a_finished_program_cannot_be_withdrawn(state: str) -> None:
    with pytest.raises(TransitionNotAllowed):
        program_in(state).withdraw(MACHINE, "")
