"""``jointflow demo``: the Paju year, played through the real bus.

Seeds the setting (funders and their 2026 envelopes, schools and centres, approvers,
budget officers, evaluators and supervisors), drafts and submits 25 proposals, and
plays the joint review: change requests and resubmissions, a rejection, a withdrawal,
a refused self-approval, approvals, and waitlisting when the Office of Education's
envelope runs dry. Then the year runs to its end (``demo_year``): funding, tranches,
a cancellation, a lapsed hold that lets the waitlisted program in, evaluation and
settlement. The clock walks from February to December 2026. Every step goes through
the same commands, handlers, outbox and scheduled-work sweep a deployment uses; the
outbox runs in-process.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import func, make_url, select

from config.settings import Settings
from workflow.adapters import views
from workflow.adapters.database import engine_for, upgrade
from workflow.adapters.orm import organizations
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain.calendar import SEOUL
from workflow.domain.errors import InvalidInput, WorkflowError
from workflow.entrypoints import demo_data as d
from workflow.entrypoints.demo_year import play_year
from workflow.entrypoints.output import budget_table, splits, table
from workflow.service_layer.messagebus import MessageBus


class SeasonClock:
    """The demo's clock: starts on the first working day of February and moves on."""

    def __init__(self) -> None:
        self.now = datetime(2026, 2, 2, 0, 30, tzinfo=UTC)  # 09:30 in Seoul

    def __call__(self) -> datetime:
        return self.now

    def advance(self, days: int = 0, minutes: int = 7) -> None:
        self.now += timedelta(days=days, minutes=minutes)

    def today(self) -> date:
        return self.now.astimezone(SEOUL).date()


def run_demo(settings: Settings, reset: bool = False) -> None:
    _prepare_database(settings, reset)
    clock = SeasonClock()
    bus = bootstrap(settings.model_copy(update={"broker_url": None}), clock=clock)
    _seed(bus)
    ids = play_season(bus, clock, click.echo)
    play_year(bus, clock, click.echo, ids)
    _summary(bus)


def _prepare_database(settings: Settings, reset: bool) -> None:
    url = make_url(settings.database_url)
    if reset:
        if url.get_backend_name() != "sqlite" or not url.database:
            raise InvalidInput("--reset only empties the embedded SQLite database")
        engine_for(settings.database_url).dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(url.database + suffix).expanduser().unlink(missing_ok=True)
    engine = engine_for(settings.database_url)
    upgrade(engine)
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(organizations)).scalar():
            raise InvalidInput(
                f"the database at {url.render_as_string(hide_password=True)} already holds data; "
                "the demo needs an empty one (run `jointflow demo --reset` to start over)"
            )


def _seed(bus: MessageBus) -> None:
    for key, name in d.FUNDERS:
        bus.handle(c.AddOrganization(actor=None, key=key, name=name, funder=True))
    for key, name in d.ORGANIZATIONS:
        bus.handle(c.AddOrganization(actor=None, key=key, name=name))
    for email, name, org, roles in d.PEOPLE:
        bus.handle(c.AddUser(actor=None, email=email, name=name, org=org, roles=roles))
        bus.handle(c.SetPassword(actor=None, email=email, password=d.PASSWORD))
    for party, amount in d.ENVELOPES.items():
        bus.handle(c.AddEnvelope(actor=d.OFFICERS[party], party=party, year=d.YEAR, amount=amount))
    click.echo(
        f"Seeded {len(d.FUNDERS)} funders, {len(d.ORGANIZATIONS)} schools and centres, "
        f"{len(d.PEOPLE)} people; envelopes {d.YEAR}: " + splits(d.ENVELOPES)
    )


