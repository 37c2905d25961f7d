"""Web pages against the JSON API beneath them, through a real uvicorn (issue 15).

Run from the repository root::

    python bench/web.py                  # 500 open tasks, 200 events, 200 requests a side
    python bench/web.py --runs 50        # a quicker run

Two pages, each timed against the API a script would call for the same data, in the
same run on the same server: "My work" (``GET /inbox``) of a city approver with 500
open review tasks against ``GET /api/v1/tasks?limit=50`` (the page shows 50 too), and
the page of a program with 200 events (``GET /programs/{id}``, the approver deciding
on it) against ``GET /api/v1/programs/{id}`` then ``/events`` (the program and its
200 events, one sample both calls). The sides take turns in rounds.

The database is a PostgreSQL one made for the run and dropped after it; one uvicorn
worker serves it. The page is signed in to through ``POST /login``, the API with a
bearer token. In this process, on the same database, the program page's parts are
timed as well: its read models, the action probes (``bus.allowed``, each handler run
without a write) and the template. ``*_cpu_ms``: the server's (or this process's) CPU
time per sample, which a busy machine stretches less than the wall clock.

Figures are ``name=value`` lines; the last is ``ratio=<the larger of the two page ÷
API medians>`` (goal <= 1.5).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import httpx
from support import (
    CATEGORY,
    CITY_APPROVER,
    COORDINATOR,
    ORG,
    ROOT,
    STAFF,
    TITLE,
    add_directory,
    analyze,
    arguments,
    emit,
    emit_machine,
    exit_on_sigterm,
    fund_both,
    in_turn,
    scratch_postgres,
)

from config.settings import Settings
from workflow.adapters.database import engine_for
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain.events import program_stream
from workflow.entrypoints.web import pages
from workflow.entrypoints.web.i18n import Words
from workflow.entrypoints.web.render import environment
from workflow.service_layer.actions import available
from workflow.service_layer.messagebus import MessageBus

DB = "jointflow_web"
NOW = "2026-02-02T09:00"
YEAR = 2026
PASSWORD = "bench-web-2026"
SECRET = "b" * 48
REQUESTS = {"city": 50_000_000, "education_office": 10_000_000}
ROUNDS = 10
Sample = Callable[[], float]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the database --


def make_bus(url: str) -> MessageBus:
    """The embedded bus (holds placed in-process) on the run's fixed clock."""
    return bootstrap(
        Settings(
            database_url=url, broker_url=None, auto_migrate=False, now=datetime.fromisoformat(NOW)
        )
    )


def create(bus: MessageBus, title: str = TITLE) -> int:
    program_id: int = bus.handle(
        c.CreateProgram(
            actor=COORDINATOR, title=title, org=ORG, category=CATEGORY, requests=REQUESTS, year=YEAR
        )
    )
    return program_id


def in_review(bus: MessageBus, count: int) -> None:
    """``count`` programs waiting on the city approver's review."""
    for _ in range(count):
        bus.handle(c.SubmitProgram(actor=COORDINATOR, program_id=create(bus)))


def long_history(bus: MessageBus, events: int) -> int:
    """A program in review whose history reached ``events`` events: round after round of
    changes requested by the city, the proposal revised and resubmitted."""
    program_id = create(bus, f"로봇 동아리 ({events} events)")
    bus.handle(c.SubmitProgram(actor=COORDINATOR, program_id=program_id))
    amount = REQUESTS["city"]
    stream = program_stream(program_id)
    while bus.query(lambda uow: len(uow.events.history(stream))) < events:
        bus.handle(
            c.DecideReview(
                actor=CITY_APPROVER,
                program_id=program_id,
                decision="request-changes",
                comment="산출 근거를 보완해 주세요",
            )
        )
        amount -= 100_000
        bus.handle(
            c.UpdateProgram(
                actor=COORDINATOR,
                program_id=program_id,
                requests={**REQUESTS, "city": amount},
                description=f"{amount:,}원으로 줄였습니다",
            )
        )
        bus.handle(c.SubmitProgram(actor=COORDINATOR, program_id=program_id))
    return program_id


