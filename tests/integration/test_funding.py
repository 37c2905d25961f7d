"""The money lifecycle through the real bus on SQLite and PostgreSQL, to the last won.

A program goes from submission to closed (commitments, tranches, the run moved by the
sweep on a clock the test moves, the report with its file, the evaluation and the
settlement); the budget report is checked at every step. Refused actions change
nothing and are audited; released money (cancellation, settlement, expiry) lets the
waitlisted program in; the sweep does nothing twice. ``Books.check`` proves every
ledger invariant at the end of each test. Last, a database at revision 0001 holding
money upgrades to head and its program carries on.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from alembic import command
from sqlalchemy import create_engine, insert, select, text, update

from config.settings import WORKFLOWS_DIR
from tests import support as s
from tests.conftest import PG_ADMIN_URL, make_settings
from workflow.adapters import views
from workflow.adapters.database import (
    alembic_config,
    current_revision,
    engine_for,
    head_revision,
    upgrade,
)
from workflow.adapters.orm import (
    envelopes,
    ledger_entries,
    party_decisions,
    program_requests,
    programs,
    scheduled_work,
    workflow_definitions,
)
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.budget import LEDGER_KINDS
from workflow.domain.errors import (
    Conflict,
    InvalidInput,
    NotPermitted,
    TransitionNotAllowed,
    WorkflowError,
)
from workflow.domain.events import Event, program_stream
from workflow.service_layer.messagebus import MessageBus
from workflow.service_layer.scheduler import run_due_work

CITY_EVALUATOR = "eval@paju.go.kr"
OE_EVALUATOR = "eval@goepj.kr"
CITY_STAFF = "youth-team@paju.go.kr"  # a city team that runs programs and holds money
YOUTH_EVALUATOR = "eval@paju-youth.kr"
FULL = {"city": 1_930_000_000, "education_office": 530_000_000}
START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # 09:00 in Seoul
RUN_STARTS = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)  # 2026-03-02 00:00 Seoul
RUN_ENDS = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # end date 2026-11-30 over: 12-01 00:00 Seoul
HOLD_DAYS = 120
OFFICERS = {"city": s.CITY_OFFICER, "education_office": s.OE_OFFICER}


# -- the clock and the bus ------------------------------------------------------------


class Clock:
    """The bus's clock; a test moves it to play the year."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def bus(database_url: str, clock: Clock) -> MessageBus:
    """The embedded bus on each backend, on the test's clock; seeded, with evaluators."""
    bus = bootstrap(make_settings(database_url), clock=clock)
    s.seed(bus)
    for email, org, roles in [
        (CITY_EVALUATOR, "city", ("evaluator",)),
        (OE_EVALUATOR, "education_office", ("evaluator",)),
        (YOUTH_EVALUATOR, "paju-youth", ("evaluator",)),
        (CITY_STAFF, "city", ("coordinator", "budget_officer", "evaluator")),
    ]:
        bus.handle(
            c.AddUser(actor=None, email=email, name=email.split("@")[0], org=org, roles=roles)
        )
    return bus


def sweep(bus: MessageBus, clock: Clock, at: datetime) -> Counter[str]:
    clock.at = at
    return run_due_work(bus)


# -- the invariants -------------------------------------------------------------------


class Books:
    """Every invariant of PRODUCT §4 and issue 3, checked against the database.

    Remembers the entries it has seen, so a later check proves none was changed or
    deleted (the ledger only grows).
    """

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def check(self, bus: MessageBus) -> None:
        def read(uow: Any) -> tuple[Any, ...]:
            shares = uow.conn.execute(
                select(program_requests, programs.c.fiscal_year).join_from(
                    program_requests, programs, program_requests.c.program_id == programs.c.id
                )
            ).all()
            return (uow.ledger.report(), uow.ledger.entries(), shares, uow.events.verify())

        report, entries, shares, (checked, broken) = bus.query(read)
        assert broken is None, broken.describe()
        assert checked > 0
        assert entries[: len(self.seen)] == self.seen, "a ledger entry was changed or deleted"
        self.seen = entries

        by_envelope: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
        by_share: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)
        keys = [e["idempotency_key"] for e in entries]
        assert len(keys) == len(set(keys))
        for e in entries:
            assert e["kind"] in LEDGER_KINDS and e["amount"] > 0
            assert (e["source"] in ("held", "committed")) == (e["kind"] == "release"), e
            assert (e["source"] in ("raise", "lower")) == (e["kind"] == "amend"), e
            bucket = f"{e['kind']}:{e['source']}" if e["source"] else e["kind"]
            by_envelope[e["party"], e["fiscal_year"]][bucket] += e["amount"]
            by_share[e["program_id"], e["party"]][bucket] += e["amount"]

        def balances(moved: Counter[str]) -> tuple[int, int, int]:
            return (
                moved["hold"] - moved["release:held"] - moved["commit"],
                moved["commit"] - moved["release:committed"] - moved["refund"],
                moved["disburse"] - moved["refund"],
            )

        summed: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
        for r in shares:
            assert min(r.held, r.committed, r.disbursed) >= 0, r
            assert r.disbursed <= r.committed, r
            assert (r.held, r.committed, r.disbursed) == balances(
                by_share[r.program_id, r.party]
            ), r
            summed[r.party, r.fiscal_year].update(
                {"held": r.held, "committed": r.committed, "disbursed": r.disbursed}
            )
        for env in report:
            assert min(env.held, env.committed, env.disbursed, env.available) >= 0, env
            assert env.held + env.committed <= env.amount, env
            assert env.disbursed <= env.committed, env
            assert (env.held, env.committed, env.disbursed) == balances(
                by_envelope[env.party, env.year]
            ), env
            total = summed[env.party, env.year]
            assert (env.held, env.committed, env.disbursed) == (
                total["held"],
                total["committed"],
                total["disbursed"],
            ), env


