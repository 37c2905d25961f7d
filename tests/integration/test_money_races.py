"""Money under real concurrency on PostgreSQL: 32 workers racing, duplicated deliveries.

Each case runs threads on connections of their own, released together by one
``threading.Barrier``, through a deployment-style bus (a broker URL is set, so a
submission only writes its outbox row and the test plays the worker). The engine's pool
is sized for 40 connections here: the default pool (5 + 10 overflow) would queue the
racers in the pool instead of at the database's row locks.

- 32 programs racing for the last money of one envelope: exactly the ones that fit are
  held, the rest waitlisted, and the envelope never goes below zero;
- 32 commitments of one party racing: one wins, the others conflict; 32 disbursements
  racing never pay out more than the commitment;
- a hold (or a waitlisting) decided on an unlocked read that another worker's hold (or
  a release) overtook before the commit: redone under the envelope lock, nothing of the
  first attempt left behind; an envelope added while a program is waitlisted for want
  of it reaches the program;
- the last commitment and the hold's expiry at the same instant: one outcome, never both;
- sweeps racing over the same due rows: every row's work, and every event, lands once;
- every money task (``jointflow.place_holds``, ``jointflow.retry_waitlisted``, the sweep
  ``jointflow.run_due_work``, and the ``jointflow.budget_notice`` a waitlisting sends)
  delivered twice, one after the other or at once: the second
  delivery changes nothing.

After each case every envelope's balances equal the sums of its ledger entries and of
its programs' shares, nothing is negative or overcommitted, and the audit chain verifies.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from config.celery import SWEEP_TASK
from tests import support as s
from tests.conftest import REDIS_URL, make_settings
from workflow.adapters.database import make_engine
from workflow.adapters.orm import (
    envelopes,
    ledger_entries,
    metadata,
    outbox,
    program_requests,
    scheduled_work,
)
from workflow.adapters.unit_of_work import SqlUnitOfWorkFactory
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.calendar import SEOUL
from workflow.domain.errors import Conflict, InvalidInput, TransitionNotAllowed
from workflow.domain.events import program_stream
from workflow.service_layer.handlers import BUDGET_NOTICE, PLACE_HOLDS, RETRY_WAITLISTED
from workflow.service_layer.messagebus import MessageBus, RelayDispatcher
from workflow.service_layer.scheduler import run_due_work

pytestmark = pytest.mark.postgres

RACERS = 32
POOL_SIZE = 40
T0 = datetime(2025, 12, 1, 9, 0, tzinfo=SEOUL).astimezone(UTC)
HOLD_EXPIRY = timedelta(days=120)
CITY_SHARE, OE_SHARE = 80_000_000, 20_000_000


# -- the racing bus -------------------------------------------------------------------


@dataclass
class Racing:
    """A deployment-style bus on a 40-connection pool, and the clock it reads."""

    bus: MessageBus
    now: list[datetime]


@pytest.fixture
def racing(postgres_url: str) -> Iterator[Racing]:
    s.seed(bootstrap(make_settings(postgres_url)))  # embedded: the envelopes' messages run
    now = [T0]
    deployed = bootstrap(make_settings(postgres_url, broker_url=REDIS_URL), clock=lambda: now[0])
    assert isinstance(deployed.dispatcher, RelayDispatcher)
    # The same composition with a pool big enough for every racer at once.
    engine = make_engine(postgres_url, pool_size=POOL_SIZE, max_overflow=0, pool_timeout=60)
    uow = deployed.uow
    assert isinstance(uow, SqlUnitOfWorkFactory)
    bus = MessageBus(SqlUnitOfWorkFactory(engine, uow.registry, uow.clock), deployed.dispatcher)
    assert engine.pool.size() >= RACERS  # type: ignore[attr-defined]
    yield Racing(bus, now)
    check_ledger(bus)
    engine.dispose()


def run_together(actions: list[Callable[[], Any]]) -> list[Any]:
    """Run every action on its own thread, all released at once; results or exceptions."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = actions[i]()
        except Exception as err:  # noqa: BLE001 - handed back to the test to judge
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results


# -- helpers --------------------------------------------------------------------------


