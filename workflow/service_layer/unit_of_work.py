"""What the service layer needs of a unit of work (implemented in ``adapters``, and in
memory for the handler tests).

A unit of work is one database transaction: it rolls back unless ``commit()`` is
called, and every repository it hands out works inside that transaction. A read-only
one (``reading=True``) never commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from workflow.domain.budget import Envelope
from workflow.domain.machine import WorkflowMachine
from workflow.domain.program import Program
from workflow.service_layer.files import Documents
from workflow.service_layer.ports import (
    Deliveries,
    Directory,
    EventLog,
    Ledger,
    Notifications,
    Outbox,
    People,
    Preferences,
    Programs,
    Reminders,
    Renderer,
    Schedule,
    Tasks,
    Webhooks,
)


class LostRace(Exception):
    """An optimistic read was overtaken before the commit: the transaction rolls back and
    the bus runs the command again with ``contended=True`` (locks taken as rows are read)."""


class UnitOfWork(Protocol):
    now: datetime
    default_workflow: str  # the definition new programs start on unless told otherwise
    probing: bool  # the bus asks what handlers would do: saving a program raises Probed
    # Whether the process makes the attempts its transactions mark (a worker, the
    # embedded default) or hands each delivery to a worker (a deployment's request path).
    makes_attempts: bool

    # The repositories, as read-only members so that an implementation's own types fit.
    @property
    def programs(self) -> Programs: ...
    @property
    def directory(self) -> Directory: ...
    @property
    def people(self) -> People: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def events(self) -> EventLog: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def schedule(self) -> Schedule: ...
    @property
    def tasks(self) -> Tasks: ...
    @property
    def reminders(self) -> Reminders: ...
    @property
    def notifications(self) -> Notifications: ...
    @property
    def deliveries(self) -> Deliveries: ...
    @property
    def preferences(self) -> Preferences: ...
    @property
    def webhooks(self) -> Webhooks: ...
    @property
    def documents(self) -> Documents: ...
    @property
    def renderer(self) -> Renderer:
        """The message templates (no storage: here so every handler can write messages)."""

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(self, *exc: object) -> None: ...
    def commit(self) -> None: ...
    def current_workflow(self, key: str) -> WorkflowMachine: ...
    def workflow_of(self, key: str, version: int) -> WorkflowMachine: ...
    def program_for_holds(self, program_id: int) -> tuple[Program, dict[str, Envelope]]:
        """The program under its row lock, with the envelopes its holds decide on (this
        transaction's own holds counted)."""


class UnitOfWorkFactory(Protocol):
    max_file_bytes: int  # the deployment's limit per attached file: doors read no further

    def __call__(self, contended: bool = False, reading: bool = False) -> UnitOfWork: ...
    def is_transient(self, error: BaseException) -> bool: ...