@pytest.fixture
def books() -> Books:
    return Books()


# -- reading ------------------------------------------------------------------------


Position = dict[str, tuple[int, int, int, int]]


def position(bus: MessageBus) -> Position:
    """Per funder, to the won: (held, committed, disbursed, available)."""
    rows = bus.view(lambda uow, who: views.budget_report(uow, who, s.YEAR), None)
    return {r["party"]: (r["held"], r["committed"], r["disbursed"], r["available"]) for r in rows}


def funds(city: tuple[int, int, int], oe: tuple[int, int, int]) -> Position:
    """The expected position from (held, committed, disbursed) per funder."""
    return {
        "city": (*city, FULL["city"] - city[0] - city[1]),
        "education_office": (*oe, FULL["education_office"] - oe[0] - oe[1]),
    }


detail = s.detail


def state(bus: MessageBus, program_id: int) -> str:
    return str(detail(bus, program_id)["state"])


def history(bus: MessageBus, program_id: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        (e.type, json.loads(e.data))
        for e in bus.query(lambda uow: uow.events.history(program_stream(program_id)))
    ]


def types(bus: MessageBus, program_id: int) -> list[str]:
    return [t for t, _ in history(bus, program_id)]


def entries(bus: MessageBus, program_id: int) -> list[tuple[str, str | None, str, int, str]]:
    return [
        (e["kind"], e["source"], e["party"], e["amount"], e["idempotency_key"])
        for e in bus.query(lambda uow: uow.ledger.entries(program_id=program_id))
    ]


def work(bus: MessageBus, program_id: int) -> list[tuple[str, datetime, str | None]]:
    """Every scheduled-work row of the program: (action, due at in UTC, outcome)."""
    rows = bus.query(
        lambda uow: uow.conn.execute(
            select(scheduled_work.c.action, scheduled_work.c.due_at, scheduled_work.c.outcome)
            .where(scheduled_work.c.program_id == program_id)
            .order_by(scheduled_work.c.id)
        ).all()
    )
    return [
        (r.action, r.due_at if r.due_at.tzinfo else r.due_at.replace(tzinfo=UTC), r.outcome)
        for r in rows
    ]


def everything(bus: MessageBus, program_id: int) -> tuple[Any, ...]:
    """What a refused action must leave untouched."""
    return (
        detail(bus, program_id),
        position(bus),
        entries(bus, program_id),
        work(bus, program_id),
        types(bus, program_id),
    )


# -- acting ---------------------------------------------------------------------------


def new_program(
    bus: MessageBus,
    city: int = 80_000_000,
    education_office: int = 20_000_000,
    actor: str = s.COORDINATOR,
    org: str = "munsan-high",
    start: date | None = date(2026, 3, 2),
    end: date | None = date(2026, 11, 30),
) -> int:
    return s.create(bus, city, education_office, actor=actor, org=org, start=start, end=end)


def submit(bus: MessageBus, program_id: int, actor: str = s.COORDINATOR) -> None:
    bus.handle(c.SubmitProgram(actor=actor, program_id=program_id))


def approve(bus: MessageBus, program_id: int) -> None:
    s.decide(bus, program_id, s.CITY_APPROVER)
    s.decide(bus, program_id, s.OE_APPROVER)


def commit(bus: MessageBus, program_id: int, officer: str) -> int:
    amount: int = bus.handle(c.CommitFunds(actor=officer, program_id=program_id)).amount
    return amount


def disburse(bus: MessageBus, program_id: int, officer: str, amount: int) -> int:
    tranche: int = bus.handle(
        c.DisburseFunds(actor=officer, program_id=program_id, amount=amount, memo=f"{amount:,}")
    ).tranche
    return tranche


def funded(bus: MessageBus, program_id: int, actor: str = s.COORDINATOR) -> int:
    if state(bus, program_id) == "draft":
        submit(bus, program_id, actor)
    approve(bus, program_id)
    for party in detail(bus, program_id)["requested"]:
        commit(bus, program_id, OFFICERS[party])
    assert state(bus, program_id) == "funded"
    return program_id


def report(
    bus: MessageBus,
    program_id: int,
    spent: dict[str, int],
    file: c.ReportFile | None = None,
    actor: str = s.COORDINATOR,
) -> None:
    bus.handle(
        c.SubmitReport(
            actor=actor,
            program_id=program_id,
            spent=spent,
            summary="Twelve weekend labs with 240 students",
            file=file,
        )
    )


def evaluate(
    bus: MessageBus,
    program_id: int,
    evaluator: str,
    verdict: str = "accept",
    score: int | None = None,
) -> None:
    bus.handle(
        c.EvaluateReport(actor=evaluator, program_id=program_id, verdict=verdict, score=score)
    )


def run_to_evaluation(bus: MessageBus, clock: Clock, program_id: int) -> None:
    assert sweep(bus, clock, RUN_STARTS)["activate: done"] >= 1
    assert sweep(bus, clock, RUN_ENDS)["finish: done"] >= 1
    assert state(bus, program_id) == "evaluation_due"