def play_season(bus: MessageBus, clock: SeasonClock, say: Callable[[str], None]) -> list[int]:
    def state(pid: int) -> dict[str, Any]:
        detail: dict[str, Any] = bus.view(
            lambda uow, who: views.program_detail(uow, who, pid), None
        )
        return detail

    def log(pid: int, what: str) -> None:
        p = state(pid)
        say(
            f"{clock.today()}  #{pid:<2} {what:<40} -> {p['state']}"
            + (f"  (held {splits(p['holds'])})" if p["holds"] and "submit" in what else "")
        )
        for moved in [w for w in waitlisted if state(w)["state"] != "waitlisted"]:
            waitlisted.remove(moved)
            say(
                f"{clock.today()}  #{moved:<2} {'money released: retried from the waitlist':<40}"
                f" -> {state(moved)['state']}"
            )
        if p["state"] == "waitlisted" and pid not in waitlisted:
            waitlisted.append(pid)

    waitlisted: list[int] = []
    ids: list[int] = []
    for org, category, title, city_share, oe_share in d.PROGRAMS:
        ids.append(
            bus.handle(
                c.CreateProgram(
                    actor=d.COORDINATORS[org],
                    title=title,
                    org=org,
                    category=category,
                    requests={"city": city_share, "education_office": oe_share},
                    year=d.YEAR,
                    start=datetime(2026, 3, 2).date(),
                    end=datetime(2026, 12, 17).date(),
                )
            )
        )
    say(f"\n{len(ids)} proposals drafted. Submissions (the budget worker holds each share):")
    for pid, (org, *_rest) in zip(ids, d.PROGRAMS, strict=True):
        clock.advance(minutes=170)
        bus.handle(c.SubmitProgram(actor=d.COORDINATORS[org], program_id=pid))
        log(pid, f"submitted by {org}")

    city, oe = d.APPROVERS["city"], d.APPROVERS["education_office"]
    decide = _decider(bus, clock, log)
    say("\nJoint review:")
    clock.advance(days=7)
    decide(ids[2], city, "request-changes", "상담 인원 산출 근거를 보완해 주세요")
    revised = {"city": 140_000_000, "education_office": 45_000_000}
    bus.handle(
        c.UpdateProgram(
            actor=d.COORDINATORS[d.PROGRAMS[2][0]],
            program_id=ids[2],
            requests=revised,
            description="상담 인원 120명 기준으로 조정",
        )
    )
    clock.advance(days=2)
    bus.handle(c.SubmitProgram(actor=d.COORDINATORS[d.PROGRAMS[2][0]], program_id=ids[2]))
    log(ids[2], "resubmitted with a smaller request")
    decide(ids[4], oe, "request-changes", "안전 계획을 첨부해 주세요")
    bus.handle(
        c.UpdateProgram(
            actor=d.COORDINATORS[d.PROGRAMS[4][0]],
            program_id=ids[4],
            description="안전 계획 첨부 (인솔 교사 4명)",
        )
    )
    bus.handle(c.SubmitProgram(actor=d.COORDINATORS[d.PROGRAMS[4][0]], program_id=ids[4]))
    log(ids[4], "resubmitted, same amounts: holds kept")
    decide(ids[7], oe, "reject", "기존 기초학력 사업과 중복")
    clock.advance(days=1)
    bus.handle(
        c.WithdrawProgram(
            actor=d.COORDINATORS[d.PROGRAMS[11][0]], program_id=ids[11], reason="강사 섭외 불가"
        )
    )
    log(ids[11], "withdrawn by its coordinator")
    try:
        bus.handle(
            c.DecideReview(
                actor=d.COORDINATORS[d.PROGRAMS[0][0]], program_id=ids[0], decision="approve"
            )
        )
    except WorkflowError as err:
        say(f"{clock.today()}  #{ids[0]:<2} refused and audited: {err.message}")
    clock.advance(days=3)
    waiting_on_oe = {ids[20], ids[21]}
    approved = []
    for pid in ids:
        if state(pid)["state"] != "in_review":
            continue
        bus.handle(c.DecideReview(actor=city, program_id=pid, decision="approve"))
        if pid not in waiting_on_oe:
            clock.advance(minutes=30)
            bus.handle(c.DecideReview(actor=oe, program_id=pid, decision="approve"))
            approved.append(pid)
    say(
        f"{clock.today()}  both institutions approve "
        + " ".join(f"#{i}" for i in approved)
        + f" -> approved ({len(approved)})"
    )
    say(
        f"{clock.today()}  city approves "
        + " ".join(f"#{i}" for i in sorted(waiting_on_oe))
        + " -> in_review, waiting on education_office"
    )
    return ids


def _decider(
    bus: MessageBus, clock: SeasonClock, log: Callable[[int, str], None]
) -> Callable[[int, str, str, str], None]:
    def decide(pid: int, actor: str, decision: str, comment: str) -> None:
        clock.advance(minutes=25)
        bus.handle(c.DecideReview(actor=actor, program_id=pid, decision=decision, comment=comment))
        party = "city" if actor.endswith("paju.go.kr") else "education_office"
        log(pid, f"{party}: {decision}")

    return decide


def _summary(bus: MessageBus) -> None:
    pipeline = bus.query(views.pipeline)
    click.echo("\nPipeline (programs per state):")
    click.echo(table(sorted(pipeline.items()), ["state", "programs"]))
    click.echo("\nBudget position per funder:")
    click.echo(budget_table(bus.view(lambda uow, who: views.budget_report(uow, who, d.YEAR), None)))
    checked, broken = bus.query(lambda uow: uow.events.verify())
    click.echo(
        f"\nAudit chain: {checked} events, "
        + ("verified" if broken is None else f"BROKEN at {broken.describe()}")
    )
    click.echo(
        "Explore: jointflow program list | jointflow program show 4 | "
        "jointflow program history 4 | jointflow budget ledger --program 4"
    )
    click.echo(
        f"In the browser: `jointflow web`, then sign in as {d.APPROVERS['city']} (an approver "
        f"with reviews waiting), {d.COORDINATORS['munsan-high']} (a coordinator) or "
        f"{d.OFFICERS['city']} (a budget officer); every demo person's password is "
        f"{d.PASSWORD}"
    )
