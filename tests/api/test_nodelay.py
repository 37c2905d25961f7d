"""The web process's HTTP protocol turns Nagle's algorithm off on sockets that uvicorn's
supervisor bound (``--workers N``: a listener without IPPROTO_TCP, so asyncio leaves
TCP_NODELAY unset and every keep-alive request after the first waits on a delayed ACK)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import httpx
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from workflow.entrypoints.api.nodelay import NoDelayH11


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def nodelay_of_accepted(protocol: type[H11Protocol]) -> list[int]:
    """Serve on a socket bound as uvicorn's supervisor binds it; what each accepted
    connection's TCP_NODELAY was once the protocol had it."""
    seen: list[int] = []

    class Recording(protocol):  # type: ignore[valid-type, misc]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # proto 0, like bind_socket
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(hello, http=Recording, log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[listener])))
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with httpx.Client() as client:
            for _ in range(2):
                assert client.get(f"http://127.0.0.1:{port}/").text == "ok"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        listener.close()
    return seen


def test_the_procfile_protocol_sets_tcp_nodelay_on_a_supervisor_bound_socket() -> None:
    # (uvicorn's own H11Protocol gives [0] here until its issue 3149 is fixed.)
    assert nodelay_of_accepted(NoDelayH11) == [1]  # one keep-alive connection, two requests


def test_the_procfile_names_it() -> None:
    from tests.api.test_web_process import procfile_line

    assert "--http workflow.entrypoints.api.nodelay:NoDelayH11" in procfile_line("web")
