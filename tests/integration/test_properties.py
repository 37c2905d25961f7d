"""Property: random people doing random things never break the engine's rules.

Hypothesis draws a sequence of actions (create, update, submit, decide, withdraw, add
an envelope), one at a time, by people of a small Paju setting, with amounts that
often exceed what the envelopes hold. Most actions are ones the program's state
allows, done by the person whose job it is, so programs travel the whole lifecycle
(waitlist, change requests, resubmission, approval, rejection); the rest are anyone
trying anything. Each example runs on its own SQLite file, copied from a seeded
template, through the real embedded bus (holds placed in-process). After every action:

- the outcome is the one the rules predict, worked out here independently of the
  engine: an action on another organization's draft is NotFound (it does not exist for
  them), one outside the actor's rights is refused with NotPermitted, one the
  program's state does not allow with TransitionNotAllowed, a second decision of the
  same party with Conflict; anything else succeeds;
- a refused action changes nothing but one ``ActionRefused`` event in the audit log;
- every envelope has available >= 0 and held == the programs' holds == the hold ledger
  entries minus the release entries; a program holds its whole request while under
  review or approved, and nothing when it is draft, waitlisted or finished;
- the audit chain verifies.

At the end every program's history walks the definition: each recorded transition is
one of the definition's, each starts where the previous one ended, and the last ends
in the program's state.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from config.settings import WORKFLOWS_DIR
from tests import support as s
from tests.conftest import make_settings
from workflow.adapters.database import engine_for
from workflow.adapters.orm import (
    envelopes,
    events,
    ledger_entries,
    outbox,
    party_decisions,
    program_requests,
    programs,
)
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.definition import parse_definition
from workflow.domain.errors import (
    Conflict,
    NotFound,
    NotPermitted,
    TransitionNotAllowed,
    WorkflowError,
)
from workflow.domain.events import program_stream
from workflow.domain.machine import GUARDS
from workflow.service_layer.messagebus import MessageBus

DEFINITION = parse_definition(
    yaml.safe_load((WORKFLOWS_DIR / "joint-program.yaml").read_text(encoding="utf-8")),
    "joint-program.yaml",
    GUARDS,
)
TRANSITIONS = {
    (src, t.trigger, t.dest): t.records for t in DEFINITION.transitions for src in t.sources
}
PARTIES = ("city", "education_office")

CITY_STAFF = "staff@paju.go.kr"  # runs a city programme and approves for the city
SCHOOL_APPROVER = "approver@munsan-high.kr"  # an approver whose school reviews nothing


@dataclass(frozen=True)
class Person:
    org: str
    roles: frozenset[str]


PEOPLE = {
    s.COORDINATOR: Person("munsan-high", frozenset({"coordinator"})),
    s.OTHER_COORDINATOR: Person("paju-youth", frozenset({"coordinator"})),
    CITY_STAFF: Person("city", frozenset({"coordinator", "approver"})),
    s.CITY_APPROVER: Person("city", frozenset({"approver"})),
    s.OE_APPROVER: Person("education_office", frozenset({"approver"})),
    SCHOOL_APPROVER: Person("munsan-high", frozenset({"approver"})),
    s.CITY_OFFICER: Person("city", frozenset({"budget_officer"})),
    s.OE_OFFICER: Person("education_office", frozenset({"budget_officer"})),
    s.ADMIN: Person("city", frozenset({"admin"})),
}
ANYONE = sorted(PEOPLE)
COORDINATOR_OF = {
    "munsan-high": s.COORDINATOR,
    "paju-youth": s.OTHER_COORDINATOR,
    "city": CITY_STAFF,
}
APPROVER_OF = {"city": s.CITY_APPROVER, "education_office": s.OE_APPROVER}
OFFICER_OF = {"city": s.CITY_OFFICER, "education_office": s.OE_OFFICER}
# Small 2026 envelopes so that requests often do not fit; 2027 has none until added.
ENVELOPES = {"city": 400_000_000, "education_office": 150_000_000}
YEARS = (2026, 2027)

# What the program's state must be for a coordinator's action (PRODUCT §3).
COORDINATOR_ACTIONS = {
    "update": {"draft", "revision_requested"},
    "submit": {"draft", "revision_requested"},
    "withdraw": {"draft", "submitted", "waitlisted", "in_review", "revision_requested", "approved"},
}
REVIEW_OUTCOMES = {"approved", "revision_requested", "rejected"}
HOLDS_WHOLE_REQUEST = {"in_review", "approved"}
HOLDS_NOTHING = {"draft", "waitlisted", "rejected", "withdrawn"}


# -- the actions hypothesis draws ------------------------------------------------------

# Shares of a few sizes: two or three programs fill an envelope, a big one never fits.
millions = st.sampled_from([10, 40, 80, 150, 250, 450]).map(lambda m: m * 1_000_000)
maybe_millions = st.sampled_from([None, 5, 20, 45, 70, 200]).map(lambda m: m and m * 1_000_000)
years = st.sampled_from(YEARS)
# Kinds of action, weighted; "revise" and "resubmit" are an update and a submission aimed
# at a program sent back for changes.
KINDS = (
    ["decide"] * 6
    + ["submit"] * 3
    + ["revise"] * 3
    + ["resubmit"]
    + ["create"] * 2
    + ["update", "withdraw", "envelope"]
)
MAX_PROGRAMS = 8
# The states in which each kind of action can go ahead.
NEEDS = {
    **COORDINATOR_ACTIONS,
    "decide": {"in_review"},
    "revise": {"revision_requested"},
    "resubmit": {"revision_requested"},
}


def mostly(right: str) -> st.SearchStrategy[str]:
    """The person whose job it is, four times in five; anyone at all otherwise."""
    return st.sampled_from([right] * len(ANYONE) * 4 + ANYONE)


@st.composite
def next_action(
    draw: st.DrawFn, before: dict[str, Any], known: dict[int, Known]
) -> tuple[Any, ...]:
    """Four times in five an action some program's state allows, on such a program."""
    fitting = {
        kind: [p for p in sorted(known) if before["states"][p] in states]
        for kind, states in NEEDS.items()
    }
    kinds = [
        k
        for k in KINDS
        if (k != "create" or len(known) < MAX_PROGRAMS) and (k in ("create", "envelope") or known)
    ]
    useful = [k for k in kinds if k in ("create", "envelope") or fitting[k]]
    anything = draw(st.integers(0, 4)) == 0
    kind = draw(st.sampled_from(kinds if anything else useful))
    if kind == "create":
        org = draw(st.sampled_from(sorted(COORDINATOR_OF)))
        return (
            "create",
            draw(mostly(COORDINATOR_OF[org])),
            org,
            draw(years),
            draw(millions),
            draw(maybe_millions),
        )
    if kind == "envelope":
        party = draw(st.sampled_from(PARTIES))
        return (
            "envelope",
            draw(mostly(OFFICER_OF[party])),
            party,
            draw(years),
            draw(st.sampled_from([50, 200, 600])) * 1_000_000,
        )
    anywhere = draw(st.integers(0, 4)) == 0
    pool = fitting[kind] if fitting[kind] and not anywhere else sorted(known)
    program_id = draw(st.sampled_from(pool))
    kind = {"revise": "update", "resubmit": "submit"}.get(kind, kind)
    if kind == "decide":
        pending = [p for p in PARTIES if before["decisions"][(program_id, p)] == "pending"]
        party = draw(st.sampled_from(pending or list(PARTIES)))
        decision = draw(st.sampled_from(["approve"] * 6 + ["reject"] + ["request-changes"] * 2))
        return ("decide", draw(mostly(APPROVER_OF[party])), program_id, decision)
    actor = draw(mostly(COORDINATOR_OF[known[program_id].org]))
    if kind == "update":
        return (
            "update",
            actor,
            program_id,
            draw(st.sampled_from([None, *YEARS])),
            draw(millions),
            draw(maybe_millions),
        )
    return (kind, actor, program_id)


