"""In-memory implementations of the service layer's ports, for handler tests without a
database (the fake unit of work of cosmicpython's chapter 6).

Everything committed lives in one ``FakeStore``. A unit of work stages its changes on a
copy of it taken on entering (``fork``) and publishes the copy on ``commit``; leaving
without committing drops the copy, so a refused command changes nothing, as a rolled-back
transaction would. Each fake keeps the semantics the SQLAlchemy adapter has where
handlers rely on it:

- programs: ids and versions assigned on add, an optimistic version check on save, the
  row lock a no-op (one unit of work runs at a time), the money balances (held,
  committed, disbursed) read back from what the ledger moved, not from the saved
  object, and ``asked_when_loaded`` as of the last load or save in this unit of work;
- ledger: envelope balances moved by each entry, ``available = amount - held -
  committed``, an idempotency key written twice a ``Conflict``, a hold without room
  ``InsufficientBudget`` (what the adapter ends in once contended), and the database's
  CHECK constraints as ``IntegrityViolation``; a waitlisting confirmed while the money
  was there raises ``LostRace`` at commit, as the adapter's flush does;
- tasks: conditional claims, a task claimed by someone else refusing completion with
  ``NotPermitted``; reminders, outbox and scheduled work taken once each.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from config.settings import WORKFLOWS_DIR
from tests.fake_people import FakePeople
from workflow.adapters.definitions import load_file
from workflow.adapters.templates import TemplateRenderer
from workflow.domain.amendments import Amendment, amend_key, amended
from workflow.domain.audit import (
    GENESIS,
    ChainBreak,
    EventRecord,
    canonical_json,
    event_hash,
    verify_stream,
)
from workflow.domain.budget import Envelope, shortfalls
from workflow.domain.definition import DEFAULT_WORKFLOW, WorkflowDefinition
from workflow.domain.delegation import Delegation, final_delegates
from workflow.domain.delivery import Outcome, RetryPolicy
from workflow.domain.errors import Conflict, InsufficientBudget, NotFound, NotPermitted
from workflow.domain.events import Event
from workflow.domain.machine import WorkflowMachine
from workflow.domain.passwords import Credentials
from workflow.domain.permissions import User
from workflow.domain.program import LedgerMove, Program
from workflow.domain.reminders import ReminderLadder, first_rungs
from workflow.domain.sign_in_links import Link
from workflow.domain.tasks import CLAIMED, LIVE, OPEN, TaskSpec
from workflow.domain.visibility import Viewer
from workflow.service_layer.courier import Courier
from workflow.service_layer.messagebus import InlineDispatcher, MessageBus
from workflow.service_layer.ports import (
    Asked,
    Attempt,
    Organization,
    OutboxMessage,
    Rendered,
    Task,
    Webhook,
    Work,
)
from workflow.service_layer.unit_of_work import LostRace, UnitOfWork

T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # a Monday, 09:00 in Seoul
BASE_URL = "https://jointflow.test"


class IntegrityViolation(Exception):
    """What the database would refuse with IntegrityError: a CHECK, a unique key, a NOT
    NULL. Never a ``WorkflowError``: it means the handler asked for something impossible."""


# -- the committed state --------------------------------------------------------------


@dataclass
class Row:
    """A mutable record of a table-like list (tasks, reminders, outbox, ...)."""

    id: int
    values: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.values[key] = value


@dataclass(frozen=True)
class Entry:
    id: int
    program_id: int
    party: str
    fiscal_year: int
    kind: str
    source: str | None
    amount: int
    idempotency_key: str
    actor: str
    created_at: datetime


@dataclass
class FakeStore:
    next_id: int = 1
    organizations: dict[str, Organization] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)  # by email as given
    delegations: list[Row] = field(default_factory=list)
    programs: dict[int, Program] = field(default_factory=dict)  # transient fields empty
    # program id -> party -> [amount requested, held, committed, disbursed]
    shares: dict[int, dict[str, list[int]]] = field(default_factory=dict)
    report_files: list[dict[str, Any]] = field(default_factory=list)
    envelopes: dict[tuple[str, int], Envelope] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    streams: dict[str, list[EventRecord]] = field(default_factory=dict)
    outbox: list[Row] = field(default_factory=list)
    schedule: list[Row] = field(default_factory=list)
    tasks: list[Row] = field(default_factory=list)
    reminders: list[Row] = field(default_factory=list)
    notifications: list[Row] = field(default_factory=list)
    deliveries: list[Row] = field(default_factory=list)
    preferences: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    webhooks: list[Row] = field(default_factory=list)
    tokens: list[Row] = field(default_factory=list)
    credentials: dict[str, Credentials] = field(default_factory=dict)
    links: list[Row] = field(default_factory=list)

    def new_id(self) -> int:
        """One sequence for every table: ids never repeat across kinds (easier to read)."""
        self.next_id += 1
        return self.next_id - 1

    def fork(self) -> FakeStore:
        """A copy to stage a unit of work on: frozen records (events, ledger entries,
        envelopes, users) are shared, everything mutable is copied."""
        copied = copy.deepcopy(
            replace(self, streams={}, entries=[], envelopes={}, users={}, organizations={})
        )
        copied.streams = {stream: list(records) for stream, records in self.streams.items()}
        copied.entries = list(self.entries)
        copied.envelopes = dict(self.envelopes)
        copied.users = dict(self.users)
        copied.organizations = dict(self.organizations)
        return copied

    def task(self, task_id: int) -> Row | None:
        return next((t for t in self.tasks if t.id == task_id), None)


# -- the ports ------------------------------------------------------------------------


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise IntegrityViolation(what)


class FakeDirectory:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def add_organization(self, key: str, name: str, funder: bool, now: datetime) -> None:
        if key in self.store.organizations:
            raise Conflict(f"organization {key!r} already exists", org=key)
        self.store.organizations[key] = Organization(key, name, funder)

    def organization(self, key: str) -> Organization:
        if key not in self.store.organizations:
            known = ", ".join(sorted(self.store.organizations))
            raise NotFound(
                f"organization {key!r} does not exist (known: {known or 'none'})", org=key
            )
        return self.store.organizations[key]

    def organizations(self) -> list[Organization]:
        return [self.store.organizations[k] for k in sorted(self.store.organizations)]

    def add_user(
        self, email: str, name: str, org: str, roles: tuple[str, ...], locale: str, now: datetime
    ) -> int:
        if email in self.store.users:
            raise Conflict(f"user {email!r} already exists", email=email)
        _check(org in self.store.organizations, f"user {email}: no organization {org}")
        user = User(self.store.new_id(), email, name, org, frozenset(roles), locale)
        self.store.users[email] = user
        return user.id

    def user(self, email: str) -> User:
        found = self.store.users.get(email.lower())  # the adapter looks up lower-cased
        if found is None:
            raise NotFound(f"no user with email {email!r}", email=email)
        return found

    def users(self, org: str | None = None) -> list[User]:
        return sorted(
            (u for u in self.store.users.values() if not org or u.org == org),
            key=lambda u: (u.org, u.email),
        )

    def viewer(self, email: str) -> Viewer:
        user = self.user(email)
        return Viewer(user, self.store.organizations[user.org].funder)

    def add_delegation(self, delegation: Delegation, now: datetime) -> None:
        self.store.delegations.append(
            Row(
                self.store.new_id(),
                {"delegation": delegation, "created_at": now, "cleared_at": None},
            )
        )

    def clear_delegation(self, delegator: str, now: datetime) -> int:
        running = [
            d
            for d in self.store.delegations
            if d["cleared_at"] is None and d["delegation"].delegator == delegator
        ]
        for row in running:
            row["cleared_at"] = now
        return len(running)

    def delegations(self) -> list[Delegation]:
        return [d["delegation"] for d in self.store.delegations if d["cleared_at"] is None]

    def delegators_of(self, email: str, day: date) -> list[User]:
        routed = final_delegates(self.delegations(), day)
        return [self.user(who) for who, to in sorted(routed.items()) if to == email]

    def add_token(self, email: str, token_hash: str, expires_at: datetime, now: datetime) -> None:
        self.store.tokens.append(
            Row(
                self.store.new_id(),
                {"email": email, "hash": token_hash, "expires_at": expires_at, "revoked_at": None},
            )
        )

    def revoke_tokens(self, email: str, now: datetime) -> int:
        live = [
            t
            for t in self.store.tokens
            if t["email"] == email and t["revoked_at"] is None and t["expires_at"] > now
        ]
        for t in live:
            t["revoked_at"] = now
        return len(live)

    def token_owner(self, token_hash: str, now: datetime) -> str | None:
        return next(
            (
                t["email"]
                for t in self.store.tokens
                if t["hash"] == token_hash
                and t["revoked_at"] is None
                and t["expires_at"] > now
                and self.store.users[t["email"]].active
            ),
            None,
        )

    def revoke_token(self, email: str, token_hash: str, now: datetime) -> bool:
        for t in self.store.tokens:
            live = t["revoked_at"] is None and t["expires_at"] > now
            if t["email"] == email and t["hash"] == token_hash and live:
                t["revoked_at"] = now
                return True
        return False

    def credentials(self, email: str) -> Credentials | None:
        return self.store.credentials.get(email)

    def save_credentials(self, email: str, credentials: Credentials, now: datetime) -> None:
        assert email in self.store.users
        self.store.credentials[email] = credentials

    def add_sign_in_link(
        self, email: str, secret_hash: str, expires_at: datetime, now: datetime
    ) -> int:
        link = Row(self.store.new_id(), {"email": email, "hash": secret_hash, "created_at": now,
                                         "expires_at": expires_at, "used_at": None})  # fmt: skip
        self.store.links.append(link)
        return link.id

    def sign_in_links_since(self, email: str, since: datetime) -> int:
        return sum(1 for k in self.store.links if k["email"] == email and k["created_at"] > since)

    def sign_in_link(self, secret_hash: str) -> Link | None:
        for k in self.store.links:
            if k["hash"] == secret_hash:
                return Link(k.id, k["email"], k["expires_at"], k["used_at"])
        return None

    def use_sign_in_link(self, link_id: int, now: datetime) -> bool:
        for k in self.store.links:
            if k.id == link_id and k["used_at"] is None:
                k["used_at"] = now
                return True
        return False


class FakePrograms:
    def __init__(self, store: FakeStore, directory: FakeDirectory) -> None:
        self.store = store
        self.directory = directory
        self._seen: dict[int, Asked] = {}  # this unit of work's loads and saves

    def get(self, program_id: int, lock: bool = False) -> Program:
        stored = self.store.programs.get(program_id)
        if stored is None:
            raise NotFound(f"program {program_id} does not exist", program=program_id)
        program = copy.deepcopy(stored)
        shares = self.store.shares[program_id]
        # The adapter reads balances from the request rows the ledger moves.
        program.content = replace(
            program.content, requests={p: s[0] for p, s in sorted(shares.items())}
        )
        program.holds = {p: s[1] for p, s in sorted(shares.items()) if s[1]}
        program.committed = {p: s[2] for p, s in sorted(shares.items()) if s[2]}
        program.disbursed = {p: s[3] for p, s in sorted(shares.items()) if s[3]}
        self._seen[program_id] = _asks(program)
        return program

    def get_locked_as(self, email: str, program_id: int) -> tuple[User, Program]:
        user = self.directory.user(email)  # an unknown user is reported first
        return user, self.get(program_id, lock=True)

    def lock(self, program_id: int) -> None:
        return None  # one unit of work at a time: nothing to wait for

    def exists(self, program_id: int, lock: bool = False) -> bool:
        return program_id in self.store.programs

    def add(self, program: Program, now: datetime) -> int:
        program.id = self.store.new_id()
        program.version = 1
        self.store.shares[program.id] = {
            party: [amount, program.holds.get(party, 0), 0, 0]
            for party, amount in program.content.requests.items()
        }
        self._store(program)
        return program.id

    def save(self, program: Program, now: datetime) -> None:
        assert program.id is not None
        stored = self.store.programs[program.id]
        if stored.version != program.version:
            raise Conflict(
                f"program {program.id} was changed by someone else; try again", program=program.id
            )
        program.version += 1
        old = self.store.shares[program.id]
        if program.content.requests != {p: s[0] for p, s in old.items()}:
            # Rewritten with the held balance as loaded: this save's moves adjust it.
            self.store.shares[program.id] = {
                party: [amount, old[party][1] if party in old else 0, 0, 0]
                for party, amount in program.content.requests.items()
            }
        self._write_scheduled(program, now)
        self._store(program)

    def _write_scheduled(self, program: Program, now: datetime) -> None:
        for row in self.store.schedule:
            if (
                row["program_id"] == program.id
                and row["action"] in program.called_off
                and row["done_at"] is None
            ):
                row["done_at"], row["outcome"] = now, "called off"
        program.called_off.clear()
        for work in program.scheduled:
            _check(
                all(r["key"] != work.key for r in self.store.schedule),
                f"scheduled work {work.key} written twice",
            )
            self.store.schedule.append(
                Row(
                    self.store.new_id(),
                    {
                        "program_id": program.id,
                        "action": work.action,
                        "key": work.key,
                        "due_at": work.due_at,
                        "created_at": now,
                        "done_at": None,
                        "outcome": None,
                    },
                )
            )
        program.scheduled.clear()

    def _store(self, program: Program) -> None:
        assert program.id is not None
        kept = copy.deepcopy(program)
        kept.events, kept.ledger_moves, kept.scheduled, kept.called_off = [], [], [], []
        kept.decisions = dict(sorted(kept.decisions.items()))  # rows come back by party
        kept.evaluations = dict(sorted(kept.evaluations.items()))
        kept.parties = tuple(kept.decisions)
        self.store.programs[program.id] = kept
        self._seen[program.id] = _asks(program)

    def asked_when_loaded(self, program_id: int) -> Asked | None:
        return self._seen.get(program_id)

    def waitlisted(self, year: int) -> list[int]:
        found = [
            p
            for p in self.store.programs.values()
            if p.state == "waitlisted" and p.content.fiscal_year == year
        ]
        found.sort(key=lambda p: (p.waitlisted_at is None, p.waitlisted_at or T0, p.id))
        return [p.id for p in found if p.id is not None]


def _asks(program: Program) -> Asked:
    return program.state, tuple(program.pending_parties())


# (kind, source) -> how a move shifts (held, committed, disbursed), as the adapter's.
SHIFTS: dict[tuple[str, str | None], tuple[int, int, int]] = {
    ("hold", None): (1, 0, 0),
    ("release", "held"): (-1, 0, 0),
    ("commit", None): (-1, 1, 0),
    ("disburse", None): (0, 0, 1),
    ("release", "committed"): (0, -1, 0),
    ("refund", None): (0, -1, -1),
}


class FakeLedger:
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self._waitlisted: list[tuple[dict[str, int], int]] = []

    def add_envelope(self, party: str, year: int, amount: int) -> None:
        if (party, year) in self.store.envelopes:
            raise Conflict(f"{party} already has an envelope for {year}", party=party, year=year)
        _check(0 < amount < 10**13, f"envelope amount {amount} out of range")
        self.store.envelopes[party, year] = Envelope(party, year, amount)

    def apply(
        self, program_id: int, moves: Iterable[LedgerMove], actor: str, now: datetime
    ) -> None:
        keys = {e.idempotency_key for e in self.store.entries}
        for move in moves:
            env = self.store.envelopes.get((move.party, move.year))
            if move.kind == "hold" and (env is None or env.available < move.amount):
                raise InsufficientBudget(
                    f"{move.party}'s {move.year} envelope has no room for {move.amount:,} KRW",
                    party=move.party,
                    year=move.year,
                )
            if env is None:
                raise NotFound(f"{move.party} has no envelope for {move.year}")
            if move.key in keys:
                raise Conflict(
                    f"ledger entry already written for program {program_id}", program=program_id
                )
            keys.add(move.key)
            _check(move.amount > 0, f"ledger entry {move.key}: amount {move.amount}")
            held, committed, disbursed = (move.amount * s for s in SHIFTS[move.kind, move.source])
            env = replace(
                env,
                held=env.held + held,
                committed=env.committed + committed,
                disbursed=env.disbursed + disbursed,
            )
            _check(min(env.held, env.committed, env.disbursed) >= 0, f"envelope {env}")
            _check(env.held + env.committed <= env.amount, f"envelope overcommitted: {env}")
            self.store.envelopes[move.party, move.year] = env
            share = self.store.shares.get(program_id, {}).get(move.party)
            if share is not None:  # no request row left for the party: nothing to move
                share[1:] = [share[1] + held, share[2] + committed, share[3] + disbursed]
                _check(
                    share[1] >= 0 and 0 <= share[3] <= share[2],
                    f"program {program_id}'s {move.party} share: {share}",
                )
            self.store.entries.append(
                Entry(
                    self.store.new_id(),
                    program_id,
                    move.party,
                    move.year,
                    move.kind,
                    move.source,
                    move.amount,
                    move.key,
                    actor,
                    now,
                )
            )

    def envelope(self, party: str, year: int, lock: bool = False) -> Envelope | None:
        return self.store.envelopes.get((party, year))

    def amend(self, amendment: Amendment, actor: str, now: datetime) -> None:
        found = self.store.envelopes.get((amendment.party, amendment.year))
        if found is None:
            raise NotFound(f"{amendment.party} has no envelope for {amendment.year}")
        after = amended(found, amendment)
        _check(after.held + after.committed <= after.amount, f"envelope overcommitted: {after}")
        self.store.envelopes[amendment.party, amendment.year] = after
        number = sum(
            1
            for e in self.store.entries
            if e.kind == "amend" and (e.party, e.fiscal_year) == (amendment.party, amendment.year)
        )
        self.store.entries.append(
            Entry(
                self.store.new_id(),
                None,
                amendment.party,
                amendment.year,
                "amend",
                amendment.direction,
                abs(amendment.by),
                amend_key(amendment.party, amendment.year, number + 1),
                actor,
                now,
            )
        )

    def confirm_waitlisted(self, requests: dict[str, int], year: int) -> None:
        self._waitlisted.append((dict(requests), year))

    def flush(self) -> None:
        """Last before commit, as the adapter's: a waitlisting must still be short."""
        for requests, year in self._waitlisted:
            found = {p: e for (p, y), e in self.store.envelopes.items() if y == year}
            if not shortfalls(requests, found):
                raise LostRace(f"money came free in {year} while a program was waitlisted")
        self._waitlisted.clear()

    def report(self, year: int | None = None) -> list[Envelope]:
        return [
            e
            for _, e in sorted(self.store.envelopes.items(), key=lambda kv: (kv[0][1], kv[0][0]))
            if year is None or e.year == year
        ]

    def envelopes_to_hold(self, program: Program) -> dict[str, Envelope]:
        year = program.content.fiscal_year
        return {
            p: self.store.envelopes[p, year]
            for p in program.content.requests
            if (p, year) in self.store.envelopes
        }

    def entries(self, program_id: int | None = None) -> list[Entry]:
        """For tests: every entry, oldest first."""
        return [e for e in self.store.entries if program_id is None or e.program_id == program_id]


