"""What every handler shares: the acting user, the program's machine, and saving a
program together with everything its change sets in motion."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from workflow.domain.calendar import add_business_days, seoul_date
from workflow.domain.delegation import act_as
from workflow.domain.errors import NotPermitted, PreconditionFailed
from workflow.domain.events import program_stream
from workflow.domain.machine import WorkflowMachine
from workflow.domain.messaging import NOTIFIED_EVENTS
from workflow.domain.notices import budget_notices
from workflow.domain.people import ensure_active
from workflow.domain.permissions import ProgramLike, User, ensure_may_fire
from workflow.domain.program import Program
from workflow.domain.tasks import tasks_for
from workflow.domain.visibility import ensure_may_act_on
from workflow.service_layer.outgoing import NOTIFY
from workflow.service_layer.ports import Asked
from workflow.service_layer.unit_of_work import UnitOfWork

T = TypeVar("T")

# Outbox task names: what a worker carries out after the change commits.
PLACE_HOLDS = "jointflow.place_holds"
RETRY_WAITLISTED = "jointflow.retry_waitlisted"
BUDGET_NOTICE = "jointflow.budget_notice"
DIRECTORY_STREAM = "directory"


def actor_email(cmd_actor: str | None) -> str:
    if not cmd_actor:
        raise NotPermitted("this action needs an acting user", reason="no_actor", needs="actor")
    return cmd_actor


def acting_user(uow: UnitOfWork, actor: str | None) -> User:
    user = uow.directory.user(actor_email(actor))
    ensure_active(user)
    return user


def acting_user_and_program(
    uow: UnitOfWork, actor: str | None, program_id: int
) -> tuple[User, Program]:
    """The acting user and the program, locked; a program they may not see is not found."""
    user, program = uow.programs.get_locked_as(actor_email(actor), program_id)
    ensure_active(user)
    ensure_may_act_on(user, program_id, program.org, bool(program.submitted_by))
    return user, program


def check_version(program: Program, expected: int | None) -> None:
    """Optimistic concurrency for callers that read first (HTTP ``If-Match``): checked
    under the program's row lock, so of two writers holding one version only one lands."""
    if expected is not None and program.version != expected:
        raise PreconditionFailed(
            f"program {program.id} changed since version {expected} (now {program.version})",
            reason="stale_version",
            program=program.id,
            expected_version=expected,
            version=program.version,
        )


def machine_of(uow: UnitOfWork, program: Program) -> WorkflowMachine:
    """The machine of the definition version the program is pinned to."""
    return uow.workflow_of(program.workflow_key, program.workflow_version)


def acting(
    uow: UnitOfWork, user: User, program: ProgramLike, check: Callable[[User], T], verb: str
) -> tuple[T, str | None]:
    """``check``'s grant to the user, or to someone they stand in for today (대결)."""
    return act_as(
        user,
        program,
        check,
        lambda: uow.directory.delegators_of(user.email, seoul_date(uow.now)),
        verb,
    )


def party_acting(
    uow: UnitOfWork,
    user: User,
    program: Program,
    trigger: str,
    verb: str,
    parties: Iterable[str],
    step: str,
) -> tuple[str, str | None]:
    """The party a user acts for in a party step (review, funding, evaluation), by the
    definition's actor for ``trigger``, and whom they stand in for (None: themselves)."""
    definition = machine_of(uow, program).definition
    party, acting_for = acting(
        uow,
        user,
        program,
        lambda member: ensure_may_fire(member, definition, trigger, program, verb, parties, step),
        verb,
    )
    assert party is not None  # a party step's check names the party
    return party, acting_for


# -- saving: the change, and the reactions it sets off, in one transaction --

Reaction = Callable[[UnitOfWork, Program, Asked | None, str, str | None], None]


class Probed(Exception):  # noqa: N818 - not an error: the answer "yes, allowed"
    """A probing handler got as far as saving: every check passed (``bus.allowed``)."""


def save_program(
    uow: UnitOfWork, program: Program, actor: str, actor_org: str | None = None
) -> int:
    """Persist the program and run every reaction to its change (``REACTIONS``).

    ``actor_org``: the acting user's organization (its tasks count as completed)."""
    if uow.probing:
        raise Probed
    asked_before = None if program.id is None else uow.programs.asked_when_loaded(program.id)
    if program.id is None:
        uow.programs.add(program, uow.now)
    else:
        uow.programs.save(program, uow.now)
    for react in REACTIONS:
        react(uow, program, asked_before, actor, actor_org)
    program.events.clear()
    program.ledger_moves.clear()
    assert program.id is not None
    return program.id


