"""The SQLAlchemy unit of work: one connection, one transaction, every repository on it.

A reading unit of work runs a read-only transaction (PostgreSQL ``BEGIN READ ONLY``;
SQLite's deferred ``BEGIN``, which takes no write lock) and can never commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.exc import DBAPIError, OperationalError

from workflow.adapters.batch import BatchingConnection
from workflow.adapters.database import read_only_options
from workflow.adapters.definitions import DefinitionRegistry
from workflow.adapters.delivery_store import DeliveryStore, PreferenceStore
from workflow.adapters.directory import Directory
from workflow.adapters.document_store import DocumentStore
from workflow.adapters.event_store import EventStore
from workflow.adapters.file_store import DatabaseFileStore, StoreFactory
from workflow.adapters.ledger import Ledger
from workflow.adapters.outbox import Outbox
from workflow.adapters.people_store import PeopleStore
from workflow.adapters.reminder_store import NotificationStore, ReminderStore
from workflow.adapters.repositories import ProgramRepository
from workflow.adapters.schedule import Schedule
from workflow.adapters.task_store import TaskStore
from workflow.adapters.templates import DEFAULT_BASE_URL, TemplateRenderer
from workflow.adapters.webhook_store import WebhookStore
from workflow.domain.budget import Envelope
from workflow.domain.definition import DEFAULT_WORKFLOW
from workflow.domain.documents import DEFAULT_MAX_BYTES
from workflow.domain.machine import WorkflowMachine
from workflow.domain.program import Program
from workflow.service_layer.ports import Renderer
from workflow.service_layer.unit_of_work import LostRace

# PostgreSQL SQLSTATEs worth retrying the whole transaction for.
TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03"}


class SqlUnitOfWork:
    def __init__(
        self,
        engine: Engine,
        registry: DefinitionRegistry,
        clock: Callable[[], datetime],
        default_workflow: str,
        renderer: Renderer,
        contended: bool = False,
        reading: bool = False,
        file_store: StoreFactory = DatabaseFileStore,
        max_file_bytes: int = DEFAULT_MAX_BYTES,
        wake_relay: bool = False,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.clock = clock
        self.default_workflow = default_workflow
        self.renderer = renderer
        self.contended = contended
        self.reading = reading
        self.wake_relay = wake_relay
        self.makes_attempts = not wake_relay  # a request path's deliveries go by the relay
        self.probing = False
        self.file_store = file_store
        self.max_file_bytes = max_file_bytes

    def __enter__(self) -> SqlUnitOfWork:
        self.now = self.clock()
        self.raw: Connection = self.engine.connect()
        if self.reading:
            self.raw.execution_options(**read_only_options(self.engine))
        self.tx: RootTransaction = self.raw.begin()
        self.conn = BatchingConnection(self.raw)
        self.events = EventStore(self.conn)
        self.programs = ProgramRepository(self.conn, self.events, locking=not self.reading)
        self.directory = Directory(self.conn)
        self.people = PeopleStore(self.conn)
        self.ledger = Ledger(self.conn, self.contended)
        self.outbox = Outbox(self.conn, self.wake_relay)
        self.schedule = Schedule(self.conn)
        self.tasks = TaskStore(self.conn)
        self.reminders = ReminderStore(self.conn)
        self.notifications = NotificationStore(self.conn)
        self.deliveries = DeliveryStore(self.conn)
        self.preferences = PreferenceStore(self.conn)
        self.webhooks = WebhookStore(self.conn)
        files = self.file_store(self.conn, self.now)
        self.documents = DocumentStore(self.conn, files, self.max_file_bytes)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.tx.is_active:
            self.tx.rollback()
        self.raw.close()

    def commit(self) -> None:
        if self.reading:
            raise RuntimeError("a reading unit of work never commits")
        self.ledger.flush()  # the envelope locks it takes last until this commit only
        self.conn.flush()
        self.tx.commit()

    def current_workflow(self, key: str) -> WorkflowMachine:
        return self.registry.current(self.conn, key, self.now)

    def workflow_of(self, key: str, version: int) -> WorkflowMachine:
        return self.registry.pinned(self.conn, key, version)

    def program_for_holds(self, program_id: int) -> tuple[Program, dict[str, Envelope]]:
        """The lock, the envelopes and the load go in one round trip, in that order."""
        self.programs.lock(program_id)
        self.ledger.prefetch_envelopes(program_id)
        program = self.programs.get(program_id, lock=True)
        content = program.content
        return program, self.ledger.envelopes_to_hold(
            program_id, content.requests, content.fiscal_year
        )


class SqlUnitOfWorkFactory:
    def __init__(
        self,
        engine: Engine,
        registry: DefinitionRegistry,
        clock: Callable[[], datetime],
        default_workflow: str = DEFAULT_WORKFLOW,
        renderer: Renderer | None = None,
        file_store: StoreFactory = DatabaseFileStore,
        max_file_bytes: int = DEFAULT_MAX_BYTES,
        wake_relay: bool = False,
    ) -> None:
        """``wake_relay``: a deployment's request path, whose outbox messages wake the
        relay process at commit (a worker publishes its own, see ``PublishingDispatcher``)."""
        self.engine = engine
        self.registry = registry
        self.clock = clock
        self.default_workflow = default_workflow
        self.renderer = renderer or TemplateRenderer(DEFAULT_BASE_URL)
        self.file_store = file_store  # where attached files' bytes go (``file_store``)
        self.max_file_bytes = max_file_bytes
        self.wake_relay = wake_relay

    def __call__(self, contended: bool = False, reading: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(
            self.engine,
            self.registry,
            self.clock,
            self.default_workflow,
            self.renderer,
            contended,
            reading,
            self.file_store,
            self.max_file_bytes,
            self.wake_relay,
        )

    def is_transient(self, error: BaseException) -> bool:
        """Lost races, deadlocks, serialization failures and a busy SQLite file are worth
        a retry."""
        if isinstance(error, LostRace):
            return True
        if not isinstance(error, DBAPIError):
            return False
        if error.connection_invalidated:  # the server restarted or dropped us
            return True
        state: Any = getattr(error.orig, "sqlstate", None)
        if state in TRANSIENT_SQLSTATES:
            return True
        return isinstance(error, OperationalError) and "locked" in str(error.orig)
