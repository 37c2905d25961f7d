"""Money through the bus on the fakes: commitments, tranches, the run started by the
sweep, and the waitlist of programs an envelope has no room for."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from tests import support as s
from tests.fakes import Clock, FakeUnitOfWorkFactory
from tests.handlers import helpers as h
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.errors import Conflict, InvalidInput, NotPermitted, TransitionNotAllowed
from workflow.service_layer.messagebus import MessageBus
from workflow.service_layer.scheduler import run_due_work

RUN_STARTS = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)  # 2026-03-02 00:00 in Seoul


def approved(bus: MessageBus, **kwargs: object) -> int:
    program_id = s.submitted(bus, start=date(2026, 3, 2), end=date(2026, 11, 30), **kwargs)
    s.decide(bus, program_id, s.CITY_APPROVER)
    s.decide(bus, program_id, s.OE_APPROVER)
    return program_id


def commit(bus: MessageBus, program_id: int, officer: str) -> int:
    amount: int = bus.handle(c.CommitFunds(actor=officer, program_id=program_id)).amount
    return amount


def funded(bus: MessageBus) -> int:
    program_id = approved(bus)
    commit(bus, program_id, s.CITY_OFFICER)
    commit(bus, program_id, s.OE_OFFICER)
    return program_id


def disburse(bus: MessageBus, program_id: int, officer: str, amount: int) -> int:
    tranche: int = bus.handle(
        c.DisburseFunds(actor=officer, program_id=program_id, amount=amount)
    ).tranche
    return tranche


def test_commitment_by_both_funders_funds_the_program_and_schedules_its_activation(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = approved(bus)

    assert commit(bus, program_id, s.CITY_OFFICER) == 80_000_000
    assert h.state(fakes, program_id) == "approved"  # waiting on the other funder
    assert h.position(fakes) == h.funds((0, 80_000_000, 0), (20_000_000, 0, 0))
    assert commit(bus, program_id, s.OE_OFFICER) == 20_000_000

    program = h.program(fakes, program_id)
    assert (program.state, program.holds, program.committed) == (
        "funded",
        {},
        {"city": 80_000_000, "education_office": 20_000_000},
    )
    assert h.position(fakes) == h.funds((0, 80_000_000, 0), (0, 20_000_000, 0))
    assert [(a, o) for a, _, o in fakes.reader().schedule.of_program(program_id)] == [
        ("expire", "called off"),
        ("activate", None),
    ]
    assert fakes.reader().schedule.of_program(program_id)[-1][1] == RUN_STARTS
    assert h.types(fakes, program_id)[-3:] == [
        ev.FUNDS_COMMITTED,
        ev.FUNDS_COMMITTED,
        "ProgramFunded",
    ]


def test_the_sweep_starts_the_run_on_its_start_date_and_not_before(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory, clock: Clock
) -> None:
    program_id = funded(bus)
    [work_id] = [w.id for w in fakes.store.schedule if w["action"] == "activate"]
    assert str(bus.handle(c.RunScheduled(actor=None, work_id=work_id))) == "not due"

    clock.at = RUN_STARTS
    assert run_due_work(bus) == Counter({"activate: done": 1})

    assert h.state(fakes, program_id) == "active"
    assert str(bus.handle(c.RunScheduled(actor=None, work_id=work_id))) == "already done"
    assert [a for a, _, o in fakes.reader().schedule.of_program(program_id) if o is None] == [
        "finish"
    ]


def test_another_partys_budget_officer_may_not_commit_to_a_city_only_program(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = approved(bus, education_office=0)

    h.refused(
        bus,
        c.CommitFunds(actor=s.OE_OFFICER, program_id=program_id),
        NotPermitted,
        rf"budget@goepj.kr may not commit funds to program {program_id}: "
        r"education_office is not one of its funding parties \(city\)",
    )

    assert h.position(fakes)["city"][:2] == (80_000_000, 0)
    assert h.last_refusal(fakes, program_id)["command"] == "CommitFunds"


def test_a_budget_officer_may_not_commit_to_their_own_teams_program(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = approved(bus, actor=h.CITY_STAFF, org="city")

    h.refused(
        bus,
        c.CommitFunds(actor=h.CITY_STAFF, program_id=program_id),
        NotPermitted,
        rf"{h.CITY_STAFF} may not commit funds to program {program_id}: they created "
        r"or submitted it \(separation of duties\)",
    )
    assert commit(bus, program_id, s.CITY_OFFICER) == 80_000_000


def test_a_second_commitment_of_the_same_party_is_a_conflict(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = approved(bus)
    commit(bus, program_id, s.CITY_OFFICER)

    h.refused(
        bus,
        c.CommitFunds(actor=s.CITY_OFFICER, program_id=program_id),
        Conflict,
        "city has already committed",
    )

    assert h.position(fakes) == h.funds((0, 80_000_000, 0), (20_000_000, 0, 0))
    assert h.types(fakes, program_id).count(ev.FUNDS_COMMITTED) == 1


def test_tranches_are_numbered_and_paid_out_of_the_commitment(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = funded(bus)

    assert disburse(bus, program_id, s.CITY_OFFICER, 30_000_000) == 1
    assert disburse(bus, program_id, s.OE_OFFICER, 20_000_000) == 2

    # Paid-out money stays committed: what is available does not rise.
    assert h.position(fakes) == h.funds((0, 80_000_000, 30_000_000), (0, 20_000_000, 20_000_000))
    assert h.program(fakes, program_id).disbursed == {
        "city": 30_000_000,
        "education_office": 20_000_000,
    }
    assert [(e.kind, e.idempotency_key) for e in fakes.reader().ledger.entries(program_id)][
        -2:
    ] == [("disburse", f"disburse:{program_id}:1"), ("disburse", f"disburse:{program_id}:2")]


def test_a_tranche_beyond_the_commitment_is_refused_changes_nothing_and_is_audited(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = funded(bus)
    disburse(bus, program_id, s.OE_OFFICER, 15_000_000)
    before = h.snapshot(fakes)

    err = h.refused(
        bus,
        c.DisburseFunds(actor=s.OE_OFFICER, program_id=program_id, amount=5_000_001),
        InvalidInput,
        "only 5,000,000 KRW of its commitment is left to pay out",
    )

    assert h.snapshot(fakes) == before
    assert h.last_refusal(fakes, program_id) == {
        "command": "DisburseFunds",
        "code": "invalid-input",
        "reason": err.message,
    }


def test_a_disbursement_before_funding_is_not_allowed(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = approved(bus)
    h.refused(
        bus,
        c.DisburseFunds(actor=s.CITY_OFFICER, program_id=program_id, amount=1_000_000),
        TransitionNotAllowed,
        f"cannot disburse to program {program_id}: it is approved",
    )
    assert h.position(fakes)["city"][2] == 0


def test_a_program_an_envelope_has_no_room_for_is_waitlisted_and_people_are_told(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.submitted(bus, education_office=530_000_001)

    program = h.program(fakes, program_id)
    assert (program.state, program.holds) == ("waitlisted", {})
    assert h.position(fakes) == h.funds((0, 0, 0), (0, 0, 0))  # all funders or none
    [(_, unavailable)] = [e for e in h.history(fakes, program_id) if e[0] == ev.BUDGET_UNAVAILABLE]
    assert unavailable["parties"] == ["education_office"]
    told = {
        email: [
            (i["program"], i["what"])
            for n in fakes.reader().notifications.of_user(email)
            for i in n["items"]
        ]
        for email in (s.COORDINATOR, s.OE_OFFICER, s.CITY_OFFICER)
    }
    assert told == {
        s.COORDINATOR: [(program_id, "waitlisted")],
        s.OE_OFFICER: [(program_id, "waitlisted")],
        s.CITY_OFFICER: [],
    }


def test_a_waitlisted_program_gets_its_holds_once_its_envelopes_are_added(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = bus.handle(
        c.CreateProgram(  # nobody has a 2027 envelope yet
            actor=s.COORDINATOR,
            title="Next year's camp",
            org="munsan-high",
            category="linkage",
            requests={"city": 80_000_000, "education_office": 20_000_000},
            year=2027,
        )
    )
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=program_id))
    assert h.state(fakes, program_id) == "waitlisted"

    bus.handle(c.AddEnvelope(actor=s.CITY_OFFICER, party="city", year=2027, amount=500_000_000))
    assert h.state(fakes, program_id) == "waitlisted"  # the office's share has no room yet
    bus.handle(
        c.AddEnvelope(actor=s.OE_OFFICER, party="education_office", year=2027, amount=100_000_000)
    )

    program = h.program(fakes, program_id)
    assert (program.state, program.holds) == (
        "in_review",
        {"city": 80_000_000, "education_office": 20_000_000},
    )
    assert h.position(fakes, 2027) == {
        "city": (80_000_000, 0, 0, 420_000_000),
        "education_office": (20_000_000, 0, 0, 80_000_000),
    }
    assert [
        i["what"] for n in fakes.reader().notifications.of_user(s.COORDINATOR) for i in n["items"]
    ] == ["waitlisted", "held_from_waitlist"]


def test_money_released_by_a_rejection_goes_to_the_waitlist_oldest_first(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory, clock: Clock
) -> None:
    first = s.submitted(bus, education_office=500_000_000)
    older = s.submitted(bus, education_office=400_000_000)
    clock.at = clock.at.replace(hour=1)
    newer = s.submitted(
        bus, education_office=400_000_000, actor=s.OTHER_COORDINATOR, org="paju-youth"
    )
    assert [h.state(fakes, p) for p in (first, older, newer)] == [
        "in_review",
        "waitlisted",
        "waitlisted",
    ]

    s.decide(bus, first, s.OE_APPROVER, "reject")

    assert [h.state(fakes, p) for p in (first, older, newer)] == [
        "rejected",
        "in_review",
        "waitlisted",
    ]
    assert h.position(fakes)["education_office"] == (400_000_000, 0, 0, 130_000_000)


def test_adding_an_envelope_a_party_already_has_for_the_year_is_a_conflict(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    h.refused(
        bus,
        c.AddEnvelope(actor=s.CITY_OFFICER, party="city", year=s.YEAR, amount=1_000),
        Conflict,
        "city already has an envelope for 2026",
    )
    h.refused(
        bus,
        c.AddEnvelope(actor=s.CITY_OFFICER, party="education_office", year=2027, amount=1_000),
        NotPermitted,
        "may not manage education_office's budget: they belong to city",
    )
    assert h.position(fakes, 2027) == {}
