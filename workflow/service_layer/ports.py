"""The ports a handler works through: what it asks of storage, in the domain's words.

``adapters`` implements them on SQLAlchemy (one transaction per unit of work, round
trips batched out of sight); ``tests/fakes.py`` implements them in memory, so handlers
are tested without a database. Methods say what a handler needs ("this program, locked,
with the envelopes its holds decide on"), never how it is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from workflow.domain.amendments import Amendment
from workflow.domain.audit import ChainBreak, EventRecord
from workflow.domain.budget import Envelope
from workflow.domain.delegation import Delegation
from workflow.domain.events import Event
from workflow.domain.passwords import Credentials
from workflow.domain.permissions import User
from workflow.domain.program import LedgerMove, Program
from workflow.domain.reminders import ReminderLadder
from workflow.domain.sign_in_links import Link
from workflow.domain.tasks import TaskSpec
from workflow.domain.visibility import Viewer


@dataclass(frozen=True)
class Organization:
    key: str
    name: str
    funder: bool


@dataclass(frozen=True)
class Task:
    id: int
    program_id: int
    kind: str
    party: str | None
    queue_org: str
    queue_role: str
    state: str
    due_at: datetime
    claimed_by: str | None


@dataclass(frozen=True)
class Work:
    """One row of scheduled work."""

    id: int
    program_id: int
    action: str
    due_at: datetime
    done: bool


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    task: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Rendered:
    """A message as a template wrote it for one person."""

    subject: str
    text: str
    html: str


Asked = tuple[str, tuple[str, ...]]  # a program's state and the parties it waits on


class Programs(Protocol):
    def get(self, program_id: int, lock: bool = False) -> Program: ...
    def get_locked_as(self, email: str, program_id: int) -> tuple[User, Program]:
        """The acting user and the program under its row lock; an unknown user first."""

    def lock(self, program_id: int) -> None: ...
    def exists(self, program_id: int, lock: bool = False) -> bool: ...
    def add(self, program: Program, now: datetime) -> int: ...
    def save(self, program: Program, now: datetime) -> None: ...
    def asked_when_loaded(self, program_id: int) -> Asked | None:
        """What the program waited on as last loaded or saved (None: a new program)."""

    def waitlisted(self, year: int) -> list[int]:
        """Waitlisted programs of a fiscal year, oldest first."""


class Directory(Protocol):
    def add_organization(self, key: str, name: str, funder: bool, now: datetime) -> None: ...
    def organization(self, key: str) -> Organization: ...
    def organizations(self) -> list[Organization]: ...
    def add_user(
        self, email: str, name: str, org: str, roles: tuple[str, ...], locale: str, now: datetime
    ) -> int: ...
    def user(self, email: str) -> User: ...
    def users(self, org: str | None = None) -> list[User]: ...
    def viewer(self, email: str) -> Viewer: ...
    def add_delegation(self, delegation: Delegation, now: datetime) -> None: ...
    def clear_delegation(self, delegator: str, now: datetime) -> int: ...
    def delegations(self) -> list[Delegation]:
        """Every delegation not cleared (a handful: people on leave)."""

    def delegators_of(self, email: str, day: date) -> list[User]:
        """The people whose work routes to ``email`` on ``day`` (chains followed)."""

    def add_token(
        self, email: str, token_hash: str, expires_at: datetime, now: datetime
    ) -> None: ...

    def revoke_tokens(self, email: str, now: datetime) -> int:
        """Revoke every live token of ``email``; how many there were."""

    def token_owner(self, token_hash: str, now: datetime) -> str | None:
        """The email of a live (not expired, not revoked) token's user, else None."""

    def revoke_token(self, email: str, token_hash: str, now: datetime) -> bool:
        """Revoke one live token of ``email``; whether there was one."""

    def credentials(self, email: str) -> Credentials | None:
        """The user's password credentials (None: no such user, or no password set)."""

    def save_credentials(self, email: str, credentials: Credentials, now: datetime) -> None: ...

    def add_sign_in_link(
        self, email: str, secret_hash: str, expires_at: datetime, now: datetime
    ) -> int: ...

    def sign_in_links_since(self, email: str, since: datetime) -> int:
        """How many sign-in links ``email`` was given since ``since``."""

    def sign_in_link(self, secret_hash: str) -> Link | None:
        """The link of a secret, locked for this unit of work (None: no such link)."""

    def use_sign_in_link(self, link_id: int, now: datetime) -> bool:
        """Mark the link used; False if it already was (a concurrent use won)."""


