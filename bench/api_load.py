"""The HTTP benchmark's machinery: its servers, its load and the CPU they spend.

A server is the Procfile's ``web`` command on a free port (the baseline: the same
command serving another app). The load is keep-alive HTTP/1.1 connections driven by a
few lines of asyncio rather than httpx: on 2 cores the client's CPU is taken from the
servers, and it should stay small beside the cheaper side's. It acknowledges each
response at once (``one_connection`` says why, and measures what a plain client waits).

The CPU a round cost is read from ``/proc`` for the server's processes and for its
PostgreSQL backends (found by ``application_name``), so it holds however busy the rest
of the machine is. A backend that a pool opened and closed within the round is missed:
the connections its database took meanwhile are counted instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import psycopg
from support import ROOT, machine_busy_seconds

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BASELINE_APP = "--app-dir bench api_baseline:app"


# -- the servers --


def web_command() -> str:
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web:"))
    return line.removeprefix("web:").strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    side: str
    database: str
    port: int
    proc: subprocess.Popen[bytes]
    stderr: IO[bytes]

    @property
    def application_name(self) -> str:
        return application_name(self.side)

    def output(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-4000:]


def application_name(side: str) -> str:
    return f"jointflow_bench_{side}"


@contextlib.contextmanager
def served(
    side: str, url: str, now: str, app: str | None = None, broker: str | None = None
) -> Iterator[Server]:
    """The Procfile's ``web`` command on a free port with the database ``url`` and the
    clock fixed at ``now``; ``app``: served instead of the API; ``broker``: a deployment's
    (the request path only writes the outbox; nothing here consumes it)."""
    command = web_command()
    if app is not None:
        assert "workflow.entrypoints.api:app" in command, command
        command = command.replace("workflow.entrypoints.api:app", app)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOINTFLOW_")}
    env.update(
        JOINTFLOW_DATABASE_URL=f"{url}?application_name={application_name(side)}",
        **({"JOINTFLOW_BROKER_URL": broker} if broker else {}),
        JOINTFLOW_NOW=now,
        PORT=str(port),
        WEB_CONCURRENCY="2",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    with tempfile.TemporaryFile() as stderr:  # the access log, and whatever went wrong
        proc = subprocess.Popen(
            ["bash", "-c", "exec " + command],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        server = Server(side, url.rsplit("/", 1)[1], port, proc, stderr)
        try:
            wait_ready(server, "/readyz" if app is None else "/healthz")
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_ready(server: Server, path: str) -> None:
    deadline = time.monotonic() + 90
    while True:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{server.port}{path}", timeout=2).status_code == 200:
                return
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.side} exited:\n{server.output()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.side} did not become ready:\n{server.output()}")
        time.sleep(0.2)


# -- CPU, from /proc --


def _cpu_seconds(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def _stats() -> dict[int, list[str]]:
    """Each process's ``/proc/PID/stat`` fields after the command name (state, ppid, ...)."""
    found = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                found[int(name)] = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
    return found


def tree_cpu(root: int, stats: dict[int, list[str]]) -> float:
    """CPU seconds of ``root`` and every process below it."""
    children: dict[int, list[int]] = defaultdict(list)
    for pid, fields in stats.items():
        children[int(fields[1])].append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += _cpu_seconds(stats[pid])
            todo += children[pid]
    return total


@dataclass
class Cpu:
    server: float
    backends: dict[int, float]
    sessions: int  # connections the server's database has taken, so far


class CpuMeter:
    """What a server's processes and its database backends have spent so far."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1))
        self.conn.autocommit = True

    def read(self, server: Server) -> Cpu:
        pids = [
            row[0]
            for row in self.conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                (server.application_name,),
            )
        ]
        [[sessions]] = self.conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", (server.database,)
        )
        stats = _stats()
        backends = {pid: _cpu_seconds(stats[pid]) for pid in pids if pid in stats}
        return Cpu(tree_cpu(server.proc.pid, stats), backends, int(sessions))

    def close(self) -> None:
        self.conn.close()


# -- the load: keep-alive connections, each sending its next request when answered --


@dataclass
class Round:
    """One round: its seconds, each answer's latency and status, and the CPU seconds
    spent meanwhile by the server, its database backends, this client and the machine."""

    seconds: float
    latencies: list[float]
    statuses: Counter[int]
    server_cpu: float = 0.0
    database_cpu: float = 0.0
    client_cpu: float = 0.0
    machine_cpu: float = 0.0
    connections: int = 0  # database connections opened meanwhile


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise RuntimeError(f"a response without Content-Length: {head!r}")


async def _drive(port: int, requests: list[bytes], clients: int, quickack: bool) -> Round:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    queue = iter(requests)  # shared: a connection takes the next request when it is free
    connections = [
        await asyncio.open_connection("127.0.0.1", port) for _ in range(min(clients, len(requests)))
    ]

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        try:
            for request in queue:
                sent = time.perf_counter()
                writer.write(request)
                if quickack:  # for this response; Linux falls back to delayed ACKs after
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                head = await reader.readuntil(b"\r\n\r\n")
                await reader.readexactly(content_length(head))
                latencies.append(time.perf_counter() - sent)
                statuses[int(head[9:12])] += 1
        finally:
            writer.close()

    start, busy, own = time.perf_counter(), machine_busy_seconds(), time.process_time()
    await asyncio.gather(*(run(reader, writer) for reader, writer in connections))
    return Round(
        time.perf_counter() - start,
        latencies,
        statuses,
        client_cpu=time.process_time() - own,
        machine_cpu=machine_busy_seconds() - busy,
    )


def drive(
    server: Server, requests: list[bytes], clients: int, meter: CpuMeter, quickack: bool = True
) -> Round:
    """``requests`` sent to ``server`` over ``clients`` connections; the CPU it took.
    ``quickack``: acknowledge each response at once (see ``one_connection``)."""
    before = meter.read(server)
    done = asyncio.run(_drive(server.port, requests, clients, quickack))
    after = meter.read(server)
    done.server_cpu = after.server - before.server
    done.connections = after.sessions - before.sessions
    done.database_cpu = sum(
        cpu - before.backends.get(pid, 0.0) for pid, cpu in after.backends.items()
    )
    return done


def one_connection(server: Server, requests: list[bytes], meter: CpuMeter) -> dict[str, float]:
    """Median milliseconds of ``requests`` sent one by one on one keep-alive connection,
    by a plain client and by one that acknowledges each response at once.

    uvicorn's ``--workers`` listener loses ``TCP_NODELAY`` (uvicorn issue 3149), so a
    response's body, written after its head, waits for the client's delayed ACK of the
    head: some 40 ms on Linux, for every request on a connection after the first. The
    timed rounds acknowledge at once, so that they measure the servers, not the stall.
    """
    return {
        kind: 1000 * statistics.median(drive(server, requests, 1, meter, quick).latencies)
        for kind, quick in (("plain", False), ("quickack", True))
    }
