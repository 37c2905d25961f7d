"""Schemathesis against the served contract: every operation of ``/api/v1/openapi.json``
(and the health routes), with generated valid and invalid requests, as each of the
seeded people, on a database with programs in many states.

Each response must keep the contract: no 5xx, a status the operation declares, a body
and headers that match its declared schema and media type, invalid input refused.
Every refusal (4xx) must leave the database as it was — except for the audit record of
a refused action, which the bus writes on purpose (at most one ``ActionRefused`` event).
The cases are counted, so the test cannot pass by generating few of them.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import func, select, text

from tests import support as s
from tests.api.helpers import CITY_EVALUATOR, NOTHING_SPENT, SUPERVISOR, Api
from workflow.adapters.orm import events, metadata
from workflow.domain.events import ACTION_REFUSED
from workflow.entrypoints.api import problems

MIN_CASES = 2_000
EXAMPLES = 40  # per operation and generation mode
PEOPLE = [
    s.COORDINATOR,
    s.OTHER_COORDINATOR,
    s.CITY_APPROVER,
    s.OE_APPROVER,
    s.CITY_OFFICER,
    s.OE_OFFICER,
    s.ADMIN,
    CITY_EVALUATOR,
    SUPERVISOR,
]
ORGS = ["munsan-high", "paju-youth"]
FUNDERS = ["city", "education_office"]
NO_TOKEN, BAD_TOKEN = "(no token)", "(bad token)"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# What a refusal may change: the audit trail of the refusal itself (an ActionRefused
# event, and its stream's head), and, when it carried an Idempotency-Key, the stored
# first response a repeat gets back.
UNCOMPARED = {"event_streams"}
KEYED = "idempotency_keys"
SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    # The database changes under the test, so a failure is reported as found, unshrunk.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@dataclass
class World:
    """The seeded rows generated requests should hit sometimes."""

    programs: list[int]
    tasks: list[int]
    notifications: list[int]

    @property
    def aims(self) -> st.SearchStrategy[dict[str, Any]]:
        """Values for path parameters and body fields of these names, each drawn or not."""
        one_of = st.sampled_from
        return st.fixed_dictionaries(
            {},
            optional={
                "program_id": one_of(self.programs),
                "task_id": one_of(self.tasks),
                "notification_id": one_of(self.notifications),
                "tasks": st.lists(one_of(self.tasks), min_size=1, max_size=3),
                "to": one_of(PEOPLE),
                "org": one_of(ORGS),
                "party": one_of(FUNDERS),
                "category": one_of(["linkage", "basic-skills"]),
                "requests": st.dictionaries(one_of(FUNDERS), st.just(10_000_000), min_size=1),
                "year": one_of([2026, 2027]),
                # Generated keys repeat ("0"), and a repeat is refused unless its body is too.
                "Idempotency-Key": st.uuids().map(str),
            },
        )


def build_world(api: Api) -> World:
    """Programs of both schools in most states (one owing a refund), their tasks, and
    budget notices."""
    programs = [
        api.draft(),
        api.draft(s.OTHER_COORDINATOR, org="paju-youth", title="Youth centre maker lab"),
        api.submitted(),
        api.submitted(),
        api.approved(),
        api.funded(),
        api.funded(),
        api.submitted(requests={"education_office": 600_000_000}),  # waitlisted
    ]
    owing = api.evaluation_due()  # paid, reported unspent: a refund is due
    api.ok(api.post(f"/programs/{owing}/disbursements", s.CITY_OFFICER, {"amount": 10_000_000}))
    api.ok(api.post(f"/programs/{owing}/report", s.COORDINATOR, NOTHING_SPENT))
    programs.append(owing)
    changes = api.submitted()
    api.ok(api.post(f"/programs/{changes}/decisions", s.CITY_APPROVER, {"decision": "reject"}))
    withdrawn = api.submitted()
    api.ok(api.post(f"/programs/{withdrawn}/withdraw", s.COORDINATOR, {"reason": "merged"}))
    programs += [changes, withdrawn]

    def read(uow: Any) -> tuple[list[int], list[int]]:
        tables = metadata.tables
        tasks = uow.conn.execute(select(tables["tasks"].c.id)).scalars().all()
        notes = uow.conn.execute(select(tables["notifications"].c.id)).scalars().all()
        return list(tasks), list(notes)

    tasks, notes = api.bus.query(read)
    assert tasks and notes, "the world needs tasks and notifications to aim at"
    return World(programs, tasks, notes)


@dataclass(frozen=True)
class Snapshot:
    tables: dict[str, str]  # a digest of each table's rows a refusal must not change
    refusals: int  # ActionRefused events


REFUSALS = "(refusals)"


def state_of(api: Api) -> Snapshot:
    def read(uow: Any) -> Snapshot:
        postgres = uow.conn.dialect.name == "postgresql"
        found = (digest_in_postgres if postgres else digest_rows)(uow.conn)
        refusals = int(found.pop(REFUSALS))
        return Snapshot(found, refusals)

    found: Snapshot = api.bus.query(read)
    return found


def compared() -> list[Any]:
    return [t for t in metadata.sorted_tables if t.name not in UNCOMPARED]


def digest_rows(conn: Any) -> dict[str, str]:
    """Each table's rows, hashed here (SQLite: cheap, no round trips)."""
    digests = {}
    for table in compared():
        digest = hashlib.sha256()
        query = select(table).order_by(*table.primary_key.columns)
        if table is events:
            query = query.where(events.c.type != ACTION_REFUSED)
        for row in conn.execute(query):
            digest.update(json.dumps([*row], default=str).encode())
        digests[table.name] = digest.hexdigest()
    refused = select(func.count()).select_from(events).where(events.c.type == ACTION_REFUSED)
    digests[REFUSALS] = str(conn.execute(refused).scalar())
    return digests


