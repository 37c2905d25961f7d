"""The joint review through the bus on the fakes: an AND-join over the parties, each
approver deciding only their own party's side and never on their own program."""

from __future__ import annotations

import pytest

from tests import support as s
from tests.fakes import FakeUnitOfWorkFactory
from tests.handlers import helpers as h
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.errors import Conflict, InvalidInput, NotPermitted
from workflow.service_layer.handlers import RETRY_WAITLISTED
from workflow.service_layer.messagebus import MessageBus

SHARES = {"city": 80_000_000, "education_office": 20_000_000}
APPROVERS = {"city": s.CITY_APPROVER, "education_office": s.OE_APPROVER}


def test_both_parties_approving_moves_the_program_to_approved_with_its_holds(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.submitted(bus)

    s.decide(bus, program_id, s.CITY_APPROVER)
    assert h.state(fakes, program_id) == "in_review"
    assert h.program(fakes, program_id).pending_parties() == ["education_office"]
    s.decide(bus, program_id, s.OE_APPROVER)

    program = h.program(fakes, program_id)
    assert (program.state, program.holds) == ("approved", SHARES)
    assert {p: (d.decision, d.by) for p, d in program.decisions.items()} == {
        "city": ("approved", s.CITY_APPROVER),
        "education_office": ("approved", s.OE_APPROVER),
    }
    assert h.types(fakes, program_id).count(ev.PROGRAM_APPROVED) == 1
    assert h.tasks(fakes, program_id)[1:] == [
        ("review", "city/approver", "completed", s.CITY_APPROVER),
        ("review", "education_office/approver", "completed", s.OE_APPROVER),
        ("commit_funds", "city/budget_officer", "open", None),
        ("commit_funds", "education_office/budget_officer", "open", None),
    ]


@pytest.mark.parametrize("party", ["city", "education_office"])
def test_a_rejection_by_either_party_rejects_the_program_and_releases_both_holds(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory, party: str
) -> None:
    program_id = s.submitted(bus)

    s.decide(bus, program_id, APPROVERS[party], "reject")

    program = h.program(fakes, program_id)
    assert (program.state, program.holds) == ("rejected", {})
    assert h.position(fakes) == h.funds((0, 0, 0), (0, 0, 0))
    assert [d for t, d in h.history(fakes, program_id) if t == ev.HOLD_RELEASED] == [
        {"party": "city", "amount": 80_000_000, "reason": "rejected"},
        {"party": "education_office", "amount": 20_000_000, "reason": "rejected"},
    ]
    assert sorted(row[2] for row in h.tasks(fakes, program_id)[1:]) == ["cancelled", "completed"]
    assert RETRY_WAITLISTED in [m["task"] for m in fakes.store.outbox]  # the freed money


def test_a_request_for_changes_sends_it_back_and_a_resubmission_resets_every_decision(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.submitted(bus)
    s.decide(bus, program_id, s.CITY_APPROVER)
    s.decide(bus, program_id, s.OE_APPROVER, "request-changes")
    assert h.state(fakes, program_id) == "revision_requested"
    assert h.tasks(fakes, program_id)[-1] == ("revise", "munsan-high/coordinator", "open", None)

    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=program_id))

    program = h.program(fakes, program_id)
    assert (program.state, program.review_round, program.holds) == ("in_review", 2, SHARES)
    assert program.pending_parties() == ["city", "education_office"]
    assert h.position(fakes) == h.funds((80_000_000, 0, 0), (20_000_000, 0, 0))


def test_the_creator_of_a_program_may_not_decide_on_it(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.submitted(bus, actor=h.CITY_TEAM, org="city")

    err = h.refused(
        bus,
        c.DecideReview(actor=h.CITY_TEAM, program_id=program_id, decision="approve"),
        NotPermitted,
        "separation of duties",
    )

    assert err.message == (
        f"{h.CITY_TEAM} may not decide on program {program_id}: they "
        "created or submitted it (separation of duties)"
    )
    assert h.program(fakes, program_id).decisions["city"].decision == "pending"
    assert h.last_refusal(fakes, program_id) == {
        "command": "DecideReview",
        "code": "not-permitted",
        "reason": err.message,
    }
    s.decide(bus, program_id, h.DEPUTY)  # a colleague who neither created nor submitted it
    assert h.program(fakes, program_id).decisions["city"].by == h.DEPUTY


def test_a_city_approver_cannot_decide_the_education_office_side(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.submitted(bus)
    office_task = h.task_id(fakes, program_id, "review", "education_office")

    h.refused(
        bus,
        c.DecideTask(actor=s.CITY_APPROVER, task_id=office_task, decision="approve"),
        NotPermitted,
        f"task {office_task} sits in education_office's queue, not city's",
    )

    assert h.program(fakes, program_id).pending_parties() == ["city", "education_office"]
    # A task command's refusal goes on its task's program's stream, naming the task.
    refusal = h.last_refusal(fakes, program_id)
    assert (refusal["command"], refusal["task"]) == ("DecideTask", office_task)


def test_an_approver_of_an_organization_that_is_no_party_may_not_decide(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.submitted(bus)

    h.refused(
        bus,
        c.DecideReview(actor=h.YOUTH_APPROVER, program_id=program_id, decision="approve"),
        NotPermitted,
        r"paju-youth is not one of its reviewing parties \(city, education_office\)",
    )
    assert h.program(fakes, program_id).pending_parties() == ["city", "education_office"]


def test_only_approvers_decide(bus: MessageBus, fakes: FakeUnitOfWorkFactory) -> None:
    program_id = s.submitted(bus)

    h.refused(
        bus,
        c.DecideReview(actor=s.CITY_OFFICER, program_id=program_id, decision="approve"),
        NotPermitted,
        "needs the approver role",
    )
    assert h.program(fakes, program_id).pending_parties() == ["city", "education_office"]


def test_a_second_decision_of_the_same_party_is_a_conflict(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.submitted(bus)
    s.decide(bus, program_id, s.CITY_APPROVER)

    h.refused(
        bus,
        c.DecideReview(actor=h.DEPUTY, program_id=program_id, decision="reject"),
        Conflict,
        f"city has already decided on program {program_id} in this round "
        rf"\(approved by {s.CITY_APPROVER}\)",
    )

    assert h.program(fakes, program_id).decisions["city"].by == s.CITY_APPROVER
    assert h.last_refusal(fakes, program_id)["code"] == "conflict"


def test_an_unknown_decision_is_refused_naming_the_known_ones(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.submitted(bus)
    h.refused(
        bus,
        c.DecideReview(actor=s.CITY_APPROVER, program_id=program_id, decision="maybe"),
        InvalidInput,
        "unknown decision 'maybe' \\(use: approve, reject, request-changes\\)",
    )