class FakeEvents:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def append(self, stream: str, new: Sequence[Event], actor: str, at: datetime) -> None:
        if not new:
            return
        records = self.store.streams.setdefault(stream, [])
        seq, prev = (records[-1].seq, records[-1].hash) if records else (0, GENESIS)
        stamp = at.isoformat(timespec="microseconds")
        for event in new:
            seq += 1
            data = canonical_json(event.data)
            digest = event_hash(prev, stream, seq, event.type, actor, stamp, data)
            records.append(
                EventRecord(
                    self.store.new_id(), stream, seq, event.type, actor, stamp, data, prev, digest
                )
            )
            prev = digest

    def history(self, stream: str) -> list[EventRecord]:
        return list(self.store.streams.get(stream, []))

    def verify(self) -> tuple[int, ChainBreak | None]:
        checked, first = 0, None
        for stream, records in sorted(self.store.streams.items()):
            checked += len(records)
            head = (records[-1].seq, records[-1].hash) if records else None
            broken = verify_stream(stream, records, head)
            if broken and first is None:
                first = broken
        return checked, first

    def types(self, stream: str) -> list[str]:
        """For tests: the event types of a stream, in order."""
        return [r.type for r in self.store.streams.get(stream, [])]


class FakeOutbox:
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.added = 0  # messages written in this unit of work

    def add(self, task: str, payload: dict[str, Any], now: datetime) -> None:
        self.store.outbox.append(
            Row(
                self.store.new_id(),
                {
                    "task": task,
                    "payload": json.dumps(payload, sort_keys=True),  # as stored
                    "created_at": now,
                    "done_at": None,
                },
            )
        )
        self.added += 1

    def take(self, message_id: int, now: datetime) -> OutboxMessage | None:
        row = next((m for m in self.store.outbox if m.id == message_id), None)
        if row is None or row["done_at"] is not None:
            return None
        row["done_at"] = now
        return OutboxMessage(message_id, row["task"], json.loads(row["payload"]))

    def pending_ids(self, limit: int = 100) -> list[int]:
        return [m.id for m in self.store.outbox if m["done_at"] is None][:limit]