# -- the whole path -------------------------------------------------------------------


def test_a_program_goes_from_submission_to_closed_with_every_won_accounted_for(
    bus: MessageBus, clock: Clock, books: Books
) -> None:
    program_id = new_program(bus)
    submit(bus, program_id)
    assert state(bus, program_id) == "in_review"
    assert position(bus) == funds((80_000_000, 0, 0), (20_000_000, 0, 0))
    assert work(bus, program_id) == [("expire", START + timedelta(days=HOLD_DAYS), None)]
    books.check(bus)

    approve(bus, program_id)
    assert state(bus, program_id) == "approved"
    assert position(bus) == funds((80_000_000, 0, 0), (20_000_000, 0, 0))

    assert commit(bus, program_id, s.CITY_OFFICER) == 80_000_000
    assert state(bus, program_id) == "approved"
    assert detail(bus, program_id)["waiting_on"] == ["education_office"]
    assert position(bus) == funds((0, 80_000_000, 0), (20_000_000, 0, 0))
    books.check(bus)

    assert commit(bus, program_id, s.OE_OFFICER) == 20_000_000
    assert state(bus, program_id) == "funded"
    assert position(bus) == funds((0, 80_000_000, 0), (0, 20_000_000, 0))
    assert work(bus, program_id) == [
        ("expire", START + timedelta(days=HOLD_DAYS), "called off"),
        ("activate", RUN_STARTS, None),
    ]
    books.check(bus)

    assert disburse(bus, program_id, s.CITY_OFFICER, 30_000_000) == 1
    assert position(bus) == funds((0, 80_000_000, 30_000_000), (0, 20_000_000, 0))

    assert sweep(bus, clock, START) == Counter()
    assert sweep(bus, clock, RUN_STARTS - timedelta(seconds=1)) == Counter()
    assert state(bus, program_id) == "funded"
    assert sweep(bus, clock, RUN_STARTS) == Counter({"activate: done": 1})
    assert state(bus, program_id) == "active"
    assert detail(bus, program_id)["scheduled"] == [
        {"action": "finish", "due_at": RUN_ENDS.isoformat()}
    ]
    happened = (types(bus, program_id), entries(bus, program_id))
    assert sweep(bus, clock, RUN_STARTS + timedelta(days=1)) == Counter()  # nothing twice
    assert (types(bus, program_id), entries(bus, program_id)) == happened
    books.check(bus)

    assert disburse(bus, program_id, s.OE_OFFICER, 20_000_000) == 2
    assert disburse(bus, program_id, s.CITY_OFFICER, 20_000_000) == 3
    assert position(bus) == funds((0, 80_000_000, 50_000_000), (0, 20_000_000, 20_000_000))

    assert sweep(bus, clock, RUN_ENDS - timedelta(minutes=1)) == Counter()  # 23:59 on the end date
    assert state(bus, program_id) == "active"
    assert sweep(bus, clock, RUN_ENDS) == Counter({"finish: done": 1})
    assert state(bus, program_id) == "evaluation_due"
    assert sweep(bus, clock, RUN_ENDS + timedelta(hours=1)) == Counter()
    books.check(bus)

    content = b"%PDF-1.7\n% evaluation 2026\n" + bytes(range(256))
    report(
        bus,
        program_id,
        {"city": 60_000_000, "education_office": 20_000_000},
        c.ReportFile("evaluation-2026.pdf", content),
    )
    assert state(bus, program_id) == "under_evaluation"
    digest = hashlib.sha256(content).hexdigest()
    files = bus.query(lambda uow: uow.documents.of_program(program_id))
    assert [(f.kind, f.round, f.name, f.sha256, f.content_type) for f in files] == [
        ("report", 1, "evaluation-2026.pdf", digest, "application/pdf")
    ]
    assert detail(bus, program_id)["report"]["file"] == {
        "name": "evaluation-2026.pdf",
        "size": len(content),
        "sha256": digest,
    }
    assert position(bus) == funds((0, 80_000_000, 50_000_000), (0, 20_000_000, 20_000_000))

    evaluate(bus, program_id, CITY_EVALUATOR, score=4)
    assert state(bus, program_id) == "under_evaluation"
    assert detail(bus, program_id)["waiting_on"] == ["education_office"]
    evaluate(bus, program_id, OE_EVALUATOR, score=5)
    assert state(bus, program_id) == "closed"
    assert position(bus) == funds((0, 60_000_000, 50_000_000), (0, 20_000_000, 20_000_000))
    assert detail(bus, program_id)["committed"] == {
        "city": 60_000_000,
        "education_office": 20_000_000,
    }
    books.check(bus)

    # What was spent but not yet paid can still be paid out after closing; no more.
    assert disburse(bus, program_id, s.CITY_OFFICER, 10_000_000) == 4
    with pytest.raises(InvalidInput, match="only 0 KRW of its commitment is left"):
        disburse(bus, program_id, s.CITY_OFFICER, 1)
    assert position(bus) == funds((0, 60_000_000, 60_000_000), (0, 20_000_000, 20_000_000))

    assert entries(bus, program_id) == [
        ("hold", None, "city", 80_000_000, f"hold:{program_id}:1:city"),
        ("hold", None, "education_office", 20_000_000, f"hold:{program_id}:1:education_office"),
        ("commit", None, "city", 80_000_000, f"commit:{program_id}:city"),
        ("commit", None, "education_office", 20_000_000, f"commit:{program_id}:education_office"),
        ("disburse", None, "city", 30_000_000, f"disburse:{program_id}:1"),
        ("disburse", None, "education_office", 20_000_000, f"disburse:{program_id}:2"),
        ("disburse", None, "city", 20_000_000, f"disburse:{program_id}:3"),
        ("release", "committed", "city", 20_000_000, f"release-commitment:{program_id}:city"),
        ("disburse", None, "city", 10_000_000, f"disburse:{program_id}:4"),
    ]
    milestones = types(bus, program_id)
    for milestone in (
        "ProgramFunded",
        "ProgramActivated",
        "EvaluationDue",
        "EvaluationReportSubmitted",
        "ProgramClosed",
    ):
        assert milestones.count(milestone) == 1, milestone
    assert [d for t, d in history(bus, program_id) if t == ev.COMMITMENT_RELEASED] == [
        {"party": "city", "amount": 20_000_000, "reason": "unspent at closing"}
    ]
    assert [(a, o) for a, _, o in work(bus, program_id)] == [
        ("expire", "called off"),
        ("activate", "done"),
        ("finish", "done"),
    ]
    books.check(bus)