# -- the rules, worked out here without the engine ---------------------------------------


@dataclass
class Known:
    """What the test itself remembers of a program it created."""

    org: str
    created_by: str
    submitted_by: set[str] = field(default_factory=set)


OK, REFUSED = "ok", NotPermitted


def expected_outcome(
    action: tuple[Any, ...], known: dict[int, Known], before: dict[str, Any]
) -> str | type[WorkflowError]:
    kind, actor = action[0], action[1]
    person = PEOPLE[actor]
    if kind == "create":
        allowed = "coordinator" in person.roles and person.org == action[2]
        return OK if allowed else REFUSED
    if kind == "envelope":
        party, year = action[2], action[3]
        if "admin" not in person.roles and not (
            "budget_officer" in person.roles and person.org == party
        ):
            return REFUSED
        return Conflict if (party, year) in before["envelopes"] else OK
    program_id = action[2]
    program, state = known[program_id], before["states"][program_id]
    if not program.submitted_by and "admin" not in person.roles and person.org != program.org:
        return NotFound  # another organization's draft does not exist for them
    if kind in COORDINATOR_ACTIONS:
        if "coordinator" not in person.roles or person.org != program.org:
            return REFUSED
        return OK if state in COORDINATOR_ACTIONS[kind] else TransitionNotAllowed
    assert kind == "decide"
    if (
        "approver" not in person.roles
        or person.org not in PARTIES
        or actor == program.created_by
        or actor in program.submitted_by
    ):
        return REFUSED
    decided = before["decisions"][(program_id, person.org)] != "pending"
    if state != "in_review":
        # Deciding again after one's own decision ended the review is a lost race.
        return Conflict if decided and state in REVIEW_OUTCOMES else TransitionNotAllowed
    return Conflict if decided else OK


