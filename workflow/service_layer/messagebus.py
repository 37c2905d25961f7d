"""The message bus: runs each command in its own unit of work, then lets the outbox go.

Every write is a command through ``handle``; reads (``query``, ``view``) run in a
transaction that never commits, and ``view`` knows who is looking. A refused command
changes nothing (its transaction rolls back) and is recorded as an ``ActionRefused``
event in a transaction of its own; so is a read refused for want of permission.
Transient database errors (lost optimistic races, deadlocks, serialization failures, a
busy SQLite file) retry the whole command, locking up front the second time.
After commit the dispatcher takes the outbox: in-process in the embedded default,
a Celery relay in a deployment. Deliveries a transaction marked (a worker's notices, a
claimed batch of due ones) the courier makes once the marks have committed, and
reconciles them in a transaction of its own.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from workflow.domain import events as ev
from workflow.domain.commands import BeginDeliveries, Command
from workflow.domain.errors import NotFound, NotPermitted, WorkflowError
from workflow.domain.events import OPERATOR, SYSTEM, Event, program_stream
from workflow.domain.people import ensure_active
from workflow.domain.text import EMAIL_MAX, TEXT_MAX, recorded
from workflow.domain.visibility import OPERATOR_VIEW, Viewer
from workflow.service_layer.courier import Courier, NoChannels
from workflow.service_layer.handlers import HANDLERS, MESSAGE_COMMANDS
from workflow.service_layer.handlers.common import Probed
from workflow.service_layer.ports import Attempt, AttemptBatch
from workflow.service_layer.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)
SYSTEM_STREAM = "system"
T = TypeVar("T")


@dataclass(frozen=True)
class _Done:
    """A command's result, the outbox ids it left (see ``_queued``), the attempts it marked."""

    result: Any
    queued: Sequence[int] | None
    begun: Sequence[Attempt]


class Dispatcher(Protocol):
    def after_commit(self, bus: MessageBus) -> None:
        """A command committed outbox messages."""

    def after_message(self, bus: MessageBus) -> None:
        """A worker's outbox message committed outbox messages of its own."""


