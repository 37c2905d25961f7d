"""The coordinator reports what was spent; each party's evaluators accept or return it."""

from __future__ import annotations

from workflow.domain import commands as c
from workflow.domain.documents import REPORT
from workflow.domain.permissions import ensure_may_fire
from workflow.domain.program import VERDICTS, EvaluationReport, check_verdict
from workflow.domain.program.rounds import EVALUATION
from workflow.service_layer.handlers.common import (
    acting_user_and_program,
    machine_of,
    party_acting,
    save_program,
)
from workflow.service_layer.handlers.documents import attach
from workflow.service_layer.unit_of_work import UnitOfWork


def submit_report(cmd: c.SubmitReport, uow: UnitOfWork) -> int:
    user, program = acting_user_and_program(uow, cmd.actor, cmd.program_id)
    machine = machine_of(uow, program)
    ensure_may_fire(user, machine.definition, "report", program, "report on")
    attachment = None
    if cmd.file is not None:  # checked and kept as the report round's document
        doc = attach(uow, user, program, cmd.file.name, cmd.file.content, REPORT)
        attachment = {"name": doc.name, "size": doc.size, "sha256": doc.sha256}
    report = EvaluationReport(dict(cmd.spent), cmd.summary, user.email, attachment)
    program.submit_report(machine, report)
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