def test_a_returned_report_is_submitted_again_and_the_second_one_is_settled(
    bus: MessageBus, clock: Clock, books: Books
) -> None:
    program_id = funded(bus, new_program(bus))
    run_to_evaluation(bus, clock, program_id)
    report(bus, program_id, {"city": 0, "education_office": 0})
    evaluate(bus, program_id, CITY_EVALUATOR)
    evaluate(bus, program_id, OE_EVALUATOR, "return")
    assert state(bus, program_id) == "evaluation_due"
    assert position(bus) == funds((0, 80_000_000, 0), (0, 20_000_000, 0))

    report(
        bus,
        program_id,
        {"city": 70_000_000, "education_office": 0},
        c.ReportFile("receipts.pdf", b"%PDF-1.7\n% receipts\n"),
    )
    assert detail(bus, program_id)["evaluations"]["city"]["verdict"] == "pending"
    evaluate(bus, program_id, CITY_EVALUATOR)
    evaluate(bus, program_id, OE_EVALUATOR)

    assert state(bus, program_id) == "closed"
    assert position(bus) == funds((0, 70_000_000, 0), (0, 0, 0))
    rounds = bus.query(lambda uow: uow.documents.of_program(program_id))
    assert [(f.round, f.name) for f in rounds] == [(2, "receipts.pdf")]
    books.check(bus)


def test_a_tranche_beyond_the_commitment_is_refused_and_moves_nothing(
    bus: MessageBus, books: Books
) -> None:
    program_id = funded(bus, new_program(bus))
    disburse(bus, program_id, s.OE_OFFICER, 15_000_000)
    before = everything(bus, program_id)

    with pytest.raises(InvalidInput, match="only 5,000,000 KRW of its commitment is left"):
        disburse(bus, program_id, s.OE_OFFICER, 5_000_001)

    after = everything(bus, program_id)
    assert after[:4] == before[:4]
    assert after[4] == [*before[4], ev.ACTION_REFUSED]
    books.check(bus)


def test_a_second_commitment_of_the_same_party_is_a_conflict(bus: MessageBus, books: Books) -> None:
    program_id = new_program(bus)
    submit(bus, program_id)
    approve(bus, program_id)
    commit(bus, program_id, s.CITY_OFFICER)

    with pytest.raises(Conflict, match="city has already committed"):
        commit(bus, program_id, s.CITY_OFFICER)

    assert position(bus) == funds((0, 80_000_000, 0), (20_000_000, 0, 0))
    assert types(bus, program_id).count(ev.FUNDS_COMMITTED) == 1
    books.check(bus)


# -- permissions (PRODUCT §2) ---------------------------------------------------------


City = "city-only"  # a program funded by the city alone