class FakeSchedule:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def due(self, now: datetime, limit: int = 100) -> list[int]:
        rows = sorted(
            (r for r in self.store.schedule if r["done_at"] is None and r["due_at"] <= now),
            key=lambda r: (r["due_at"], r.id),
        )
        return [r.id for r in rows][:limit]

    def get(self, work_id: int, lock: bool = False) -> Work | None:
        row = next((r for r in self.store.schedule if r.id == work_id), None)
        if row is None:
            return None
        return Work(
            row.id, row["program_id"], row["action"], row["due_at"], row["done_at"] is not None
        )

    def mark_done(self, work_id: int, now: datetime, outcome: str) -> bool:
        row = next((r for r in self.store.schedule if r.id == work_id), None)
        if row is None or row["done_at"] is not None:
            return False
        row["done_at"], row["outcome"] = now, outcome
        return True

    def of_program(self, program_id: int) -> list[tuple[str, datetime, str | None]]:
        """For tests: (action, due at, outcome) of every row of the program, in order."""
        return [
            (r["action"], r["due_at"], r["outcome"])
            for r in self.store.schedule
            if r["program_id"] == program_id
        ]


class FakeTasks:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def open(
        self, program_id: int, due: dict[TaskSpec, datetime], now: datetime
    ) -> list[tuple[TaskSpec, datetime]]:
        ordered = sorted(due.items())
        for spec, due_at in ordered:
            self.store.tasks.append(
                Row(
                    self.store.new_id(),
                    {
                        "program_id": program_id,
                        "kind": spec.kind,
                        "party": spec.party,
                        "queue_org": spec.org,
                        "queue_role": spec.role,
                        "state": OPEN,
                        "due_at": due_at,
                        "claimed_by": None,
                        "created_at": now,
                        "closed_at": None,
                        "closed_by": None,
                    },
                )
            )
        return ordered

    def _live(self, program_id: int, spec: TaskSpec) -> list[Row]:
        """The adapter matches program, kind and queue organization (not role, not party)."""
        return [
            t
            for t in self.store.tasks
            if t["program_id"] == program_id
            and t["kind"] == spec.kind
            and t["queue_org"] == spec.org
            and t["state"] in LIVE
        ]

    def complete(self, program_id: int, spec: TaskSpec, by: str, now: datetime) -> list[int]:
        live = self._live(program_id, spec)
        mine = [t for t in live if t["claimed_by"] in (None, by)]
        for task in mine:
            task.values.update(state="completed", closed_at=now, closed_by=by)
        claimant = next(
            (t["claimed_by"] for t in live if t["state"] == CLAIMED and t["claimed_by"] != by), None
        )
        if not mine and claimant is not None:
            raise NotPermitted(
                f"{by} may not act on program {program_id}: its {spec.kind} task for "
                f"{spec.org} is claimed by {claimant}",
                program=program_id,
            )
        return [t.id for t in mine]

    def cancel(self, program_id: int, spec: TaskSpec, by: str, now: datetime) -> list[int]:
        live = self._live(program_id, spec)
        for task in live:
            task.values.update(state="cancelled", closed_at=now, closed_by=by)
        return [t.id for t in live]

    def get(self, task_id: int) -> Task:
        row = self.store.task(task_id)
        if row is None:
            raise NotFound(f"task {task_id} does not exist", task=task_id)
        return Task(
            row.id,
            row["program_id"],
            row["kind"],
            row["party"],
            row["queue_org"],
            row["queue_role"],
            row["state"],
            row["due_at"],
            row["claimed_by"],
        )

    def live_of_program(self, program_id: int) -> list[Task]:
        return [
            self.get(t.id)
            for t in self.store.tasks
            if t["program_id"] == program_id and t["state"] in LIVE
        ]

    def claim(self, task_id: int, email: str) -> bool:
        row = self.store.task(task_id)
        if row is None or row["state"] != OPEN:
            return False
        row.values.update(state=CLAIMED, claimed_by=email)
        return True

    def release(self, task_id: int, claimant: str) -> bool:
        row = self.store.task(task_id)
        if row is None or row["state"] != CLAIMED or row["claimed_by"] != claimant:
            return False
        row.values.update(state=OPEN, claimed_by=None)
        return True

    def reassign(self, task_id: int, to: str) -> bool:
        row = self.store.task(task_id)
        if row is None or row["state"] not in LIVE:
            return False
        row.values.update(state=CLAIMED, claimed_by=to)
        return True

    def of_program(self, program_id: int) -> list[dict[str, Any]]:
        """For tests, as the adapter's: every task of the program in the order opened."""
        return [{"id": t.id, **t.values} for t in self.store.tasks if t["program_id"] == program_id]


