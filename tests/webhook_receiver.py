"""A real webhook receiver for the tests: an HTTP server on a free loopback port that
checks each POST as an organization's system would -- the signature over
``"{timestamp}.{body}"`` with the shared secret, the timestamp within five minutes --
answers with the next scripted status (200 when none is left) and keeps what it got.
A delivery it has accepted once is dropped the next time (by ``X-Jointflow-Delivery``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WINDOW_SECONDS = 300


@dataclass
class Received:
    delivery: str
    event: str
    timestamp: int
    body: dict[str, Any]
    status: int
    signed: bool  # the signature matched and the timestamp was within the window


@dataclass
class Receiver:
    secret: str
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # delivery -> body
    url: str = ""

    def answer(self, headers: Any, raw: bytes) -> int:
        stamp = int(headers.get("X-Jointflow-Timestamp", "0"))
        expected = (
            "sha256="
            + hmac.new(self.secret.encode(), f"{stamp}.".encode() + raw, hashlib.sha256).hexdigest()
        )
        signed = hmac.compare_digest(expected, headers.get("X-Jointflow-Signature", "")) and (
            abs(time.time() - stamp) <= WINDOW_SECONDS
        )
        status = 401 if not signed else (self.script.pop(0) if self.script else 200)
        delivery = headers.get("X-Jointflow-Delivery", "")
        body = json.loads(raw)
        self.received.append(
            Received(delivery, headers.get("X-Jointflow-Event", ""), stamp, body, status, signed)
        )
        if status == 200:
            self.accepted.setdefault(delivery, body)  # a repeat is dropped, answered 200
        return status


@contextmanager
def webhook_receiver(
    secret: str, script: list[int] | None = None, port: int = 0
) -> Iterator[Receiver]:
    receiver = Receiver(secret, list(script or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.answer(self.headers, raw)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/jointflow"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