def build(url: str, tasks: int, events: int) -> tuple[MessageBus, int]:
    started = time.perf_counter()
    bus = make_bus(url)
    add_directory(bus, STAFF)
    fund_both(bus, YEAR)
    in_review(bus, tasks - 1)  # the long program's review is the last of them
    program_id = long_history(bus, events)
    bus.handle(c.SetPassword(actor=None, email=CITY_APPROVER, password=PASSWORD))
    analyze(engine_for(url), vacuum=True)
    log(f"built: {time.perf_counter() - started:.1f} s")
    return bus, program_id


# -- the server and its clients --


@contextlib.contextmanager
def server(url: str) -> Iterator[tuple[str, int]]:
    """One uvicorn worker serving the database; its base URL and process id."""
    with tempfile.TemporaryDirectory() as folder:
        port, log_file = free_port(), Path(folder, "uvicorn.log")
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOINTFLOW_")}
        env.update(
            JOINTFLOW_DATABASE_URL=url,
            JOINTFLOW_NOW=NOW,
            JOINTFLOW_SECRET_KEY=SECRET,
            JOINTFLOW_AUTO_MIGRATE="false",
            XDG_DATA_HOME=folder,
        )
        command = [sys.executable, "-m", "uvicorn", "workflow.entrypoints.api:app"]
        with log_file.open("wb") as out:  # the child keeps its own descriptor
            proc = subprocess.Popen(
                [*command, "--port", str(port), "--no-access-log"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, proc, log_file)
            yield base, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(base: str, proc: subprocess.Popen[bytes], log_file: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start:\n{log_file.read_text()}")
        time.sleep(0.2)


def signed_in(base: str) -> httpx.Client:
    """A browser's session: the CSRF cookie and token from the sign-in page, then the
    session cookie from ``POST /login``."""
    client = httpx.Client(base_url=base, timeout=60)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    done = client.post(
        "/login",
        data={
            "email": CITY_APPROVER,
            "password": PASSWORD,
            "csrf_token": token.group(1),
            "next": "/inbox",
        },
    )
    assert done.status_code == 303, done.text
    return client


def bearer(base: str, bus: MessageBus) -> httpx.Client:
    token = bus.handle(c.IssueToken(actor=None, email=CITY_APPROVER, days=1)).token
    return httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"})


def getter(client: httpx.Client, *paths: str) -> Sample:
    """One sample: the paths fetched in turn, bodies read, milliseconds in all."""

    def sample() -> float:
        start = time.perf_counter()
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code, response.text)
        return (time.perf_counter() - start) * 1000

    return sample


# -- timing --


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]