class FakeReminders:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def schedule(
        self,
        program_id: int,
        opened: list[tuple[TaskSpec, datetime]],
        ladder: ReminderLadder | None,
        now: datetime,
    ) -> int:
        if ladder is None:
            return 0
        written = 0
        for spec, due_at in opened:
            # The adapter names the task as just opened: same spec, open, this instant.
            found = [
                t
                for t in self.store.tasks
                if t["program_id"] == program_id
                and (t["kind"], t["queue_org"], t["queue_role"], t["party"])
                == (spec.kind, spec.org, spec.role, spec.party)
                and t["state"] == OPEN
                and t["created_at"] == now
            ]
            _check(len(found) == 1, f"reminder of {spec}: {len(found)} tasks just opened")
            task = found[0]
            for rung, at in first_rungs(ladder, due_at, now).items():
                _check(self._find(task.id, rung) is None, f"reminder {task.id}/{rung} twice")
                self._insert(task.id, rung, at, now)
                written += 1
        return written

    def _find(self, task_id: int, rung: str) -> Row | None:
        return next(
            (r for r in self.store.reminders if (r["task_id"], r["rung"]) == (task_id, rung)), None
        )

    def _insert(self, task_id: int, rung: str, due_at: datetime, now: datetime) -> None:
        self.store.reminders.append(
            Row(
                self.store.new_id(),
                {
                    "task_id": task_id,
                    "rung": rung,
                    "due_at": due_at,
                    "status": "pending",
                    "created_at": now,
                    "sent_at": None,
                    "recipients": None,
                },
            )
        )

    def void(self, task_ids: Sequence[int]) -> int:
        hit = [
            r for r in self.store.reminders if r["task_id"] in task_ids and r["status"] == "pending"
        ]
        for row in hit:
            row["status"] = "void"
        return len(hit)

    def void_stale(self, now: datetime) -> int:
        hit = [
            r
            for r in self.store.reminders
            if r["status"] == "pending"
            and r["due_at"] <= now
            and self._task(r)["state"] not in LIVE
        ]
        for row in hit:
            row["status"] = "void"
        return len(hit)

    def _task(self, reminder: Row) -> Row:
        task = self.store.task(reminder["task_id"])
        assert task is not None
        return task

    def due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        found = []
        for r in self.store.reminders:
            task = self._task(r)
            if r["status"] != "pending" or r["due_at"] > now or task["state"] not in LIVE:
                continue
            program = self.store.programs[task["program_id"]]
            share = self.store.shares[task["program_id"]].get(task["party"] or "")
            found.append(
                {
                    "id": r.id,
                    "rung": r["rung"],
                    "due_at": r["due_at"],
                    "task_id": task.id,
                    "program_id": task["program_id"],
                    "kind": task["kind"],
                    "party": task["party"],
                    "queue_org": task["queue_org"],
                    "queue_role": task["queue_role"],
                    "claimed_by": task["claimed_by"],
                    "task_due": task["due_at"],
                    "title": program.content.title,
                    "workflow_key": program.workflow_key,
                    "workflow_version": program.workflow_version,
                    "amount": share[0] if share else None,
                }
            )
        return found[:limit]

    def take(self, reminder_id: int, recipients: Sequence[str], now: datetime) -> bool:
        row = next((r for r in self.store.reminders if r.id == reminder_id), None)
        if row is None or row["status"] != "pending":
            return False
        row.values.update(status="sent", sent_at=now, recipients=list(recipients))
        return True

    def add(
        self,
        task_id: int,
        rung: str,
        due_at: datetime,
        now: datetime,
        sent_to: Sequence[str] | None = None,
    ) -> None:
        if self._find(task_id, rung) is None:
            self._insert(task_id, rung, due_at, now)
            if sent_to is not None:
                self.store.reminders[-1].values.update(
                    status="sent", sent_at=now, recipients=json.dumps(list(sent_to))
                )


