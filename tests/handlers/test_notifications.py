"""Messages that leave the building, through the bus on the fakes (issue 14): the rules
decide whom, preferences decide how, deliveries are rows written with the message and
carried out after it commits; quiet hours defer mail, failures retry then dead-letter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests import support as s
from tests.fakes import Clock, FakeChannels, FakeUnitOfWorkFactory, fake_bus
from tests.handlers import helpers as h
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.delivery import Outcome, RetryPolicy
from workflow.domain.errors import InvalidInput, NotFound
from workflow.service_layer.courier import OUT_OF_TIME, Courier, NoChannels
from workflow.service_layer.handlers import NOTIFY, PLACE_HOLDS
from workflow.service_layer.messagebus import SYSTEM_STREAM, MessageBus, RelayDispatcher

CITY_QUEUE = [s.CITY_APPROVER, h.DEPUTY, h.CITY_TEAM]  # the city's approvers


def channels(bus: MessageBus) -> FakeChannels:
    found = bus.courier.channels
    assert isinstance(found, FakeChannels)
    return found


def deliveries(fakes: FakeUnitOfWorkFactory, channel: str | None = None) -> list[dict]:
    return [
        {"id": d.id, **d.values}
        for d in fakes.store.deliveries
        if channel is None or d["channel"] == channel
    ]


def kinds(fakes: FakeUnitOfWorkFactory, email: str) -> list[str]:
    return [n["kind"] for n in fakes.reader().notifications.of_user(email)]


def test_a_submission_mails_each_partys_approvers_a_review_request_in_korean(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    s.submitted(bus)

    mails = [a for a in channels(bus).attempts if a.channel == "email"]
    assert sorted(a.recipient for a in mails) == sorted([*CITY_QUEUE, s.OE_APPROVER])
    city = next(a for a in mails if a.recipient == s.CITY_APPROVER)
    assert city.subject == (
        "[jointflow] 검토 요청: High school–university linkage — 8,000만 원, 마감 1월 19일"
    )
    assert "https://jointflow.test/programs/" in city.text and "<a href=" in city.html
    oe = next(a for a in mails if a.recipient == s.OE_APPROVER)
    assert "2,000만 원" in oe.subject  # each party's own share
    assert kinds(fakes, s.CITY_APPROVER) == ["review_request"]  # and in-app
    assert {d["status"] for d in deliveries(fakes)} == {"sent"}


def test_each_decision_tells_the_coordinator_with_the_comment_and_who_stood_in(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.submitted(bus)
    sent_before = len(channels(bus).attempts)

    bus.handle(
        c.DecideReview(
            actor=s.OE_APPROVER,
            program_id=program_id,
            decision="request-changes",
            comment="예산 산출 근거를 보완해 주세요",
        )
    )

    [mail] = channels(bus).attempts[sent_before:]
    assert mail.recipient == s.COORDINATOR
    assert mail.subject == "[jointflow] 보완 요청: High school–university linkage"
    assert "Paju Office of Education에서" in mail.text and "예산 산출 근거를" in mail.text
    assert kinds(fakes, s.COORDINATOR) == ["decision"]


def test_an_approval_tells_the_coordinator_and_asks_each_funders_officer_to_commit(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.submitted(bus)
    s.decide(bus, program_id, s.CITY_APPROVER)
    sent_before = len(channels(bus).attempts)
    s.decide(bus, program_id, s.OE_APPROVER)

    told = {a.recipient: a.subject for a in channels(bus).attempts[sent_before:]}
    assert told[s.COORDINATOR] == "[jointflow] 승인: High school–university linkage"
    assert told[s.CITY_OFFICER].startswith("[jointflow] 예산 확정 요청: ")
    assert "8,000만 원" in told[s.CITY_OFFICER] and "2,000만 원" in told[s.OE_OFFICER]
    assert h.CITY_STAFF in told  # a city budget officer too


def test_english_for_people_who_chose_it(bus: MessageBus) -> None:
    bus.handle(
        c.AddUser(
            actor=None,
            email="en@goepj.kr",
            name="Jane",
            org="education_office",
            roles=("approver",),
            locale="en",
        )
    )
    s.submitted(bus)
    [mail] = [a for a in channels(bus).attempts if a.recipient == "en@goepj.kr"]
    assert mail.subject == (
        "[jointflow] Review requested: High school–university linkage — ₩20,000,000, due 19 January"
    )


def test_a_person_chooses_channels_per_kind_and_digests_honour_it(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    chosen = bus.handle(
        c.SetPreferences(
            actor=s.CITY_APPROVER,
            choices=(("review_request", ("inapp",)), ("decision", ("email",))),
        )
    )
    assert chosen == {"decision": ("email",), "review_request": ("inapp",)}
    bus.handle(c.SetPreferences(actor=h.DEPUTY, choices=(("review_request", ()),)))

    s.submitted(bus)

    mailed = channels(bus).sent_to()
    assert s.CITY_APPROVER not in mailed and h.DEPUTY not in mailed and h.CITY_TEAM in mailed
    assert kinds(fakes, s.CITY_APPROVER) == ["review_request"]
    assert kinds(fakes, h.DEPUTY) == []  # switched off altogether
    assert h.types(fakes, f"user:{s.CITY_APPROVER}") == [ev.PREFERENCE_SET]


def test_required_kinds_cannot_be_switched_off_and_a_refused_choice_stores_nothing(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    before = h.snapshot(fakes)
    for choices, match in [
        ((("review_request", ("inapp",)), ("decision", ())), "decision messages are required"),
        ((("escalation", ()),), "escalation messages are required"),
        ((("gossip", ("email",)),), "unknown kind of message 'gossip'"),
        ((("decision", ("sms",)),), "unknown channel"),
    ]:
        h.refused(bus, c.SetPreferences(actor=s.COORDINATOR, choices=choices), InvalidInput, match)
    assert h.snapshot(fakes) == before
    assert h.last_refusal(fakes, SYSTEM_STREAM)["command"] == "SetPreferences"


def test_nothing_is_mailed_in_quiet_hours_and_the_mail_waits_for_eight(
    clock: Clock,
) -> None:
    bus, fakes = fake_bus(clock)
    h.seed(bus)
    program_id = s.submitted(bus)
    mailed = len(channels(bus).attempts)
    clock.at = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)  # 23:30 Seoul

    bus.handle(c.DecideReview(actor=s.CITY_APPROVER, program_id=program_id, decision="reject"))

    assert len(channels(bus).attempts) == mailed  # nothing left during the night
    assert kinds(fakes, s.COORDINATOR) == ["decision"]  # in-app at once
    [waiting] = [d for d in deliveries(fakes, "email") if d["status"] == "pending"]
    assert waiting["due_at"] == datetime(2026, 1, 5, 23, 0, tzinfo=UTC)  # 08:00 Seoul
    clock.at = datetime(2026, 1, 5, 22, 59, tzinfo=UTC)
    assert bus.courier.deliver_due(bus) == {}
    clock.at = datetime(2026, 1, 5, 23, 0, tzinfo=UTC)
    assert bus.courier.deliver_due(bus) == {"delivery sent": 1}
    assert channels(bus).attempts[-1].subject == "[jointflow] 반려: High school–university linkage"


def test_one_digest_mail_per_person_per_day_however_the_digest_grows(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory, clock: Clock
) -> None:
    first = s.submitted(bus)
    clock.at = datetime(2026, 1, 19, 23, 0, tzinfo=UTC)  # 08:00 on the 20th: overdue
    bus.handle(c.SendDueReminders(actor=None))
    digests = [a for a in channels(bus).attempts if a.subject.startswith("[jointflow] 처리할")]
    assert sorted(a.recipient for a in digests) == sorted([*CITY_QUEUE, s.OE_APPROVER])

    # Later the same day another task of the same people falls due: the in-app digest
    # grows, the day's mail has gone.
    second = s.submitted(bus)
    for task in fakes.reader().tasks.of_program(second):
        for r in fakes.store.reminders:
            if r["task_id"] == task["id"]:
                r["due_at"] = clock.at
    bus.handle(c.SendDueReminders(actor=None))

    again = [a for a in channels(bus).attempts if a.subject.startswith("[jointflow] 처리할")]
    assert len(again) == len(digests)
    [digest] = [
        n
        for n in fakes.reader().notifications.of_user(s.CITY_APPROVER)
        if n["kind"] == "reminder_digest"
    ]
    assert {i["program"] for i in digest["items"]} == {first, second}


def test_a_transient_failure_backs_off_then_succeeds_and_a_permanent_one_is_dead_at_once(
    clock: Clock,
) -> None:
    bus, fakes = fake_bus(clock, policy=RetryPolicy(max_attempts=8, base_seconds=30))
    h.seed(bus)
    script = channels(bus).script
    program_id = s.submitted(bus)
    script += [Outcome.retry("451 try later"), Outcome.retry("timed out")]
    bus.handle(c.DecideReview(actor=s.CITY_APPROVER, program_id=program_id, decision="reject"))

    [mail] = [d for d in deliveries(fakes, "email") if d["recipient"] == s.COORDINATOR]
    assert (mail["status"], mail["attempts"], mail["last_error"]) == ("pending", 1, "451 try later")
    assert mail["due_at"] == clock.at + timedelta(seconds=30)  # jitter 1.0: the full step
    clock.at += timedelta(seconds=30)
    assert bus.courier.deliver_due(bus) == {"delivery pending": 1}
    [mail] = [d for d in deliveries(fakes, "email") if d["recipient"] == s.COORDINATOR]
    assert mail["due_at"] == clock.at + timedelta(seconds=60)  # doubled
    clock.at += timedelta(seconds=60)
    assert bus.courier.deliver_due(bus) == {"delivery sent": 1}
    sent = [a for a in channels(bus).attempts if a.recipient == s.COORDINATOR]
    assert [a.number for a in sent] == [1, 2, 3]  # one delivery, three attempts

    other = s.submitted(bus)
    script.append(Outcome.fail("550 no such mailbox"))
    bus.handle(c.DecideReview(actor=s.CITY_APPROVER, program_id=other, decision="reject"))
    [dead] = [d for d in deliveries(fakes, "email") if d["status"] == "dead"]
    assert (dead["attempts"], dead["last_error"]) == (1, "550 no such mailbox")
    assert h.history(fakes, SYSTEM_STREAM)[-1] == (
        ev.DELIVERY_DEAD,
        {
            "delivery": dead["id"],
            "recipient": s.COORDINATOR,
            "attempts": 1,
            "error": "550 no such mailbox",
        },
    )

    # The operator re-drives it: fresh attempts, carried out at once on the embedded bus.
    assert bus.handle(c.RetryDeliveries(actor=None, delivery_ids=(dead["id"],))) == [dead["id"]]
    assert next(d for d in deliveries(fakes) if d["id"] == dead["id"])["status"] == "sent"
    h.refused(bus, c.RetryDeliveries(actor=None, delivery_ids=(dead["id"],)), NotFound, "no failed")


def test_attempts_run_out_into_the_dead_letter_list(clock: Clock) -> None:
    bus, fakes = fake_bus(clock, policy=RetryPolicy(max_attempts=3, base_seconds=1))
    h.seed(bus)
    program_id = s.submitted(bus)
    channels(bus).script += [Outcome.retry("connection refused")] * 3
    bus.handle(c.DecideReview(actor=s.CITY_APPROVER, program_id=program_id, decision="reject"))
    for _ in range(3):
        clock.at += timedelta(hours=1)
        bus.courier.deliver_due(bus)
    [mail] = [d for d in deliveries(fakes, "email") if d["recipient"] == s.COORDINATOR]
    assert (mail["status"], mail["attempts"]) == ("dead", 3)


def test_without_a_mail_server_email_falls_back_to_in_app(clock: Clock) -> None:
    bus, fakes = fake_bus(clock)
    bus.courier = Courier(NoChannels())
    h.seed(bus)
    bus.handle(c.SetPreferences(actor=s.CITY_APPROVER, choices=(("review_request", ("email",)),)))
    s.submitted(bus)
    assert kinds(fakes, s.CITY_APPROVER) == ["review_request"]  # shown in-app after all
    assert {d["status"] for d in deliveries(fakes, "email")} == {"fallback"}


def test_the_notify_message_carried_out_twice_writes_each_message_and_delivery_once(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.submitted(bus)
    notify = next(m for m in fakes.store.outbox if m["task"] == "jointflow.notify")
    rows = (len(fakes.store.notifications), len(fakes.store.deliveries))
    notify["done_at"] = None  # delivered again (the relay re-sent it)
    bus.handle_message(notify.id)
    assert (len(fakes.store.notifications), len(fakes.store.deliveries)) == rows
    assert h.state(fakes, program_id) == "in_review"


def test_a_batch_that_runs_out_of_time_leaves_the_rest_to_try_again_unsent(
    clock: Clock,
) -> None:
    bus, fakes = fake_bus(clock, policy=RetryPolicy(base_seconds=30, stale_seconds=300))
    ticks = iter(range(0, 10_000, 100))  # each look at the watch: 100 s later
    bus.courier = Courier(
        channels(bus), bus.courier.policy, lambda: 1.0, monotonic=lambda: float(next(ticks))
    )
    h.seed(bus)
    bus.handle(c.SetPreferences(actor=s.CITY_APPROVER, choices=(("review_request", ("email",)),)))
    clock.at = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)  # 23:00 Seoul: the mail waits
    s.submitted(bus)
    clock.at = datetime(2026, 1, 5, 23, 0, tzinfo=UTC)  # 08:00: four due at once
    assert bus.courier.deliver_due(bus, passes=1) == {
        "delivery sent": 1,
        "delivery pending": 3,
    }
    waiting = [d for d in deliveries(fakes, "email") if d["status"] == "pending"]
    assert {d["last_error"] for d in waiting} == {OUT_OF_TIME}
    assert len(channels(bus).attempts) == 1  # only the first was sent
    clock.at += timedelta(seconds=30)
    bus.courier = Courier(channels(bus), bus.courier.policy, lambda: 1.0)
    assert bus.courier.deliver_due(bus) == {"delivery sent": 3}


def test_a_relays_group_of_notices_is_one_transaction_and_a_refused_one_goes_alone(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    worker = MessageBus(fakes, RelayDispatcher(), bus.courier)  # the outbox left pending
    first, second = s.submitted(worker), s.submitted(worker)
    notices = holds_placed(worker, fakes)
    assert len(notices) == 4  # each submission's, each review's start
    commits = fakes.commits
    worker.handle_messages(notices)
    # One commit decides the notices and marks their mails, one reconciles the mails.
    assert fakes.commits == commits + 2
    mailed = sorted(a.recipient for a in channels(bus).attempts if a.channel == "email")
    assert mailed == sorted(2 * [*CITY_QUEUE, s.OE_APPROVER])
    assert {h.state(fakes, p) for p in (first, second)} == {"in_review"}

    s.submitted(worker)
    notices = holds_placed(worker, fakes)
    with fakes() as uow:  # a message its command refuses, in the same group
        uow.outbox.add(PLACE_HOLDS, {"program_id": 9999}, uow.now)
        uow.commit()
    refused = fakes.store.outbox[-1].id
    worker.handle_messages([*notices, refused])
    assert sum(1 for a in channels(bus).attempts if a.channel == "email") == 3 * 4
    assert h.last_refusal(fakes, SYSTEM_STREAM)["message_id"] == refused  # alone


def holds_placed(worker: MessageBus, fakes: FakeUnitOfWorkFactory) -> list[int]:
    """Every pending message but the notices carried out; the notices left pending."""
    while rest := [m.id for m in pending(fakes) if m["task"] != NOTIFY]:
        for message_id in rest:
            worker.handle_message(message_id)
    return [m.id for m in pending(fakes)]


def pending(fakes: FakeUnitOfWorkFactory) -> list[Any]:
    return [m for m in fakes.store.outbox if m["done_at"] is None]
