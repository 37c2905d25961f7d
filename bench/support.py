"""What the benchmarks share: scratch databases, the bus and its directory, psycopg's
methods wrapped, clients raced together, alternating sides, and ``name=value`` output.

Each benchmark imports it before jointflow: it puts this checkout's root ahead of any
installed copy on ``sys.path``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import Engine, create_engine, text  # noqa: E402

from config.settings import Settings  # noqa: E402
from workflow.adapters.database import engine_for, upgrade  # noqa: E402
from workflow.bootstrap import bootstrap  # noqa: E402
from workflow.domain import commands as c  # noqa: E402
from workflow.service_layer.messagebus import MessageBus  # noqa: E402

PG_ADMIN_URL = os.environ.get("JOINTFLOW_BENCH_PG_ADMIN_URL") or os.environ.get(
    "JOINTFLOW_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# Never contacted: a broker URL only switches the bus to the deployment dispatcher.
DUMMY_BROKER = "redis://127.0.0.1:6379/14"

COORDINATOR = "coord@munsan-high.kr"
CITY_APPROVER = "approver@paju.go.kr"
OE_APPROVER = "approver@goepj.kr"
CITY_OFFICER = "budget@paju.go.kr"
OE_OFFICER = "budget@goepj.kr"
TITLE, CATEGORY, ORG = "High school–university linkage", "linkage", "munsan-high"
ENVELOPE = 9_000_000_000_000  # room for the holds of well over 100,000 programs
# (email, organization, role): the school's coordinator, each funder's approver and
# budget officer
STAFF = [
    (COORDINATOR, ORG, "coordinator"),
    (CITY_APPROVER, "city", "approver"),
    (OE_APPROVER, "education_office", "approver"),
    (CITY_OFFICER, "city", "budget_officer"),
    (OE_OFFICER, "education_office", "budget_officer"),
]

T = TypeVar("T")


# -- output and the run --


def emit(name: str, value: object, places: int = 1) -> None:
    """One ``name=value`` line; a float to 4 significant digits below 1, else ``places``."""
    if isinstance(value, float):
        value = f"{value:.4g}" if abs(value) < 1 else f"{value:.{places}f}"
    print(f"{name}={value}", flush=True)


def emit_machine(load_before: float) -> None:
    """The load the ratio should be read against (waits grow on both sides alike)."""
    emit("database", "postgresql")
    emit("load_average_1m_before", load_before)
    emit("load_average_1m_after", os.getloadavg()[0])
    emit("cpus", os.cpu_count())


def arguments(doc: str | None) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(description=(doc or "").split("\n")[0])


def exit_on_sigterm() -> None:
    """`timeout` and friends send SIGTERM: leave through the finally blocks, so scratch
    databases are dropped and child processes ended."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def in_turn(sides: Sequence[T], round_: int) -> list[T]:
    """The sides in the order they go in ``round_``: whoever went last goes first next,
    so whatever else the machine does falls on each alike."""
    return list(sides) if round_ % 2 else list(reversed(sides))


# -- scratch databases --


