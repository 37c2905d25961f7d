"""The rest of the demo's year: funding, the runs, evaluation and settlement.

After the review season (``demo.play_season``) the budget officers commit every
approved program, the scheduled worker starts and ends the runs on their dates,
tranches are paid, one program is cancelled mid-year, a hold left waiting lapses and
the waitlisted program gets the money, and every finished program is reported,
evaluated and closed (one that spent less than it was paid only once its refund is
back). Next year's round opens, and a supplementary budget lets its waitlisted
proposal in. The clock jumps from date to date and ``run_due_work`` (what
``jointflow tick`` and the relay's sweep run) carries out whatever fell due.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from workflow.adapters import queues, views
from workflow.domain import commands as c
from workflow.domain.calendar import SEOUL
from workflow.entrypoints import demo_data as d
from workflow.entrypoints.output import splits
from workflow.service_layer.messagebus import MessageBus
from workflow.service_layer.scheduler import run_due_work

Say = Callable[[str], None]


class Year:
    """What the year's steps share: the bus, the clock, the narrator, the program ids."""

    def __init__(self, bus: MessageBus, clock: Any, say: Say, ids: list[int]) -> None:
        self.bus, self.clock, self.say, self.ids = bus, clock, say, ids

    def on(self, month: int, day: int, hour: int = 10) -> None:
        """Move the clock to a Seoul date and let the scheduled worker catch up."""
        self.clock.now = datetime(2026, month, day, hour, tzinfo=SEOUL).astimezone(UTC)
        done = run_due_work(self.bus)
        moved = Counter(
            o.split(":")[0] for o, n in done.items() if o.endswith("done") for _ in range(n)
        )
        if moved:
            self.say(
                f"{self.clock.today()}  scheduled worker: "
                + ", ".join(f"{n} {_ACTIONS.get(a, a)}" for a, n in sorted(moved.items()))
            )

    def detail(self, pid: int) -> dict[str, Any]:
        found: dict[str, Any] = self.bus.view(
            lambda uow, who: views.program_detail(uow, who, pid), None
        )
        return found

    def in_state(self, state: str) -> list[int]:
        return [pid for pid in self.ids if self.detail(pid)["state"] == state]

    def coordinator(self, pid: int) -> str:
        return d.COORDINATORS[d.PROGRAMS[pid - self.ids[0]][0]]

    def log(self, pid: int, what: str) -> None:
        self.say(f"{self.clock.today()}  #{pid:<2} {what:<40} -> {self.detail(pid)['state']}")


_ACTIONS = {
    "activate": "runs started",
    "finish": "runs ended, evaluation due",
    "expire": "holds expired",
}


def play_year(bus: MessageBus, clock: Any, say: Say, ids: list[int]) -> None:
    year = Year(bus, clock, say, ids)
    say("\nFunding (each funder's budget officer commits its share):")
    year.on(2, 24)
    late, lapsing = ids[21], ids[20]  # both waited on the Office of Education
    approver, deputy = d.APPROVERS["education_office"], d.DEPUTY
    _show_messages(year, approver, "reminder_digest")
    _show_inbox(year, approver)
    bus.handle(
        c.SetDelegation(
            actor=approver,
            to=deputy,
            starts_on=year.clock.today(),
            ends_on=year.clock.today() + timedelta(days=4),
        )
    )
    say(
        f"{clock.today()}  {approver} is on leave until "
        f"{year.clock.today() + timedelta(days=4)}: {deputy} acts for them (대결)"
    )
    _show_inbox(year, deputy)
    bus.handle(c.DecideReview(actor=deputy, program_id=late, decision="approve"))
    year.log(
        late, f"education_office: approve by {deputy.split('@')[0]} for {approver.split('@')[0]}"
    )
    funded = _commit_all(year, year.in_state("approved"))
    say(
        f"{clock.today()}  {len(funded)} programs funded; #{lapsing} still waits on the "
        "Office of Education"
    )

    say("\nThe runs:")
    year.on(3, 2, hour=0)
    _pay_tranche(year, year.in_state("active"), first=True)
    year.on(3, 4)  # #lapsing's review is 5 business days overdue (3/2 is a substitute holiday)
    _show_messages(year, d.SUPERVISORS["education_office"], "escalation")
    year.on(6, 5)  # 120 days after its holds were placed, #lapsing's hold lapses
    year.log(lapsing, "hold lapsed: money back to the envelopes")
    waitlisted = ids[-1]
    year.log(waitlisted, "retried from the waitlist")
    _show_messages(year, d.OFFICERS["education_office"], "budget_notice")
    for party in ("city", "education_office"):
        bus.handle(
            c.DecideReview(actor=d.APPROVERS[party], program_id=waitlisted, decision="approve")
        )
    _commit_all(year, [waitlisted])
    year.log(waitlisted, "approved and funded by both")
    year.on(6, 8)
    _pay_tranche(year, [waitlisted], first=True)
    cancelled = ids[15]
    year.on(7, 15)
    bus.handle(
        c.CancelProgram(actor=d.ADMIN, program_id=cancelled, reason="참여 학생 모집 불가로 중단")
    )
    year.log(cancelled, "cancelled: undisbursed money returned")
    year.on(9, 1)
    _pay_tranche(year, year.in_state("active"), first=False)

    say("\nEvaluation and settlement:")
    year.on(12, 18)
    _evaluate_all(year, year.in_state("evaluation_due"))
    _next_round(year)


