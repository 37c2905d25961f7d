"""HTTP throughput of the ``web`` process against a hand-written ASGI baseline (issue 13).

Run from the repository root::

    python bench/api.py            # 8 rounds of 1,200 GETs and 250 decisions a side
    python bench/api.py --quick    # 2 rounds of 200 GETs and 60 decisions: a smoke run

Requests per second of ``GET /api/v1/programs/{id}`` and of a decision POST (the city
approver approves a program in review: every POST decides a fresh one) against the
Procfile's ``web`` command (uvicorn, ``WEB_CONCURRENCY`` workers) on a fresh PostgreSQL
database, and of the same two routes served by the same uvicorn command from
``bench/api_baseline.py``, which sends the real routes' SQL by hand. Both servers run
throughout, each on a database of its own holding the same seeded programs (the
baseline's is a copy), and the rounds alternate which side goes first. Goal: ratio >= 0.5.

The load is 8 keep-alive connections (``api_load``) whose client acknowledges each
response at once: uvicorn's ``--workers`` listener leaves Nagle on, and a plain client's
delayed ACK holds every response after a connection's first for ~40 ms, on both sides
alike; ``*_get_one_connection_p50_ms`` shows that stall. Statements per request are
counted in this process, on both apps served in-process, for a sample before the
timed rounds. Other work on the machine slows both sides, and past a load of about
its cores favours the API's threaded workers over the baseline's one-thread loops (the
requests/s ratios drift up, even past 1); CPU per request, from ``/proc``, holds
whatever the load: the server's processes exactly, its database backends less those
a pool opened and closed within a round (``*_connections_opened``).

Figures are ``name=value`` lines: per side and route the median requests/s of the
rounds, p50/p95 latency, CPU, statements and round trips per request; then per route
``*_server_cpu_ratio`` (baseline / API server CPU per request, for reading),
``get_ratio`` and ``decision_ratio`` (API / baseline requests/s), and last
``ratio=<the smaller>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from unittest import mock

import httpx
import psycopg
from api_baseline import Baseline
from api_load import BASELINE_APP, CpuMeter, Round, Server, drive, one_connection, served
from sqlalchemy import text
from support import (
    CATEGORY,
    CITY_APPROVER,
    COORDINATOR,
    DUMMY_BROKER,
    ORG,
    STAFF,
    TITLE,
    add_directory,
    analyze,
    arguments,
    create_database,
    drop_database,
    emit,
    emit_machine,
    exit_on_sigterm,
    fund_both,
    in_turn,
    scratch_postgres,
    work_off,
)

from config.settings import Settings
from workflow.adapters.database import engine_for
from workflow.adapters.event_store import EventStore
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.entrypoints.api import create_app
from workflow.service_layer.messagebus import MessageBus

DB = "jointflow_bench_api"
NOW = "2026-02-02T09:00"  # in the 2026 review season, as the API tests run (Seoul time)
YEAR = 2026
REQUESTS = {"city": 80_000_000, "education_office": 20_000_000}
SIDES = ("api", "baseline")
ROUTES = ("get", "decision")
READ_PROGRAMS = 50  # the GETs cycle over these; no decision touches them
SAMPLE = 10  # requests per side and route whose statements are counted
WARM_UP = {"get": 200, "decision": 20}  # untimed requests per side and route
ONE_CONNECTION = 20  # GETs one by one on one connection, a side, with and without quickack
DECISION = json.dumps({"decision": "approve"}).encode()
Key = tuple[str, str]  # (side, route)


def fixed_clock() -> datetime:
    return datetime.fromisoformat(NOW)  # naive: Seoul time, as JOINTFLOW_NOW is read


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the database --


def seed(url: str, programs: int) -> tuple[str, list[int]]:
    """The directory, both funders' envelopes and ``programs`` programs in review, through
    the engine on the web process's clock; the city approver's token. (A deployment's
    bus: the holds go in one batch after the submissions, the cheapest way there.)"""
    settings = Settings(
        database_url=url, broker_url=DUMMY_BROKER, now=fixed_clock(), auto_migrate=False
    )
    bus = bootstrap(settings)
    add_directory(bus, STAFF)
    fund_both(bus, YEAR)
    ids = [submitted(bus) for _ in range(programs)]
    while bus.pending_messages():
        work_off(bus)  # the holds, as a worker places them
    token: str = bus.handle(c.IssueToken(actor=None, email=CITY_APPROVER)).token
    analyze(engine_for(url), vacuum=True)
    engine_for(url).dispose()
    return token, ids


def submitted(bus: MessageBus) -> int:
    program_id: int = bus.handle(
        c.CreateProgram(
            actor=COORDINATOR,
            title=TITLE,
            org=ORG,
            category=CATEGORY,
            requests=dict(REQUESTS),
            year=YEAR,
        )
    )
    bus.handle(c.SubmitProgram(actor=COORDINATOR, program_id=program_id))
    return program_id


# -- the requests --


@dataclass
class Load:
    """What each side is sent: the token, the programs to read, and the programs each
    side's decisions take in turn (never one twice)."""

    token: str
    readers: list[int]
    deciding: dict[str, Iterator[int]]

    def requests(self, side: str, route: str, n: int) -> list[bytes]:
        if route == "get":
            return [self.get(self.readers[i % len(self.readers)]) for i in range(n)]
        return [self.decision(next(self.deciding[side])) for _ in range(n)]

    def head(self, method: str, path: str) -> str:
        return (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {self.token}\r\n"
        )

    def get(self, program_id: int) -> bytes:
        return (self.head("GET", f"/api/v1/programs/{program_id}") + "\r\n").encode()

    def decision(self, program_id: int) -> bytes:
        head = self.head("POST", f"/api/v1/programs/{program_id}/decisions")
        extra = f"Content-Type: application/json\r\nContent-Length: {len(DECISION)}\r\n\r\n"
        return (head + extra).encode() + DECISION