def sync_tasks(
    uow: UnitOfWork, program: Program, before: Asked | None, actor: str, actor_org: str | None
) -> None:
    """Open the tasks the program now asks for and close the ones it no longer does."""
    asked_now = (program.state, tuple(program.pending_parties()))
    if asked_now == before:
        return  # most actions leave the queues as they were: no statement at all
    assert program.id is not None
    definition = machine_of(uow, program).definition
    old = tasks_for(definition, before[0], program.org, before[1]) if before else frozenset()
    new = tasks_for(definition, program.state, program.org, asked_now[1])
    closed: list[int] = []
    for spec in sorted(old - new):
        close = uow.tasks.complete if spec.org == actor_org else uow.tasks.cancel
        closed += close(program.id, spec, actor, uow.now)
    uow.reminders.void(closed)
    sla = {spec: definition.states[program.state].sla_days or 0 for spec in new - old}
    opened = uow.tasks.open(
        program.id, {spec: add_business_days(uow.now, days) for spec, days in sla.items()}, uow.now
    )
    uow.reminders.schedule(program.id, opened, definition.reminders, uow.now)


def write_ledger(
    uow: UnitOfWork, program: Program, _before: Asked | None, actor: str, _org: str | None
) -> None:
    assert program.id is not None
    uow.ledger.apply(program.id, program.ledger_moves, actor, uow.now)


def append_events(
    uow: UnitOfWork, program: Program, _before: Asked | None, actor: str, _org: str | None
) -> None:
    assert program.id is not None
    uow.events.append(program_stream(program.id), program.events, actor, uow.now)


def route_outbox(
    uow: UnitOfWork, program: Program, before: Asked | None, _actor: str, _org: str | None
) -> None:
    """The messages a change sends to the workers, each a row of ``OUTBOX_ROUTES``."""
    for route in OUTBOX_ROUTES:
        for task, payload in route(program, before):
            uow.outbox.add(task, payload, uow.now)


Message = tuple[str, dict[str, object]]


def holds_wanted(program: Program, _before: Asked | None) -> list[Message]:
    """A submitted program waits for the budget worker's holds."""
    assert program.id is not None
    return [(PLACE_HOLDS, {"program_id": program.id})] if program.state == "submitted" else []


def money_freed(program: Program, _before: Asked | None) -> list[Message]:
    """Released or refunded money lets the year's waitlist be retried (a revision that
    moves a program to another fiscal year frees the old year's)."""
    years = sorted({m.year for m in program.ledger_moves if m.kind in ("release", "refund")})
    return [(RETRY_WAITLISTED, {"year": year}) for year in years]


def notices_due(program: Program, before: Asked | None) -> list[Message]:
    """The budget notices the change's events call for."""
    return [
        (
            BUDGET_NOTICE,
            {
                "program_id": program.id,
                "what": n.what,
                "parties": list(n.parties),
                "details": list(n.details),
            },
        )
        for n in budget_notices(
            before[0] if before else None, program.events, program.content.requests
        )
    ]


def route_notifications(
    uow: UnitOfWork, program: Program, _before: Asked | None, actor: str, _org: str | None
) -> None:
    """The change's notable events go to the notification worker, in one message: the
    rules' notices and the organizations' webhooks are decided there, off this path."""
    notable = [e for e in program.events if e.type in NOTIFIED_EVENTS]
    if notable:
        payload = {
            "program_id": program.id,
            "by": actor,
            "at": uow.now.isoformat(),
            "events": [{"type": e.type, "data": e.data} for e in notable],
        }
        uow.outbox.add(NOTIFY, payload, uow.now)


REACTIONS: tuple[Reaction, ...] = (
    sync_tasks,
    write_ledger,
    append_events,
    route_outbox,
    route_notifications,
)
OUTBOX_ROUTES: tuple[Callable[[Program, Asked | None], list[Message]], ...] = (
    holds_wanted,
    money_freed,
    notices_due,
)
