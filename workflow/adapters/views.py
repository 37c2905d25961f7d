"""Read models for people and scripts: program details, lists, history, budget, pipeline.

Plain dictionaries, the same for ``--json`` and for the human tables the CLI prints.
They read in a unit of work's transaction and never change anything.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select

from workflow.adapters.orm import party_decisions, program_requests, programs
from workflow.domain.errors import NotFound
from workflow.domain.events import program_stream


def program_detail(uow: Any, program_id: int) -> dict[str, Any]:
    p = uow.programs.get(program_id)
    c = p.content
    return {
        "id": p.id, "title": c.title, "state": p.state,
        "workflow": f"{p.workflow_key}@{p.workflow_version}", "org": p.org,
        "category": c.category, "year": c.fiscal_year,
        "start": c.start.isoformat() if c.start else None,
        "end": c.end.isoformat() if c.end else None,
        "description": c.description, "review_round": p.review_round,
        "parties": {party: d.decision for party, d in p.decisions.items()},
        "requested": dict(sorted(c.requests.items())),
        "holds": dict(sorted(p.holds.items())),
        "holds_expire_at": p.holds_expire_at.isoformat() if p.holds_expire_at else None,
        "committed": dict(sorted(p.committed.items())),
        "disbursed": dict(sorted(p.disbursed.items())),
        "report": _report(p),
        "evaluations": {party: {"verdict": e.verdict, "score": e.score, "by": e.by,
                                "comment": e.comment} for party, e in p.evaluations.items()},
        "scheduled": [{"action": w["action"], "due_at": w["due_at"].isoformat()}
                      for w in uow.schedule.pending(program_id)],
        "waiting_on": p.waiting_on(), "created_by": p.created_by,
    }


def _report(p: Any) -> dict[str, Any] | None:
    if p.report is None:
        return None
    return {"spent": dict(sorted(p.report.spent.items())), "summary": p.report.summary,
            "by": p.report.by, "file": p.report.attachment, "round": p.evaluation_round}


def ledger_entries(uow: Any, party: str | None = None,
                   program_id: int | None = None) -> list[dict[str, Any]]:
    return [{"id": e["id"], "at": e["created_at"].isoformat(), "party": e["party"],
             "year": e["fiscal_year"], "program": e["program_id"], "kind": e["kind"],
             "source": e["source"], "amount": e["amount"], "key": e["idempotency_key"],
             "actor": e["actor"]}
            for e in uow.ledger.entries(party, program_id)]


def program_list(uow: Any, state: str | None = None, org: str | None = None,
                 waiting_on: str | None = None) -> list[dict[str, Any]]:
    conn = uow.conn
    query = select(programs.c.id, programs.c.title, programs.c.state, programs.c.org_key,
                   programs.c.category, programs.c.fiscal_year).order_by(programs.c.id)
    if state:
        query = query.where(programs.c.state == state)
    if org:
        query = query.where(programs.c.org_key == org)
    if waiting_on:
        pending = select(party_decisions.c.program_id).where(
            party_decisions.c.party == waiting_on, party_decisions.c.decision == "pending")
        query = query.where(programs.c.state == "in_review", programs.c.id.in_(pending))
    rows = conn.execute(query).all()
    ids = [r.id for r in rows]
    requested: dict[int, dict[str, int]] = defaultdict(dict)
    waiting: dict[int, list[str]] = defaultdict(list)
    if ids:
        for r in conn.execute(select(program_requests).where(
                program_requests.c.program_id.in_(ids))):
            requested[r.program_id][r.party] = int(r.amount)
        for d in conn.execute(select(party_decisions.c.program_id, party_decisions.c.party)
                              .where(party_decisions.c.program_id.in_(ids),
                                     party_decisions.c.decision == "pending")
                              .order_by(party_decisions.c.party)):
            waiting[d.program_id].append(d.party)
    return [{"id": r.id, "title": r.title, "state": r.state, "org": r.org_key,
             "category": r.category, "year": r.fiscal_year,
             "requested": dict(sorted(requested[r.id].items())),
             "waiting_on": waiting[r.id] if r.state == "in_review" else []}
            for r in rows]


def program_history(uow: Any, program_id: int) -> list[dict[str, Any]]:
    if not uow.programs.exists(program_id):
        raise NotFound(f"program {program_id} does not exist", program=program_id)
    return [{"seq": e.seq, "type": e.type, "actor": e.actor, "at": e.at,
             "data": json.loads(e.data)}
            for e in uow.events.history(program_stream(program_id))]


def budget_report(uow: Any, year: int | None = None) -> list[dict[str, Any]]:
    return [{"party": e.party, "year": e.year, "amount": e.amount, "held": e.held,
             "committed": e.committed, "disbursed": e.disbursed, "available": e.available}
            for e in uow.ledger.report(year)]


def pipeline(uow: Any) -> dict[str, int]:
    rows = uow.conn.execute(select(programs.c.state, func.count()).group_by(programs.c.state))
    return {state: int(n) for state, n in rows}
