"""Whom a rule tells (``messaging.RECIPIENTS``), resolved against the directory and the
program's live tasks when the message is decided.

A queue's people are the claimant of a claimed task, else every member of its queue
(organization + role): the same people the inbox shows the task to. Whoever of them is
on leave has their work routed to their delegate today (``delegation.final_delegates``),
so the delegate is told too, with whom they stand in for; a person both in the queue
and a delegate is told once, as a member. Each recipient comes with the party and due
time of the task that makes them one.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from workflow.domain import messaging as m
from workflow.domain.calendar import seoul_date
from workflow.domain.delegation import final_delegates
from workflow.domain.errors import NotFound
from workflow.domain.permissions import User
from workflow.domain.program import Program
from workflow.service_layer.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Recipient:
    user: User
    party: str | None = None  # the party the person acts for here (a task's)
    due_at: datetime | None = None  # when the task that makes them one is due
    stands_in_for: tuple[User, ...] = ()  # whose work routes to them (a delegate's)


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
    people: list[Recipient] = []
    members: dict[str, list[User]] = {}
    routed: dict[str, str] | None = None  # delegator -> delegate today, read once if needed
    for task in uow.tasks.live_of_program(program.id):
        if task.kind != kind:
            continue
        told: list[Recipient] = []
        if task.claimed_by:
            with suppress(NotFound):
                told.append(Recipient(uow.directory.user(task.claimed_by), task.party, task.due_at))
        else:
            if task.queue_org not in members:
                members[task.queue_org] = uow.directory.users(task.queue_org)
            told = [
                Recipient(u, task.party, task.due_at)
                for u in members[task.queue_org]
                if u.has(task.queue_role)
            ]
        if routed is None:
            routed = final_delegates(uow.directory.delegations(), seoul_date(uow.now))
        people += told + _delegates(uow, told, routed)
    return people


def _delegates(uow: UnitOfWork, told: list[Recipient], routed: dict[str, str]) -> list[Recipient]:
    """The delegates of the people ``told`` of one task, each naming whom they stand in
    for (one delegate may stand in for several)."""
    standing: dict[str, list[User]] = {}
    for person in told:
        to = routed.get(person.user.email)
        if to is not None:
            standing.setdefault(to, []).append(person.user)
    found = []
    for email, delegators in sorted(standing.items()):
        with suppress(NotFound):  # a delegate no longer in the directory is not told
            first = told[0]
            found.append(
                Recipient(uow.directory.user(email), first.party, first.due_at, tuple(delegators))
            )
    return found


def by_rule(
    uow: UnitOfWork, on: str, program: Program, parties: Sequence[str] = ()
) -> list[tuple[m.Rule, Recipient]]:
    """Each person the rules for ``on`` name, once per kind, by email."""
    chosen: dict[tuple[str, str], tuple[m.Rule, Recipient]] = {}
    for rule in m.rules_for(on):
        for person in resolve(uow, rule.recipients, program, parties):
            chosen.setdefault((rule.kind, person.user.email), (rule, person))
    return [chosen[k] for k in sorted(chosen)]
