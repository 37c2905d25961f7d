"""Read models for people and scripts: program details, lists, history, budget, pipeline.

Plain dictionaries, the same for ``--json``, the API and the human tables. They read in
a transaction that never commits, and show each viewer what the domain's visibility
rule lets them see: a program they may not see is "not found".
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select

from workflow.adapters.document_views import files_of
from workflow.adapters.orm import party_decisions, program_requests, programs, tasks
from workflow.adapters.record_views import envelopes_by_key, record_fields, waitlisted_for
from workflow.adapters.unit_of_work import SqlUnitOfWork
from workflow.domain.errors import NotFound
from workflow.domain.events import program_stream
from workflow.domain.messaging import KINDS, REQUIRED_KINDS, channels_for
from workflow.domain.program import REFUND_STATES, Program, check_fiscal_year, refund_due
from workflow.domain.tasks import LIVE, TaskSpec, waiting_on
from workflow.domain.visibility import (
    Viewer,
    budget_parties,
    ensure_may_verify_audit,
    ensure_sees_program,
    program_scope,
)

_req = program_requests.c
NEVER_SUBMITTED = "[]"  # ``programs.submitted_by`` of a program nobody has submitted


def program_detail(uow: SqlUnitOfWork, viewer: Viewer, program_id: int) -> dict[str, Any]:
    p = uow.programs.get(program_id)
    ensure_sees_program(viewer, program_id, p.org, bool(p.submitted_by), p.parties)
    c = p.content
    steps = waiting_on(uow.workflow_of(p.workflow_key, p.workflow_version).definition, p)
    return {
        "id": p.id,
        "title": c.title,
        "state": p.state,
        "workflow": f"{p.workflow_key}@{p.workflow_version}",
        "org": p.org,
        "category": c.category,
        "year": c.fiscal_year,
        "start": c.start.isoformat() if c.start else None,
        "end": c.end.isoformat() if c.end else None,
        "description": c.description,
        "review_round": p.review_round,
        "parties": {party: d.decision for party, d in p.decisions.items()},
        "requested": dict(sorted(c.requests.items())),
        "holds": dict(sorted(p.holds.items())),
        "holds_expire_at": p.holds_expire_at.isoformat() if p.holds_expire_at else None,
        "committed": dict(sorted(p.committed.items())),
        "disbursed": dict(sorted(p.disbursed.items())),
        "refunds_due": p.refunds_due(),
        "report": _report(p),
        "files": files_of(uow, p),
        "evaluations": {
            party: {"verdict": e.verdict, "score": e.score, "by": e.by, "comment": e.comment}
            for party, e in p.evaluations.items()
        },
        "scheduled": [
            {"action": w["action"], "due_at": w["due_at"].isoformat()}
            for w in uow.schedule.pending(program_id)
        ],
        **waiting_fields(steps),
        **record_fields(uow, p),
        "created_by": p.created_by,
        "version": p.version,
    }


def waiting_fields(steps: list[TaskSpec] | list[tuple[str, str]]) -> dict[str, Any]:
    """``waiting_on``: the organizations a program waits on; ``waiting_for``: each one's
    step (``review``, ``commit_funds``, ``evaluate``, or the coordinator's own)."""
    pairs = [(s.org, s.kind) if isinstance(s, TaskSpec) else s for s in steps]
    return {
        "waiting_on": list(dict.fromkeys(org for org, _ in pairs)),
        "waiting_for": [{"org": org, "step": kind} for org, kind in pairs],
    }


def _report(p: Program) -> dict[str, Any] | None:
    if p.report is None:
        return None
    return {
        "spent": dict(sorted(p.report.spent.items())),
        "summary": p.report.summary,
        "by": p.report.by,
        "file": p.report.attachment,
        "round": p.evaluation_round,
    }


def ledger_entries(
    uow: SqlUnitOfWork, viewer: Viewer, party: str | None = None, program_id: int | None = None
) -> list[dict[str, Any]]:
    """A program's entries as far as the program is visible; otherwise the entries of the
    budgets the viewer sees."""
    if program_id is not None:
        _ensure_visible(uow, viewer, program_id)
        shown = None
    else:
        shown = budget_parties(viewer)
    return [
        {
            "id": e["id"],
            "at": e["created_at"].isoformat(),
            "party": e["party"],
            "year": e["fiscal_year"],
            "program": e["program_id"],
            "kind": e["kind"],
            "source": e["source"],
            "amount": e["amount"],
            "key": e["idempotency_key"],
            "actor": e["actor"],
        }
        for e in uow.ledger.entries(party, program_id)
        if shown is None or e["party"] in shown
    ]


def program_list(
    uow: SqlUnitOfWork,
    viewer: Viewer,
    state: str | None = None,
    org: str | None = None,
    waiting_on: str | None = None,
    year: int | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Programs the viewer sees, by id; ``waiting_on``: those with a live step owed by that
    organization (the live tasks are the waiting rule's record). ``after``/``limit``: the
    page of at most ``limit`` programs whose ids follow ``after``."""
    query = (
        select(
            programs.c.id,
            programs.c.title,
            programs.c.state,
            programs.c.org_key,
            programs.c.category,
            programs.c.fiscal_year,
        )
        .where(visible_programs(viewer))
        .order_by(programs.c.id)
    )
    if state:
        query = query.where(programs.c.state == state)
    if org:
        query = query.where(programs.c.org_key == org)
    if waiting_on:
        owed = select(tasks.c.program_id).where(
            tasks.c.state.in_(LIVE), tasks.c.queue_org == waiting_on
        )
        query = query.where(programs.c.id.in_(owed))
    if year is not None:
        query = query.where(programs.c.fiscal_year == year)
    if after is not None:
        query = query.where(programs.c.id > after)
    if limit is not None:
        query = query.limit(limit)
    rows = uow.conn.execute(query).all()
    ids = [r.id for r in rows]
    requested: dict[int, dict[str, int]] = defaultdict(dict)
    steps: dict[int, list[tuple[str, str]]] = defaultdict(list)
    if ids:
        for r in uow.conn.execute(
            select(program_requests).where(program_requests.c.program_id.in_(ids))
        ):
            requested[r.program_id][r.party] = int(r.amount)
        for t in uow.conn.execute(
            select(tasks.c.program_id, tasks.c.queue_org, tasks.c.kind)
            .where(tasks.c.program_id.in_(ids), tasks.c.state.in_(LIVE))
            .order_by(tasks.c.program_id, tasks.c.kind, tasks.c.queue_org)
        ):
            steps[t.program_id].append((t.queue_org, t.kind))
    return [
        {
            "id": r.id,
            "title": r.title,
            "state": r.state,
            "org": r.org_key,
            "category": r.category,
            "year": r.fiscal_year,
            "requested": dict(sorted(requested[r.id].items())),
            **waiting_fields(steps[r.id]),
        }
        for r in rows
    ]


def visible_programs(viewer: Viewer) -> ColumnElement[bool]:
    """The visibility rule's scope as a WHERE clause."""
    scope = program_scope(viewer)
    if scope.everything:
        return programs.c.id.is_not(None)
    own = programs.c.org_key == scope.org
    submitted = programs.c.submitted_by != NEVER_SUBMITTED
    if scope.submitted:
        return or_(own, submitted)
    return or_(own, and_(submitted, _party_of(scope.org)))


def _party_of(org: str | None) -> ColumnElement[bool]:
    """The program has ``org`` among its reviewing parties."""
    d = party_decisions.c
    return exists().where(d.program_id == programs.c.id, d.party == org)


def _ensure_visible(uow: SqlUnitOfWork, viewer: Viewer, program_id: int) -> None:
    org = viewer.user.org if viewer.user else None
    row = uow.conn.execute(
        select(programs.c.org_key, programs.c.submitted_by, _party_of(org).label("party")).where(
            programs.c.id == program_id
        )
    ).first()
    if row is None:
        raise NotFound(
            f"program {program_id} does not exist", reason="no_program", program=program_id
        )
    parties = [org] if row.party and org else []
    ever_submitted = row.submitted_by != NEVER_SUBMITTED
    ensure_sees_program(viewer, program_id, row.org_key, ever_submitted, parties)


def program_history(
    uow: SqlUnitOfWork, viewer: Viewer, program_id: int, chain: bool = False
) -> list[dict[str, Any]]:
    """The program's events, oldest first; ``chain``: with each event's stream, hash and
    its predecessor's hash, so a reader can check the chain themselves."""
    _ensure_visible(uow, viewer, program_id)
    return _history_rows(uow, program_id, chain)


def _history_rows(uow: SqlUnitOfWork, program_id: int, chain: bool = False) -> list[dict[str, Any]]:
    return [
        {
            "seq": e.seq,
            "type": e.type,
            "actor": e.actor,
            "at": e.at,
            "data": json.loads(e.data),
            **({"stream": e.stream, "prev_hash": e.prev_hash, "hash": e.hash} if chain else {}),
        }
        for e in uow.events.history(program_stream(program_id))
    ]


def budget_report(
    uow: SqlUnitOfWork, viewer: Viewer, year: int | None = None
) -> list[dict[str, Any]]:
    shown = budget_parties(viewer)
    if year is not None:
        check_fiscal_year(year)
    owed = refunds_owed(uow, year)
    return [
        {
            "party": e.party,
            "year": e.year,
            "amount": e.amount,
            "held": e.held,
            "committed": e.committed,
            "disbursed": e.disbursed,
            "available": e.available,
            "refund_due": sum(
                r["amount"] for r in owed if (r["party"], r["year"]) == (e.party, e.year)
            ),
        }
        for e in uow.ledger.report(year)
        if shown is None or e.party in shown
    ]


def refunds_owed(uow: SqlUnitOfWork, year: int | None = None) -> list[dict[str, Any]]:
    """Each refund due (program, party, year, amount), by program: the few programs whose
    standing report says less was spent than was paid out."""
    query = (
        select(programs.c.id, programs.c.fiscal_year, programs.c.report, _req.party, _req.disbursed)
        .join_from(programs, program_requests, _req.program_id == programs.c.id)
        .where(programs.c.state.in_(REFUND_STATES), programs.c.report.is_not(None))
        .order_by(programs.c.id, _req.party)
    )
    if year is not None:
        query = query.where(programs.c.fiscal_year == year)
    owed = []
    for r in uow.conn.execute(query):
        spent = json.loads(r.report)["spent"].get(r.party, 0)
        due = refund_due(int(r.disbursed), int(spent))
        if due:
            owed.append({"program": r.id, "party": r.party, "year": r.fiscal_year, "amount": due})
    return owed


def pipeline(uow: SqlUnitOfWork) -> dict[str, int]:
    rows = uow.conn.execute(select(programs.c.state, func.count()).group_by(programs.c.state))
    return {state: int(n) for state, n in rows}


def audit_check(uow: SqlUnitOfWork, viewer: Viewer) -> dict[str, Any]:
    """Every event's hash chain checked: ``ok``, how many events, the first broken one."""
    ensure_may_verify_audit(viewer)
    checked, broken = uow.events.verify()
    return {
        "ok": broken is None,
        "events": checked,
        "broken": broken.describe() if broken else None,
    }


def waitlist(uow: SqlUnitOfWork, viewer: Viewer, year: int | None = None) -> list[dict[str, Any]]:
    """Waitlisted programs the viewer sees, in the order money will reach them."""
    query = (
        select(
            programs.c.id,
            programs.c.title,
            programs.c.org_key,
            programs.c.fiscal_year,
            programs.c.waitlisted_at,
        )  # fmt: skip
        .where(programs.c.state == "waitlisted", visible_programs(viewer))
        .order_by(programs.c.waitlisted_at, programs.c.id)
    )
    if year is not None:
        query = query.where(programs.c.fiscal_year == year)
    rows = uow.conn.execute(query).all()
    requested: dict[int, dict[str, int]] = defaultdict(dict)
    envelopes = envelopes_by_key(uow, year) if rows else {}
    if rows:
        ids = [r.id for r in rows]
        for r in uow.conn.execute(
            select(program_requests).where(program_requests.c.program_id.in_(ids))
        ):
            requested[r.program_id][r.party] = int(r.amount)
    return [
        {
            "id": r.id,
            "title": r.title,
            "org": r.org_key,
            "year": r.fiscal_year,
            "since": r.waitlisted_at.isoformat() if r.waitlisted_at else None,
            "requested": dict(sorted(requested[r.id].items())),
            "waitlisted_for": waitlisted_for(
                uow, "waitlisted", requested[r.id], r.fiscal_year, envelopes
            ),
        }
        for r in rows
    ]


def notification_preferences(uow: SqlUnitOfWork, email: str) -> list[dict[str, Any]]:
    """Each kind of message and the channels it reaches the person on: their choice, or
    the default; ``required``: it cannot be switched off."""
    chosen = uow.preferences.of(email)
    return [
        {
            "kind": kind,
            "channels": list(channels_for(kind, chosen.get(kind))),
            "required": kind in REQUIRED_KINDS,
            "chosen": kind in chosen,
        }
        for kind in KINDS
    ]