def _next_round(year: Year) -> None:
    """Next year's envelopes and its first proposals, left in review for the visitor."""
    year.say(f"\nThe {d.NEXT_YEAR} round opens:")
    for party, amount in d.NEXT_ENVELOPES.items():
        year.bus.handle(c.AddEnvelope(actor=d.OFFICERS[party], party=party, year=d.NEXT_YEAR,
                                      amount=amount))  # fmt: skip
    pids = []
    for org, category, title, city_share, oe_share in d.NEXT_PROGRAMS:
        coordinator = d.COORDINATORS[org]
        pid = year.bus.handle(
            c.CreateProgram(
                actor=coordinator,
                title=title,
                org=org,
                category=category,
                requests={"city": city_share, "education_office": oe_share},
                year=d.NEXT_YEAR,
            )  # fmt: skip
        )
        year.bus.handle(c.SubmitProgram(actor=coordinator, program_id=pid))
        year.log(pid, f"{d.NEXT_YEAR} proposal submitted")
        pids.append(pid)
    waiting = [pid for pid in pids if year.detail(pid)["state"] == "waitlisted"]
    for pid in waiting:
        _supplement(year, pid)
    year.bus.handle(c.DecideReview(actor=d.APPROVERS["city"], program_id=pids[0],
                                   decision="approve"))  # fmt: skip
    year.log(pids[0], "city: approve")