class People(Protocol):
    """An admin's changes to people and organizations (issue 16)."""

    def save_user(self, user: User, now: datetime) -> None:
        """Store the user's roles, locale and active state (deactivated as of ``now``)."""

    def rename_organization(self, key: str, name: str) -> None: ...
    def claims_of(self, email: str) -> list[Task]:
        """The live tasks ``email`` has claimed, oldest first."""

    def end_delegations(self, email: str, now: datetime) -> list[Delegation]:
        """End every running delegation given or received by ``email``; those ended."""


class Ledger(Protocol):
    def add_envelope(self, party: str, year: int, amount: int) -> None: ...
    def envelope(self, party: str, year: int, lock: bool = False) -> Envelope | None:
        """One envelope (``lock``: under its row lock until commit); None if there is none."""

    def amend(self, amendment: Amendment, actor: str, now: datetime) -> None:
        """Raise or lower the envelope by an ``amend`` entry; refused (``InsufficientBudget``)
        if, meanwhile, it would go below what it holds and has committed."""

    def apply(
        self, program_id: int, moves: Iterable[LedgerMove], actor: str, now: datetime
    ) -> None: ...
    def confirm_waitlisted(self, requests: dict[str, int], year: int) -> None: ...
    def report(self, year: int | None = None) -> list[Envelope]: ...


class EventLog(Protocol):
    def append(self, stream: str, new: Sequence[Event], actor: str, at: datetime) -> None: ...
    def history(self, stream: str) -> list[EventRecord]: ...
    def verify(self) -> tuple[int, ChainBreak | None]: ...


class Outbox(Protocol):
    added: int

    def add(self, task: str, payload: dict[str, Any], now: datetime) -> None: ...
    def take(self, message_id: int, now: datetime) -> OutboxMessage | None: ...
    def pending_ids(self, limit: int = 100) -> list[int]: ...


class Schedule(Protocol):
    def due(self, now: datetime, limit: int = 100) -> list[int]: ...
    def get(self, work_id: int, lock: bool = False) -> Work | None: ...
    def mark_done(self, work_id: int, now: datetime, outcome: str) -> bool: ...


class Tasks(Protocol):
    def open(
        self, program_id: int, due: dict[TaskSpec, datetime], now: datetime
    ) -> list[tuple[TaskSpec, datetime]]: ...
    def complete(self, program_id: int, spec: TaskSpec, by: str, now: datetime) -> list[int]: ...
    def cancel(self, program_id: int, spec: TaskSpec, by: str, now: datetime) -> list[int]: ...
    def get(self, task_id: int) -> Task: ...
    def live_of_program(self, program_id: int) -> list[Task]:
        """The program's open and claimed tasks, in the order opened."""

    def claim(self, task_id: int, email: str) -> bool: ...
    def release(self, task_id: int, claimant: str) -> bool: ...
    def reassign(self, task_id: int, to: str) -> bool: ...


class Reminders(Protocol):
    def schedule(
        self,
        program_id: int,
        opened: list[tuple[TaskSpec, datetime]],
        ladder: ReminderLadder | None,
        now: datetime,
    ) -> int: ...
    def void(self, task_ids: Sequence[int]) -> int: ...
    def void_stale(self, now: datetime) -> int: ...
    def due(self, now: datetime, limit: int) -> list[dict[str, Any]]: ...
    def take(self, reminder_id: int, recipients: Sequence[str], now: datetime) -> bool: ...
    def add(
        self,
        task_id: int,
        rung: str,
        due_at: datetime,
        now: datetime,
        sent_to: Sequence[str] | None = None,
    ) -> None:
        """A later rung, pending (or ``sent_to`` these people now); nothing if it exists."""


