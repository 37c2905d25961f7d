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
from sqlalchemy import select

from tests import support as s
from tests.api.helpers import CITY_EVALUATOR, SUPERVISOR, Api
from workflow.adapters.orm import events, metadata
from workflow.domain.events import ACTION_REFUSED

MIN_CASES = 2_000
EXAMPLES = 36  # per operation and generation mode
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
    """The seeded rows generated paths should hit sometimes."""

    programs: list[int]
    tasks: list[int]
    notifications: list[int]
    ids: dict[str, list[int]] = field(init=False)

    def __post_init__(self) -> None:
        self.ids = {
            "program_id": self.programs,
            "task_id": self.tasks,
            "notification_id": self.notifications,
        }


def build_world(api: Api) -> World:
    """Programs of both schools in most states, their tasks, and budget notices."""
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


def state_of(api: Api) -> tuple[dict[str, str], int]:
    """A digest per table of every row a refusal must not change, and the count of
    refusals."""

    def read(uow: Any) -> tuple[dict[str, str], int]:
        digests = {}
        refusals = 0
        for table in metadata.sorted_tables:
            if table.name in UNCOMPARED:
                continue
            digest = hashlib.sha256()
            query = select(table).order_by(*table.primary_key.columns)
            if table is events:
                refusals = len(
                    uow.conn.execute(select(events.c.id).where(events.c.type == ACTION_REFUSED))
                    .scalars()
                    .all()
                )
                query = query.where(events.c.type != ACTION_REFUSED)
            for row in uow.conn.execute(query):
                digest.update(json.dumps([*row], default=str).encode())
            digests[table.name] = digest.hexdigest()
        return digests, refusals

    found: tuple[dict[str, str], int] = api.bus.query(read)
    return found


@dataclass
class Run:
    api: Api
    world: World
    cases: dict[str, int] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def headers(self, who: str) -> dict[str, str]:
        if who == NO_TOKEN:
            return {}
        if who == BAD_TOKEN:
            return {"Authorization": "Bearer not-a-token-of-ours"}
        return {"Authorization": f"Bearer {self.api.tokens[who]}"}

    def check(self, case: schemathesis.Case, who: str) -> None:
        before = state_of(self.api)
        headers = self.headers(who)
        response = case.call(headers=headers)
        label = case.operation.label
        self.cases[label] = self.cases.get(label, 0) + 1
        self.statuses[response.status_code] += 1
        if 400 <= response.status_code < 500:
            after = state_of(self.api)
            keyed = "idempotency-key" in {k.lower() for k in case.headers or {}}
            changed = [
                name
                for name, digest in after[0].items()
                if digest != before[0][name] and not (keyed and name == KEYED)
            ]
            assert not changed, (
                f"{label} as {who} answered {response.status_code} but changed {changed}:"
                f" {response.text[:300]}"
            )
            assert after[1] - before[1] in (0, 1), "a refusal is audited once"
        case.validate_response(response, checks=CHECKS, headers=headers)


def operations(schema: Any) -> Iterator[Any]:
    for result in schema.get_all_operations():
        yield result.ok()


def run_operation(run: Run, operation: Any, mode: GenerationMode) -> None:
    people = st.sampled_from([*PEOPLE, NO_TOKEN, BAD_TOKEN])
    real = {name: st.sampled_from(ids) for name, ids in run.world.ids.items()}
    aim = st.fixed_dictionaries({}, optional={name: ids for name, ids in real.items()})

    @SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode), who=people, hit=aim)
    def one(case: schemathesis.Case, who: str, hit: dict[str, int]) -> None:
        if mode.is_positive:  # aim valid paths at existing rows some of the time
            for name, value in hit.items():
                if name in (case.path_parameters or {}):
                    case.path_parameters[name] = value
        run.check(case, who)

    try:
        one()
    except (Exception, BaseExceptionGroup) as err:  # gather every operation's failures
        run.failures.append(f"{operation.label} [{mode.value}]: {type(err).__name__}: {err}")


def test_generated_requests_keep_the_contract_and_refusals_change_nothing(api: Api) -> None:
    world = build_world(api)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", api.client.app)
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
