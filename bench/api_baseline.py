"""The HTTP benchmark's baseline: a raw ASGI app sending by hand the SQL of two routes.

``GET /api/v1/programs/{id}`` and ``POST /api/v1/programs/{id}/decisions`` (an approval
by the caller's party) send the statements the real routes send, in the same
transactions and round trips (``bench/api.py`` counts both sides), through async
psycopg on a pool of this process's own: no framework, no models, no service layer. It
answers only what the benchmark asks, with the body and ``ETag`` the API gives. Served
by uvicorn (``--app-dir bench api_baseline:app``) with the web process's
``JOINTFLOW_DATABASE_URL`` and ``JOINTFLOW_NOW``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from workflow.domain.audit import canonical_json, event_hash
from workflow.domain.calendar import SEOUL
from workflow.domain.tokens import token_hash, well_formed

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ROUTE = re.compile(r"/api/v1/programs/(\d{1,18})(/decisions)?")

TOKEN_SQL = (
    "SELECT user_email FROM api_tokens WHERE token_hash = %s "
    "AND revoked_at IS NULL AND expires_at > %s"
)
USER_SQL = (
    "SELECT u.email, u.org_key, u.roles, o.funder FROM users u "
    "JOIN organizations o ON o.key = u.org_key WHERE u.email = %s"
)
LOCK_SQL = (
    "SELECT p.id, u.email, u.org_key, u.roles FROM programs p "
    "LEFT JOIN users u ON u.email = %(email)s WHERE p.id = %(pid)s FOR UPDATE OF p"
)
LOAD_SQL = (
    "SELECT p.*, r.party AS r_party, r.amount AS r_amount, r.held AS r_held, "
    "r.committed AS r_committed, r.disbursed AS r_disbursed, d.party AS d_party, "
    "d.decision AS d_decision, e.party AS e_party, e.verdict AS e_verdict, "
    "e.decided_by AS e_by, e.score AS e_score, e.comment AS e_comment, "
    "h.seq AS h_seq, h.head AS h_head FROM programs p "
    "LEFT JOIN program_requests r ON r.program_id = p.id "
    "LEFT JOIN party_decisions d ON d.program_id = p.id "
    "LEFT JOIN party_evaluations e ON e.program_id = p.id "
    "LEFT JOIN event_streams h ON h.stream = %(stream)s "
    "WHERE p.id = %(pid)s ORDER BY d.party, r.party, e.party"
)
SCHEDULED_SQL = (
    "SELECT action, due_at FROM scheduled_work WHERE done_at IS NULL AND program_id = %s "
    "ORDER BY due_at, id"
)
DECIDE_SQL = (
    "UPDATE programs SET state = %(state)s, version = %(version)s + 1, updated_at = %(now)s "
    "WHERE id = %(pid)s AND version = %(version)s; "
    "UPDATE party_decisions SET decision = 'approved', decided_by = %(email)s, comment = '', "
    "decided_at = %(now)s WHERE program_id = %(pid)s AND party = %(party)s"
)
TASK_SQL = (
    "UPDATE tasks SET state = 'completed', closed_at = %(now)s, closed_by = %(email)s "
    "WHERE program_id = %(pid)s AND kind = 'review' AND queue_org = %(party)s "
    "AND state IN ('open', 'claimed') AND (claimed_by IS NULL OR claimed_by = %(email)s) "
    "RETURNING id"
)
OUTBOX_SQL = (
    "INSERT INTO outbox (task, payload, created_at, attempts) "
    "VALUES ('jointflow.notify', %(payload)s, %(now)s, 0)"
)
REMINDERS_SQL = (
    "UPDATE reminders SET status = 'void' WHERE task_id = ANY(%s) AND status = 'pending'"
)
EVENT_SQL = (
    "UPDATE event_streams SET seq = %(seq)s, head = %(hash)s WHERE stream = %(stream)s "
    "AND seq = %(seq)s - 1; "
    "INSERT INTO events (stream, seq, type, actor, at, data, prev_hash, hash) VALUES "
    "(%(stream)s, %(seq)s, 'PartyApproved', %(email)s, %(at)s, %(data)s, %(prev)s, %(hash)s) "
    "ON CONFLICT DO NOTHING"
)


class Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


@dataclass
class Program:
    """The loaded rows, folded: the program row and its parties."""

    row: dict[str, Any]
    requests: dict[str, dict[str, int]]
    decisions: dict[str, str]
    evaluations: dict[str, dict[str, Any]]
    head: tuple[int, str]


def fold(rows: list[dict[str, Any]]) -> Program:
    requests: dict[str, dict[str, int]] = {}
    decisions: dict[str, str] = {}
    evaluations: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["r_party"]:
            requests[r["r_party"]] = {k: r["r_" + k] for k in ("amount", "held", "committed")}
            requests[r["r_party"]]["disbursed"] = r["r_disbursed"]
        if r["d_party"]:
            decisions[r["d_party"]] = r["d_decision"]
        if r["e_party"]:
            evaluations[r["e_party"]] = {
                "verdict": r["e_verdict"],
                "score": r["e_score"],
                "by": r["e_by"],
                "comment": r["e_comment"],
            }
    return Program(rows[0], requests, decisions, evaluations, (rows[0]["h_seq"], rows[0]["h_head"]))


def utc(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat() if at else None


def amounts(p: Program, key: str) -> dict[str, int]:
    return {party: r[key] for party, r in sorted(p.requests.items()) if r[key]}


def detail(p: Program, scheduled: list[dict[str, Any]]) -> dict[str, Any]:
    """The program as ``program show --json`` shows it, for a program in review."""
    row = p.row
    pending = [party for party, d in sorted(p.decisions.items()) if d == "pending"]
    waiting = pending if row["state"] == "in_review" else []
    return {
        "id": row["id"],
        "title": row["title"],
        "state": row["state"],
        "workflow": f"{row['workflow_key']}@{row['workflow_version']}",
        "org": row["org_key"],
        "category": row["category"],
        "year": row["fiscal_year"],
        "start": row["start_date"].isoformat() if row["start_date"] else None,
        "end": row["end_date"].isoformat() if row["end_date"] else None,
        "description": row["description"],
        "review_round": row["review_round"],
        "parties": p.decisions,
        "requested": amounts(p, "amount"),
        "holds": amounts(p, "held"),
        "holds_expire_at": utc(row["holds_expire_at"]),
        "committed": amounts(p, "committed"),
        "disbursed": amounts(p, "disbursed"),
        "report": json.loads(row["report"]) if row["report"] else None,
        "evaluations": p.evaluations,
        "scheduled": [{"action": w["action"], "due_at": utc(w["due_at"])} for w in scheduled],
        "waiting_on": waiting,
        "waiting_for": [{"org": party, "step": "review"} for party in waiting],
        "created_by": row["created_by"],
        "version": row["version"],
    }


class Pool:
    """Idle connections of this process, opened as requests need them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.idle: list[psycopg.AsyncConnection[dict[str, Any]]] = []

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[dict[str, Any]]]:
        conn = self.idle.pop() if self.idle else await self.connect()
        try:
            yield conn
        except BaseException:
            if conn.info.transaction_status != TransactionStatus.IDLE:
                await conn.close()  # a failure mid-transaction: not worth mending
                raise
            self.idle.append(conn)
            raise
        self.idle.append(conn)

    async def connect(self) -> psycopg.AsyncConnection[dict[str, Any]]:
        return await psycopg.AsyncConnection.connect(self.url, row_factory=dict_row)

    async def close(self) -> None:
        while self.idle:
            await self.idle.pop().close()