REFUSALS: dict[str, tuple[str, str, Callable[[int], c.Command], str]] = {
    # name: (where the program is, which program, the command, what the refusal says)
    "another party's budget officer commits": (
        "approved",
        City,
        lambda p: c.CommitFunds(actor=s.OE_OFFICER, program_id=p),
        r"budget@goepj.kr may not commit funds to program \d+: education_office is not one "
        r"of its funding parties \(city\)",
    ),
    "a coordinator commits": (
        "approved",
        "joint",
        lambda p: c.CommitFunds(actor=s.COORDINATOR, program_id=p),
        "needs the budget_officer role",
    ),
    "an approver commits": (
        "approved",
        "joint",
        lambda p: c.CommitFunds(actor=s.CITY_APPROVER, program_id=p),
        "needs the budget_officer role",
    ),
    "another party's budget officer disburses": (
        "funded",
        City,
        lambda p: c.DisburseFunds(actor=s.OE_OFFICER, program_id=p, amount=1_000_000),
        "education_office is not one of its funding parties",
    ),
    "an admin disburses": (
        "funded",
        "joint",
        lambda p: c.DisburseFunds(actor=s.ADMIN, program_id=p, amount=1_000_000),
        "needs the budget_officer role",
    ),
    "another organization's coordinator reports": (
        "evaluation_due",
        "joint",
        lambda p: c.SubmitReport(
            actor=s.OTHER_COORDINATOR,
            program_id=p,
            spent={"city": 80_000_000, "education_office": 20_000_000},
            summary="not mine",
        ),
        "belongs to munsan-high, not to paju-youth",
    ),
    "a budget officer evaluates": (
        "under_evaluation",
        "joint",
        lambda p: c.EvaluateReport(actor=s.CITY_OFFICER, program_id=p, verdict="accept"),
        "needs the evaluator role",
    ),
    "an evaluator of an organization that is no party evaluates": (
        "under_evaluation",
        "joint",
        lambda p: c.EvaluateReport(actor=YOUTH_EVALUATOR, program_id=p, verdict="accept"),
        r"paju-youth is not one of its evaluating parties \(city, education_office\)",
    ),
    "a budget officer cancels": (
        "funded",
        "joint",
        lambda p: c.CancelProgram(actor=s.CITY_OFFICER, program_id=p, reason="no"),
        "needs the admin role",
    ),
    "the coordinator cancels": (
        "funded",
        "joint",
        lambda p: c.CancelProgram(actor=s.COORDINATOR, program_id=p, reason="no"),
        "needs the admin role",
    ),
    "the city team commits to its own program": (
        "approved",
        "own",
        lambda p: c.CommitFunds(actor=CITY_STAFF, program_id=p),
        r"youth-team@paju.go.kr may not commit funds to program \d+: they created or "
        r"submitted it \(separation of duties\)",
    ),
    "the city team disburses to its own program": (
        "funded",
        "own",
        lambda p: c.DisburseFunds(actor=CITY_STAFF, program_id=p, amount=1_000_000),
        "separation of duties",
    ),
    "the city team evaluates its own program": (
        "under_evaluation",
        "own",
        lambda p: c.EvaluateReport(actor=CITY_STAFF, program_id=p, verdict="accept"),
        r"may not evaluate program \d+: they created or submitted it",
    ),
}


def program_at(bus: MessageBus, clock: Clock, where: str, which: str) -> int:
    """A program brought to ``where`` through the bus."""
    if which == "own":  # the city team's own program: created and submitted by it
        program_id = new_program(bus, actor=CITY_STAFF, org="city")
        owner = CITY_STAFF
    elif which == City:
        program_id = new_program(bus, education_office=0)
        owner = s.COORDINATOR
    else:
        program_id = new_program(bus)
        owner = s.COORDINATOR
    submit(bus, program_id, owner)
    approve(bus, program_id)
    if where == "approved":
        return program_id
    requested = detail(bus, program_id)["requested"]
    for party in requested:
        # the city team may not commit to its own program: the city's other officer does
        commit(bus, program_id, OFFICERS[party])
    if where == "funded":
        return program_id
    run_to_evaluation(bus, clock, program_id)
    if where == "evaluation_due":
        return program_id
    report(bus, program_id, dict(requested), actor=owner)
    assert state(bus, program_id) == "under_evaluation"
    return program_id


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_refused_action_says_why_changes_nothing_and_is_audited(
    bus: MessageBus, clock: Clock, books: Books, case: str
) -> None:
    where, which, make, message = REFUSALS[case]
    program_id = program_at(bus, clock, where, which)
    before = everything(bus, program_id)
    cmd = make(program_id)

    with pytest.raises(NotPermitted, match=message) as refused:
        bus.handle(cmd)

    after = everything(bus, program_id)
    assert after[:4] == before[:4]
    assert after[4] == [*before[4], ev.ACTION_REFUSED]
    assert history(bus, program_id)[-1] == (
        ev.ACTION_REFUSED,
        {"command": type(cmd).__name__, "code": "not-permitted", "reason": str(refused.value)},
    )
    books.check(bus)


def test_an_evaluator_acts_only_for_their_own_party(
    bus: MessageBus, clock: Clock, books: Books
) -> None:
    program_id = program_at(bus, clock, "under_evaluation", "joint")
    bus.handle(
        c.AddUser(
            actor=None, email="eval2@paju.go.kr", name="eval2", org="city", roles=("evaluator",)
        )
    )
    evaluate(bus, program_id, CITY_EVALUATOR)

    # A second city evaluator's verdict is the city's again, never the other party's.
    with pytest.raises(Conflict, match="city has already evaluated"):
        evaluate(bus, program_id, "eval2@paju.go.kr")

    assert detail(bus, program_id)["evaluations"]["education_office"]["verdict"] == "pending"
    assert history(bus, program_id)[-1][1]["code"] == "conflict"
    books.check(bus)


# -- released money lets the waitlist in ----------------------------------------------


def waitlisted_behind(bus: MessageBus) -> tuple[int, int]:
    """The education office can hold only one of two programs: the second waits."""
    bus.handle(
        c.AddEnvelope(actor=s.OE_OFFICER, party="education_office", year=2027, amount=1_000_000)
    )  # another year: never touched
    first = new_program(bus)
    submit(bus, first)
    second = new_program(
        bus,
        city=10_000_000,
        education_office=520_000_000,
        actor=s.OTHER_COORDINATOR,
        org="paju-youth",
    )
    bus.handle(c.SubmitProgram(actor=s.OTHER_COORDINATOR, program_id=second))
    assert state(bus, second) == "waitlisted"
    return first, second


