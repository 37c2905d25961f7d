"""``Idempotency-Key`` on POST: a repeat returns the first response, with no second effect.

An ASGI middleware: it needs the whole request body (to tell a true repeat from a
different request under the same key) and the whole response (to store it). The claim
protocol is the store's (``adapters.idempotency``): insert first, run, store; a
concurrent repeat polls until the response is stored. Requests without a usable token
pass through untouched: the route answers them 401 and nothing is kept.

The routes don't see the header, so ``document`` declares it on every POST operation.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflow.adapters.idempotency import IdempotencyStore
from workflow.domain.errors import InvalidInput, WorkflowError
from workflow.entrypoints.api.auth import owner_of, token_of
from workflow.entrypoints.api.problems import problem
from workflow.entrypoints.api.services import Services

HEADER = b"idempotency-key"
KEPT_HEADERS = ("content-type", "location", "etag")
POLL_SECONDS = 0.05
WAIT_SECONDS = 60.0
MAX_KEY = 255
KEY = re.compile(rf"[\x20-\x7e]{{1,{MAX_KEY}}}")
PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A repeat with the same key and body returns the first response and has "
    "no second effect; the same key with another body is refused (422). Kept 24 hours.",
    "schema": {"type": "string", "pattern": f"^{KEY.pattern}$"},
}


def document(contract: dict[str, Any]) -> None:
    """Declare ``Idempotency-Key`` on every POST operation of an OpenAPI document."""
    for operations in contract.get("paths", {}).values():
        if "post" in operations:
            operations["post"].setdefault("parameters", []).append(PARAMETER)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
        key = headers.get(HEADER)
        if scope["type"] != "http" or scope["method"] != "POST" or key is None:
            await self.app(scope, receive, send)
            return
        services: Services = scope["app"].state.services
        try:
            user = await run_in_threadpool(
                owner_of, services.bus, token_of(_text(headers.get(b"authorization")))
            )
        except WorkflowError:
            await self.app(scope, receive, send)  # the route refuses it: 401, nothing kept
            return
        scope.setdefault("state", {})["user"] = user
        body = await _read_body(receive)
        try:
            await self._once(scope, send, services, user, _key(key), _hash(scope, body), body)
        except InvalidInput as err:
            await _send(send, problem(422, err.code, err.message, **err.context))

    async def _once(
        self,
        scope: Scope,
        send: Send,
        services: Services,
        user: str,
        key: str,
        request_hash: str,
        body: bytes,
    ) -> None:
        store = services.idempotency
        waited = 0.0
        while True:
            claim = await run_in_threadpool(store.claim, user, key, request_hash)
            if claim is not None:
                await self._run(scope, send, body, store, claim)
                return
            stored = await run_in_threadpool(store.stored, user, key)
            if stored is None:
                continue  # the first request gave up (a 5xx): claim again
            if stored.request_hash != request_hash:
                raise InvalidInput(
                    "this Idempotency-Key was used with a different request",
                    idempotency_key=key,
                )
            if stored.status is not None:
                await _replay(send, stored.status, stored.body, stored.headers)
                return
            if waited >= WAIT_SECONDS:
                await _send(
                    send,
                    problem(409, "in-progress", "a request with this key is still running"),
                )
                return
            await asyncio.sleep(POLL_SECONDS)
            waited += POLL_SECONDS

    async def _run(
        self, scope: Scope, send: Send, body: bytes, store: IdempotencyStore, claim: int
    ) -> None:
        sent = _Captured()
        delivered = False

        async def receive() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent.status = message["status"]
                sent.headers = {
                    k.decode().lower(): v.decode()
                    for k, v in message.get("headers", [])
                    if k.decode().lower() in KEPT_HEADERS
                }
            elif message["type"] == "http.response.body":
                sent.body += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            await run_in_threadpool(store.give_up, claim)
            raise
        if sent.status >= 500:
            await run_in_threadpool(store.give_up, claim)
        else:
            await run_in_threadpool(store.finish, claim, sent.status, sent.body, sent.headers)


@dataclass
class _Captured:
    """The response as it went out: what a repeat gets back."""

    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def _key(raw: bytes) -> str:
    """The key as sent: a structured-field string of printable ASCII (a NUL, for one,
    cannot be stored in PostgreSQL's text)."""
    key = raw.decode("latin-1").strip()
    if not KEY.fullmatch(key):
        raise InvalidInput(
            f"an Idempotency-Key is 1 to {MAX_KEY} printable ASCII characters",
            field="Idempotency-Key",
        )
    return key


def _hash(scope: Scope, body: bytes) -> str:
    """Same method, path, query and JSON (key order and spacing aside) = same request."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True).encode() if body else b""
    except ValueError:
        canonical = body
    seen = f"{scope['method']} {scope['path']}?{_text(scope.get('query_string'))}\n"
    return hashlib.sha256(seen.encode() + canonical).hexdigest()


def _text(raw: bytes | None) -> str:
    return raw.decode("latin-1") if raw else ""


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _replay(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    raw += [(b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _send(send: Send, response: Any) -> None:
    """A response of this layer's own (a refusal of the key itself)."""
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": response.raw_headers,
        }
    )
    await send({"type": "http.response.body", "body": response.body})
