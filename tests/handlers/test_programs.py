"""Drafting, submitting and withdrawing, through the bus on the fakes: the handler picks
the workflow, checks who may act, and a refusal changes nothing but the audit log."""

from __future__ import annotations

from datetime import timedelta

from tests import support as s
from tests.fakes import FakeUnitOfWorkFactory, fake_bus
from tests.handlers import helpers as h
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.errors import InvalidInput, NotFound, NotPermitted
from workflow.service_layer.handlers import PLACE_HOLDS
from workflow.service_layer.messagebus import SYSTEM_STREAM, MessageBus

SHARES = {"city": 80_000_000, "education_office": 20_000_000}


def test_a_program_starts_on_the_deployments_default_workflow_when_the_command_names_none() -> None:
    by_admins = h.joint_program_with("joint-program-by-admins", withdraw="admin")
    bus, fakes = fake_bus(definitions=[by_admins], default_workflow=by_admins.key)
    h.seed(bus)

    default = s.create(bus)
    named = s.create(bus, workflow="joint-program")

    assert (h.program(fakes, default).workflow_key, h.program(fakes, default).workflow_version) == (
        "joint-program-by-admins",
        1,
    )
    assert h.program(fakes, named).workflow_key == "joint-program"


def test_a_new_program_is_a_draft_with_the_coordinators_submit_task(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.create(bus)

    program = h.program(fakes, program_id)
    assert (program.state, program.version, program.created_by) == ("draft", 1, s.COORDINATOR)
    assert program.content.requests == SHARES
    assert program.decisions["city"].decision == "pending"
    assert h.tasks(fakes, program_id) == [("submit", "munsan-high/coordinator", "open", None)]
    assert h.types(fakes, program_id) == [ev.PROGRAM_CREATED]


def test_a_refused_create_changes_nothing_and_is_audited_as_action_refused(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    before = h.snapshot(fakes)

    err = h.refused(
        bus,
        c.CreateProgram(
            actor=s.OTHER_COORDINATOR,
            title="Not ours",
            org="munsan-high",
            category="linkage",
            requests=SHARES,
            year=s.YEAR,
        ),
        NotPermitted,
        "coord@paju-youth.kr may not create programs for munsan-high: they belong to paju-youth",
    )

    assert h.snapshot(fakes) == before
    assert fakes.store.programs == {}
    assert h.last_refusal(fakes, SYSTEM_STREAM) == {
        "command": "CreateProgram",
        "code": "not-permitted",
        "reason": err.message,
    }


def test_a_program_asking_money_of_an_organization_that_funds_nothing_is_refused(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    h.refused(
        bus,
        c.CreateProgram(
            actor=s.COORDINATOR,
            title="Odd",
            org="munsan-high",
            category="linkage",
            requests={"paju-youth": 1_000_000},
            year=s.YEAR,
        ),
        InvalidInput,
        "paju-youth is not a funding organization",
    )
    assert fakes.store.programs == {}


def test_a_workflow_nobody_defined_is_not_found_naming_the_known_ones(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    h.refused(
        bus,
        c.CreateProgram(
            actor=s.COORDINATOR,
            title="Odd",
            org="munsan-high",
            category="linkage",
            requests=SHARES,
            year=s.YEAR,
            workflow="no-such-workflow",
        ),
        NotFound,
        "no workflow 'no-such-workflow' \\(known: joint-program\\)",
    )
    assert fakes.store.programs == {}
    assert h.types(fakes, SYSTEM_STREAM)[-1] == ev.ACTION_REFUSED


def test_a_program_needs_a_fiscal_year_or_a_start_date(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    h.refused(
        bus,
        c.CreateProgram(
            actor=s.COORDINATOR,
            title="Undated",
            org="munsan-high",
            category="linkage",
            requests=SHARES,
        ),
        InvalidInput,
        "needs a fiscal year or a start date",
    )
    assert fakes.store.programs == {}


def test_submitting_places_the_holds_inline_and_opens_each_partys_review(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.create(bus)

    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=program_id))

    program = h.program(fakes, program_id)
    assert (program.state, program.holds) == ("in_review", SHARES)
    assert program.submitted_by == {s.COORDINATOR}
    assert h.position(fakes) == h.funds((80_000_000, 0, 0), (20_000_000, 0, 0))
    # Written with the submission, carried out after it commits.
    assert [
        (m["payload"], m["done_at"] is not None)
        for m in fakes.store.outbox
        if m["task"] == PLACE_HOLDS
    ] == [(f'{{"program_id": {program_id}}}', True)]
    assert h.types(fakes, program_id) == [
        ev.PROGRAM_CREATED,
        ev.PROGRAM_SUBMITTED,
        ev.BUDGET_HELD,
        ev.BUDGET_HELD,
        "ReviewStarted",
    ]
    assert h.tasks(fakes, program_id) == [
        ("submit", "munsan-high/coordinator", "completed", s.COORDINATOR),
        ("review", "city/approver", "open", None),
        ("review", "education_office/approver", "open", None),
    ]
    assert fakes.reader().schedule.of_program(program_id) == [
        ("expire", h.MONDAY + timedelta(days=120), None)
    ]


def test_only_the_programs_own_organization_submits_it(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.create(bus)

    # Another school's draft does not exist for its coordinator (nor whose draft it is).
    h.refused(
        bus,
        c.SubmitProgram(actor=s.OTHER_COORDINATOR, program_id=program_id),
        NotFound,
        f"program {program_id} does not exist",
    )

    assert h.state(fakes, program_id) == "draft"
    assert h.last_refusal(fakes, program_id)["command"] == "SubmitProgram"


def test_the_role_that_fires_a_trigger_is_the_one_the_definition_names() -> None:
    by_admins = h.joint_program_with("joint-program-by-admins", withdraw="admin")
    bus, fakes = fake_bus(definitions=[by_admins])
    h.seed(bus)
    program_id = s.create(bus, workflow=by_admins.key)

    h.refused(
        bus,
        c.WithdrawProgram(actor=s.COORDINATOR, program_id=program_id),
        NotPermitted,
        f"may not withdraw program {program_id}: it needs the admin role",
    )
    assert h.state(fakes, program_id) == "draft"
    bus.handle(c.WithdrawProgram(actor=s.ADMIN, program_id=program_id, reason="duplicate"))
    assert h.state(fakes, program_id) == "withdrawn"


def test_withdrawing_a_program_in_review_releases_its_holds_and_cancels_its_reviews(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.submitted(bus)

    bus.handle(c.WithdrawProgram(actor=s.COORDINATOR, program_id=program_id, reason="no staff"))

    assert (h.state(fakes, program_id), h.program(fakes, program_id).holds) == ("withdrawn", {})
    assert h.position(fakes) == h.funds((0, 0, 0), (0, 0, 0))
    assert h.tasks(fakes, program_id)[1:] == [
        ("review", "city/approver", "cancelled", s.COORDINATOR),
        ("review", "education_office/approver", "cancelled", s.COORDINATOR),
    ]
    assert fakes.reader().schedule.of_program(program_id)[-1][2] == "called off"


def test_an_action_on_a_program_that_does_not_exist_is_audited_on_the_system_stream(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    h.refused(
        bus,
        c.SubmitProgram(actor=s.COORDINATOR, program_id=404),
        NotFound,
        "program 404 does not exist",
    )

    assert h.last_refusal(fakes, SYSTEM_STREAM) == {
        "command": "SubmitProgram",
        "code": "not-found",
        "reason": "program 404 does not exist",
        "program_id": 404,
    }