class Baseline:
    """The ASGI callable. Settings are read on the first request (no I/O at import)."""

    def __init__(self, url: str | None = None, now: str | None = None) -> None:
        self.url, self.now_setting = url, now
        self._pool: Pool | None = None

    @property
    def pool(self) -> Pool:
        if self._pool is None:
            url = self.url or os.environ["JOINTFLOW_DATABASE_URL"]
            self._pool = Pool(url.replace("postgresql+psycopg://", "postgresql://", 1))
            self.now_setting = self.now_setting or os.environ.get("JOINTFLOW_NOW")
        return self._pool

    def now(self) -> datetime:
        if not self.now_setting:
            return datetime.now(UTC)
        fixed = datetime.fromisoformat(self.now_setting)
        return (fixed if fixed.tzinfo else fixed.replace(tzinfo=SEOUL)).astimezone(UTC)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        found = ROUTE.fullmatch(scope["path"])
        try:
            if scope["path"] == "/healthz":
                await respond(send, 200, {"status": "ok"})
            elif found and scope["method"] == "GET" and not found.group(2):
                await respond(send, 200, *await self.get(scope, int(found.group(1))))
            elif found and scope["method"] == "POST" and found.group(2):
                await respond(send, 200, *await self.decide(scope, receive, int(found.group(1))))
            else:
                raise Refused(404, "not a route of the baseline")
        except Refused as err:
            await respond(send, err.status, {"detail": str(err)})

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._pool is not None:
                    await self._pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def caller(self, conn: psycopg.AsyncConnection[Any], scope: Scope, now: datetime) -> str:
        """The token's owner, in a read-only transaction of its own (as the API reads it)."""
        headers = dict(scope["headers"])
        scheme, _, secret = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not well_formed(secret.strip()):
            raise Refused(401, "a bearer token is required")
        await conn.set_read_only(True)
        row = await (await conn.execute(TOKEN_SQL, (token_hash(secret.strip()), now))).fetchone()
        await conn.rollback()
        if row is None:
            raise Refused(401, "the bearer token is unknown, expired or revoked")
        return str(row["user_email"])

    async def view(
        self, conn: psycopg.AsyncConnection[Any], email: str, program_id: int
    ) -> tuple[dict[str, Any], str]:
        """The program's body and ETag, read as ``email`` sees it (read-only, no commit)."""
        await conn.set_read_only(True)
        user = await (await conn.execute(USER_SQL, (email,))).fetchone()
        params = {"pid": program_id, "stream": f"program:{program_id}"}
        rows = await (await conn.execute(LOAD_SQL, params)).fetchall()
        scheduled = await (await conn.execute(SCHEDULED_SQL, (program_id,))).fetchall()
        await conn.rollback()
        if user is None:
            raise Refused(401, "the caller is not a user")
        if not rows or not sees(user, rows[0]):
            raise Refused(404, f"program {program_id} does not exist")
        body = detail(fold(rows), scheduled)
        return body, f'"v{body["version"]}"'

    async def get(self, scope: Scope, program_id: int) -> tuple[dict[str, Any], str]:
        async with self.pool.connection() as conn:
            email = await self.caller(conn, scope, self.now())
            return await self.view(conn, email, program_id)

    async def decide(
        self, scope: Scope, receive: Receive, program_id: int
    ) -> tuple[dict[str, Any], str]:
        body = json.loads(await read_body(receive) or b"{}")
        if body.get("decision") != "approve" or set(body) - {"decision", "comment"}:
            raise Refused(422, "the baseline approves, with no comment")
        async with self.pool.connection() as conn:
            now = self.now()
            email = await self.caller(conn, scope, now)
            await conn.set_read_only(False)
            try:
                await approve(conn, email, program_id, now)
            except BaseException:
                await conn.rollback()
                raise
            await conn.commit()
            return await self.view(conn, email, program_id)


