"""Property: random interleavings of the money lifecycle keep the ledger exact.

A hypothesis state machine submits, decides, commits, disburses, withdraws, cancels,
reports (less than was paid, too), evaluates, records refunds, amends envelopes (추경,
raised and lowered) and lets time pass (the clock moves on and the sweep runs: starts,
ends, hold expiries) over four small envelopes (two parties x two fiscal years), so the
envelopes fill up, programs wait on the waitlist and get in when money comes back.
Beside the engine it keeps its own model of the money: per program and party what is
held, committed and disbursed, worked out from the rules (PRODUCT §3-§4) and the outcome
each step should have; the waitlist is retried oldest first whenever money is released.

After every step:

- each step succeeded or was refused exactly as the model predicted, and every
  program is in the state the model says;
- per envelope held + committed <= amount and nothing is negative; per program and
  party disbursed <= committed;
- envelope balances == the model == the sums of their ledger entries (a refund takes
  back from committed and disbursed alike), every envelope's amount == its opening
  amount + its raises - its lowerings, and every program's share == the model;
- available never below zero, and no refund is ever due on a closed program;
- ledger entries are never updated or deleted: the rows seen before are still there,
  unchanged, in front of the new ones;
- the audit chain verifies.

Each example runs on its own copy of a seeded SQLite file (quick); a smaller run does the
same on PostgreSQL.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from tests import support as s
from tests.conftest import _empty_postgres, make_settings
from workflow.adapters.database import engine_for
from workflow.adapters.orm import envelopes, ledger_entries, program_requests, programs
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain.calendar import SEOUL
from workflow.domain.errors import WorkflowError
from workflow.service_layer.messagebus import MessageBus
from workflow.service_layer.scheduler import run_due_work

PARTIES = ("city", "education_office")
YEARS = (2026, 2027)
ENVELOPES = {
    ("city", 2026): 100_000_000,
    ("education_office", 2026): 50_000_000,
    ("city", 2027): 60_000_000,
    ("education_office", 2027): 30_000_000,
}
APPROVER = {"city": s.CITY_APPROVER, "education_office": s.OE_APPROVER}
OFFICER = {"city": s.CITY_OFFICER, "education_office": s.OE_OFFICER}
EVALUATOR = {"city": "evaluator@paju.go.kr", "education_office": "evaluator@goepj.kr"}
T0 = datetime(2025, 12, 22, 9, 0, tzinfo=SEOUL).astimezone(UTC)
HOLD_EXPIRY = timedelta(days=120)
MAX_PROGRAMS = 6

HOLDS_BEFORE_FUNDING = ("in_review", "revision_requested", "approved")
WITHDRAWABLE = ("draft", "submitted", "waitlisted", *HOLDS_BEFORE_FUNDING)
DISBURSING = ("funded", "active", "evaluation_due", "under_evaluation", "closed")
MOVING = (
    "draft",
    "revision_requested",
    "in_review",
    "approved",
    "funded",
    "active",
    "evaluation_due",
    "under_evaluation",
)


def seoul_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SEOUL).astimezone(UTC)


# -- the model --------------------------------------------------------------------------


@dataclass
class Program:
    id: int
    year: int
    requests: dict[str, int]
    state: str = "draft"
    held: dict[str, int] = field(default_factory=dict)
    committed: dict[str, int] = field(default_factory=dict)
    disbursed: dict[str, int] = field(default_factory=dict)
    decisions: dict[str, str] = field(default_factory=lambda: dict.fromkeys(PARTIES, "pending"))
    evaluations: dict[str, str] = field(default_factory=dict)
    spent: dict[str, int] = field(default_factory=dict)
    waitlisted_at: datetime | None = None
    expires_at: datetime | None = None

    def share(self, party: str) -> tuple[int, int, int]:
        return (self.held.get(party, 0), self.committed.get(party, 0), self.disbursed.get(party, 0))

    def due(self, party: str) -> int:
        """The refund owed to ``party``: paid out (net) and not spent, while the report stands."""
        if self.state != "under_evaluation":
            return 0
        return max(0, self.disbursed.get(party, 0) - self.spent.get(party, 0))

    def settles(self) -> bool:
        return all(v == "accept" for v in self.evaluations.values()) and not any(
            self.due(p) for p in self.requests
        )


@dataclass
class Work:
    due: datetime
    seq: int
    program: Program
    action: str
    done: bool = False


class Model:
    """The money as the rules say it should be, worked out without the engine."""

    def __init__(self) -> None:
        self.now = T0
        self.programs: dict[int, Program] = {}
        self.work: list[Work] = []
        self.amounts = dict(ENVELOPES)  # amended by supplementary budgets

    def balances(self, party: str, year: int) -> tuple[int, int, int]:
        """(held, committed, disbursed) of one envelope: the sum of its programs' shares."""
        shares = [p.share(party) for p in self.programs.values() if p.year == year]
        return (
            sum(h for h, _, _ in shares),
            sum(cm for _, cm, _ in shares),
            sum(d for _, _, d in shares),
        )

    def available(self, party: str, year: int) -> int:
        held, committed, _ = self.balances(party, year)
        return self.amounts[party, year] - held - committed

    def schedule(self, program: Program, action: str, due: datetime) -> None:
        self.work.append(Work(due, len(self.work), program, action))

    def place_holds(self, program: Program) -> None:
        if all(
            self.available(party, program.year) >= amount
            for party, amount in program.requests.items()
        ):
            program.held = dict(program.requests)
            program.state, program.waitlisted_at = "in_review", None
            program.expires_at = self.now + HOLD_EXPIRY
            self.schedule(program, "expire", program.expires_at)
        elif program.state == "submitted":
            program.state, program.waitlisted_at = "waitlisted", self.now

    def retry_waitlisted(self, year: int) -> None:
        waiting = sorted(
            (p for p in self.programs.values() if p.state == "waitlisted" and p.year == year),
            key=lambda p: (p.waitlisted_at, p.id),
        )
        for program in waiting:
            self.place_holds(program)

    def release(
        self,
        program: Program,
        holds: bool = True,
        commitments_down_to: dict[str, int] | None = None,
    ) -> None:
        """Give back the holds and/or commitments (down to the amounts given), then retry."""
        released = bool(holds and program.held)
        if holds:
            program.held, program.expires_at = {}, None
        for party, keep in (commitments_down_to or {}).items():
            released |= program.committed[party] > keep
            program.committed[party] = keep
        if released:
            self.retry_waitlisted(program.year)

    def undisbursed_released(self, program: Program) -> dict[str, int]:
        return {party: program.disbursed.get(party, 0) for party in program.committed}

    def sweep(self) -> Counter[str]:
        """What ``run_due_work`` does: due rows in (due, id) order, pass after pass."""
        done: Counter[str] = Counter()
        while due := sorted(
            (w for w in self.work if not w.done and w.due <= self.now), key=lambda w: (w.due, w.seq)
        ):
            for work in due:
                work.done = True
                if self.run(work):
                    done[f"{work.action}: done"] += 1
        return done

    def run(self, work: Work) -> bool:
        program = work.program
        if work.action == "activate" and program.state == "funded":
            program.state = "active"
            self.schedule(program, "finish", seoul_midnight(date(program.year, 12, 31)))
            return True
        if work.action == "finish" and program.state == "active":
            program.state = "evaluation_due"
            return True
        if (
            work.action == "expire"
            and program.state in HOLDS_BEFORE_FUNDING
            and program.expires_at is not None
            and program.expires_at <= self.now
        ):
            program.state = "expired"
            self.release(program, commitments_down_to=self.undisbursed_released(program))
            return True
        return False