class MessageBus:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        dispatcher: Dispatcher,
        courier: Courier | None = None,
        retries: int = 5,
    ) -> None:
        self.uow = uow
        self.dispatcher = dispatcher
        self.courier = courier or Courier(NoChannels())
        self.retries = retries
        self.inline = dispatcher if isinstance(dispatcher, InlineDispatcher) else None

    def handle(self, cmd: Command) -> Any:
        handler = HANDLERS[type(cmd)]
        try:
            done = self._in_transaction(lambda uow: self._done(uow, handler(cmd, uow)))
        except WorkflowError as err:
            self.record_refusal(cmd, err)
            raise
        self._make_attempts(done.begun)
        if done.queued is None:  # most actions send nothing: spare them a look at the outbox
            return done.result
        if self.inline is not None:
            self.inline.carry_out(self, done.queued)
        else:
            self.dispatcher.after_commit(self)
        return done.result

    def handle_message(self, message_id: int) -> None:
        """Carry out one outbox message, once: a duplicate delivery finds it done. What
        it wrote to the outbox in turn is the dispatcher's to send on (``after_message``)."""
        self.handle_messages((message_id,))

    def handle_messages(self, message_ids: Sequence[int]) -> None:
        """``handle_message`` for a relay's group of notices (``TOGETHER``), carried out
        in one transaction: one commit and one reconciliation of their mails."""
        if self.carry_out(*message_ids) is not None:
            self.dispatcher.after_message(self)

    def carry_out(self, *message_ids: int) -> Sequence[int] | None:
        """``handle_messages``' work; what it leaves in the outbox (see ``_queued``). A
        group with a refused message is carried out again one by one: the refusal is
        that message's, not its neighbours'."""

        def run(uow: UnitOfWork) -> _Done:
            results = []
            for message_id in message_ids:
                msg = uow.outbox.take(message_id, uow.now)
                if msg is None:  # done before: a duplicate delivery
                    continue
                cmd = MESSAGE_COMMANDS[msg.task](msg)
                if isinstance(cmd, BeginDeliveries):  # a batch of the courier's size
                    cmd = replace(cmd, limit=self.courier.batch_size)
                results.append(HANDLERS[type(cmd)](cmd, uow))
            return self._done(uow, results) if results else _Done([], None, ())

        try:
            done = self._in_transaction(run)
        except WorkflowError as err:
            if len(message_ids) > 1:
                left = [self.carry_out(i) for i in message_ids]
                found = [q for q in left if q is not None]
                return [i for q in found for i in q] if found else None
            log.warning("outbox message %s refused: %s", message_ids[0], err)
            refusal = err
            self._in_transaction(lambda uow: self._dead_letter(uow, message_ids[0], refusal))
            return None
        for result in done.result:
            if isinstance(result, AttemptBatch):  # marked and committed: now they may leave
                self._make_attempts(result.attempts)
        self._make_attempts(done.begun)
        return done.queued

    def _done(self, uow: UnitOfWork, result: Any) -> _Done:
        """What a transaction leaves to do once it has committed."""
        return _Done(result, self._queued(uow), tuple(uow.deliveries.begun))

    def _make_attempts(self, attempts: Sequence[Attempt]) -> None:
        """Attempts marked in a committed transaction: made, then reconciled, a courier's
        batch at a time (what a crash can leave sent but not reconciled: one batch)."""
        size = self.courier.batch_size
        for start in range(0, len(attempts), size):
            self.courier.carry_out_batch(self, AttemptBatch(tuple(attempts[start : start + size])))

    def _queued(self, uow: UnitOfWork) -> Sequence[int] | None:
        """None if the transaction wrote no outbox message; else, for the in-process
        dispatcher, the outbox's pending ids read in this same transaction (sparing it a
        transaction of its own to look: two per submission), and for a relay nothing."""
        if not uow.outbox.added:
            return None
        return uow.outbox.pending_ids(InlineDispatcher.BATCH) if self.inline is not None else ()

    def pending_messages(self, limit: int = 100) -> list[int]:
        return self.query(lambda uow: uow.outbox.pending_ids(limit))

    def query(self, reader: Callable[[Any], T]) -> T:
        """Run a read in a transaction of its own that never commits. Read models (views,
        reports) are the adapters' and take the deployment's own unit of work."""
        return self._in_transaction(reader, reading=True)

    def view(self, reader: Callable[[Any, Viewer], T], viewer: str | None) -> T:
        """A read as ``viewer`` (an email) may see it; None: the operator, who sees all."""

        def read(uow: UnitOfWork) -> T:
            who = OPERATOR_VIEW if viewer is None else uow.directory.viewer(viewer)
            if who.user is not None:
                ensure_active(who.user)  # a deactivated person reads nothing either
            return reader(uow, who)

        try:
            return self.query(read)
        except NotPermitted as err:  # "not found" (an unseen program) is not a refusal
            data = {"query": getattr(reader, "__name__", "read"), "code": err.code}
            reason = recorded(err.message, TEXT_MAX)
            self._audit_refusal({**data, "reason": reason}, viewer, program_id=None)
            raise

    def allowed(self, commands: Sequence[Command]) -> list[bool]:
        """Whether each command would be carried out now: its handler runs every check and
        the domain's step, and stops where it would write (``Probed``), all in one
        transaction that never commits. What a page offers is what the handlers allow."""

        def probe(uow: UnitOfWork) -> list[bool]:
            uow.probing = True
            answers = []
            for cmd in commands:
                try:
                    HANDLERS[type(cmd)](cmd, uow)
                except Probed:
                    answers.append(True)
                except WorkflowError:
                    answers.append(False)
                else:  # a handler that never saves a program cannot be probed
                    raise AssertionError(f"{type(cmd).__name__} wrote nothing to probe")
            return answers

        return self.query(probe)

    def _in_transaction(self, work: Callable[[UnitOfWork], T], reading: bool = False) -> T:
        for attempt in range(1, self.retries + 1):
            try:
                # After a lost race or a deadlock, take the locks up front this time.
                with self.uow(contended=attempt > 1, reading=reading) as uow:
                    result = work(uow)
                    if not reading:
                        uow.commit()
                    return result
            except WorkflowError:
                raise
            except Exception as err:
                if attempt < self.retries and self.uow.is_transient(err):
                    log.info("transient database error, attempt %s: %s", attempt, err)
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def record_refusal(self, cmd: Command, err: WorkflowError) -> None:
        """Audit a refused attempt; it goes on the program's stream when there is one (a
        task's command: its task's program), naming the task or the message it was about.
        The acting user and the reason are kept as far as they can be stored: a refused
        command's text was never checked."""
        task_id = getattr(cmd, "task_id", None)
        message_id = getattr(cmd, "notification_id", None)
        data: dict[str, Any] = {
            "command": type(cmd).__name__,
            "code": err.code,
            "reason": recorded(err.message, TEXT_MAX),
            **({"task": task_id} if task_id is not None else {}),
            **({"notification": message_id} if message_id is not None else {}),
        }
        self._audit_refusal(data, cmd.actor, getattr(cmd, "program_id", None), task_id)

    def _audit_refusal(
        self,
        data: dict[str, Any],
        actor: str | None,
        program_id: int | None,
        task_id: int | None = None,
    ) -> None:
        by = recorded(actor, EMAIL_MAX) if actor else OPERATOR  # a garbage --as stays storable

        def record(uow: UnitOfWork) -> None:
            stream, found = SYSTEM_STREAM, program_id
            if found is None and task_id is not None:
                with suppress(NotFound):
                    found = uow.tasks.get(task_id).program_id
            # The program's row lock: its stream's writers rely on it (see event_store).
            if found is not None and uow.programs.exists(found, lock=True):
                stream = program_stream(found)
            elif found is not None:
                data["program_id"] = found
            uow.events.append(stream, [Event(ev.ACTION_REFUSED, data)], by, uow.now)

        self._in_transaction(record)

    @staticmethod
    def _dead_letter(uow: UnitOfWork, message_id: int, err: WorkflowError) -> None:
        msg = uow.outbox.take(message_id, uow.now)
        if msg is None:
            return
        uow.events.append(
            SYSTEM_STREAM,
            [
                Event(
                    ev.ACTION_REFUSED,
                    {
                        "command": msg.task,
                        "code": err.code,
                        "reason": err.message,
                        "message_id": message_id,
                    },
                )
            ],
            SYSTEM,
            uow.now,
        )