class FakeNotifications:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def create(
        self,
        email: str,
        kind: str,
        day: date,
        now: datetime,
        topic: str,
        text: Rendered,
        items: list[dict[str, Any]],
    ) -> int | None:
        if any(
            (n["user_email"], n["kind"], n["day"], n["topic"]) == (email, kind, day, topic)
            for n in self.store.notifications
        ):
            return None
        message_id, _ = self.lock_or_create(email, kind, day, now, topic)
        self.write(message_id, text, items, now)
        return message_id

    def lock_or_create(
        self, email: str, kind: str, day: date, now: datetime, topic: str = ""
    ) -> tuple[int, list[dict[str, Any]]]:
        row = next(
            (
                n
                for n in self.store.notifications
                if (n["user_email"], n["kind"], n["day"], n["topic"]) == (email, kind, day, topic)
            ),
            None,
        )
        if row is None:
            row = Row(
                self.store.new_id(),
                {
                    "user_email": email,
                    "kind": kind,
                    "day": day,
                    "topic": topic,
                    "subject": "",
                    "body": "",
                    "html": "",
                    "items": "[]",
                    "created_at": now,
                    "updated_at": now,
                    "read_at": None,
                },
            )
            self.store.notifications.append(row)
        return row.id, list(json.loads(row["items"]))

    def write(
        self, notification_id: int, text: Rendered, items: list[dict[str, Any]], now: datetime
    ) -> None:
        row = self._get(notification_id)
        if row is not None:
            row.values.update(
                subject=text.subject,
                body=text.text,
                html=text.html,
                updated_at=now,
                read_at=None,
                items=json.dumps(items, ensure_ascii=False, default=str),
            )

    def _get(self, notification_id: int) -> Row | None:
        return next((n for n in self.store.notifications if n.id == notification_id), None)

    def owner(self, notification_id: int) -> str | None:
        row = self._get(notification_id)
        return None if row is None else str(row["user_email"])

    def mark_read(self, email: str, notification_id: int | None, now: datetime) -> int:
        hit = [
            n
            for n in self.store.notifications
            if n["user_email"] == email and n["read_at"] is None and notification_id in (None, n.id)
        ]
        for row in hit:
            row["read_at"] = now
        return len(hit)

    def of_user(self, email: str) -> list[dict[str, Any]]:
        """For tests: the person's in-app messages (with an in-app delivery), items parsed."""
        shown = {d["notification_id"] for d in self.store.deliveries if d["channel"] == "inapp"}
        return [
            {"id": n.id, **n.values, "items": json.loads(n["items"])}
            for n in self.store.notifications
            if n["user_email"] == email and n.id in shown
        ]