def drain(bus: MessageBus) -> None:
    """Play the worker: carry out every pending outbox message."""
    while pending := bus.pending_messages():
        for message_id in pending:
            bus.handle_message(message_id)


def messages(bus: MessageBus, task: str) -> list[int]:
    """Ids of the pending outbox messages of one task, oldest first."""
    rows: list[int] = bus.query(
        lambda uow: list(
            uow.conn.scalars(
                select(outbox.c.id)
                .where(outbox.c.task == task, outbox.c.done_at.is_(None))
                .order_by(outbox.c.id)
            )
        )
    )
    return rows


def create(
    bus: MessageBus, city: int = CITY_SHARE, education_office: int = OE_SHARE, year: int = s.YEAR
) -> int:
    requests = {k: v for k, v in (("city", city), ("education_office", education_office)) if v}
    program_id: int = bus.handle(
        c.CreateProgram(
            actor=s.COORDINATOR,
            title="Creative science club",
            org="munsan-high",
            category="creative-experience",
            requests=requests,
            year=year,
        )
    )
    return program_id


def submit(bus: MessageBus, program_id: int) -> None:
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=program_id))


def held(bus: MessageBus, **requests: int) -> int:
    """A program whose holds the worker has placed (it is in review)."""
    program_id = create(bus, **requests)
    submit(bus, program_id)
    drain(bus)
    assert state(bus, program_id) == "in_review"
    return program_id


def approved(bus: MessageBus, **requests: int) -> int:
    program_id = held(bus, **requests)
    s.decide(bus, program_id, s.CITY_APPROVER)
    s.decide(bus, program_id, s.OE_APPROVER)
    assert state(bus, program_id) == "approved"
    return program_id


def commit(bus: MessageBus, program_id: int, officer: str) -> int:
    amount: int = bus.handle(c.CommitFunds(actor=officer, program_id=program_id)).amount
    return amount


def funded(bus: MessageBus, **requests: int) -> int:
    program_id = approved(bus, **requests)
    commit(bus, program_id, s.OE_OFFICER)
    commit(bus, program_id, s.CITY_OFFICER)
    assert state(bus, program_id) == "funded"
    return program_id


def state(bus: MessageBus, program_id: int) -> str:
    result: str = bus.query(lambda uow: uow.programs.get(program_id).state)
    return result


def types(bus: MessageBus, program_id: int) -> list[str]:
    return [e.type for e in bus.query(lambda uow: uow.events.history(program_stream(program_id)))]


def add_envelopes(bus: MessageBus, year: int, city: int, education_office: int) -> None:
    bus.handle(c.AddEnvelope(actor=s.CITY_OFFICER, party="city", year=year, amount=city))
    bus.handle(
        c.AddEnvelope(
            actor=s.OE_OFFICER, party="education_office", year=year, amount=education_office
        )
    )
    drain(bus)


def shares(bus: MessageBus, program_id: int) -> dict[str, tuple[int, int, int]]:
    """Per party of the program: (held, committed, disbursed)."""
    req = program_requests.c
    rows = bus.query(
        lambda uow: uow.conn.execute(
            select(req.party, req.held, req.committed, req.disbursed).where(
                req.program_id == program_id
            )
        ).all()
    )
    return {r.party: (r.held, r.committed, r.disbursed) for r in rows}


def entries_of(bus: MessageBus, program_id: int) -> list[tuple[str, str, int, str | None]]:
    """(kind, party, amount, source) of the program's ledger entries, oldest first."""
    return [
        (e["kind"], e["party"], e["amount"], e["source"])
        for e in bus.query(lambda uow: uow.ledger.entries(program_id=program_id))
    ]