def sample(
    sides: dict[str, Sample], runs: int, cpu: Callable[[], float] = time.process_time
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """After a warm-up, ``runs`` samples a side, the sides taking turns in rounds; with
    the CPU milliseconds ``cpu`` (seconds so far) counted per sample of each side."""
    for take in sides.values():
        for _ in range(10):
            take()
    samples: dict[str, list[float]] = {name: [] for name in sides}
    spent = dict.fromkeys(sides, 0.0)
    per_round = max(1, runs // ROUNDS)
    for round_ in range(ROUNDS):
        for name in in_turn(list(sides), round_):
            before = cpu()
            samples[name].extend(sides[name]() for _ in range(per_round))
            spent[name] += cpu() - before
    return samples, {name: 1000 * spent[name] / len(samples[name]) for name in sides}


def cpu_seconds(pid: int) -> Callable[[], float]:
    """A process's user + system CPU seconds so far (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")

    def now() -> float:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    return now


def report(samples: dict[str, list[float]], cpu: dict[str, float], whose: str) -> None:
    for name, taken in samples.items():
        emit(f"{name}_median_ms", statistics.median(taken), places=2)
        emit(f"{name}_p95_ms", p95(taken), places=2)
        emit(f"{name}_{whose}_cpu_ms", cpu[name], places=2)


def parts(
    bus: MessageBus, program_id: int, runs: int
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """The program page's parts in this process: its reads, the probes, the template."""
    found = pages.program_page(bus, CITY_APPROVER, program_id)
    user = bus.query(lambda uow: uow.directory.user(CITY_APPROVER))
    template = environment().get_template("program.html")
    context = {
        "_": Words("ko"),
        "lang": "ko",
        "me": user,
        "path": f"/programs/{program_id}",
        "csrf_field": "csrf_token",
        "csrf": "x",
        "error": None,
        **found,
    }

    def timed(work: Callable[[], object]) -> Sample:
        def one() -> float:
            start = time.perf_counter()
            work()
            return (time.perf_counter() - start) * 1000

        return one

    return sample(
        {
            "part_page_model": timed(lambda: pages.program_page(bus, CITY_APPROVER, program_id)),
            "part_allowed": timed(lambda: available(bus, CITY_APPROVER, found["p"])),
            "part_render": timed(lambda: template.render(context)),
        },
        runs,
    )


def describe(page: httpx.Client, api: httpx.Client, program_id: int) -> None:
    tasks = api.get("/api/v1/tasks?limit=500").json()
    emit("approver_tasks_first_500", len(tasks["items"]))
    emit("program_events", len(api.get(f"/api/v1/programs/{program_id}/events").json()))
    html = page.get(f"/programs/{program_id}").text
    actions = re.findall(r'(?:form)?action="/programs/\d+/([a-z-]+)"', html)
    emit("program_page_actions", ",".join(actions) or "-")
    for name, client, path in [
        ("inbox_page", page, "/inbox"),
        ("inbox_api", api, "/api/v1/tasks?limit=50"),
        ("program_page", page, f"/programs/{program_id}"),
        ("program_api_detail", api, f"/api/v1/programs/{program_id}"),
        ("program_api_events", api, f"/api/v1/programs/{program_id}/events"),
    ]:
        emit(f"{name}_bytes", len(client.get(path).content))


def run(tasks: int, events: int, runs: int) -> float:
    with scratch_postgres(DB) as url:
        bus, program_id = build(url, tasks, events)
        with (
            server(url) as (base, pid),
            contextlib.closing(signed_in(base)) as page,
            contextlib.closing(bearer(base, bus)) as api,
        ):
            describe(page, api, program_id)
            samples, cpu = sample(
                {
                    "inbox_page": getter(page, "/inbox"),
                    "inbox_api": getter(api, "/api/v1/tasks?limit=50"),
                    "program_page": getter(page, f"/programs/{program_id}"),
                    "program_api": getter(
                        api,
                        f"/api/v1/programs/{program_id}",
                        f"/api/v1/programs/{program_id}/events",
                    ),
                },
                runs,
                cpu_seconds(pid),
            )
            report(samples, cpu, "server")
        emit("runs_per_side", len(samples["inbox_page"]))
        breakdown, spent = parts(bus, program_id, runs)
        report(breakdown, spent, "process")
        median = {
            name: statistics.median(taken) for name, taken in {**samples, **breakdown}.items()
        }
        emit("allowed_share_of_page_model", median["part_allowed"] / median["part_page_model"])
        emit("allowed_share_of_page", median["part_allowed"] / median["program_page"])
        ratios = {
            side: median[f"{side}_page"] / median[f"{side}_api"] for side in ("inbox", "program")
        }
        for side, value in ratios.items():
            emit(f"{side}_ratio", round(value, 3), places=2)
        engine_for(url).dispose()
        return max(ratios.values())


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--tasks", type=int, default=500, help="the approver's open tasks")
    parser.add_argument("--events", type=int, default=200, help="the program's events")
    parser.add_argument("--runs", type=int, default=200, help="timed requests per side")
    args = parser.parse_args()
    exit_on_sigterm()
    load_before = os.getloadavg()[0]
    ratio = run(args.tasks, args.events, args.runs)
    emit_machine(load_before)
    emit("ratio", round(ratio, 3), places=2)


if __name__ == "__main__":
    main()
