"""What the service layer needs of a unit of work (implemented in ``adapters``).

A unit of work is one database transaction: it rolls back unless ``commit()`` is
called, and every repository it hands out works inside that transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from workflow.domain.machine import WorkflowMachine


class LostRace(Exception):
    """An optimistic read was overtaken before the commit: the transaction rolls back and
    the bus runs the command again with ``contended=True`` (locks taken as rows are read)."""


class UnitOfWork(Protocol):
    now: datetime
    programs: Any
    directory: Any
    ledger: Any
    events: Any
    outbox: Any
    schedule: Any
    tasks: Any
    reminders: Any
    notifications: Any

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(self, *exc: object) -> None: ...
    def commit(self) -> None: ...
    def current_workflow(self, key: str) -> WorkflowMachine: ...
    def workflow_of(self, key: str, version: int) -> WorkflowMachine: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, contended: bool = False) -> UnitOfWork: ...
    def is_transient(self, error: BaseException) -> bool: ...
