"""The reads behind every door's record of a program: the read model, the names its
sentences show, and the reader's language (their locale; Korean by default) -- the
same for the CLI, the API and the pages."""

from __future__ import annotations

from typing import Any

from workflow.adapters import queues, views
from workflow.adapters.record_views import history_emails, names
from workflow.adapters.unit_of_work import SqlUnitOfWork
from workflow.domain.visibility import Viewer
from workflow.entrypoints.narrative import Narrator, locale_of


def read_show(uow: SqlUnitOfWork, who: Viewer, program_id: int) -> tuple[dict[str, Any], Narrator]:
    detail = views.program_detail(uow, who, program_id)
    return detail, Narrator(locale_of(who), names(uow, detail_emails(detail)))


def read_history(
    uow: SqlUnitOfWork, who: Viewer, program_id: int
) -> tuple[list[dict[str, Any]], Narrator]:
    rows = views.program_history(uow, who, program_id)
    return rows, Narrator(locale_of(who), names(uow, history_emails(rows)))


def read_waiting(uow: SqlUnitOfWork, who: Viewer) -> tuple[list[dict[str, Any]], Narrator]:
    return queues.waiting(uow, who), Narrator(locale_of(who), names(uow, ()))


def detail_emails(detail: dict[str, Any]) -> set[str]:
    found = {detail["created_by"]}
    for d in [*detail["decisions"].values(), *detail["reasons"]]:
        found.update(x for x in (d["by"], d.get("acting_for")) if x)
    return found


def history_with_text(uow: SqlUnitOfWork, who: Viewer, program_id: int) -> list[dict[str, Any]]:
    """The API's events (with the hash chain's fields), each with its sentence (``text``)
    in the reader's language."""
    rows = views.program_history(uow, who, program_id, chain=True)
    tell = Narrator(locale_of(who), names(uow, history_emails(rows)))
    return [{**r, "text": tell.sentence(r)} for r in rows]