def _refunds(year: Year, pids: list[int]) -> None:
    """The budget officers record the money paid back by a program that spent less than
    it was paid (반납); the city's comes in two transfers. The last one closes it."""
    for pid in pids:
        for party, due in sorted(year.detail(pid)["refunds_due"].items()):
            parts = [due // 2 // 1000 * 1000, due - due // 2 // 1000 * 1000]
            for amount in parts if party == "city" else [due]:
                year.bus.handle(
                    c.RecordRefund(
                        actor=d.OFFICERS[party],
                        program_id=pid,
                        party=party,
                        amount=amount,
                        memo="정산 반납",
                    )
                )
                year.log(pid, f"refund received: {party} {amount:,}원")


def _supplement(year: Year, waiting: int) -> None:
    """The supplementary budget (추경) raises the envelope; the waitlist is retried."""
    party, by, reason = d.NEXT_SUPPLEMENT
    done = year.bus.handle(
        c.AmendEnvelope(
            actor=d.OFFICERS[party], party=party, year=d.NEXT_YEAR, by=by, reason=reason
        )  # fmt: skip
    )
    year.say(
        f"{year.clock.today()}  supplementary budget (추경): {party} {d.NEXT_YEAR} "
        f"+{by:,}원 -> {done.amount:,}원 ({reason})"
    )
    year.log(waiting, "retried from the waitlist after the 추경")


def _show_inbox(year: Year, email: str) -> None:
    rows = year.bus.query(lambda uow: queues.inbox(uow, uow.directory.user(email)))
    year.say(f"{year.clock.today()}  inbox of {email}: {len(rows)} task(s)")
    for r in rows[:3]:
        year.say(
            f"              task {r['task']:<4} {r['kind']:<13} #{r['program']:<3} due "
            f"{r['due'][:10]}"
            + (f", overdue {r['overdue_days']} business day(s)" if r["overdue_days"] else "")
            + (f", for {r['acting_for']}" if r["acting_for"] else "")
        )


def _show_messages(year: Year, email: str, kind: str) -> None:
    """The person's in-app messages of the day of this kind, as they would read them."""
    found = year.bus.query(lambda uow: uow.notifications.of_user(email))
    today = year.clock.today().isoformat()
    for message in [m for m in found if m["kind"] == kind and m["day"] == today]:
        year.say(f"{year.clock.today()}  {kind.replace('_', ' ')} to {email}: {message['subject']}")
        for line in message["body"].splitlines():
            if line.strip():
                year.say(f"              {line}")


def _commit_all(year: Year, pids: list[int]) -> list[int]:
    for pid in pids:
        for party in sorted(year.detail(pid)["requested"]):
            year.bus.handle(c.CommitFunds(actor=d.OFFICERS[party], program_id=pid))
    return pids


def _spent(year: Year, pid: int) -> dict[str, int]:
    """What the program will report as spent: its commitment, or a share of it."""
    number = pid - year.ids[0] + 1
    share = d.SPENT_SHARE.get(number, d.OVERPAID.get(number, 100))
    committed: dict[str, int] = year.detail(pid)["committed"]
    return {party: amount * share // 100 // 1000 * 1000 for party, amount in committed.items()}


def _pay_tranche(year: Year, pids: list[int], first: bool) -> None:
    """Half of each commitment first; the second tranche pays up to what will be spent."""
    total = 0
    for pid in pids:
        detail = year.detail(pid)
        paid_in_full = pid - year.ids[0] + 1 in d.OVERPAID
        target = detail["committed"] if paid_in_full else _spent(year, pid)
        for party, amount in sorted(target.items()):
            due = (
                detail["committed"][party] // 2
                if first
                else (amount - detail["disbursed"].get(party, 0))
            )
            if due > 0:
                year.bus.handle(
                    c.DisburseFunds(
                        actor=d.OFFICERS[party],
                        program_id=pid,
                        amount=due,
                        memo="1차" if first else "2차",
                    )
                )
                total += due
    year.say(
        f"{year.clock.today()}  {'first' if first else 'second'} tranche paid to "
        f"{len(pids)} programs: {total:,}원"
    )


def _evaluate_all(year: Year, pids: list[int]) -> None:
    returned = pids[0]
    for pid in pids:
        year.bus.handle(
            c.SubmitReport(
                actor=year.coordinator(pid),
                program_id=pid,
                spent=_spent(year, pid),
                summary="사업 목표 달성, 참여 학생 만족도 4.5/5",
            )
        )
    year.say(f"{year.clock.today()}  {len(pids)} evaluation reports submitted")
    year.on(12, 22)
    year.bus.handle(
        c.EvaluateReport(
            actor=d.EVALUATORS["city"],
            program_id=returned,
            verdict="return",
            comment="참여 인원 명단을 첨부해 주세요",
        )
    )
    year.log(returned, "city evaluator: returned for changes")
    year.bus.handle(
        c.SubmitReport(
            actor=year.coordinator(returned),
            program_id=returned,
            spent=_spent(year, returned),
            summary="참여 인원 명단 첨부 (학생 64명)",
        )
    )
    year.log(returned, "report resubmitted")
    for pid in pids:
        for party, score in (("city", 4), ("education_office", 5)):
            year.bus.handle(
                c.EvaluateReport(
                    actor=d.EVALUATORS[party], program_id=pid, verdict="accept", score=score
                )
            )
    year.on(12, 28)
    _refunds(year, pids)
    for pid in pids:
        detail = year.detail(pid)
        unspent = {p: a - detail["committed"].get(p, 0) for p, a in detail["requested"].items()}
        if any(unspent.values()):
            year.log(pid, f"settled, unspent back: {splits(unspent)}")
    year.say(f"{year.clock.today()}  {len(year.in_state('closed'))} programs closed")