def digest_in_postgres(conn: Any) -> dict[str, str]:
    """The same, hashed by the server in one statement (a round trip per table made
    the PostgreSQL run twice as long)."""
    parts = []
    for table in compared():
        order = ", ".join(f't."{c.name}"' for c in table.primary_key.columns)
        where = f" WHERE t.type <> '{ACTION_REFUSED}'" if table is events else ""
        parts.append(
            f"SELECT '{table.name}', md5(coalesce(string_agg(t::text, '|' ORDER BY {order}),"
            f" '')) FROM \"{table.name}\" t{where}"
        )
    parts.append(f"SELECT '{REFUSALS}', count(*)::text FROM events WHERE type = '{ACTION_REFUSED}'")
    rows = conn.execute(text(" UNION ALL ".join(parts))).all()
    return {str(name): str(digest) for name, digest in rows}


@dataclass
class Run:
    api: Api
    world: World
    known: Snapshot | None = None  # the database as the last refusal left it
    cases: dict[str, int] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def headers(self, who: str) -> dict[str, str]:
        if who == NO_TOKEN:
            return {}
        if who == BAD_TOKEN:
            return {"Authorization": f"Bearer jf_{'0' * 43}"}  # well formed, nobody's
        return {"Authorization": f"Bearer {self.api.tokens[who]}"}

    def check(self, case: schemathesis.Case, who: str) -> None:
        before = self.known or state_of(self.api)
        headers = self.headers(who)
        self.known = None
        response = case.call(headers=headers)
        label = case.operation.label
        self.cases[label] = self.cases.get(label, 0) + 1
        self.statuses[response.status_code] += 1
        if 400 <= response.status_code < 500:
            after = state_of(self.api)
            keyed = "idempotency-key" in {k.lower() for k in case.headers or {}}
            changed = [
                name
                for name, digest in after.tables.items()
                if digest != before.tables[name] and not (keyed and name == KEYED)
            ]
            assert not changed, (
                f"{label} as {who} answered {response.status_code} but changed {changed}:"
                f" {response.text[:300]}"
            )
            assert after.refusals - before.refusals in (0, 1), "a refusal is audited at most once"
            self.known = after
        case.validate_response(response, checks=CHECKS, headers=headers)