def database_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _admin(statement: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


def drop_database(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_database(name: str, template: str | None = None) -> str:
    """A new database ``name`` (a copy of ``template`` if given), replacing any left over."""
    drop_database(name)
    _admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return database_url(name)


@contextlib.contextmanager
def scratch_postgres(prefix: str, suffix: str = "") -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this run, dropped afterwards."""
    name = f"{prefix}_{os.getpid()}{suffix}"
    url = create_database(name)
    try:
        upgrade(engine_for(url))
        engine_for(url).dispose()
        yield url
    finally:
        engine_for(url).dispose()
        drop_database(name)


def analyze(engine: Engine, vacuum: bool = False) -> None:
    """Fresh planner statistics, so bulk-loaded rows are read the way they will be."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if vacuum else "ANALYZE"))


# -- the bus and its directory --


def procfile(env: dict[str, str]) -> dict[str, list[str]]:
    """The Procfile's processes, ``${VAR:-default}`` expanded, run by this Python."""
    lines = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if not command.strip():
            continue
        expanded = re.sub(
            r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m.group(1), m.group(2)), command
        )
        argv = shlex.split(expanded)
        head = [sys.executable] if argv[0] == "python" else [sys.executable, "-m", argv[0]]
        lines[name.strip()] = head + argv[1:]
    return lines


def make_bus(url: str, deployment: bool = True) -> MessageBus:
    """``bootstrap``'s bus; a deployment's leaves the work of messages to a worker."""
    broker = DUMMY_BROKER if deployment else None
    return bootstrap(Settings(database_url=url, broker_url=broker, auto_migrate=False))


def add_directory(bus: MessageBus, users: Iterable[tuple[str, str, str]]) -> None:
    """The two funders and the school, and ``users`` as (email, organization, role)."""
    for key, name, funder in [
        ("city", "Paju City", True),
        ("education_office", "Paju Office of Education", True),
        (ORG, "Munsan High School", False),
    ]:
        bus.handle(c.AddOrganization(actor=None, key=key, name=name, funder=funder))
    for email, org, role in users:
        bus.handle(
            c.AddUser(actor=None, email=email, name=email.split("@")[0], org=org, roles=(role,))
        )


def fund_both(bus: MessageBus, year: int) -> None:
    """An ``ENVELOPE`` from each funder's budget officer for ``year``."""
    for officer, party in [(CITY_OFFICER, "city"), (OE_OFFICER, "education_office")]:
        bus.handle(c.AddEnvelope(actor=officer, party=party, year=year, amount=ENVELOPE))


def work_off(bus: MessageBus) -> None:
    """Carry out the pending messages, as a worker would."""
    for message_id in bus.pending_messages():
        bus.handle_message(message_id)


def store_definition(bus: MessageBus, workflow: str) -> None:
    """Store the workflow's definition row now rather than in the first timed action."""
    with bus.uow() as uow:
        uow.current_workflow(workflow)
        uow.commit()


# -- psycopg, wrapped --


def sql_text(query: Any) -> str:
    return query.decode() if isinstance(query, bytes) else str(query)


@contextlib.contextmanager
def psycopg_wrapped(**wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Iterator[None]:
    """psycopg's cursor (``execute*``) and connection (any other name) methods replaced
    while inside: ``wrap[name](original)`` makes each stand-in."""
    with contextlib.ExitStack() as stack:
        for name, make in wrap.items():
            owner = psycopg.Cursor if name.startswith("execute") else psycopg.Connection
            stack.enter_context(mock.patch.object(owner, name, make(getattr(owner, name))))
        yield


# -- clients raced together --


@dataclass
class Raced:
    """One race: its seconds, the CPU seconds the whole machine (PostgreSQL included) and
    the clients' own process spent in them, and each item's outcome."""

    seconds: float
    machine_cpu: float
    clients_cpu: float
    outcomes: list[object]


def machine_busy_seconds() -> float:
    """CPU seconds every core has spent busy since boot (Linux ``/proc/stat``)."""
    with open("/proc/stat") as stat:
        ticks = [int(t) for t in stat.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # less idle, iowait


Client = Callable[[], contextlib.AbstractContextManager[Callable[[Any], object]]]


def race(clients: int, items: list[Any], client: Client) -> Raced:
    """Carry out ``items`` on ``clients`` threads released together.

    ``client()`` sets up one client (outside the timing) and yields what it does with
    one item; the threads take items from one shared queue until it is empty.
    """
    queue = deque(items)
    barrier = threading.Barrier(clients + 1)
    outcomes: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with client() as attempt:
                barrier.wait()
                while True:
                    try:
                        item = queue.popleft()
                    except IndexError:
                        return
                    outcomes.append(attempt(item))
        except threading.BrokenBarrierError:
            pass
        except BaseException as err:  # reported by the main thread
            errors.append(err)
            barrier.abort()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    start, busy, own = time.perf_counter(), machine_busy_seconds(), time.process_time()
    for thread in threads:
        thread.join()
    raced = Raced(
        time.perf_counter() - start,
        machine_busy_seconds() - busy,
        time.process_time() - own,
        outcomes,
    )
    if errors:
        raise errors[0]
    return raced