def test_cancelling_returns_undisbursed_money_and_the_waitlisted_program_gets_its_holds(
    bus: MessageBus, books: Books
) -> None:
    first, second = waitlisted_behind(bus)
    funded(bus, first)
    disburse(bus, first, s.OE_OFFICER, 5_000_000)
    disburse(bus, first, s.CITY_OFFICER, 30_000_000)

    bus.handle(c.CancelProgram(actor=s.ADMIN, program_id=first, reason="partner withdrew"))

    assert state(bus, first) == "cancelled"
    assert detail(bus, first)["committed"] == {"city": 30_000_000, "education_office": 5_000_000}
    assert [d for t, d in history(bus, first) if t == ev.COMMITMENT_RELEASED] == [
        {"party": "city", "amount": 50_000_000, "reason": "cancelled"},
        {"party": "education_office", "amount": 15_000_000, "reason": "cancelled"},
    ]
    # 530M - 5M disbursed = 525M free: the waitlisted 520M request now fits.
    assert state(bus, second) == "in_review"
    assert detail(bus, second)["holds"] == {"city": 10_000_000, "education_office": 520_000_000}
    assert position(bus) == funds(
        (10_000_000, 30_000_000, 30_000_000), (520_000_000, 5_000_000, 5_000_000)
    )
    books.check(bus)


def test_settlement_returns_unspent_money_and_the_waitlisted_program_gets_its_holds(
    bus: MessageBus, clock: Clock, books: Books
) -> None:
    first, second = waitlisted_behind(bus)
    funded(bus, first)
    run_to_evaluation(bus, clock, first)
    disburse(bus, first, s.OE_OFFICER, 10_000_000)
    report(bus, first, {"city": 80_000_000, "education_office": 10_000_000})
    evaluate(bus, first, CITY_EVALUATOR)
    assert state(bus, second) == "waitlisted"

    evaluate(bus, first, OE_EVALUATOR)

    assert state(bus, first) == "closed"
    assert state(bus, second) == "in_review"
    assert (
        detail(bus, second)["holds_expire_at"] == (RUN_ENDS + timedelta(days=HOLD_DAYS)).isoformat()
    )
    assert position(bus) == funds(
        (10_000_000, 80_000_000, 0), (520_000_000, 10_000_000, 10_000_000)
    )
    books.check(bus)


def test_expired_holds_are_released_and_the_waitlisted_program_gets_them(
    bus: MessageBus, clock: Clock, books: Books
) -> None:
    first, second = waitlisted_behind(bus)
    s.decide(bus, first, s.CITY_APPROVER)
    expires = START + timedelta(days=HOLD_DAYS)

    assert sweep(bus, clock, expires) == Counter({"expire: done": 1})

    assert state(bus, first) == "expired"
    assert state(bus, second) == "in_review"
    assert (
        detail(bus, second)["holds_expire_at"] == (expires + timedelta(days=HOLD_DAYS)).isoformat()
    )
    assert position(bus) == funds((10_000_000, 0, 0), (520_000_000, 0, 0))
    books.check(bus)


# -- hold expiry by the sweep ---------------------------------------------------------


def test_the_sweep_expires_lapsed_holds_once_with_notice_and_leaves_funded_programs_alone(
    bus: MessageBus, clock: Clock, books: Books
) -> None:
    reviewing = new_program(bus)
    submit(bus, reviewing)
    half_committed = new_program(bus)
    submit(bus, half_committed)
    approve(bus, half_committed)
    commit(bus, half_committed, s.CITY_OFFICER)
    running_later = funded(bus, new_program(bus, start=date(2026, 9, 1), end=None))
    expires = START + timedelta(days=HOLD_DAYS)
    assert position(bus) == funds((80_000_000, 160_000_000, 0), (40_000_000, 20_000_000, 0))

    assert sweep(bus, clock, expires - timedelta(seconds=1)) == Counter()
    assert state(bus, reviewing) == "in_review"

    assert sweep(bus, clock, expires) == Counter({"expire: done": 2})

    assert [state(bus, p) for p in (reviewing, half_committed, running_later)] == [
        "expired",
        "expired",
        "funded",
    ]
    assert position(bus) == funds((0, 80_000_000, 0), (0, 20_000_000, 0))
    assert history(bus, reviewing)[-4:] == [
        (
            ev.HOLDS_EXPIRED,
            {
                "expired_at": expires.isoformat(),
                "holds": {"city": 80_000_000, "education_office": 20_000_000},
            },
        ),
        (ev.HOLD_RELEASED, {"party": "city", "amount": 80_000_000, "reason": "hold expired"}),
        (
            ev.HOLD_RELEASED,
            {"party": "education_office", "amount": 20_000_000, "reason": "hold expired"},
        ),
        ("ProgramExpired", {"trigger": "expire", "from": "in_review", "to": "expired"}),
    ]
    assert [t for t, _ in history(bus, half_committed)][-4:] == [
        ev.HOLDS_EXPIRED,
        ev.HOLD_RELEASED,
        ev.COMMITMENT_RELEASED,
        "ProgramExpired",
    ]
    assert work(bus, reviewing) == [("expire", expires, "done")]
    assert [o for a, _, o in work(bus, running_later) if a == "expire"] == ["called off"]
    # The coordinator and every funder's budget officer are told, once.
    lapsed = [(reviewing, "holds_expired"), (half_committed, "holds_expired")]
    for person in (s.COORDINATOR, s.CITY_OFFICER, s.OE_OFFICER):
        assert sorted(s.budget_notices(bus, person)) == lapsed

    # Running the sweep again, or the same row again, does nothing twice.
    happened = (
        {p: types(bus, p) for p in (reviewing, half_committed)},
        bus.query(lambda uow: uow.ledger.entries()),
    )
    assert sweep(bus, clock, expires + timedelta(days=1)) == Counter()
    work_ids = bus.query(
        lambda uow: uow.conn.scalars(
            select(scheduled_work.c.id).where(
                scheduled_work.c.action == "expire", scheduled_work.c.outcome == "done"
            )
        ).all()
    )
    assert [str(bus.handle(c.RunScheduled(actor=None, work_id=w))) for w in work_ids] == [
        "already done",
        "already done",
    ]
    assert (
        {p: types(bus, p) for p in (reviewing, half_committed)},
        bus.query(lambda uow: uow.ledger.entries()),
    ) == happened
    assert sorted(s.budget_notices(bus, s.COORDINATOR)) == lapsed  # nobody told twice
    with pytest.raises(WorkflowError):
        commit(bus, half_committed, s.OE_OFFICER)
    books.check(bus)