def check_ledger(bus: MessageBus) -> None:
    """Balances == sums of entries == sums of the programs' shares; nothing overdrawn."""

    def read(uow: Any) -> tuple[list[Any], list[Any], list[Any]]:
        e, r = ledger_entries.c, program_requests.c
        sums = uow.conn.execute(select(e.envelope_id, e.kind, e.source, e.amount)).all()
        shares = uow.conn.execute(
            select(r.party, r.held, r.committed, r.disbursed, r.program_id)
        ).all()
        return uow.conn.execute(select(envelopes)).all(), sums, shares

    rows, entries, program_shares = bus.query(read)
    from_entries: dict[int, Counter[str]] = defaultdict(Counter)
    for envelope_id, kind, source, amount in entries:
        moved = from_entries[envelope_id]
        if kind == "hold":
            moved["held"] += amount
        elif kind == "commit":
            moved["held"] -= amount
            moved["committed"] += amount
        elif kind == "disburse":
            moved["disbursed"] += amount
        else:
            moved[source] -= amount
    for party, h, cm, d, program_id in program_shares:
        assert min(h, cm, d) >= 0 and d <= cm, f"program {program_id} {party}: {h}, {cm}, {d}"
    for env in rows:
        balances = {"held": env.held, "committed": env.committed, "disbursed": env.disbursed}
        assert min(balances.values()) >= 0, env
        assert env.held + env.committed <= env.amount, env
        assert env.disbursed <= env.committed, env
        assert balances == {k: from_entries[env.id][k] for k in balances}, env
    checked, broken = bus.query(lambda uow: uow.events.verify())
    assert broken is None, broken


def snapshot(bus: MessageBus) -> dict[str, list[Any]]:
    """Every row of every table: what a delivery could have changed."""

    def read(uow: Any) -> dict[str, list[Any]]:
        return {
            t.name: uow.conn.execute(select(t).order_by(*t.primary_key.columns)).all()
            for t in metadata.sorted_tables
        }

    result: dict[str, list[Any]] = bus.query(read)
    return result


# -- the last money of one envelope -----------------------------------------------------


