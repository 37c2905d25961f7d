"""The record a person reads about a program: its decisions with who, when and for whom,
the reasons given for setbacks, why it waits for money, and the names behind the
e-mail addresses and keys in its history.

The rules are the domain's (``domain.record``); this module only reads what they need.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select

from workflow.adapters.orm import events, users
from workflow.adapters.unit_of_work import SqlUnitOfWork
from workflow.domain.budget import Envelope
from workflow.domain.events import program_stream
from workflow.domain.program import Program
from workflow.domain.record import (
    DECISION_EVENTS,
    REASONED,
    HistoryRow,
    decisions_of,
    reasons_of,
    why_waitlisted,
)

_TOLD = frozenset(DECISION_EVENTS) | frozenset(REASONED)  # the events the record reads


def record_fields(uow: SqlUnitOfWork, p: Program) -> dict[str, Any]:
    """``decisions``, ``reasons`` and ``waitlisted_for`` of a program's detail: only the
    decision and reason events are read, not the whole history."""
    assert p.id is not None
    history = told_events(uow, p.id)
    return {
        "decisions": decisions_of(history, p.review_round),
        "reasons": reasons_of(history),
        "waitlisted_for": waitlisted_for(uow, p.state, p.content.requests, p.content.fiscal_year),
    }


def waitlisted_for(
    uow: SqlUnitOfWork,
    state: str,
    requests: dict[str, int],
    year: int,
    envelopes: dict[tuple[str, int], Envelope] | None = None,
) -> list[dict[str, Any]]:
    """Why a waitlisted program waits: each short funder with the numbers (requested,
    available, missing). ``envelopes``: already read, by (party, year)."""
    if state != "waitlisted":
        return []
    known = envelopes if envelopes is not None else envelopes_by_key(uow, year)
    mine = {party: env for (party, y), env in known.items() if y == year}
    return [s.as_data() for s in why_waitlisted(state, requests, mine)]


def told_events(uow: SqlUnitOfWork, program_id: int) -> list[dict[str, Any]]:
    """The program's decision and reason events, oldest first, as history rows."""
    e = events.c
    rows = uow.conn.execute(
        # by the (stream, seq) index: the type's own index would scan every program's
        select(e.type, e.actor, e.at, e.data)
        .where(e.stream == program_stream(program_id))
        .order_by(e.seq)
    )
    return [
        {"type": r.type, "actor": r.actor, "at": r.at, "data": json.loads(r.data)}
        for r in rows
        if r.type in _TOLD
    ]


def envelopes_by_key(
    uow: SqlUnitOfWork, year: int | None = None
) -> dict[tuple[str, int], Envelope]:
    return {(e.party, e.year): e for e in uow.ledger.report(year)}


def names(uow: SqlUnitOfWork, emails: Iterable[str]) -> dict[str, Any]:
    """``people``: each known address's name and organization; ``orgs``: each
    organization's name -- what a sentence shows instead of addresses and keys."""
    wanted = sorted({e for e in emails if e and "@" in e})
    people: dict[str, dict[str, str]] = {}
    if wanted:
        for r in uow.conn.execute(
            select(users.c.email, users.c.name, users.c.org_key).where(users.c.email.in_(wanted))
        ):
            people[r.email] = {"name": r.name, "org": r.org_key}
    orgs = {o.key: o.name for o in uow.directory.organizations()}
    return {"people": people, "orgs": orgs}


def history_emails(history: Sequence[HistoryRow]) -> set[str]:
    """The people a history names: who acted, and whom a delegate acted for."""
    found = {e["actor"] for e in history}
    for e in history:
        for key in ("acting_for", "to", "from", "email", "delegate", "delegator"):
            value = e["data"].get(key)
            if isinstance(value, str):
                found.add(value)
    return found
