"""Whom a rule tells (``messaging.RECIPIENTS``), resolved against the directory and the
program's live tasks when the message is decided.

A queue's people are the claimant of a claimed task, else every member of its queue
(organization + role): the same people the inbox shows the task to. Each recipient
comes with the party and due time of the task that makes them one.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from workflow.domain import messaging as m
from workflow.domain.errors import NotFound
from workflow.domain.permissions import User
from workflow.domain.program import Program
from workflow.service_layer.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Recipient:
    user: User
    party: str | None = None  # the party the person acts for here (a task's)
    due_at: datetime | None = None  # when the task that makes them one is due


def resolve(
    uow: UnitOfWork, who: str, program: Program, parties: Sequence[str] = ()
) -> list[Recipient]:
    """The people ``who`` names for ``program`` (``parties``: a notice's), by email."""
    found: list[Recipient] = []
    if who == m.COORDINATOR:
        with suppress(NotFound):  # a coordinator no longer in the directory is not told
            found.append(Recipient(uow.directory.user(program.created_by)))
    elif who == m.NOTICE_OFFICERS:
        found = [
            Recipient(u, party)
            for party in parties
            for u in uow.directory.users(party)
            if u.has("budget_officer")
        ]
    elif who in m.QUEUE_OF:
        found = _queue_people(uow, program, m.QUEUE_OF[who])
    else:
        raise ValueError(f"recipients {who!r} are not resolved for program events")
    unique: dict[str, Recipient] = {}
    for r in found:
        if r.user.active:  # a deactivated person is told nothing (domain.people)
            unique.setdefault(r.user.email, r)
    return [unique[e] for e in sorted(unique)]


def _queue_people(uow: UnitOfWork, program: Program, kind: str) -> list[Recipient]:
    assert program.id is not None
    people = []
    members: dict[str, list[User]] = {}
    for task in uow.tasks.live_of_program(program.id):
        if task.kind != kind:
            continue
        if task.claimed_by:
            with suppress(NotFound):
                people.append(
                    Recipient(uow.directory.user(task.claimed_by), task.party, task.due_at)
                )
            continue
        if task.queue_org not in members:
            members[task.queue_org] = uow.directory.users(task.queue_org)
        people += [
            Recipient(u, task.party, task.due_at)
            for u in members[task.queue_org]
            if u.has(task.queue_role)
        ]
    return people


def by_rule(
    uow: UnitOfWork, on: str, program: Program, parties: Sequence[str] = ()
) -> list[tuple[m.Rule, Recipient]]:
    """Each person the rules for ``on`` name, once per kind, by email."""
    chosen: dict[tuple[str, str], tuple[m.Rule, Recipient]] = {}
    for rule in m.rules_for(on):
        for person in resolve(uow, rule.recipients, program, parties):
            chosen.setdefault((rule.kind, person.user.email), (rule, person))
    return [chosen[k] for k in sorted(chosen)]