def aim_at(case: schemathesis.Case, aim: dict[str, Any]) -> None:
    """Put real ids and keys where the generated case has a field of that name."""
    body = case.body if isinstance(case.body, dict) else {}
    for name, value in aim.items():
        if name in (case.path_parameters or {}):
            case.path_parameters[name] = value
        elif name in (case.headers or {}):
            case.headers[name] = value
        elif name in body:
            body[name] = value


def operations(schema: Any) -> Iterator[Any]:
    for result in schema.get_all_operations():
        yield result.ok()


def run_operation(run: Run, operation: Any, mode: GenerationMode) -> None:
    people = st.sampled_from([*PEOPLE * 4, NO_TOKEN, BAD_TOKEN])  # 1 in 19 unauthenticated

    @SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode), who=people, aim=run.world.aims)
    def one(case: schemathesis.Case, who: str, aim: dict[str, Any]) -> None:
        if mode.is_positive:  # valid requests: aimed at existing rows some of the time
            aim_at(case, aim)
        run.check(case, who)

    try:
        one()
    except (Exception, BaseExceptionGroup) as err:  # gather every operation's failures
        run.failures.append(f"{operation.label} [{mode.value}]: {type(err).__name__}: {err}")


def test_generated_requests_keep_the_contract_and_refusals_change_nothing(api: Api) -> None:
    world = build_world(api)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", api.client.app)
    schema.config.generation.update(with_security_parameters=False)  # the token is ours
    run = Run(api, world)
    labels = []
    for operation in operations(schema):
        labels.append(operation.label)
        raw = operation.definition.raw
        negatable = "parameters" in raw or "requestBody" in raw  # the token is ours to set
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)[: 1 + negatable]:
            run_operation(run, operation, mode)
    assert not run.failures, "\n\n".join(run.failures)
    assert set(run.cases) == set(labels), set(labels) - set(run.cases)
    total = sum(run.cases.values())
    print(f"{total} generated cases over {len(labels)} operations:", dict(run.statuses))
    assert total >= MIN_CASES, run.cases


# -- what the generated cases found, kept as examples ------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/programs?state=draft%00",  # a NUL was a 500 on PostgreSQL (text cannot hold it)
        "/programs?org=%00",
        "/workflows/Joint%20Program",
    ],
)
def test_a_parameter_outside_the_contract_is_422(api: Api, path: str) -> None:
    method = "POST" if path.endswith("/claim") else "GET"
    refused = api.send(method, path, s.ADMIN)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "body",
    [
        {
            "title": "a\x00b",
            "org": "munsan-high",
            "category": "linkage",
            "requests": {"city": 1_000},
        },
        {
            "title": "Robotics",
            "org": "munsan\x00",
            "category": "linkage",
            "requests": {"city": 1_000},
        },
        {
            "title": "Robotics",
            "org": "munsan-high",
            "category": "linkage",
            "requests": {"city\x00": 1},
        },  # fmt: skip
    ],
)
def test_text_with_a_nul_is_422_and_creates_nothing(api: Api, body: dict[str, Any]) -> None:
    before = state_of(api)
    refused = api.post("/programs", s.COORDINATOR, body)
    assert refused.status_code == 422, refused.text
    assert state_of(api) == before


def test_the_largest_id_is_simply_not_found(api: Api) -> None:
    assert api.get(f"/programs/{2**63 - 1}", s.ADMIN).status_code == 404


def test_every_status_a_refusal_is_mapped_to_is_in_the_contract() -> None:
    mapped = {status for _, status in problems.STATUSES} | {400, 503}  # fallback, database
    assert mapped == set(problems.RESPONSES) | set(problems.PRECONDITION)


def test_a_snapshot_sees_an_action_and_a_refusal_adds_only_its_audit_event(api: Api) -> None:
    before = state_of(api)
    pid = api.draft()
    after = state_of(api)
    changed = {name for name, digest in after.tables.items() if digest != before.tables[name]}
    assert {"programs", "program_requests", "events"} <= changed
    assert api.post(f"/programs/{pid}/commitments", s.COORDINATOR).status_code == 403
    refused = state_of(api)
    assert refused.tables == after.tables and refused.refusals == after.refusals + 1
