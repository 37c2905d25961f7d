"""The scheduled worker: one due row of work (a run's start or end, a hold's expiry)."""

from __future__ import annotations

from dataclasses import dataclass

from workflow.domain import commands as c
from workflow.domain.errors import NotFound
from workflow.domain.events import SYSTEM
from workflow.service_layer.handlers.common import machine_of, save_program
from workflow.service_layer.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class WorkOutcome:
    """What became of one row: ``action`` (None when the row was not run) and ``outcome``
    (done, nothing to do, not due, already done)."""

    action: str | None
    outcome: str

    def __str__(self) -> str:
        return f"{self.action}: {self.outcome}" if self.action else self.outcome


def run_scheduled(cmd: c.RunScheduled, uow: UnitOfWork) -> WorkOutcome:
    """Carry out one due row once; a sweep that comes second finds it done."""
    work = uow.schedule.get(cmd.work_id)
    if work is None:
        raise NotFound(f"no scheduled work {cmd.work_id}")
    if work.done:
        return WorkOutcome(None, "already done")
    program = uow.programs.get(work.program_id, lock=True)
    work = uow.schedule.get(cmd.work_id, lock=True)  # again, now under the program's lock
    if work is None or work.done:
        return WorkOutcome(None, "already done")
    if work.due_at > uow.now:
        return WorkOutcome(None, "not due")
    done = program.run_scheduled(machine_of(uow, program), work.action, uow.now)
    outcome = "done" if done else "nothing to do"
    uow.schedule.mark_done(work.id, uow.now, outcome)
    if program.events:
        save_program(uow, program, SYSTEM)
    return WorkOutcome(work.action, outcome)