class FakeDeliveries:
    """The adapter's semantics: a key written once, attempts taken by a conditional
    update (due and pending, or stale and sending), a failure reconciled only by the
    attempt that holds the row."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.begun: list[Attempt] = []

    def add(
        self,
        key: str,
        channel: str,
        recipient: str,
        due_at: datetime,
        now: datetime,
        notification_id: int | None = None,
        webhook_id: int | None = None,
        event_type: str | None = None,
        payload: str | None = None,
        sent: bool = False,
        attempt: Attempt | None = None,
    ) -> int | None:
        _check((notification_id is None) != (webhook_id is None), f"delivery {key}: one message")
        if any(d["key"] == key for d in self.store.deliveries):
            return None
        row = Row(
            self.store.new_id(),
            {
                "key": key,
                "notification_id": notification_id,
                "webhook_id": webhook_id,
                "channel": channel,
                "recipient": recipient,
                "status": "sent" if sent else "sending" if attempt else "pending",
                "attempts": 1 if sent or attempt else 0,
                "due_at": due_at,
                "attempted_at": now if attempt else None,
                "sent_at": now if sent else None,
                "last_error": None,
                "event_type": event_type,
                "payload": payload,
                "created_at": now,
            },
        )
        self.store.deliveries.append(row)
        if attempt is not None:
            self.begun.append(replace(attempt, delivery_id=row.id, number=1))
        return None if sent else row.id

    def get(self, delivery_id: int) -> Row | None:
        return next((d for d in self.store.deliveries if d.id == delivery_id), None)

    def begin(
        self, delivery_id: int, now: datetime, stale_before: datetime | None = None
    ) -> Attempt | None:
        row = self.get(delivery_id)
        if row is None:
            return None
        due = row["status"] == "pending" and row["due_at"] <= now
        stale = (
            stale_before is not None
            and row["status"] == "sending"
            and row["attempted_at"] < stale_before
        )
        if not (due or stale):
            return None
        row.values.update(status="sending", attempts=row["attempts"] + 1, attempted_at=now)
        attempt = Attempt(
            row.id, row["channel"], row["recipient"], row["attempts"], row["notification_id"]
        )
        if row["channel"] == "email":
            message = next(n for n in self.store.notifications if n.id == row["notification_id"])
            return replace(
                attempt, subject=message["subject"], text=message["body"], html=message["html"]
            )
        if row["channel"] == "webhook":
            hook = next(w for w in self.store.webhooks if w.id == row["webhook_id"])
            secret = hook["secret"] if hook["removed_at"] is None else None
            return replace(
                attempt, event_type=row["event_type"], body=row["payload"], secret=secret
            )
        return attempt

    def claim(
        self,
        now: datetime,
        limit: int,
        stale_before: datetime | None = None,
        skip: Sequence[int] = (),
    ) -> list[Attempt]:
        chosen = [
            i
            for i in self.due(now, stale_before or now, len(self.store.deliveries))
            if i not in skip and self.get(i)["channel"] in ("email", "webhook")  # type: ignore[index]
        ]
        if stale_before is None:
            chosen = [i for i in chosen if self.get(i)["status"] == "pending"]  # type: ignore[index]
        taken = [self.begin(i, now, stale_before) for i in chosen[:limit]]
        return sorted((a for a in taken if a is not None), key=lambda a: a.delivery_id)

    def finish(
        self,
        delivery_id: int,
        number: int,
        status: str,
        now: datetime,
        due_at: datetime | None = None,
        error: str = "",
    ) -> bool:
        row = self.get(delivery_id)
        if row is None:
            return False
        holds = (
            row["status"] != "sent"
            if status == "sent"
            else row["status"] == "sending" and row["attempts"] == number
        )
        if not holds:
            return False
        row["status"] = status
        if status == "sent":
            row["sent_at"] = now
        if due_at is not None:
            row["due_at"] = due_at
        if error:
            row["last_error"] = error
        return True

    def due(self, now: datetime, stale_before: datetime, limit: int) -> list[int]:
        rows = sorted(
            (
                d
                for d in self.store.deliveries
                if (d["status"] == "pending" and d["due_at"] <= now)
                or (d["status"] == "sending" and d["attempted_at"] < stale_before)
            ),
            key=lambda d: (d["due_at"], d.id),
        )
        return [d.id for d in rows][:limit]

    def retry(self, delivery_ids: Sequence[int] | None, now: datetime) -> list[int]:
        hit = [
            d
            for d in self.store.deliveries
            if (d["status"] == "dead" if delivery_ids is None else d.id in delivery_ids)
            and d["status"] in ("dead", "pending")
        ]
        for row in hit:
            row.values.update(status="pending", attempts=0, due_at=now)
        return sorted(d.id for d in hit)


class FakeWebhooks:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def add(self, org: str, url: str, events: tuple[str, ...], secret: str, now: datetime) -> int:
        _check(org in self.store.organizations, f"webhook of unknown organization {org}")
        row = Row(
            self.store.new_id(),
            {
                "org": org,
                "url": url,
                "events": events,
                "secret": secret,
                "created_at": now,
                "removed_at": None,
            },
        )
        self.store.webhooks.append(row)
        return row.id

    def remove(self, webhook_id: int, now: datetime) -> bool:
        live = [w for w in self.store.webhooks if w.id == webhook_id and w["removed_at"] is None]
        for row in live:
            row["removed_at"] = now
        return bool(live)

    def get(self, webhook_id: int) -> Webhook:
        found = [w for w in self.listing() if w.id == webhook_id]
        if not found:
            raise NotFound(f"no webhook {webhook_id}", webhook=webhook_id)
        return found[0]

    def listing(self, org: str | None = None) -> list[Webhook]:
        return [
            Webhook(w.id, w["org"], w["url"], w["events"], w["created_at"], w["secret"])
            for w in self.store.webhooks
            if w["removed_at"] is None and org in (None, w["org"])
        ]


class FakePreferences:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def of(self, email: str) -> dict[str, tuple[str, ...]]:
        return {k: v for (e, k), v in sorted(self.store.preferences.items()) if e == email}

    def set(self, email: str, kind: str, channels: tuple[str, ...], now: datetime) -> None:
        self.store.preferences[email, kind] = channels


# -- the unit of work -----------------------------------------------------------------


class WorkflowRegistry:
    """Machines by (key, version), built once each; the newest version is current."""

    def __init__(self, definitions: Iterable[WorkflowDefinition]) -> None:
        self.machines = {(d.key, d.version): WorkflowMachine(d) for d in definitions}

    def current(self, key: str) -> WorkflowMachine:
        versions = [v for k, v in self.machines if k == key]
        if not versions:
            known = ", ".join(sorted({k for k, _ in self.machines})) or "none"
            raise NotFound(f"no workflow {key!r} (known: {known})")
        return self.machines[key, max(versions)]

    def pinned(self, key: str, version: int) -> WorkflowMachine:
        if (key, version) not in self.machines:
            raise NotFound(f"workflow {key} version {version} is not stored")
        return self.machines[key, version]


@cache
def joint_program() -> WorkflowDefinition:
    """The real default definition, read from its YAML file once per test run."""
    return load_file(WORKFLOWS_DIR / "joint-program.yaml")


class FakeUnitOfWork:
    programs: FakePrograms
    directory: FakeDirectory
    ledger: FakeLedger
    events: FakeEvents
    outbox: FakeOutbox
    schedule: FakeSchedule
    tasks: FakeTasks
    reminders: FakeReminders
    notifications: FakeNotifications
    deliveries: FakeDeliveries
    preferences: FakePreferences
    webhooks: FakeWebhooks
    people: FakePeople

    def __init__(self, factory: FakeUnitOfWorkFactory, reading: bool = False) -> None:
        self.factory = factory
        self.renderer = factory.renderer  # the real templates: rendering is no I/O to fake
        self.reading = reading
        self.default_workflow = factory.default_workflow
        self.probing = False
        self.makes_attempts = factory.makes_attempts
        self.now = factory.clock()
        self.committed = False
        self._bind(factory.store)

    def _bind(self, store: FakeStore) -> None:
        self.store = store
        self.directory = FakeDirectory(store)
        self.programs = FakePrograms(store, self.directory)
        self.ledger = FakeLedger(store)
        self.events = FakeEvents(store)
        self.outbox = FakeOutbox(store)
        self.schedule = FakeSchedule(store)
        self.tasks = FakeTasks(store)
        self.reminders = FakeReminders(store)
        self.notifications = FakeNotifications(store)
        self.deliveries = FakeDeliveries(store)
        self.preferences = FakePreferences(store)
        self.webhooks = FakeWebhooks(store)
        self.people = FakePeople(store)

    def __enter__(self) -> FakeUnitOfWork:
        self.now = self.factory.clock()
        self.committed = False
        self._bind(self.factory.store.fork())  # staged: published by commit only
        return self

    def __exit__(self, *exc: object) -> None:
        self._bind(self.factory.store)  # whatever was not committed is gone

    def commit(self) -> None:
        if self.reading:
            raise RuntimeError("a reading unit of work never commits")
        self.ledger.flush()
        self.factory.store = self.store
        self.committed = True
        self.factory.commits += 1

    def current_workflow(self, key: str) -> WorkflowMachine:
        return self.factory.registry.current(key)

    def workflow_of(self, key: str, version: int) -> WorkflowMachine:
        return self.factory.registry.pinned(key, version)

    def program_for_holds(self, program_id: int) -> tuple[Program, dict[str, Envelope]]:
        program = self.programs.get(program_id, lock=True)
        return program, self.ledger.envelopes_to_hold(program)


class Clock:
    """The bus's clock; a test moves it."""

    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class FakeUnitOfWorkFactory:
    def __init__(
        self,
        registry: WorkflowRegistry | None = None,
        clock: Callable[[], datetime] | None = None,
        default_workflow: str = DEFAULT_WORKFLOW,
    ) -> None:
        self.store = FakeStore()
        self.registry = registry or WorkflowRegistry([joint_program()])
        self.clock = clock or Clock()
        self.default_workflow = default_workflow
        self.renderer = TemplateRenderer(BASE_URL)
        self.makes_attempts = True  # a worker's (or the embedded default's) bus
        self.commits = 0

    def __call__(self, contended: bool = False, reading: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self, reading)

    def is_transient(self, error: BaseException) -> bool:
        return False  # nothing races in memory: a LostRace here is a bug, not bad luck

    def reader(self) -> FakeUnitOfWork:
        """For tests: a unit of work on what is committed, to read from."""
        return FakeUnitOfWork(self, reading=True)


