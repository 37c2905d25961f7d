"""The HTTP API under test: the real ASGI app on a real database, one token per person.

``Api`` wraps FastAPI's TestClient (the whole application, middleware included) with
the seeded people's bearer tokens and a clock the test can move.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests import support as s
from tests.conftest import make_settings
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.entrypoints.api import create_app
from workflow.service_layer.messagebus import MessageBus
from workflow.service_layer.scheduler import run_scheduled_work

CITY_EVALUATOR = "evaluation@paju.go.kr"
OE_EVALUATOR = "evaluation@goepj.kr"
SUPERVISOR = "head@munsan-high.kr"
DEPUTY = "deputy@paju.go.kr"
EXTRA_USERS = [
    (CITY_EVALUATOR, "city", ("evaluator",)),
    (OE_EVALUATOR, "education_office", ("evaluator",)),
    (SUPERVISOR, "munsan-high", ("supervisor",)),
    (DEPUTY, "city", ("approver",)),
]
EVERYONE = [
    s.COORDINATOR,
    s.OTHER_COORDINATOR,
    s.CITY_APPROVER,
    s.OE_APPROVER,
    s.CITY_OFFICER,
    s.OE_OFFICER,
    s.ADMIN,
    *(email for email, _, _ in EXTRA_USERS),
]
NOTHING_SPENT = {"spent": {"city": 0, "education_office": 0}, "summary": "done"}
FEB = datetime(2026, 2, 2, 0, 0, tzinfo=UTC)  # review and funding season, 09:00 Seoul
PROGRAM = {
    "title": "High school–university linkage",
    "org": "munsan-high",
    "category": "linkage",
    "requests": {"city": 80_000_000, "education_office": 20_000_000},
    "start": "2026-03-02",
    "end": "2026-12-18",
}


class Clock:
    """The bus's clock; tests move it forward (runs start and end, holds lapse)."""

    def __init__(self) -> None:
        self.now = FEB

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Api:
    def __init__(self, client: TestClient, bus: MessageBus, clock: Clock) -> None:
        self.client = client
        self.bus = bus
        self.clock = clock
        self.tokens = {
            e: bus.handle(c.IssueToken(actor=None, email=e, days=366)).token for e in EVERYONE
        }

    def auth(self, who: str | None, **headers: str) -> dict[str, str]:
        given = {k.replace("_", "-"): v for k, v in headers.items()}
        return {"Authorization": f"Bearer {self.tokens[who]}", **given} if who else given

    def get(self, path: str, who: str | None, **headers: str) -> httpx.Response:
        return self.client.get("/api/v1" + path, headers=self.auth(who, **headers))

    def post(self, path: str, who: str | None, body: Any = None, **headers: str) -> httpx.Response:
        return self.client.post("/api/v1" + path, json=body, headers=self.auth(who, **headers))

    def send(
        self, method: str, path: str, who: str | None, body: Any = None, **headers: str
    ) -> httpx.Response:
        return self.client.request(
            method, "/api/v1" + path, json=body, headers=self.auth(who, **headers)
        )

    def ok(self, response: httpx.Response, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    # -- programs in a given state, through the API itself --

    def draft(self, who: str = s.COORDINATOR, **fields: Any) -> int:
        body = {**PROGRAM, **fields}
        return int(self.ok(self.post("/programs", who, body), 201)["id"])

    def submitted(self, **fields: Any) -> int:
        pid = self.draft(**fields)
        self.ok(self.post(f"/programs/{pid}/submit", s.COORDINATOR))
        return pid

    def approved(self, **fields: Any) -> int:
        pid = self.submitted(**fields)
        for who in (s.CITY_APPROVER, s.OE_APPROVER):
            self.ok(self.post(f"/programs/{pid}/decisions", who, {"decision": "approve"}))
        return pid

    def funded(self, **fields: Any) -> int:
        pid = self.approved(**fields)
        for who in (s.CITY_OFFICER, s.OE_OFFICER):
            self.ok(self.post(f"/programs/{pid}/commitments", who))
        return pid

    def evaluation_due(self) -> int:
        """Funded for a one-day run starting tomorrow, then past its end."""
        start = (self.clock.now + timedelta(days=1)).date()
        pid = self.funded(start=start.isoformat(), end=(start + timedelta(days=1)).isoformat())
        self.clock.advance(days=3)
        run_scheduled_work(self.bus)
        return pid

    def under_evaluation(self) -> int:
        pid = self.evaluation_due()
        self.ok(self.post(f"/programs/{pid}/report", s.COORDINATOR, NOTHING_SPENT))
        return pid

    def review_task(self, party_approver: str = s.CITY_APPROVER) -> int:
        """The open review task of a fresh submitted program, in that approver's queue."""
        pid = self.submitted()
        items = self.ok(self.get("/tasks?limit=500", party_approver))["items"]
        return int(next(t["task"] for t in items if t["program"] == pid))


def make_api(database_url: str) -> Iterator[Api]:
    clock = Clock()
    bus = bootstrap(make_settings(database_url), clock=clock)
    s.seed(bus)
    for email, org, roles in EXTRA_USERS:
        bus.handle(
            c.AddUser(actor=None, email=email, name=email.split("@")[0], org=org, roles=roles)
        )
    app = create_app(make_settings(database_url), bus)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, bus, clock)