# -- the state machine ------------------------------------------------------------------

BusFactory = Callable[[Callable[[], datetime]], AbstractContextManager[MessageBus]]
amounts = st.sampled_from([0, 10_000_000, 20_000_000, 30_000_000])
parties = st.sampled_from(PARTIES)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, fresh_bus: BusFactory) -> None:
        super().__init__()
        self.model = Model()
        self._bus_context = fresh_bus(lambda: self.model.now)
        self.bus = self._bus_context.__enter__()
        self.entries: list[Any] = []

    def teardown(self) -> None:
        self._bus_context.__exit__(None, None, None)

    # -- helpers --
    def pick(self, data: st.DataObject, states: tuple[str, ...]) -> Program:
        """Four times in five a program in one of ``states`` (if any); any program else."""
        fitting = [p for p in self.model.programs.values() if p.state in states]
        aimed = bool(fitting) and data.draw(st.integers(0, 4)) > 0
        pool = fitting if aimed else list(self.model.programs.values())
        program: Program = data.draw(st.sampled_from(sorted(pool, key=lambda p: p.id)))
        return program

    def attempt(self, cmd: c.Command, expected: bool) -> Any:
        try:
            result = self.bus.handle(cmd)
        except WorkflowError as err:
            assert not expected, f"{cmd} was refused: {err!r}"
            return None
        assert expected, f"{cmd} went through ({result!r}); the model says it may not"
        return result

    def has_programs(self) -> bool:
        return bool(self.model.programs)

    # -- rules --
    @precondition(lambda self: len(self.model.programs) < MAX_PROGRAMS)
    @rule(year=st.sampled_from(YEARS), city=amounts, office=amounts)
    def create(self, year: int, city: int, office: int) -> None:
        requests = {p: a for p, a in (("city", city), ("education_office", office)) if a}
        requests = requests or {"city": 10_000_000}
        program_id = self.attempt(
            c.CreateProgram(
                actor=s.COORDINATOR,
                title="Program",
                org="munsan-high",
                category="linkage",
                requests=requests,
                year=year,
            ),
            expected=True,
        )
        self.model.programs[program_id] = Program(program_id, year, requests)

    @precondition(has_programs)
    @rule(data=st.data())
    def submit(self, data: st.DataObject) -> None:
        self._submit(self.pick(data, ("draft", "revision_requested")))

    def _submit(self, program: Program) -> None:
        ok = program.state in ("draft", "revision_requested")
        self.attempt(c.SubmitProgram(actor=s.COORDINATOR, program_id=program.id), ok)
        if not ok:
            return
        if program.state == "draft":
            program.state = "submitted"
            self.model.place_holds(program)
        else:  # the holds still cover the request: straight back to review
            program.state = "in_review"
            program.decisions = dict.fromkeys(PARTIES, "pending")

    @precondition(has_programs)
    @rule(
        data=st.data(),
        party=parties,
        decision=st.sampled_from(["approve"] * 8 + ["reject", "request-changes"]),
    )
    def decide(self, data: st.DataObject, party: str, decision: str) -> None:
        self._decide(self.pick(data, ("in_review",)), party, decision)

    def _decide(self, program: Program, party: str, decision: str) -> None:
        ok = program.state == "in_review" and program.decisions[party] == "pending"
        self.attempt(
            c.DecideReview(actor=APPROVER[party], program_id=program.id, decision=decision), ok
        )
        if not ok:
            return
        program.decisions[party] = decision
        if decision == "reject":
            program.state = "rejected"
            self.model.release(program)
        elif decision == "request-changes":
            program.state = "revision_requested"
        elif all(d == "approve" for d in program.decisions.values()):
            program.state = "approved"

    @precondition(has_programs)
    @rule(data=st.data(), party=parties)
    def commit(self, data: st.DataObject, party: str) -> None:
        self._commit(self.pick(data, ("approved",)), party)

    def _commit(self, program: Program, party: str) -> None:
        ok = (
            program.state == "approved"
            and party in program.requests
            and not program.committed.get(party)
        )
        amount = self.attempt(c.CommitFunds(actor=OFFICER[party], program_id=program.id), ok)
        if not ok:
            return
        assert amount.amount == program.held[party]
        program.committed[party] = program.held.pop(party)
        if not program.held:
            program.expires_at = None  # nothing left to expire
        if all(program.committed.get(p) for p in program.requests):
            program.state = "funded"
            self.model.schedule(program, "activate", seoul_midnight(date(program.year, 1, 1)))

    @precondition(has_programs)
    @rule(
        data=st.data(),
        party=parties,
        amount=st.sampled_from([1_000_000, 5_000_000, 10_000_000, 25_000_000]),
    )
    def disburse(self, data: st.DataObject, party: str, amount: int) -> None:
        self._disburse(self.pick(data, DISBURSING), party, amount)

    def _disburse(self, program: Program, party: str, amount: int) -> None:
        payable = program.committed.get(party, 0)
        if program.state in ("under_evaluation", "closed"):  # no more than the report's spend
            payable = min(payable, program.spent.get(party, 0))
        left = payable - program.disbursed.get(party, 0)
        ok = program.state in DISBURSING and party in program.requests and amount <= left
        self.attempt(
            c.DisburseFunds(actor=OFFICER[party], program_id=program.id, amount=amount), ok
        )
        if ok:
            program.disbursed[party] = program.disbursed.get(party, 0) + amount

    @precondition(has_programs)
    @rule(data=st.data())
    def withdraw(self, data: st.DataObject) -> None:
        program = self.pick(data, ())  # any program: a bias here would end most of them
        ok = program.state in WITHDRAWABLE
        self.attempt(
            c.WithdrawProgram(actor=s.COORDINATOR, program_id=program.id, reason="plans changed"),
            ok,
        )
        if ok:
            program.state = "withdrawn"
            self.model.release(
                program, commitments_down_to=self.model.undisbursed_released(program)
            )

    @precondition(has_programs)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        program = self.pick(data, ())  # any program: mostly refused, now and then a stop
        ok = program.state in ("funded", "active")
        self.attempt(
            c.CancelProgram(actor=s.ADMIN, program_id=program.id, reason="the school closed"), ok
        )
        if ok:
            program.state = "cancelled"
            self.model.release(
                program, holds=False, commitments_down_to=self.model.undisbursed_released(program)
            )

    @precondition(has_programs)
    @rule(data=st.data(), how=st.sampled_from(["none", "half", "all", "all", "over", "under"]))
    def report(self, data: st.DataObject, how: str) -> None:
        self._report(self.pick(data, ("evaluation_due",)), how)

    def _report(self, program: Program, how: str) -> None:
        spent = {}
        for party in program.requests:
            committed, paid = program.share(party)[1:]
            spent[party] = {
                "none": paid,
                "half": paid + (committed - paid) // 2,
                "all": committed,
                "over": committed + 1_000_000,
                "under": paid - 1_000_000 if paid else paid,
            }[how]
        ok = program.state == "evaluation_due" and all(
            0 <= v <= program.committed.get(p, 0) for p, v in spent.items()
        )  # less than was paid out is taken: the difference is a refund due
        self.attempt(
            c.SubmitReport(
                actor=s.COORDINATOR, program_id=program.id, spent=spent, summary="what we did"
            ),
            ok,
        )
        if ok:
            program.state, program.spent = "under_evaluation", spent
            program.evaluations = dict.fromkeys(PARTIES, "pending")

    @precondition(has_programs)
    @rule(data=st.data(), party=parties, verdict=st.sampled_from(["accept"] * 3 + ["return"]))
    def evaluate(self, data: st.DataObject, party: str, verdict: str) -> None:
        self._evaluate(self.pick(data, ("under_evaluation",)), party, verdict)

    def _evaluate(self, program: Program, party: str, verdict: str) -> None:
        ok = program.state == "under_evaluation" and program.evaluations.get(party) == "pending"
        self.attempt(
            c.EvaluateReport(
                actor=EVALUATOR[party], program_id=program.id, verdict=verdict, score=4
            ),
            ok,
        )
        if not ok:
            return
        program.evaluations[party] = verdict
        if verdict == "return":
            program.state = "evaluation_due"
        elif program.settles():
            self._close(program)

    def _close(self, program: Program) -> None:
        program.state = "closed"  # settled: each commitment shrinks to the spend
        self.model.release(program, holds=False, commitments_down_to=dict(program.spent))

    @precondition(has_programs)
    @rule(
        data=st.data(),
        party=parties,
        amount=st.sampled_from(["due", "due", "half", 1_000_000, 50_000_000]),
    )
    def refund(self, data: st.DataObject, party: str, amount: int | str) -> None:
        self._refund(self.pick(data, ("under_evaluation",)), party, amount)

    def _refund(self, program: Program, party: str, amount: int | str) -> None:
        due = program.due(party)
        paid = {"due": due, "half": due // 2 or 1}.get(amount, amount)  # type: ignore[call-overload]
        ok = due > 0 and 0 < paid <= due
        self.attempt(c.RecordRefund(actor=OFFICER[party], program_id=program.id, amount=paid), ok)
        if not ok:
            return
        program.committed[party] -= paid
        program.disbursed[party] -= paid
        if program.settles():
            self._close(program)
        self.model.retry_waitlisted(program.year)  # the refund freed money: retried once more

    @rule(
        party=parties,
        year=st.sampled_from(YEARS),
        by=st.sampled_from([10_000_000, 30_000_000, -10_000_000, -30_000_000, -60_000_000]),
    )
    def amend(self, party: str, year: int, by: int) -> None:
        held, committed, _ = self.model.balances(party, year)
        new = self.model.amounts[party, year] + by
        ok = new >= held + committed and new > 0
        self.attempt(
            c.AmendEnvelope(actor=OFFICER[party], party=party, year=year, by=by, reason="추경"), ok
        )
        if ok:
            self.model.amounts[party, year] = new
            if by > 0:
                self.model.retry_waitlisted(year)

    def _progress(self, data: st.DataObject) -> None:
        """The step a program's state calls for, done by the person whose job it is."""
        program = self.pick(data, MOVING)
        state = program.state
        if state in ("draft", "revision_requested"):
            self._submit(program)
        elif state == "in_review":
            pending = [p for p, d in program.decisions.items() if d == "pending"]
            self._decide(program, data.draw(st.sampled_from(pending)), "approve")
        elif state == "approved":
            funders = sorted(p for p in program.requests if not program.committed.get(p))
            self._commit(program, data.draw(st.sampled_from(funders)))
        elif state in ("funded", "active"):
            self._disburse(
                program,
                data.draw(st.sampled_from(sorted(program.requests))),
                data.draw(st.sampled_from([2_000_000, 5_000_000])),
            )
        elif state == "evaluation_due":
            self._report(program, data.draw(st.sampled_from(["half", "all"])))
        elif state == "under_evaluation":
            pending = [p for p, e in program.evaluations.items() if e == "pending"]
            owed = sorted(p for p in program.requests if program.due(p))
            if pending:
                self._evaluate(program, data.draw(st.sampled_from(pending)), "accept")
            else:  # accepted by all, waiting for the money paid and not spent
                self._refund(program, data.draw(st.sampled_from(owed)), "due")

    # The lifecycle is long: moving a program along is drawn three times as often.
    progress = precondition(has_programs)(rule(data=st.data())(_progress))
    progress_more = precondition(has_programs)(rule(data=st.data())(_progress))
    progress_again = precondition(has_programs)(rule(data=st.data())(_progress))

    def _let_time_pass(self, days: int) -> None:
        """The clock moves on and the sweep runs: starts, ends of runs, hold expiries."""
        self.model.now += timedelta(days=days)
        outcomes = run_due_work(self.bus)
        assert outcomes["refused"] == 0
        done = Counter({k: v for k, v in outcomes.items() if k.endswith(": done")})
        assert done == self.model.sweep(), outcomes

    # Twice as often, and often far: a run ends on the last day of its fiscal year.
    let_time_pass = rule(days=st.sampled_from([1, 20, 45, 121, 200, 400]))(_let_time_pass)
    let_more_time_pass = rule(days=st.sampled_from([1, 20, 45, 121, 200, 400]))(_let_time_pass)

    # -- what must hold after every step --
    @invariant()
    def ledger_matches_the_model_and_its_entries(self) -> None:
        def read(uow: Any) -> tuple[Any, ...]:
            conn = uow.conn
            return (
                conn.execute(select(envelopes)).all(),
                conn.execute(select(ledger_entries).order_by(ledger_entries.c.id)).all(),
                conn.execute(select(program_requests)).all(),
                dict(conn.execute(select(programs.c.id, programs.c.state)).all()),
                uow.events.verify(),
            )

        envelope_rows, entries, shares, states, (checked, broken) = self.bus.query(read)
        assert broken is None, broken.describe()
        assert entries[: len(self.entries)] == self.entries, "a ledger entry changed or vanished"
        self.entries = entries
        assert states == {p.id: p.state for p in self.model.programs.values()}

        by_entries: dict[int, Counter[str]] = defaultdict(Counter)
        for e in entries:
            moved = by_entries[e.envelope_id]
            if e.kind == "hold":
                moved["held"] += e.amount
            elif e.kind == "commit":
                moved["held"] -= e.amount
                moved["committed"] += e.amount
            elif e.kind == "disburse":
                moved["disbursed"] += e.amount
            elif e.kind == "refund":
                moved["committed"] -= e.amount
                moved["disbursed"] -= e.amount
            elif e.kind == "amend":
                moved["amount"] += e.amount if e.source == "raise" else -e.amount
            else:
                moved[e.source] -= e.amount
        for env in envelope_rows:
            balances = (env.held, env.committed, env.disbursed)
            where = (env.party, env.fiscal_year)
            assert min(balances) >= 0 and env.held + env.committed <= env.amount, where
            assert env.disbursed <= env.committed, where
            assert balances == self.model.balances(*where), where
            moved = by_entries[env.id]
            assert balances == (moved["held"], moved["committed"], moved["disbursed"]), where
            # Every won accounted for: the amount is the opening one moved by its amendments,
            # and it is exactly what is available, held and committed.
            assert env.amount == ENVELOPES[where] + moved["amount"] == self.model.amounts[where]
            assert env.amount - env.held - env.committed >= 0, where
        for program in self.model.programs.values():
            if program.state == "closed":  # settled: nothing paid out beyond the spend
                assert all(
                    program.disbursed.get(p, 0) <= program.spent[p] for p in program.requests
                )
        for row in shares:
            program = self.model.programs[row.program_id]
            assert row.disbursed <= row.committed
            assert (row.held, row.committed, row.disbursed) == program.share(row.party), (
                f"program {program.id} ({program.state}) {row.party}"
            )


# -- running it ---------------------------------------------------------------------------


def seed(bus: MessageBus) -> None:
    s.seed(bus, city=ENVELOPES["city", 2026], education_office=ENVELOPES["education_office", 2026])
    for party, officer in OFFICER.items():
        bus.handle(
            c.AddEnvelope(actor=officer, party=party, year=2027, amount=ENVELOPES[party, 2027])
        )
    for party, email in EVALUATOR.items():
        bus.handle(
            c.AddUser(actor=None, email=email, name="evaluator", org=party, roles=("evaluator",))
        )


@pytest.fixture(scope="module")
def seeded_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ledger-seeded") / "seeded.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    seed(bootstrap(make_settings(url)))
    engine_for(url).dispose()  # folds the WAL into the file before it is copied
    return path


def run_machine(factory: BusFactory, examples: int, steps: int) -> None:
    # No "explain" phase: tracing coverage through shrinking helps nobody here.
    # A factory stands in for the class (hypothesis calls it once per example).
    machine: Any = lambda: LedgerMachine(factory)  # noqa: E731
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        ),
    )


def test_random_money_interleavings_keep_the_ledger_exact_on_sqlite(seeded_template: Path) -> None:
    @contextmanager
    def fresh_bus(clock: Callable[[], datetime]) -> Iterator[MessageBus]:
        with tempfile.TemporaryDirectory(prefix="jointflow-ledger-") as folder:
            path = Path(folder) / "example.db"
            shutil.copy(seeded_template, path)
            url = f"sqlite:///{path}"
            try:
                yield bootstrap(make_settings(url), clock=clock)
            finally:
                engine_for(url).dispose()

    run_machine(fresh_bus, examples=40, steps=50)


@pytest.mark.postgres
def test_random_money_interleavings_keep_the_ledger_exact_on_postgresql(postgres_url: str) -> None:
    @contextmanager
    def fresh_bus(clock: Callable[[], datetime]) -> Iterator[MessageBus]:
        _empty_postgres(postgres_url)
        seed(bootstrap(make_settings(postgres_url)))
        yield bootstrap(make_settings(postgres_url), clock=clock)

    run_machine(fresh_bus, examples=5, steps=30)