def test_scheduled_work_run_before_it_is_due_waits(bus: MessageBus, books: Books) -> None:
    program_id = funded(bus, new_program(bus))
    work_id = bus.query(
        lambda uow: uow.conn.scalar(
            select(scheduled_work.c.id).where(scheduled_work.c.action == "activate")
        )
    )

    assert str(bus.handle(c.RunScheduled(actor=None, work_id=work_id))) == "not due"

    assert state(bus, program_id) == "funded"
    assert work(bus, program_id)[-1] == ("activate", RUN_STARTS, None)
    books.check(bus)


def test_a_run_whose_end_has_passed_by_its_start_is_finished_by_the_same_sweep(
    bus: MessageBus, clock: Clock, books: Books
) -> None:
    program_id = funded(bus, new_program(bus))

    outcomes = sweep(bus, clock, RUN_ENDS + timedelta(days=3))

    assert outcomes == Counter({"activate: done": 1, "finish: done": 1})
    assert state(bus, program_id) == "evaluation_due"
    assert sweep(bus, clock, RUN_ENDS + timedelta(days=4)) == Counter()
    books.check(bus)


# -- a database from before the money lifecycle ---------------------------------------

# joint-program v1 as it was stored by revision 0001's deployments (the same states
# and transitions; comments dropped).
WORKFLOW_V1 = """\
key: joint-program
version: 1
title: Joint education program (Paju City + Paju Office of Education)
parties:
  - {key: city, name: Paju City, role: approver}
  - {key: education_office, name: Paju Office of Education, role: approver}
categories:
  linkage: talent development through high school–university linkage
initial: draft
states:
  draft:              {type: human, role: coordinator, sla_days: 20}
  submitted:          {type: system}
  waitlisted:         {type: system}
  in_review:          {type: review, role: approver, sla_days: 10}
  revision_requested: {type: human, role: coordinator, sla_days: 15}
  approved:           {type: human, role: budget_officer, sla_days: 10}
  rejected:           {type: final}
  withdrawn:          {type: final}
transitions:
  - {trigger: submit, source: draft, dest: submitted, actor: coordinator, records: ProgramSubmitted}
  - {trigger: hold, source: [submitted, waitlisted], dest: in_review, actor: system, records: ReviewStarted}
  - {trigger: waitlist, source: submitted, dest: waitlisted, actor: system, records: ProgramWaitlisted}
  - {trigger: approve, source: in_review, dest: approved, actor: approver, when: all_parties_approved, records: ProgramApproved}
  - {trigger: request_changes, source: in_review, dest: revision_requested, actor: approver, records: RevisionRequested}
  - {trigger: reject, source: in_review, dest: rejected, actor: approver, records: ProgramRejected}
  - {trigger: resubmit, source: revision_requested, dest: in_review, actor: coordinator, when: holds_cover_request, records: ProgramResubmitted}
  - {trigger: resubmit, source: revision_requested, dest: submitted, actor: coordinator, unless: holds_cover_request, records: ProgramResubmitted}
  - {trigger: withdraw, source: [draft, submitted, waitlisted, in_review, revision_requested, approved], dest: withdrawn, actor: coordinator, records: ProgramWithdrawn}
"""  # noqa: E501


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """A brand-new, empty PostgreSQL database, dropped afterwards."""
    name = f"jointflow_r0001_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database migrated to revision 0001 only, on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'r0001.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres")
    command.upgrade(alembic_config(engine_for(url)), "0001")
    assert current_revision(engine_for(url)) == "0001"
    yield url
    engine_for(url).dispose()


def seed_as_revision_0001(bus: MessageBus) -> None:
    """``tests.support``'s organizations and people, and its envelopes written below the
    commands: today's handlers read the acting user with columns 0001 did not have."""
    for key, name, funder in [
        ("city", "Paju City", True),
        ("education_office", "Paju Office of Education", True),
        ("munsan-high", "Munsan High School", False),
    ]:
        bus.handle(c.AddOrganization(actor=None, key=key, name=name, funder=funder))
    for email, org, role in [
        (s.COORDINATOR, "munsan-high", "coordinator"),
        (s.CITY_APPROVER, "city", "approver"),
        (s.OE_APPROVER, "education_office", "approver"),
        (s.CITY_OFFICER, "city", "budget_officer"),
        (s.OE_OFFICER, "education_office", "budget_officer"),
    ]:
        bus.handle(c.AddUser(actor=None, email=email, name=email.split("@")[0], org=org,
                             roles=(role,)))  # fmt: skip

    def write(uow: Any) -> None:
        uow.ledger.add_envelope("city", s.YEAR, 1_930_000_000)
        uow.ledger.add_envelope("education_office", s.YEAR, 530_000_000)

    s.in_transaction(bus, write)