def unit_of_work(factory: FakeUnitOfWorkFactory) -> UnitOfWork:
    """Typed as the port: mypy proves the fake is a ``UnitOfWork``."""
    return factory()


class FakeChannels:
    """The mail server and the webhook receivers: every attempt recorded, answered with
    the next scripted outcome (sent when nothing is scripted)."""

    def __init__(self) -> None:
        self.attempts: list[Attempt] = []
        self.script: list[Outcome] = []

    def send(self, attempt: Attempt) -> Outcome:
        self.attempts.append(attempt)
        return self.script.pop(0) if self.script else Outcome.ok()

    def sent_to(self, channel: str = "email") -> list[str]:
        return [a.recipient for a in self.attempts if a.channel == channel]


def fake_bus(
    clock: Callable[[], datetime] | None = None,
    definitions: Iterable[WorkflowDefinition] = (),
    default_workflow: str = DEFAULT_WORKFLOW,
    policy: RetryPolicy | None = None,
) -> tuple[MessageBus, FakeUnitOfWorkFactory]:
    """The bus on the fakes, the outbox carried out inline, on the real definitions
    (``joint-program`` and any ``definitions`` given); deliveries go to ``FakeChannels``
    (``bus.courier.channels``), with no jitter in the back-off."""
    registry = WorkflowRegistry([joint_program(), *definitions])
    factory = FakeUnitOfWorkFactory(registry, clock, default_workflow)
    courier = Courier(FakeChannels(), policy, jitter=lambda: 1.0)
    return MessageBus(factory, InlineDispatcher(), courier), factory