@pytest.mark.parametrize(
    ("fits", "via"), [(1, "message"), (7, "command"), (16, "message"), (31, "command")]
)
def test_32_workers_racing_for_the_last_money_of_an_envelope_hold_exactly_the_ones_that_fit(
    racing: Racing, fits: int, via: str
) -> None:
    bus, year = racing.bus, 2027
    city_envelope = 2_000_000_000
    add_envelopes(bus, year, city=city_envelope, education_office=fits * OE_SHARE)
    racers = [create(bus, CITY_SHARE // 4, OE_SHARE, year) for _ in range(RACERS)]
    for program_id in racers:
        submit(bus, program_id)
    assert {state(bus, p) for p in racers} == {"submitted"}  # nothing ran: no worker yet
    to_place = messages(bus, PLACE_HOLDS)
    assert len(to_place) == RACERS

    if via == "message":
        results = run_together([lambda m=m: bus.handle_message(m) for m in to_place])
        assert results == [None] * RACERS
        assert messages(bus, PLACE_HOLDS) == []
    else:
        results = run_together(
            [lambda p=p: bus.handle(c.PlaceHolds(actor=None, program_id=p)) for p in racers]
        )
        assert sorted(results, key=str) == sorted(
            [True] * fits + [False] * (RACERS - fits), key=str
        )

    states = {p: state(bus, p) for p in racers}
    winners = [p for p in racers if states[p] == "in_review"]
    assert len(winners) == fits
    assert [p for p in racers if states[p] == "waitlisted"] == [
        p for p in racers if p not in winners
    ]
    for program_id in racers:
        happened = types(bus, program_id)
        if program_id in winners:
            assert happened.count(ev.BUDGET_HELD) == 2
            assert ev.BUDGET_UNAVAILABLE not in happened
            assert shares(bus, program_id) == {
                "city": (CITY_SHARE // 4, 0, 0),
                "education_office": (OE_SHARE, 0, 0),
            }
        else:
            assert happened.count(ev.BUDGET_UNAVAILABLE) == 1
            assert ev.BUDGET_HELD not in happened
            assert entries_of(bus, program_id) == []  # all funders or none
    report = {e.party: e for e in bus.query(lambda uow: uow.ledger.report(year))}
    assert report["education_office"].available == 0
    assert report["city"].available == city_envelope - fits * (CITY_SHARE // 4)

    # Whatever the worker still has to deliver (or delivers again) changes nothing now.
    before = snapshot(bus)
    again = run_together([lambda m=m: bus.handle_message(m) for m in to_place])
    assert again == [None] * RACERS
    after = snapshot(bus)
    if via == "message":
        assert after == before
    else:  # the messages were still pending: now marked done, nothing else moved
        assert {k: v for k, v in after.items() if k != "outbox"} == {
            k: v for k, v in before.items() if k != "outbox"
        }
    assert messages(bus, PLACE_HOLDS) == []
    check_ledger(bus)


# -- a read overtaken before the commit ------------------------------------------------


class Overtaken(SqlUnitOfWorkFactory):
    """Runs ``meanwhile`` once, in another transaction, just before the first uncontended
    commit: the moment between a worker's unlocked read and its flush (see ``ledger``),
    or with ``after_flush`` the one between the flush and the COMMIT."""

    def __init__(
        self, base: SqlUnitOfWorkFactory, meanwhile: Callable[[], Any], after_flush: bool = False
    ) -> None:
        super().__init__(base.engine, base.registry, base.clock, base.default_workflow)
        self.meanwhile: list[Callable[[], Any]] = [meanwhile]
        self.after_flush = after_flush
        self.attempts: list[bool] = []  # contended?

    def __call__(self, contended: bool = False, reading: bool = False) -> Any:
        uow = super().__call__(contended, reading)
        if reading:
            return uow
        self.attempts.append(contended)
        if self.meanwhile and not contended:
            commit = uow.commit

            def overtaken_commit() -> None:
                if self.meanwhile:
                    if self.after_flush:
                        uow.ledger.flush()  # the commit's own flush finds nothing left
                    self.meanwhile.pop()()
                commit()

            uow.commit = overtaken_commit  # type: ignore[method-assign]
        return uow


def overtaken(
    bus: MessageBus, meanwhile: Callable[[], Any], after_flush: bool = False
) -> tuple[MessageBus, Overtaken]:
    assert isinstance(bus.uow, SqlUnitOfWorkFactory)
    factory = Overtaken(bus.uow, meanwhile, after_flush)
    return MessageBus(factory, bus.dispatcher), factory


def test_a_hold_decided_on_a_read_another_hold_overtook_is_redone_under_the_lock(
    racing: Racing,
) -> None:
    bus, year = racing.bus, 2027
    add_envelopes(bus, year, city=CITY_SHARE, education_office=2 * OE_SHARE)  # room for one
    late, early = create(bus, year=year), create(bus, year=year)
    submit(bus, late)
    submit(bus, early)
    late_message, early_message = messages(bus, PLACE_HOLDS)
    slow_bus, factory = overtaken(bus, lambda: bus.handle_message(early_message))

    slow_bus.handle_message(late_message)  # read room for itself; flushed after early's hold

    assert factory.attempts == [False, True]  # lost the race, then decided under the lock
    assert (state(bus, early), state(bus, late)) == ("in_review", "waitlisted")
    assert entries_of(bus, late) == [] and shares(bus, late)["city"] == (0, 0, 0)
    assert ev.BUDGET_HELD not in types(bus, late)  # the lost attempt left nothing behind
    assert types(bus, late).count(ev.BUDGET_UNAVAILABLE) == 1
    assert messages(bus, PLACE_HOLDS) == []


def test_a_waitlisting_decided_before_a_release_is_redone_and_the_program_held(
    racing: Racing,
) -> None:
    bus, year = racing.bus, 2027
    add_envelopes(bus, year, city=CITY_SHARE, education_office=2 * OE_SHARE)  # room for one
    holder = held(bus, year=year)
    late = create(bus, year=year)
    submit(bus, late)
    (late_message,) = messages(bus, PLACE_HOLDS)

    def release() -> None:  # the holder withdraws and its retry runs, finding no one waiting
        bus.handle(c.WithdrawProgram(actor=s.COORDINATOR, program_id=holder, reason="merged"))
        (retry,) = messages(bus, RETRY_WAITLISTED)
        assert bus.handle_message(retry) is None
        assert messages(bus, RETRY_WAITLISTED) == []

    slow_bus, factory = overtaken(bus, release)
    slow_bus.handle_message(late_message)  # read no room; confirmed after the release

    assert factory.attempts == [False, True]
    assert (state(bus, holder), state(bus, late)) == ("withdrawn", "in_review")
    assert [e[0] for e in entries_of(bus, late)] == ["hold", "hold"]
    assert ev.BUDGET_UNAVAILABLE not in types(bus, late)


def test_a_retry_placing_one_program_and_leaving_the_next_waiting_commits_first_time(
    racing: Racing,
) -> None:
    """The waitlisting confirmed at flush counts the same transaction's holds: nothing
    was overtaken, so nothing is done twice."""
    bus, year = racing.bus, 2027
    add_envelopes(bus, year, city=2 * CITY_SHARE, education_office=2 * OE_SHARE)
    holder, _ = held(bus, year=year), held(bus, year=year)
    second, third = create(bus, year=year), create(bus, year=year)
    for program_id in (second, third):
        submit(bus, program_id)
    drain(bus)
    assert (state(bus, second), state(bus, third)) == ("waitlisted", "waitlisted")
    bus.handle(c.WithdrawProgram(actor=s.COORDINATOR, program_id=holder, reason="merged"))
    (retry,) = messages(bus, RETRY_WAITLISTED)

    slow_bus, factory = overtaken(bus, lambda: None)
    slow_bus.handle_message(retry)

    assert (state(bus, second), state(bus, third)) == ("in_review", "waitlisted")
    assert factory.attempts == [False]


def test_an_envelope_added_while_a_program_is_waitlisted_for_want_of_it_reaches_it(
    racing: Racing,
) -> None:
    """No envelope row to lock: adding one waits for the waitlisting's commit, so the
    retry it sets off finds the program waitlisted instead of not yet."""
    bus, year = racing.bus, 2027
    bus.handle(c.AddEnvelope(actor=s.CITY_OFFICER, party="city", year=year, amount=CITY_SHARE))
    drain(bus)
    program_id = create(bus, year=year)
    submit(bus, program_id)
    (holds_message,) = messages(bus, PLACE_HOLDS)

    def add_envelope_and_retry() -> None:
        bus.handle(
            c.AddEnvelope(actor=s.OE_OFFICER, party="education_office", year=year, amount=OE_SHARE)
        )
        for retry in messages(bus, RETRY_WAITLISTED):
            bus.handle_message(retry)

    adding = threading.Thread(target=add_envelope_and_retry)
    waited: list[bool] = []

    def meanwhile() -> None:  # after the waitlisting's last statement, before its COMMIT
        adding.start()
        adding.join(timeout=1.0)
        waited.append(adding.is_alive())

    slow_bus, factory = overtaken(bus, meanwhile, after_flush=True)
    slow_bus.handle_message(holds_message)
    adding.join(timeout=60)

    assert state(bus, program_id) == "in_review"
    assert [e[0] for e in entries_of(bus, program_id)] == ["hold", "hold"]
    assert factory.attempts == [False] and waited == [True]  # the addition waited for us


# -- commitments and disbursements on one program party ---------------------------------


@pytest.mark.parametrize("last_funder", [True, False])
def test_32_racing_commitments_of_one_party_commit_once_and_the_rest_conflict(
    racing: Racing, last_funder: bool
) -> None:
    bus = racing.bus
    for _ in range(3):
        program_id = approved(bus)
        if last_funder:  # the city's commitment is the one that funds the program
            commit(bus, program_id, s.OE_OFFICER)

        results = run_together(
            [lambda p=program_id: commit(bus, p, s.CITY_OFFICER) for _ in range(RACERS)]
        )

        assert results.count(CITY_SHARE) == 1, results
        assert all(isinstance(r, Conflict) for r in results if r != CITY_SHARE), results
        assert state(bus, program_id) == ("funded" if last_funder else "approved")
        assert shares(bus, program_id)["city"] == (0, CITY_SHARE, 0)
        assert [e for e in entries_of(bus, program_id) if e[1] == "city"] == [
            ("hold", "city", CITY_SHARE, None),
            ("commit", "city", CITY_SHARE, None),
        ]
        happened = types(bus, program_id)
        assert happened.count(ev.FUNDS_COMMITTED) == 1 + last_funder
        assert happened.count(ev.ACTION_REFUSED) == RACERS - 1
        assert happened.count("ProgramFunded") == int(last_funder)
        check_ledger(bus)


@pytest.mark.parametrize(
    ("tranche", "paid"), [(7_000_000, 11), (CITY_SHARE, 1), (2_500_000, 32), (3_000_000, 26)]
)
def test_32_racing_disbursements_never_pay_out_more_than_the_commitment(
    racing: Racing, tranche: int, paid: int
) -> None:
    bus = racing.bus
    program_id = funded(bus)

    results = run_together(
        [
            lambda: (
                bus.handle(
                    c.DisburseFunds(
                        actor=s.CITY_OFFICER, program_id=program_id, amount=tranche, memo="tranche"
                    )
                ).tranche
            )
            for _ in range(RACERS)
        ]
    )

    tranches = sorted(r for r in results if isinstance(r, int))
    assert tranches == list(range(1, paid + 1)), results
    assert all(isinstance(r, InvalidInput) for r in results if not isinstance(r, int))
    assert shares(bus, program_id)["city"] == (0, CITY_SHARE, paid * tranche)
    assert [e for e in entries_of(bus, program_id) if e[0] == "disburse"] == [
        ("disburse", "city", tranche, None)
    ] * paid
    assert types(bus, program_id).count(ev.FUNDS_DISBURSED) == paid
    check_ledger(bus)


def test_commitments_and_disbursements_racing_together_pay_out_only_what_was_committed(
    racing: Racing,
) -> None:
    bus, tranche = racing.bus, 6_000_000
    for _ in range(3):
        program_id = approved(bus)
        commit(bus, program_id, s.OE_OFFICER)
        actions: list[Callable[[], Any]] = [
            lambda p=program_id: commit(bus, p, s.CITY_OFFICER) for _ in range(8)
        ]
        actions += [
            lambda p=program_id: (
                bus.handle(
                    c.DisburseFunds(actor=s.CITY_OFFICER, program_id=p, amount=tranche)
                ).tranche
            )
            for _ in range(RACERS - 8)
        ]

        results = run_together(actions)

        commits, disbursements = results[:8], results[8:]
        assert commits.count(CITY_SHARE) == 1, commits
        assert all(isinstance(r, Conflict) for r in commits if r != CITY_SHARE)
        paid = sorted(r for r in disbursements if isinstance(r, int))
        assert paid == list(range(1, len(paid) + 1))
        # Too early (still approved) or too much (the commitment is paid out).
        assert all(
            isinstance(r, TransitionNotAllowed | InvalidInput)
            for r in disbursements
            if not isinstance(r, int)
        )
        held_, committed, disbursed = shares(bus, program_id)["city"]
        assert (held_, committed, disbursed) == (0, CITY_SHARE, len(paid) * tranche)
        assert disbursed <= committed
        check_ledger(bus)


# -- the last commitment and the hold's expiry at the same instant ----------------------


def pending_work(bus: MessageBus, program_id: int, action: str) -> int:
    w = scheduled_work.c
    work_id: int = bus.query(
        lambda uow: uow.conn.execute(
            select(w.id).where(w.program_id == program_id, w.action == action, w.done_at.is_(None))
        ).scalar_one()
    )
    return work_id


def test_the_last_commitment_and_the_hold_expiry_at_the_same_instant_have_one_outcome(
    racing: Racing,
) -> None:
    bus, rounds = racing.bus, 20
    programs = []
    for _ in range(rounds):
        program_id = approved(bus)
        commit(bus, program_id, s.OE_OFFICER)
        programs.append((program_id, pending_work(bus, program_id, "expire")))
    racing.now[0] = T0 + HOLD_EXPIRY  # the very instant the holds lapse
    outcomes: Counter[str] = Counter()

    for program_id, work_id in programs:
        committed, expired = run_together(
            [
                lambda p=program_id: commit(bus, p, s.CITY_OFFICER),
                lambda w=work_id: str(bus.handle(c.RunScheduled(actor=None, work_id=w))),
            ]
        )

        happened = types(bus, program_id)
        if committed == CITY_SHARE:  # funded: the expiry found nothing left to expire
            assert expired in ("already done", "expire: nothing to do"), expired
            assert state(bus, program_id) == "funded"
            assert ev.HOLDS_EXPIRED not in happened and "ProgramExpired" not in happened
            assert shares(bus, program_id) == {
                "city": (0, CITY_SHARE, 0),
                "education_office": (0, OE_SHARE, 0),
            }
            assert ev.COMMITMENT_RELEASED not in happened
        else:  # expired: the commitment came too late
            assert expired == "expire: done", (committed, expired)
            assert isinstance(committed, TransitionNotAllowed), committed
            assert state(bus, program_id) == "expired"
            assert happened.count(ev.HOLDS_EXPIRED) == 1
            assert happened.count(ev.FUNDS_COMMITTED) == 1  # the Office of Education's
            assert shares(bus, program_id) == {"city": (0, 0, 0), "education_office": (0, 0, 0)}
            assert entries_of(bus, program_id)[-2:] == [
                ("release", "city", CITY_SHARE, "held"),
                ("release", "education_office", OE_SHARE, "committed"),
            ]
        outcomes[state(bus, program_id)] += 1
        assert not [
            w
            for w in bus.query(lambda uow, p=program_id: uow.schedule.pending(p))
            if w["action"] == "expire"
        ]
    assert sum(outcomes.values()) == rounds
    check_ledger(bus)


# -- sweeps racing over the same due rows -----------------------------------------------


SMALL = {"city": 20_000_000, "education_office": 10_000_000}
GROUP = 10


@pytest.mark.parametrize("sweeps", [2, 8])
def test_sweeps_racing_over_the_same_due_rows_do_each_rows_work_once(
    racing: Racing, sweeps: int
) -> None:
    bus, now = racing.bus, racing.now
    running = [funded(bus, **SMALL) for _ in range(GROUP)]
    now[0] = datetime(2026, 1, 2, 9, 0, tzinfo=SEOUL).astimezone(UTC)
    assert run_due_work(bus) == Counter({"activate: done": GROUP})
    to_start = [funded(bus, **SMALL) for _ in range(GROUP)]
    lapsing = [approved(bus, **SMALL) for _ in range(GROUP // 2)]
    lapsing += [held(bus, **SMALL) for _ in range(GROUP // 2)]
    commit(bus, lapsing[0], s.CITY_OFFICER)  # half committed: the commitment lapses too
    now[0] = datetime(2027, 1, 1, 9, 0, tzinfo=SEOUL).astimezone(UTC)

    results = run_together([lambda: run_due_work(bus) for _ in range(sweeps)])

    total: Counter[str] = sum(results, Counter())
    assert {k: v for k, v in total.items() if k.endswith(": done")} == {
        "activate: done": GROUP,
        "finish: done": 2 * GROUP,
        "expire: done": GROUP,
    }, results
    assert set(total) <= {"activate: done", "finish: done", "expire: done", "already done"}
    for program_id in running + to_start:
        happened = types(bus, program_id)
        assert state(bus, program_id) == "evaluation_due"
        assert happened.count("ProgramActivated") == 1
        assert happened.count("EvaluationDue") == 1
    for program_id in lapsing:
        happened = types(bus, program_id)
        assert state(bus, program_id) == "expired"
        assert happened.count(ev.HOLDS_EXPIRED) == 1
        assert happened.count("ProgramExpired") == 1
        assert shares(bus, program_id) == {"city": (0, 0, 0), "education_office": (0, 0, 0)}
    assert bus.query(lambda uow: uow.schedule.pending()) == []
    assert run_due_work(bus) == Counter()
    check_ledger(bus)


# -- every money task delivered twice -----------------------------------------------------


def place_holds_case(racing: Racing) -> tuple[Callable[[], Any], Callable[[], None]]:
    bus = racing.bus
    program_id = create(bus)
    submit(bus, program_id)
    (message_id,) = messages(bus, PLACE_HOLDS)

    def check() -> None:
        assert state(bus, program_id) == "in_review"
        assert shares(bus, program_id) == {
            "city": (CITY_SHARE, 0, 0),
            "education_office": (OE_SHARE, 0, 0),
        }
        assert [e[0] for e in entries_of(bus, program_id)] == ["hold", "hold"]
        assert types(bus, program_id).count(ev.BUDGET_HELD) == 2
        assert pending_work(bus, program_id, "expire")
        assert messages(bus, PLACE_HOLDS) == []

    return lambda: bus.handle_message(message_id), check


def retry_waitlisted_case(racing: Racing) -> tuple[Callable[[], Any], Callable[[], None]]:
    bus, year = racing.bus, 2027
    add_envelopes(bus, year, city=1_000_000_000, education_office=OE_SHARE)
    first = create(bus, year=year)
    submit(bus, first)
    waiting = [create(bus, year=year) for _ in range(3)]
    for program_id in waiting:
        submit(bus, program_id)
    drain(bus)
    assert [state(bus, p) for p in [first, *waiting]] == ["in_review"] + ["waitlisted"] * 3
    bus.handle(c.WithdrawProgram(actor=s.COORDINATOR, program_id=first, reason="merged"))
    (message_id,) = messages(bus, RETRY_WAITLISTED)

    def check() -> None:
        assert [state(bus, p) for p in waiting] == ["in_review", "waitlisted", "waitlisted"]
        assert [e[0] for e in entries_of(bus, waiting[0])] == ["hold", "hold"]
        assert all(entries_of(bus, p) == [] for p in waiting[1:])
        assert types(bus, waiting[0]).count(ev.BUDGET_HELD) == 2
        assert messages(bus, RETRY_WAITLISTED) == []

    return lambda: bus.handle_message(message_id), check


def sweep_case(racing: Racing) -> tuple[Callable[[], Any], Callable[[], None]]:
    bus, now = racing.bus, racing.now
    starting = funded(bus)
    lapsing = approved(bus)
    commit(bus, lapsing, s.OE_OFFICER)
    now[0] = datetime(2026, 4, 15, 9, 0, tzinfo=SEOUL).astimezone(UTC)

    def check() -> None:
        assert state(bus, starting) == "active"
        assert types(bus, starting).count("ProgramActivated") == 1
        assert state(bus, lapsing) == "expired"
        assert types(bus, lapsing).count(ev.HOLDS_EXPIRED) == 1
        assert [e[0] for e in entries_of(bus, lapsing)] == [
            "hold",
            "hold",
            "commit",
            "release",
            "release",
        ]
        assert [w["action"] for w in bus.query(lambda uow: uow.schedule.pending())] == ["finish"]

    return lambda: run_due_work(bus), check


def budget_notice_case(racing: Racing) -> tuple[Callable[[], Any], Callable[[], None]]:
    bus, year = racing.bus, 2027
    add_envelopes(bus, year, city=CITY_SHARE, education_office=OE_SHARE // 2)
    program_id = create(bus, year=year)
    submit(bus, program_id)
    (holds_message,) = messages(bus, PLACE_HOLDS)
    bus.handle_message(holds_message)
    assert state(bus, program_id) == "waitlisted"
    (message_id,) = messages(bus, BUDGET_NOTICE)

    def check() -> None:
        for person in (s.COORDINATOR, s.OE_OFFICER):
            assert s.budget_notices(bus, person) == [(program_id, "waitlisted")]
        assert s.budget_notices(bus, s.CITY_OFFICER) == []  # the city's share fitted
        assert messages(bus, BUDGET_NOTICE) == []

    return lambda: bus.handle_message(message_id), check


CASES = {
    PLACE_HOLDS: place_holds_case,
    RETRY_WAITLISTED: retry_waitlisted_case,
    SWEEP_TASK: sweep_case,
    BUDGET_NOTICE: budget_notice_case,
}


@pytest.mark.parametrize("mode", ["one after the other", "at once"])
@pytest.mark.parametrize("task", sorted(CASES))
def test_a_money_task_delivered_twice_changes_nothing_the_second_time(
    racing: Racing, task: str, mode: str
) -> None:
    bus = racing.bus
    deliver, check = CASES[task](racing)

    if mode == "one after the other":
        first = deliver()
        check()
        before = snapshot(bus)
        second = deliver()
        assert snapshot(bus) == before
        if task == SWEEP_TASK:
            assert first == Counter({"activate: done": 1, "expire: done": 1})
            assert second == Counter()
    else:
        results = run_together([deliver, deliver])
        assert not [r for r in results if isinstance(r, Exception)], results
        check()
        before = snapshot(bus)
        deliver()  # a third time, for good measure
        assert snapshot(bus) == before
        if task == SWEEP_TASK:
            total: Counter[str] = sum(results, Counter())
            assert total["activate: done"] == total["expire: done"] == 1, results
    check_ledger(bus)