def hold_money_as_revision_0001_did(bus: MessageBus, workflow_version: int) -> int:
    """A program in review holding its request, written with revision 0001's columns only."""
    requests = {"city": 80_000_000, "education_office": 20_000_000}

    def write(uow: Any) -> int:
        conn, now = uow.conn, uow.now
        if workflow_version == 1:
            conn.execute(
                insert(workflow_definitions).values(
                    key="joint-program",
                    version=1,
                    source=WORKFLOW_V1,
                    created_at=now,
                    checksum=hashlib.sha256(WORKFLOW_V1.encode()).hexdigest(),
                )
            )
        else:
            uow.current_workflow("joint-program")
        program_id = int(
            conn.execute(
                insert(programs)
                .values(
                    title="Linkage camp",
                    description="",
                    category="linkage",
                    org_key="munsan-high",
                    workflow_key="joint-program",
                    workflow_version=workflow_version,
                    state="in_review",
                    fiscal_year=s.YEAR,
                    start_date=date(2026, 3, 2),
                    end_date=date(2026, 11, 30),
                    review_round=1,
                    created_by=s.COORDINATOR,
                    submitted_by=json.dumps([s.COORDINATOR]),
                    version=3,
                    created_at=now,
                    updated_at=now,
                )
                .returning(programs.c.id)
            ).scalar_one()
        )
        for party, amount in requests.items():
            conn.execute(
                insert(program_requests).values(
                    program_id=program_id, party=party, amount=amount, held=amount
                )
            )
            conn.execute(
                insert(party_decisions).values(
                    program_id=program_id, party=party, decision="pending", comment=""
                )
            )
            envelope_id = conn.execute(
                update(envelopes)
                .where(envelopes.c.party == party, envelopes.c.fiscal_year == s.YEAR)
                .values(held=envelopes.c.held + amount)
                .returning(envelopes.c.id)
            ).scalar_one()
            conn.execute(
                insert(ledger_entries).values(
                    envelope_id=envelope_id,
                    program_id=program_id,
                    kind="hold",
                    amount=amount,
                    idempotency_key=f"hold:{program_id}:1:{party}",
                    actor="system",
                    created_at=now,
                )
            )
        uow.events.append(
            program_stream(program_id),
            [
                Event(ev.PROGRAM_CREATED, {"org": "munsan-high"}),
                Event(ev.PROGRAM_SUBMITTED, {}),
                *[
                    Event(ev.BUDGET_HELD, {"party": p, "amount": a, "year": s.YEAR})
                    for p, a in requests.items()
                ],
                Event("ReviewStarted", {}),
            ],
            "system",
            now,
        )
        return program_id

    program_id: int = s.in_transaction(bus, write)
    return program_id


CURRENT_VERSION = int(
    yaml.safe_load((WORKFLOWS_DIR / "joint-program.yaml").read_text(encoding="utf-8"))["version"]
)


@pytest.mark.parametrize(
    "workflow_version", [1, CURRENT_VERSION], ids=["pinned-to-v1", "on-the-current-version"]
)
def test_a_database_holding_money_at_revision_0001_upgrades_and_its_program_carries_on(
    old_database: str, clock: Clock, books: Books, workflow_version: int
) -> None:
    """A program stays on the version it started with: on v1 the review ends at approved."""
    old = bootstrap(make_settings(old_database), clock=clock)
    seed_as_revision_0001(old)
    program_id = hold_money_as_revision_0001_did(old, workflow_version)

    upgrade(engine_for(old_database))
    engine_for(old_database).dispose()

    assert current_revision(engine_for(old_database)) == head_revision()
    bus = bootstrap(make_settings(old_database), clock=clock)
    loaded = detail(bus, program_id)
    assert (loaded["state"], loaded["workflow"]) == (
        "in_review",
        f"joint-program@{workflow_version}",
    )
    assert loaded["holds"] == {"city": 80_000_000, "education_office": 20_000_000}
    assert (loaded["committed"], loaded["disbursed"], loaded["holds_expire_at"]) == ({}, {}, None)
    assert position(bus) == funds((80_000_000, 0, 0), (20_000_000, 0, 0))
    assert [(k, src) for k, src, *_ in entries(bus, program_id)] == [("hold", None)] * 2
    books.check(bus)

    approve(bus, program_id)
    assert state(bus, program_id) == "approved"
    if workflow_version == 1:
        with pytest.raises(TransitionNotAllowed, match="joint-program@1, which has no fund step"):
            commit(bus, program_id, s.CITY_OFFICER)
        assert position(bus) == funds((80_000_000, 0, 0), (20_000_000, 0, 0))
        books.check(bus)
        return
    assert commit(bus, program_id, s.CITY_OFFICER) == 80_000_000
    assert commit(bus, program_id, s.OE_OFFICER) == 20_000_000

    assert state(bus, program_id) == "funded"
    assert position(bus) == funds((0, 80_000_000, 0), (0, 20_000_000, 0))
    books.check(bus)
