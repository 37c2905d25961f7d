"""The coordinator reports what was spent; each party's evaluators accept or return it."""

from __future__ import annotations

import hashlib

from workflow.domain import commands as c
from workflow.domain.permissions import ensure_may_fire
from workflow.domain.program import VERDICTS, EvaluationReport, check_verdict
from workflow.domain.program.rounds import EVALUATION
from workflow.service_layer.handlers.common import (
    acting_user_and_program,
    machine_of,
    party_acting,
    save_program,
)
from workflow.service_layer.unit_of_work import UnitOfWork


def submit_report(cmd: c.SubmitReport, uow: UnitOfWork) -> int:
    user, program = acting_user_and_program(uow, cmd.actor, cmd.program_id)
    machine = machine_of(uow, program)
    ensure_may_fire(user, machine.definition, "report", program, "report on")
    file, attachment = cmd.file, None
    if file is not None:
        digest = hashlib.sha256(file.content).hexdigest()
        attachment = {"name": file.name, "size": len(file.content), "sha256": digest}
    report = EvaluationReport(dict(cmd.spent), cmd.summary, user.email, attachment)
    program.submit_report(machine, report)
    if file is not None:
        uow.programs.add_report_file(program, file.name, file.content, digest, uow.now)
    return save_program(uow, program, user.email, user.org)


def evaluate_report(cmd: c.EvaluateReport, uow: UnitOfWork) -> int:
    user, program = acting_user_and_program(uow, cmd.actor, cmd.program_id)
    machine = machine_of(uow, program)
    check_verdict(cmd.verdict, cmd.score)
    trigger = VERDICTS[cmd.verdict][2]
    party, acting_for = party_acting(
        uow, user, program, trigger, EVALUATION.verb, program.parties, EVALUATION.parties
    )
    program.evaluate(machine, party, cmd.verdict, user.email, cmd.score, cmd.comment, acting_for)
    return save_program(uow, program, user.email, party)
