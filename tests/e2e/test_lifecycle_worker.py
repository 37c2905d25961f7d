"""The money lifecycle on the deployment path, moved forward by the clock alone.

A real ``celery`` worker and relay (the Procfile's lines) run on Redis db 15 and
PostgreSQL, with ``JOINTFLOW_NOW`` fixing their clock. People act through a bus in
the test process whose clock is the same moment; the test never runs a sweep
itself. To let time pass it kills the worker and relay and starts them again with a
later ``JOINTFLOW_NOW``: from then on the relay's ``jointflow.run_due_work`` sweep alone
activates the funded programs, ends their runs and lets a forgotten hold lapse. In
one phase two relays queue sweeps side by side. At the end every transition, ledger entry,
scheduled row and reminder is counted: nothing was done twice, nothing was lost.

The Paju timeline (Seoul time, fiscal year 2026; programs run 2 March to 30 April):

- 2 Feb 09:00: A, B, C and E are submitted and held by the worker, W finds no room
  in the city's envelope and is waitlisted; A, B, C are approved and funded.
- 2 Mar 09:00: the sweeps (two relays) activate A, B, C; the city pays A a tranche.
- 30 Apr 09:00: the sweep ends the runs; A is reported and accepted by both
  evaluators, the settlement releases what A did not spend and the worker, sent
  ``jointflow.retry_waitlisted`` through the outbox, places W's holds with it.
- 2 Jun 09:00: E, left in review since 2 Feb, is 120 days old: the sweep expires it.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from config.settings import Settings
from tests import support as s
from tests.conftest import redis_db
from tests.e2e.test_worker import (
    REDELIVER_SECONDS,
    Processes,
    assert_audit_chain_holds,
    outbox_undone,
    procfile_command,
    wait_until,
)
from workflow.adapters.database import engine_for
from workflow.adapters.orm import (
    envelopes,
    events,
    ledger_entries,
    notifications,
    program_requests,
    programs,
    reminders,
    scheduled_work,
    tasks,
)
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain.calendar import SEOUL, start_of_day
from workflow.service_layer.messagebus import MessageBus

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

BROKER_URL = redis_db(14)  # test_worker.py has 15

CITY_EVALUATOR = "evaluator@paju.go.kr"
OE_EVALUATOR = "evaluator@goepj.kr"
START, END = date(s.YEAR, 3, 2), date(s.YEAR, 4, 29)
FEB = datetime(s.YEAR, 2, 2, 9, 0, tzinfo=SEOUL)  # review and funding season
MAR = datetime(s.YEAR, 3, 2, 9, 0, tzinfo=SEOUL)  # the start date, 09:00
APR = datetime(s.YEAR, 4, 30, 9, 0, tzinfo=SEOUL)  # the day after the end date, 09:00
JUN = FEB + timedelta(days=120)  # E's holds, placed at FEB, lapse now
CITY_ENVELOPE, OE_ENVELOPE = 200_000_000, 100_000_000
RUN_REQUEST = {"city": 20_000_000, "education_office": 10_000_000}  # B and C
A_REQUEST = {"city": 60_000_000, "education_office": 20_000_000}
A_TRANCHE = 30_000_000  # the city's payment to A while it runs
A_SPENT = {"city": 30_000_000, "education_office": 15_000_000}
E_REQUEST = {"city": 20_000_000, "education_office": 10_000_000}
# 80 m of the city's 200 m is free once A, B, C and E hold theirs: W must wait for A's
# settlement (30 m of the city's commitment comes back, 110 m free).
W_REQUEST = {"city": 100_000_000, "education_office": 10_000_000}


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    """This file's Redis database, emptied before and after."""
    client = redis.Redis.from_url(BROKER_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def procs(tmp_path: Path, postgres_url: str, broker: redis.Redis) -> Iterator[Processes]:
    """Celery subprocesses on this database and broker, quick relays and sweeps."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOINTFLOW_")}
    env.update(
        {
            "JOINTFLOW_DATABASE_URL": postgres_url,
            "JOINTFLOW_BROKER_URL": BROKER_URL,
            "JOINTFLOW_OUTBOX_REDELIVER_SECONDS": str(REDELIVER_SECONDS),
            "JOINTFLOW_OUTBOX_RELAY_INTERVAL": "0.5",
            "JOINTFLOW_SWEEP_INTERVAL": "0.5",
            "JOINTFLOW_WORKER_CONCURRENCY": "2",
            "PYTHONUNBUFFERED": "1",
        }
    )
    processes = Processes(tmp_path, env)
    try:
        yield processes
    finally:
        processes.stop_all()


class Deployment:
    """Worker and relay of one moment: started with ``JOINTFLOW_NOW``, killed to move on."""

    def __init__(self, procs: Processes, tmp_path: Path, url: str) -> None:
        self.procs = procs
        self.tmp_path = tmp_path
        self.url = url
        self.running: list[subprocess.Popen[bytes]] = []

    def at(self, now: datetime, relays: int = 1) -> MessageBus:
        """Kill what runs, start ``relays`` relays and a worker at ``now``; a bus at ``now``.

        The relays start first; a sweep is queued while the one before runs, so the
        worker's two pool processes run two of them side by side.
        """
        self.stop()
        self.procs.env["JOINTFLOW_NOW"] = now.isoformat()
        tag = now.strftime("%m%d")
        for i in range(relays):
            self.running.append(
                self.procs.start(f"relay-{tag}-{i}", procfile_command("relay", self.procs.env))
            )
        self.running.append(
            self.procs.start(
                f"worker-{tag}",
                procfile_command("worker", self.procs.env) + Processes.worker_options(tag),
            )
        )
        return bootstrap(
            Settings(database_url=self.url, broker_url=BROKER_URL, auto_migrate=False, now=now)
        )

    def stop(self) -> None:
        """A machine switched off: whatever it had in hand is re-sent or swept again."""
        for proc in self.running:
            self.procs.kill(proc)
        self.running = []

    def wait_for(self, what: str, expected: dict[int, str]) -> None:
        """Until the programs are in these states and the outbox has nothing left to do."""
        wait_until(
            what,
            lambda: (
                all(state_of(self.url).get(pid) == st for pid, st in expected.items())
                and outbox_undone(self.url) == 0
            ),
            self.procs,
        )


def state_of(url: str) -> dict[int, str]:
    with engine_for(url).connect() as conn:
        return {r.id: r.state for r in conn.execute(select(programs.c.id, programs.c.state))}


def approve_and_fund(bus: MessageBus, program_id: int) -> None:
    s.decide(bus, program_id, s.CITY_APPROVER)
    s.decide(bus, program_id, s.OE_APPROVER)
    for officer in (s.CITY_OFFICER, s.OE_OFFICER):
        bus.handle(c.CommitFunds(actor=officer, program_id=program_id))


def sweep_outcomes(procs: Processes) -> Counter[str]:
    """What every sweep the worker ran reported (Celery logs each task's return value)."""
    total: Counter[str] = Counter()
    for _proc, log in procs.started:
        for line in log.read_text(errors="replace").splitlines():
            found = re.search(
                r"Task jointflow\.run_due_work\[[^]]+\] succeeded in [^:]+: "
                r"(\{.*\})$",
                line,
            )
            if found:
                total.update(ast.literal_eval(found.group(1)))
    return total


def sweeps_sent(log: Path) -> int:
    return log.read_text(errors="replace").count("sent jointflow.run_due_work")


def test_a_program_goes_from_submission_to_closed_by_the_clock_alone_and_nothing_twice(
    postgres_url: str, procs: Processes, tmp_path: Path
) -> None:
    url = postgres_url
    deployment = Deployment(procs, tmp_path, url)

    # -- 2 Feb: submission, holds by the worker, review, commitments --
    bus = deployment.at(FEB)
    s.seed(bus, city=CITY_ENVELOPE, education_office=OE_ENVELOPE)
    for email, org in ((CITY_EVALUATOR, "city"), (OE_EVALUATOR, "education_office")):
        bus.handle(
            c.AddUser(
                actor=None, email=email, name=email.split("@")[0], org=org, roles=("evaluator",)
            )
        )
    a = s.submitted(bus, **A_REQUEST, start=START, end=END)
    b, c_ = (s.submitted(bus, **RUN_REQUEST, start=START, end=END) for _ in range(2))
    e = s.submitted(bus, **E_REQUEST, start=START, end=END)
    runs = (a, b, c_)
    deployment.wait_for(
        "the worker to hold A, B, C and E", {pid: "in_review" for pid in (*runs, e)}
    )
    w = s.submitted(bus, **W_REQUEST, actor=s.OTHER_COORDINATOR, org="paju-youth")
    deployment.wait_for("the worker to waitlist W", {w: "waitlisted"})
    for pid in runs:
        approve_and_fund(bus, pid)
    assert {pid: state_of(url)[pid] for pid in runs} == dict.fromkeys(runs, "funded")
    assert sweep_outcomes(procs) == Counter(), "a sweep did work before its time"

    # -- 2 Mar, the start date: two relays' sweeps race to activate the runs --
    bus = deployment.at(MAR, relays=2)
    deployment.wait_for("the sweeps to activate A, B and C", dict.fromkeys(runs, "active"))
    relay_logs = [log for _p, log in procs.started if log.stem.startswith("relay-0302")]
    wait_until(
        "both relays to send sweeps while the runs are active",
        lambda: all(sweeps_sent(log) >= 3 for log in relay_logs),
        procs,
    )
    assert (
        bus.handle(
            c.DisburseFunds(
                actor=s.CITY_OFFICER, program_id=a, amount=A_TRANCHE, memo="first tranche"
            )
        ).tranche
        == 1
    )
    assert state_of(url)[e] == "in_review" and state_of(url)[w] == "waitlisted"

    # -- 30 Apr, the day after the end date: the runs ended; A is reported and settled --
    bus = deployment.at(APR)
    deployment.wait_for("the sweep to end the runs", dict.fromkeys(runs, "evaluation_due"))
    bus.handle(
        c.SubmitReport(
            actor=s.COORDINATOR,
            program_id=a,
            spent=A_SPENT,
            summary="Forty students, two universities",
            file=c.ReportFile("report.pdf", b"%PDF-1.7\n% all went well\n"),
        )
    )
    bus.handle(c.EvaluateReport(actor=CITY_EVALUATOR, program_id=a, verdict="accept", score=4))
    bus.handle(c.EvaluateReport(actor=OE_EVALUATOR, program_id=a, verdict="accept", score=5))
    assert state_of(url)[a] == "closed"
    deployment.wait_for(
        "the released money to reach waitlisted W through the worker", {w: "in_review"}
    )

    # -- 2 Jun: E has sat in review for 120 days; the sweep lets its holds lapse --
    deployment.at(JUN)
    deployment.wait_for("the sweep to expire E", {e: "expired"})
    deployment.stop()  # no sweep runs while the logs and the database are counted
    assert state_of(url) == {
        a: "closed",
        b: "evaluation_due",
        c_: "evaluation_due",
        e: "expired",
        w: "in_review",
    }

    # -- nothing was done twice --
    outcomes = sweep_outcomes(procs)
    del outcomes["already done"]  # a sweep that came second: it may or may not happen
    assert outcomes == Counter({"activate: done": 3, "finish: done": 3, "expire: done": 1})
    assert_each_transition_once(url, a=a, runs=(b, c_), e=e, w=w)
    assert_schedule_done_once(url, runs=runs, e=e, w=w)
    assert_ledger_adds_up(url, a=a, runs=(b, c_), e=e, w=w)
    assert_reminders_sent_once(url, e=e)
    assert_audit_chain_holds(bus)


def assert_each_transition_once(url: str, a: int, runs: tuple[int, ...], e: int, w: int) -> None:
    held = {"ProgramCreated": 1, "ProgramSubmitted": 1, "BudgetHeld": 2, "ReviewStarted": 1}
    funded = {
        **held,
        "PartyApproved": 2,
        "ProgramApproved": 1,
        "FundsCommitted": 2,
        "ProgramFunded": 1,
        "ProgramActivated": 1,
        "EvaluationDue": 1,
    }
    expected = {
        a: {
            **funded,
            "FundsDisbursed": 1,
            "DocumentAttached": 1,  # the report's file, kept as a document
            "EvaluationReportSubmitted": 1,
            "EvaluationAccepted": 2,
            "ProgramClosed": 1,
            "CommitmentReleased": 2,
        },
        **dict.fromkeys(runs, funded),
        e: {**held, "HoldsExpired": 1, "HoldReleased": 2, "ProgramExpired": 1},
        w: {**held, "BudgetUnavailable": 1, "ProgramWaitlisted": 1},
    }
    with engine_for(url).connect() as conn:
        rows = conn.execute(
            select(events.c.stream, events.c.type, events.c.actor, events.c.data)
        ).all()
    for pid, counts in expected.items():
        got = Counter(r.type for r in rows if r.stream == f"program:{pid}")
        assert got == Counter(counts), (pid, got)
    # Per party, each party's step is there once (two of a kind are the two parties').
    per_party = Counter(
        (r.stream, r.type, json.loads(r.data).get("party"))
        for r in rows
        if r.stream.startswith("program:")
    )
    assert max(per_party.values()) == 1, [k for k, n in per_party.items() if n > 1]
    system = {r.type for r in rows if r.actor == "system"}
    assert {"ProgramActivated", "EvaluationDue", "ProgramExpired", "ReviewStarted"} <= system
    assert not [r for r in rows if r.type == "ActionRefused"]


def assert_reminders_sent_once(url: str, e: int) -> None:
    """The relays' sweeps sent the reminders too, each (task, rung) once, to each person in
    one message a day -- even on 2 March, when two relays raced.

    E's reviews (due before March) were reminded by the 2 March sweep for every rung due
    by then, including the escalation, and again while overdue on 30 April; on 2 June
    its tasks were cancelled with the program before the reminders' turn, and their rows
    still pending were voided, never sent.
    """
    with engine_for(url).connect() as conn:
        rows = conn.execute(
            select(
                reminders.c.rung,
                reminders.c.status,
                reminders.c.sent_at,
                reminders.c.recipients,
                tasks.c.program_id,
                tasks.c.id,
            ).join(tasks, tasks.c.id == reminders.c.task_id)
        ).all()
        messages = conn.execute(select(notifications)).all()
        sent_events = conn.execute(
            select(events.c.stream, events.c.data).where(
                events.c.type.in_(["ReminderDigestSent", "TaskEscalated"])
            )
        ).all()
    sent = [r for r in rows if r.status == "sent"]
    assert {r.sent_at for r in sent} <= {MAR, APR, JUN}
    e_sent = {(r.sent_at, r.rung.split(":")[0]) for r in sent if r.program_id == e}
    assert e_sent == {
        (MAR, "before"),
        (MAR, "due"),
        (MAR, "overdue"),
        (MAR, "escalate"),
        (APR, "overdue"),
    }
    assert not [r for r in rows if r.program_id == e and r.status == "pending"]
    assert all(json.loads(r.recipients) for r in sent if r.rung != "escalate")
    # One digest per person, kind and day; a task once in it, and once in the day's events.
    digests = [m for m in messages if m.kind in ("reminder_digest", "escalation")]
    assert len({(m.user_email, m.kind, m.day) for m in digests}) == len(digests)
    assert len({(m.user_email, m.kind, m.day, m.topic) for m in messages}) == len(messages)
    for m in digests:
        items = [i["task"] for i in json.loads(m.items)]
        assert len(items) == len(set(items)), m.body
    told = Counter(
        (ev_.stream, json.loads(ev_.data)["day"], task)
        for ev_ in sent_events
        for task in json.loads(ev_.data)["tasks"]
    )
    assert told and max(told.values()) == 1, [k for k, n in told.items() if n > 1]


def assert_schedule_done_once(url: str, runs: tuple[int, ...], e: int, w: int) -> None:
    """Each row done once, by the sweep of the moment it fell due; W's expiry to come."""
    with engine_for(url).connect() as conn:
        rows = conn.execute(select(scheduled_work)).all()
    got = {(r.program_id, r.action): (r.outcome, r.done_at, r.due_at) for r in rows}
    assert len(got) == len(rows)
    w_expiry = APR + timedelta(days=120)  # W was held when A's settlement freed the money
    expected = {
        **{(pid, "activate"): ("done", MAR, start_of_day(START)) for pid in runs},
        **{(pid, "finish"): ("done", APR, start_of_day(END + timedelta(days=1))) for pid in runs},
        **{(pid, "expire"): ("called off", FEB, FEB + timedelta(days=120)) for pid in runs},
        (e, "expire"): ("done", JUN, JUN),
        (w, "expire"): (None, None, w_expiry),
    }
    assert got == expected


def assert_ledger_adds_up(url: str, a: int, runs: tuple[int, ...], e: int, w: int) -> None:
    with engine_for(url).connect() as conn:
        entries = conn.execute(
            select(ledger_entries, envelopes.c.party).join(
                envelopes, envelopes.c.id == ledger_entries.c.envelope_id
            )
        ).all()
        balances = {r.party: r for r in conn.execute(select(envelopes))}
        requests = conn.execute(select(program_requests)).all()
        held_programs = conn.scalar(
            select(func.count()).select_from(programs).where(programs.c.state == "in_review")
        )
    assert held_programs == 1
    assert len({r.idempotency_key for r in entries}) == len(entries)
    moves = Counter((r.program_id, r.kind, r.source, r.party) for r in entries)
    assert max(moves.values()) == 1, moves
    parties = ("city", "education_office")
    assert set(moves) == {
        *{
            (pid, kind, None, p)
            for pid in (a, *runs)
            for kind in ("hold", "commit")
            for p in parties
        },
        (a, "disburse", None, "city"),
        *{(a, "release", "committed", p) for p in parties},
        *{
            (e, kind, source, p)
            for kind, source in (("hold", None), ("release", "held"))
            for p in parties
        },
        *{(w, "hold", None, p) for p in parties},
    }
    # Every balance is the sum of its entries, and adds up to the story told above.
    for party, envelope in balances.items():

        def total(kind: str, source: str | None = None, party: str = party) -> int:
            return sum(
                r.amount
                for r in entries
                if r.party == party and r.kind == kind and r.source == source
            )

        assert envelope.held == total("hold") - total("release", "held") - total("commit")
        assert envelope.committed == total("commit") - total("release", "committed")
        assert envelope.disbursed == total("disburse")
    committed = {p: A_SPENT[p] + 2 * RUN_REQUEST[p] for p in parties}
    assert {p: (b.amount, b.held, b.committed, b.disbursed) for p, b in balances.items()} == {
        "city": (CITY_ENVELOPE, W_REQUEST["city"], committed["city"], A_TRANCHE),
        "education_office": (
            OE_ENVELOPE,
            W_REQUEST["education_office"],
            committed["education_office"],
            0,
        ),
    }
    for req in requests:
        assert 0 <= req.disbursed <= req.committed, req
        mine = [r for r in entries if r.program_id == req.program_id and r.party == req.party]
        assert req.committed == (
            sum(r.amount for r in mine if r.kind == "commit")
            - sum(r.amount for r in mine if r.kind == "release" and r.source == "committed")
        )
        assert req.held == (
            sum(r.amount for r in mine if r.kind == "hold")
            - sum(r.amount for r in mine if r.kind == "commit")
            - sum(r.amount for r in mine if r.kind == "release" and r.source == "held")
        ), req