# -- running one example -----------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with the people and 2026 envelopes every example starts from."""
    path = tmp_path_factory.mktemp("seeded") / "seeded.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    bus = bootstrap(make_settings(url))
    s.seed(bus, **ENVELOPES)
    for email in (CITY_STAFF, SCHOOL_APPROVER):
        person = PEOPLE[email]
        bus.handle(
            c.AddUser(
                actor=None,
                email=email,
                name=email.split("@")[0],
                org=person.org,
                roles=tuple(sorted(person.roles)),
            )
        )
    engine_for(url).dispose()  # the last connection closed folds the WAL into the file
    assert not Path(f"{path}-wal").exists()
    return path


@contextmanager
def fresh_bus(template: Path) -> Iterator[MessageBus]:
    """A bus on a private copy of the seeded database, disposed of afterwards."""
    with tempfile.TemporaryDirectory(prefix="jointflow-property-") as folder:
        path = Path(folder) / "example.db"
        shutil.copy(template, path)
        url = f"sqlite:///{path}"
        try:
            yield bootstrap(make_settings(url))
        finally:
            engine_for(url).dispose()


class Example:
    """One drawn sequence of actions, played on a fresh copy of the seeded database."""

    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus
        self.known: dict[int, Known] = {}

    def play(self, action: tuple[Any, ...], before: dict[str, Any]) -> None:
        kind, actor = action[0], action[1]
        expected = expected_outcome(action, self.known, before)
        try:
            result = self.bus.handle(command_for(action))
        except WorkflowError as err:
            assert expected is not OK, f"{action} was refused: {err!r}"
            assert type(err) is expected, f"{action}: {err!r}, wanted {expected!r}"
            after = self.bus.query(observe)
            assert after["tables"] == before["tables"], f"refused {action} changed data"
            assert after["events"] == before["events"] + 1
            assert after["last_event"] == ev.ACTION_REFUSED
            event(f"{kind}: {type(err).__name__}")
        else:
            assert expected is OK, f"{action} succeeded, wanted {expected}"
            if kind == "create":
                self.known[result] = Known(org=action[2], created_by=actor)
            elif kind == "submit":
                self.known[action[2]].submitted_by.add(actor)
            event(f"{kind}: ok")
            if kind in ("update", "submit"):
                event(f"{kind} in {before['states'][action[2]]}")
        self.bus.query(check_invariants)

    def check_histories(self) -> None:
        states = self.bus.query(observe)["states"]
        for program_id in self.known:
            history = self.bus.query(
                lambda uow, pid=program_id: uow.events.history(program_stream(pid))
            )
            walk_definition(program_id, history, states[program_id])
            for record in history:
                event(f"reached {json.loads(record.data).get('to', 'draft')}")


def command_for(action: tuple[Any, ...]) -> c.Command:
    kind, actor = action[0], action[1]
    if kind == "create":
        _, _, org, year, city, office = action
        return c.CreateProgram(
            actor=actor,
            title="Program",
            org=org,
            category="linkage",
            requests=requests(city, office),
            year=year,
        )
    if kind == "envelope":
        _, _, party, year, amount = action
        return c.AddEnvelope(actor=actor, party=party, year=year, amount=amount)
    if kind == "update":
        _, _, program_id, year, city, office = action
        return c.UpdateProgram(
            actor=actor, program_id=program_id, year=year, requests=requests(city, office)
        )
    if kind == "submit":
        return c.SubmitProgram(actor=actor, program_id=action[2])
    if kind == "decide":
        return c.DecideReview(actor=actor, program_id=action[2], decision=action[3])
    return c.WithdrawProgram(actor=actor, program_id=action[2], reason="plans changed")