class InlineDispatcher:
    """Embedded default: run what the outbox holds in this process, before returning.

    The bus hands over the ids pending when the command committed (``carry_out``);
    each message carried out reports those pending after it, until none are left."""

    BATCH = 100  # ids read at a time; a full batch means: look again once it is done
    BOUND = 100_000  # a bound, not a budget: messages carried out for one command

    def carry_out(self, bus: MessageBus, pending: Sequence[int]) -> None:
        queue, seen, full = deque(pending), set(pending), len(pending) >= self.BATCH
        for _ in range(self.BOUND):
            if not queue and full:
                fresh = bus.pending_messages(self.BATCH)
                queue.extend(fresh)
                seen.update(fresh)
                full = len(fresh) >= self.BATCH
            if not queue:
                return
            later = bus.carry_out(queue.popleft()) or ()
            full = full or len(later) >= self.BATCH
            queue.extend(i for i in later if i not in seen)
            seen.update(later)
        log.error("outbox still not empty after %s messages", self.BOUND)

    def after_commit(self, bus: MessageBus) -> None:
        self.carry_out(bus, bus.pending_messages(self.BATCH))

    def after_message(self, bus: MessageBus) -> None:
        return None  # the round under way in carry_out takes them next


class RelayDispatcher:
    """Deployment: the relay process publishes the outbox; nothing on the request path."""

    def after_commit(self, bus: MessageBus) -> None:
        return None

    def after_message(self, bus: MessageBus) -> None:
        return None  # the relay sends them (a worker's bus publishes them at once)