# -- statements per request, counted in this process --


@contextlib.contextmanager
def counting() -> Iterator[Counter[str]]:
    """Every round trip psycopg makes (sync and async), and every statement by kind
    (several go in one round trip when the API batches them)."""
    counts: Counter[str] = Counter()

    def note(cursor: Any) -> None:
        counts["round_trips"] += 1
        for result in cursor._results:  # one per statement sent
            counts[bytes(result.command_status or b"?").split()[0].decode().lower()] += 1

    def sync_execute(real: Callable[..., Any]) -> Callable[..., Any]:
        def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return real(self, *args, **kwargs)
            finally:
                note(self)

        return execute

    def async_execute(real: Callable[..., Any]) -> Callable[..., Any]:
        async def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return await real(self, *args, **kwargs)
            finally:
                note(self)

        return execute

    def command(real: Callable[..., Any]) -> Callable[..., Any]:
        def send(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
            counts["round_trips"] += 1
            counts[bytes(command).split()[0].decode().lower()] += 1
            return real(self, command, *args, **kwargs)

        return send

    patches = [
        (psycopg.Cursor, "execute", sync_execute),
        (psycopg.AsyncCursor, "execute", async_execute),
        (psycopg.Connection, "_exec_command", command),
        (psycopg.AsyncConnection, "_exec_command", command),
    ]
    with contextlib.ExitStack() as stack:
        for owner, name, wrap in patches:
            stack.enter_context(mock.patch.object(owner, name, wrap(getattr(owner, name))))
        yield counts


TRANSACTION_CONTROL = ("begin", "commit", "rollback")


@dataclass
class Sent:
    """What one request sent on average, and the bodies it got back."""

    counts: Counter[str]
    requests: int
    bodies: list[Any] = field(default_factory=list)

    def per_request(self, key: str) -> float:
        return self.counts[key] / self.requests

    @property
    def statements(self) -> float:
        kinds = set(self.counts) - {"round_trips", *TRANSACTION_CONTROL}
        return sum(self.counts[k] for k in kinds) / self.requests

    def detail(self) -> str:
        kinds = sorted(set(self.counts) - {"round_trips"})
        return ",".join(f"{k}:{self.counts[k] / self.requests:g}" for k in kinds)


async def _sample(app: Any, load: Load, side: str, route: str, n: int) -> Sent:
    """``n`` requests to ``app`` in this process, one at a time: their statements, after
    one uncounted request (definitions and the like, cached per process)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def send(raw: bytes) -> Any:
            head, _, body = raw.partition(b"\r\n\r\n")
            first, *lines = head.decode().split("\r\n")
            method, path, _ = first.split(" ")
            headers = dict(line.split(": ", 1) for line in lines)
            del headers["Host"]
            answer = await client.request(method, path, content=body or None, headers=headers)
            assert answer.status_code == 200, (side, route, answer.status_code, answer.text)
            return answer.json(), answer.headers["etag"]

        requests = load.requests(side, route, n + 1)
        await send(requests[0])
        with counting() as counts:
            bodies = [await send(raw) for raw in requests[1:]]
    return Sent(counts, n, bodies)


def sample(urls: dict[str, str], load: Load) -> dict[Key, Sent]:
    """Both apps in this process, each on its database: what each route sends, and the
    bodies to compare."""
    settings = Settings(
        database_url=urls["api"], broker_url=DUMMY_BROKER, now=fixed_clock(), auto_migrate=False
    )
    api, baseline = create_app(settings), Baseline(urls["baseline"], NOW)
    logging.getLogger("jointflow.access").disabled = True  # counted here, not timed

    async def both() -> dict[Key, Sent]:
        sent = {}
        for side, app in (("api", api), ("baseline", baseline)):
            for route in ROUTES:
                sent[(side, route)] = await _sample(app, load, side, route, SAMPLE)
        await baseline.pool.close()
        return sent

    try:
        return asyncio.run(both())
    finally:
        engine_for(urls["api"]).dispose()


def same_bodies(sent: dict[Key, Sent]) -> bool:
    """The same programs read and decided on both sides answer alike (ETags included)."""
    return all(sent[("api", route)].bodies == sent[("baseline", route)].bodies for route in ROUTES)


# -- the rows each side left --


def decided_rows(url: str, ids: list[int]) -> tuple[Counter[str], bool]:
    """How many decided programs left each shape of rows (the program's state, version,
    decisions and newest event, its review tasks and their reminders), and whether every
    event chain checks."""
    shape = text(
        "SELECT p.state || ' v' || p.version || ' ' || "
        "(SELECT string_agg(party || '=' || decision, ',' ORDER BY party) "
        " FROM party_decisions WHERE program_id = p.id) || ' ' || "
        "(SELECT type || '#' || seq FROM events WHERE stream = 'program:' || p.id "
        " ORDER BY seq DESC LIMIT 1) || ' ' || "
        "(SELECT string_agg(t.queue_org || ':' || t.state || ':' || "
        "  (SELECT string_agg(DISTINCT status, '+') FROM reminders WHERE task_id = t.id), "
        "  ',' ORDER BY t.id) FROM tasks t WHERE t.program_id = p.id AND t.kind = 'review') "
        "FROM programs p WHERE p.id = ANY(:ids)"
    )
    with engine_for(url).connect() as conn:
        shapes = Counter(conn.execute(shape, {"ids": ids}).scalars().all())
        checked, broken = EventStore(conn).verify()
    engine_for(url).dispose()
    return shapes, broken is None and checked > 0


# -- the run --


@dataclass
class Figures:
    """One side's figures for one route over the timed rounds."""

    rates: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    cpu: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    connections: int = 0
    failures: Counter[int] = field(default_factory=Counter)
    one_connection: dict[str, float] = field(default_factory=dict)  # plain/quickack p50 ms

    def add(self, done: Round) -> None:
        n = len(done.latencies)
        self.rates.append(n / done.seconds)
        self.latencies += done.latencies
        for part in ("server", "database", "client", "machine"):
            self.cpu[part] += getattr(done, f"{part}_cpu")
        self.requests += n
        self.connections += done.connections
        self.failures += Counter({s: k for s, k in done.statuses.items() if s != 200})

    @property
    def rate(self) -> float:
        return float(statistics.median(self.rates))

    def cpu_ms(self, *parts: str) -> float:
        return 1000 * sum(self.cpu[p] for p in parts) / self.requests


def percentile(samples: list[float], p: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


Servers = dict[str, Server]


def rounds(servers: Servers, load: Load, args: Any, meter: CpuMeter) -> dict[Key, Figures]:
    """A warm-up a side, then ``args.rounds`` rounds: each route's requests a side, the
    sides taking turns to go first."""
    figures = {(side, route): Figures() for side in SIDES for route in ROUTES}
    for side, server in servers.items():
        for route, n in WARM_UP.items():
            drive(server, load.requests(side, route, n), args.clients, meter)
        requests = load.requests(side, "get", ONE_CONNECTION)
        figures[(side, "get")].one_connection = one_connection(server, requests, meter)
    for r in range(args.rounds):
        for route in ROUTES:
            n = args.gets if route == "get" else args.decisions
            for side in in_turn(SIDES, r):
                done = drive(servers[side], load.requests(side, route, n), args.clients, meter)
                figures[(side, route)].add(done)
                log(f"round {r + 1} {side} {route}: {n} in {done.seconds:.2f} s")
    return figures


def report(figures: dict[Key, Figures], sent: dict[Key, Sent]) -> None:
    for (side, route), f in figures.items():
        name = f"{side}_{route}"
        emit(f"{name}_requests", f.requests)
        emit(f"{name}_per_s_rounds", " ".join(f"{r:.0f}" for r in f.rates))
        emit(f"{name}_per_s", f.rate)
        emit(f"{name}_p50_ms", 1000 * percentile(f.latencies, 50), places=2)
        emit(f"{name}_p95_ms", 1000 * percentile(f.latencies, 95), places=2)
        emit(f"{name}_cpu_ms", f.cpu_ms("server", "database"), places=2)
        emit(
            f"{name}_cpu_ms_parts",
            " ".join(f"{p}:{f.cpu_ms(p):.2f}" for p in ("server", "database", "client", "machine")),
        )
        s = sent[(side, route)]
        emit(f"{name}_statements", s.statements)
        emit(f"{name}_round_trips", f"{s.per_request('round_trips'):g} ({s.detail()})")
        emit(f"{name}_transactions", s.per_request("begin"))
        emit(f"{name}_connections_opened", f.connections)
        emit(f"{name}_not_200", sum(f.failures.values()))
        if f.one_connection:
            waits = " ".join(f"{kind}:{ms:.2f}" for kind, ms in f.one_connection.items())
            emit(f"{name}_one_connection_p50_ms", waits)


def sizes(args: Any) -> int:
    """Programs to seed: the readers, and a fresh one for every decision of a side (its
    sample, warm-up and rounds); the other side decides the same ones in its copy."""
    return READ_PROGRAMS + SAMPLE + 1 + WARM_UP["decision"] + int(args.rounds * args.decisions)


@contextlib.contextmanager
def databases(programs: int) -> Iterator[tuple[dict[str, str], str, list[int]]]:
    """A database a side, the same seeded rows in each (the baseline's a copy of the
    API's); the token, and the programs in review."""
    with scratch_postgres(DB) as url:
        started = time.perf_counter()
        token, ids = seed(url, programs)
        copy = f"{DB}_{os.getpid()}_baseline"
        base_url = create_database(copy, template=url.rsplit("/", 1)[1])
        log(f"seeded {len(ids)} programs in {time.perf_counter() - started:.1f} s")
        try:
            yield {"api": url, "baseline": base_url}, token, ids
        finally:
            engine_for(base_url).dispose()
            drop_database(copy)


Left = dict[str, tuple[Counter[str], bool]]  # side -> (shapes of decided rows, chains ok)


def measure(args: Any) -> tuple[dict[Key, Figures], dict[Key, Sent], Left, int]:
    """Seed, count a sample of each side's statements, serve both sides and run the
    rounds; then read the rows each side left."""
    with databases(sizes(args)) as (urls, token, ids):
        deciding = ids[READ_PROGRAMS:]
        load = Load(token, ids[:READ_PROGRAMS], {side: iter(deciding) for side in SIDES})
        sent = sample(urls, load)
        meter = CpuMeter(urls["api"])
        try:
            with (
                served("api", urls["api"], NOW, broker=DUMMY_BROKER) as api,
                served("baseline", urls["baseline"], NOW, app=BASELINE_APP) as baseline,
            ):
                figures = rounds({"api": api, "baseline": baseline}, load, args, meter)
        finally:
            meter.close()
        left = {side: decided_rows(urls[side], deciding) for side in SIDES}
    return figures, sent, left, len(ids)


def run(args: Any) -> float:
    """The figures, the checks and the two ratios printed; the smaller ratio."""
    load_before = os.getloadavg()[0]
    figures, sent, left, programs = measure(args)
    emit_machine(load_before)
    emit("clients", args.clients)
    emit("rounds", args.rounds)
    emit("gets_per_round", args.gets)
    emit("decisions_per_round", args.decisions)
    emit("programs", programs)
    report(figures, sent)
    emit("same_bodies", same_bodies(sent))
    shapes = {side: dict(shape) for side, (shape, _) in left.items()}
    emit("same_rows_written", len(shapes["api"]) == 1 and shapes["api"] == shapes["baseline"])
    emit("decided_rows", " | ".join(f"{k}: {v}" for k, v in shapes["api"].items()))
    emit("event_chains_valid", all(valid for _, valid in left.values()))
    emit("all_200", not any(f.failures for f in figures.values()))
    ratios: dict[str, float] = {}
    for route in ROUTES:
        real, base = figures[("api", route)], figures[("baseline", route)]
        emit(f"{route}_server_cpu_ratio", f"{base.cpu_ms('server') / real.cpu_ms('server'):.3f}")
        ratios[route] = real.rate / base.rate
        emit(f"{route}_ratio", f"{ratios[route]:.3f}")
    return min(ratios.values())


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--rounds", type=int, default=8, help="timed rounds a side and route")
    parser.add_argument("--gets", type=int, default=1200, help="GETs per side per round")
    parser.add_argument(
        "--decisions", type=int, default=250, help="decision POSTs per side per round"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument(
        "--quick", action="store_true", help="2 rounds of 200 GETs and 60 decisions"
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.gets, args.decisions = 2, 200, 60
    exit_on_sigterm()
    ratio = run(args)
    emit("ratio", f"{ratio:.3f}")


if __name__ == "__main__":
    main()