def sees(user: dict[str, Any], program: dict[str, Any]) -> bool:
    """The visibility rule, for the staff the benchmark has: one's own organization's
    programs, and a funder's staff every submitted one."""
    own = user["org_key"] == program["org_key"]
    return own or (bool(user["funder"]) and program["submitted_by"] != "[]")


async def approve(conn: psycopg.AsyncConnection[Any], email: str, pid: int, now: datetime) -> None:
    """The decision's transaction: lock and load, the two updates, the task closed, its
    reminders voided, the event chained."""
    cur = psycopg.AsyncClientCursor(conn, row_factory=dict_row)
    await cur.execute(
        f"{LOCK_SQL}; {LOAD_SQL}", {"pid": pid, "email": email, "stream": f"program:{pid}"}
    )
    locked = await cur.fetchone()
    cur.nextset()
    rows = await cur.fetchall()
    if locked is None or locked["email"] is None:
        raise Refused(404, f"program {pid} does not exist")
    p, party = fold(rows), locked["org_key"]
    if "approver" not in locked["roles"].split(",") or p.decisions.get(party) != "pending":
        raise Refused(403, "not this caller's decision to make")
    if p.row["state"] != "in_review" or list(p.decisions.values()).count("pending") < 2:
        raise Refused(409, "the baseline approves only the first of two parties")
    version = p.row["version"]
    params = {"pid": pid, "state": "in_review", "version": version, "now": now}
    await cur.execute(DECIDE_SQL, {**params, "email": email, "party": party})
    if row_counts(cur) != [1, 1]:
        raise Refused(409, "the program changed meanwhile")
    closed = await conn.execute(TASK_SQL, {"pid": pid, "now": now, "email": email, "party": party})
    task_ids = [r["id"] for r in await closed.fetchall()]
    await conn.execute(REMINDERS_SQL, (task_ids,))
    await chain(cur, email, pid, p, party, now)
    await conn.execute(OUTBOX_SQL, {"payload": notify_payload(pid, email, party, now), "now": now})


def notify_payload(pid: int, email: str, party: str, at: datetime) -> str:
    """The notification worker's message: the decision's notable event, as the API's."""
    event = {"type": "PartyApproved", "data": {"party": party, "comment": "", "round": 1}}
    return json.dumps({"program_id": pid, "by": email, "at": at.isoformat(), "events": [event]})


async def chain(
    cur: psycopg.AsyncClientCursor[Any], email: str, pid: int, p: Program, party: str, at: datetime
) -> None:
    """The PartyApproved event on the program's stream, its hash over the head's."""
    stream, (seq, prev) = f"program:{pid}", p.head
    stamp = at.isoformat(timespec="microseconds")
    data = canonical_json({"party": party, "comment": "", "round": p.row["review_round"]})
    digest = event_hash(prev, stream, seq + 1, "PartyApproved", email, stamp, data)
    event = {"stream": stream, "seq": seq + 1, "email": email, "at": stamp, "data": data}
    await cur.execute(EVENT_SQL, {**event, "prev": prev, "hash": digest})
    if row_counts(cur) != [1, 1]:
        raise Refused(409, "the program's stream moved meanwhile")


def row_counts(cur: psycopg.AsyncClientCursor[Any]) -> list[int]:
    """The row count of each statement the last ``execute`` sent."""
    counts = [cur.rowcount]
    while cur.nextset():
        counts.append(cur.rowcount)
    return counts


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def respond(send: Send, status: int, body: dict[str, Any], etag: str | None = None) -> None:
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    if etag:
        headers.append((b"etag", etag.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})


app = Baseline()