class Notifications(Protocol):
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
        """A new message, written whole: its id; None if it exists already (left as is)."""

    def lock_or_create(
        self, email: str, kind: str, day: date, now: datetime, topic: str = ""
    ) -> tuple[int, list[dict[str, Any]]]:
        """The person's message of ``kind`` for ``day`` and ``topic``, locked: (id, its
        items so far)."""

    def write(
        self, notification_id: int, text: Rendered, items: list[dict[str, Any]], now: datetime
    ) -> None: ...
    def owner(self, notification_id: int) -> str | None: ...
    def mark_read(self, email: str, notification_id: int | None, now: datetime) -> int:
        """Mark one of ``email``'s messages read (None: all of them); how many were unread."""


@dataclass(frozen=True)
class Attempt:
    """One attempt at a delivery, marked before it is made: what to send, and where."""

    delivery_id: int
    channel: str
    recipient: str  # an email address, or a webhook's URL
    number: int  # 1 for the first attempt
    notification_id: int | None = None  # the message of an email or in-app delivery
    subject: str = ""
    text: str = ""
    html: str = ""
    event_type: str = ""
    body: str = ""  # a webhook's JSON body
    secret: str | None = None  # a webhook's; None once the webhook is removed


@dataclass(frozen=True)
class AttemptBatch:
    """Attempts marked together in one transaction, to be made once it has committed."""

    attempts: tuple[Attempt, ...]


class Deliveries(Protocol):
    begun: list[Attempt]  # first attempts marked by ``add``, to be made once it commits

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
        """A new delivery's id; None when ``key`` was written already (a message is
        delivered once per occasion), and for a delivery ``sent`` by being written (in
        app: no id is read back). ``attempt`` (what to send; its id and number are
        the store's): the delivery is written with its first attempt marked, and the
        attempt kept in ``begun``."""

    def begin(
        self, delivery_id: int, now: datetime, stale_before: datetime | None = None
    ) -> Attempt | None:
        """Mark an attempt at a due delivery (or a ``sending`` one older than
        ``stale_before``) and return it; None if it is not due or someone has it."""

    def claim(
        self,
        now: datetime,
        limit: int,
        stale_before: datetime | None = None,
        skip: Sequence[int] = (),
    ) -> list[Attempt]:
        """Mark an attempt at each of up to ``limit`` due deliveries (and ``sending`` ones
        older than ``stale_before``) that no other worker is claiming, but those in
        ``skip``; the attempts, by delivery id."""

    def finish(
        self,
        delivery_id: int,
        number: int,
        status: str,
        now: datetime,
        due_at: datetime | None = None,
        error: str = "",
    ) -> bool:
        """Reconcile attempt ``number``: False if a later attempt has taken over."""

    def due(self, now: datetime, stale_before: datetime, limit: int) -> list[int]: ...
    def retry(self, delivery_ids: Sequence[int] | None, now: datetime) -> list[int]:
        """Make dead (or waiting) deliveries due now with a fresh count of attempts;
        None: every dead one."""


class Preferences(Protocol):
    def of(self, email: str) -> dict[str, tuple[str, ...]]:
        """The person's chosen channels per kind (kinds not chosen are absent)."""

    def set(self, email: str, kind: str, channels: tuple[str, ...], now: datetime) -> None: ...


@dataclass(frozen=True)
class Webhook:
    id: int
    org: str
    url: str
    events: tuple[str, ...]
    created_at: datetime
    secret: str = field(default="", repr=False)  # signs its posts; never shown


class Webhooks(Protocol):
    def add(
        self, org: str, url: str, events: tuple[str, ...], secret: str, now: datetime
    ) -> int: ...
    def remove(self, webhook_id: int, now: datetime) -> bool:
        """False if there is no such live webhook."""

    def get(self, webhook_id: int) -> Webhook:
        """A live webhook; NotFound otherwise."""

    def listing(self, org: str | None = None) -> list[Webhook]:
        """The live webhooks (of ``org``), oldest first: a handful per organization."""


class Renderer(Protocol):
    def warm(self) -> None:
        """Compile every template now rather than on first use."""

    def render(self, template: str, locale: str, context: Mapping[str, Any]) -> Rendered:
        """``template`` in ``locale`` with ``context`` (a ``path`` becomes the ``link``)."""