def requests(city: int, office: int | None) -> dict[str, int]:
    return {"city": city, **({"education_office": office} if office else {})}


def observe(uow: Any) -> dict[str, Any]:
    """Everything an action could change, read in one transaction."""
    conn = uow.conn
    tables = {
        t.name: conn.execute(select(t).order_by(*t.primary_key.columns)).all()
        for t in (programs, program_requests, party_decisions, envelopes, ledger_entries, outbox)
    }
    last = conn.execute(select(events.c.type).order_by(events.c.id.desc()).limit(1)).scalar()
    return {
        "tables": tables,
        "events": conn.execute(select(func.count()).select_from(events)).scalar_one(),
        "last_event": last,
        "states": {r.id: r.state for r in tables["programs"]},
        "decisions": {(r.program_id, r.party): r.decision for r in tables["party_decisions"]},
        "envelopes": {(r.party, r.fiscal_year) for r in tables["envelopes"]},
    }


def check_invariants(uow: Any) -> None:
    conn = uow.conn
    checked, broken = uow.events.verify()
    assert broken is None, broken.describe()
    assert checked > 0

    held_by_programs: dict[tuple[str, int], int] = defaultdict(int)
    for row in conn.execute(
        select(
            programs.c.id,
            programs.c.state,
            programs.c.fiscal_year,
            program_requests.c.party,
            program_requests.c.amount,
            program_requests.c.held,
        ).join(program_requests)
    ):
        held_by_programs[(row.party, row.fiscal_year)] += row.held
        assert row.state != "submitted", f"program {row.id} left waiting for its holds"
        assert row.state in DEFINITION.states
        if row.state in HOLDS_WHOLE_REQUEST:
            assert row.held == row.amount, f"program {row.id} ({row.state}) holds {row.held}"
        if row.state in HOLDS_NOTHING:
            assert row.held == 0, f"program {row.id} ({row.state}) still holds {row.held}"

    ledger: dict[tuple[str, int], int] = defaultdict(int)
    for row in conn.execute(
        select(
            envelopes.c.party,
            envelopes.c.fiscal_year,
            ledger_entries.c.kind,
            func.sum(ledger_entries.c.amount),
        )
        .join(envelopes)
        .group_by(envelopes.c.party, envelopes.c.fiscal_year, ledger_entries.c.kind)
    ):
        sign = {"hold": 1, "release": -1}[row.kind]
        ledger[(row.party, row.fiscal_year)] += sign * int(row[3])

    for env in uow.ledger.report():
        where = (env.party, env.year)
        assert env.available >= 0, f"{where} available {env.available}"
        assert env.committed == 0
        assert env.held == held_by_programs.get(where, 0) == ledger.get(where, 0), (
            f"{where}: envelope holds {env.held}, programs {held_by_programs.get(where, 0)}, "
            f"ledger {ledger.get(where, 0)}"
        )
    holding = {where for where, amount in held_by_programs.items() if amount}
    assert holding <= {(e.party, e.year) for e in uow.ledger.report()}


def walk_definition(program_id: int, history: list[Any], state: str) -> None:
    """The recorded transitions are the definition's, one after the other."""
    at = DEFINITION.initial
    approved = 0
    for record in history:
        data = json.loads(record.data)
        approved += record.type == ev.PROGRAM_APPROVED
        if "trigger" not in data:
            continue
        step = (data["from"], data["trigger"], data["to"])
        assert step in TRANSITIONS, f"program {program_id}: {step} is not in the definition"
        assert record.type == TRANSITIONS[step]
        assert data["from"] == at, f"program {program_id}: {step} starts away from {at}"
        at = data["to"]
    assert at == state, f"program {program_id} is {state}, its history ends in {at}"
    assert approved <= 1


# No "explain" phase: tracing coverage through a minute of shrinking helps nobody here.
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
@given(data=st.data())
def test_random_people_doing_random_things_never_break_the_rules(
    seeded_template: Path, data: st.DataObject
) -> None:
    with fresh_bus(seeded_template) as bus:
        example = Example(bus)
        for _ in range(data.draw(st.integers(10, 35), label="steps")):
            before = bus.query(observe)
            action = data.draw(next_action(before, example.known), label="action")
            example.play(action, before)
        example.check_histories()
