"""What a careless or a hostile person types, on SQLite and on PostgreSQL alike (issue 18).

- Lengths: every free-text field is held to the domain's one set of limits
  (``domain.text``); a value at the limit is kept whole on both databases (the columns
  are that long), one past it is refused with the same sentence on both, and nothing
  changes. Text no database can keep (NUL) is refused where it would be stored and
  names nothing where it is looked up.
- Ids: a number no row can have (past 64 bits, or below 1) is "not found", like any id
  that names nothing: for programs, tasks, messages and pages alike.
- The directory: an email needs something on each side of one "@"; names are not blank.
- Someone else's message: refused, and the refusal names the message.
- A definition version another process stored first is used as stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests import support as s
from workflow.adapters import queues, views
from workflow.adapters.definitions import DefinitionRegistry
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.commands import Command
from workflow.domain.errors import InvalidInput, NotFound, NotPermitted, WorkflowError
from workflow.domain.text import EMAIL_MAX, KEY_MAX, NAME_MAX, TEXT_MAX, TITLE_MAX
from workflow.service_layer.messagebus import SYSTEM_STREAM, MessageBus

NO_ROW = [2**63, 10**30, -(2**63) - 1, 0, -1]  # past 64 bits either way, and below 1


def refused(bus: MessageBus, cmd: Command, error: type[WorkflowError], match: str) -> None:
    """``cmd`` is refused with ``error`` and changes nothing but the audit log."""
    before = s.stored(bus)
    with pytest.raises(error, match=match):
        bus.handle(cmd)
    assert s.stored(bus) == before


def create(title: str = "Linkage", **fields: Any) -> c.CreateProgram:
    values: dict[str, Any] = {
        "actor": s.COORDINATOR,
        "title": title,
        "org": "munsan-high",
        "category": "linkage",
        "requests": {"city": 10_000_000},
        "year": s.YEAR,
        **fields,
    }
    return c.CreateProgram(**values)


# -- lengths ----------------------------------------------------------------------


def test_text_at_each_limit_is_kept_whole_on_both_databases(bus: MessageBus) -> None:
    s.seed(bus)
    key = "k" * KEY_MAX
    bus.handle(c.AddOrganization(actor=None, key=key, name="N" * NAME_MAX))
    email = "e" * (EMAIL_MAX - len("@paju.kr")) + "@paju.kr"
    bus.handle(
        c.AddUser(actor=None, email=email, name="이" * NAME_MAX, org=key, roles=("coordinator",))
    )
    program_id = bus.handle(
        create("T" * TITLE_MAX, actor=email, org=key, description="설명\n" * (TEXT_MAX // 3))
    )
    bus.handle(c.SubmitProgram(actor=email, program_id=program_id))
    s.decide(bus, program_id, s.CITY_APPROVER)
    bus.handle(
        c.DecideReview(
            actor=s.OE_APPROVER, program_id=program_id, decision="approve", comment="c" * TEXT_MAX
        )
    )
    detail = s.detail(bus, program_id)
    assert detail["title"] == "T" * TITLE_MAX and detail["org"] == key
    assert detail["description"] == "설명\n" * (TEXT_MAX // 3)
    assert detail["state"] == "approved"
    # A person with the longest email gets messages: their stream's name is that long too.
    big = bus.handle(create(actor=email, org=key, requests={"city": 1_930_000_001}))
    bus.handle(c.SubmitProgram(actor=email, program_id=big))
    assert s.budget_notices(bus, email) == [(big, "waitlisted")]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: create("T" * (TITLE_MAX + 1)), "title is 301 characters long; at most 300"),
        (lambda: create(description="d" * (TEXT_MAX + 1)), "description is 10,001 characters"),
        (lambda: create(category="c" * (KEY_MAX + 1)), "category is 65 characters long"),
        (lambda: create("a\nb"), "title must not hold line breaks"),
        (lambda: create("a\x00b"), "title holds characters that are not valid text"),
        (lambda: create("a\udcffb"), "title holds characters that are not valid text"),
        (lambda: create(description="a\x00b"), "description holds characters that are not"),
        (lambda: create("   "), "title must not be empty"),
        (
            lambda: c.AddOrganization(actor=None, key="k" * (KEY_MAX + 1), name="x"),
            "is longer than 64 characters",
        ),
        (
            lambda: c.AddOrganization(actor=None, key="new-org", name="N" * (NAME_MAX + 1)),
            "organization name is 201 characters long",
        ),
        (
            lambda: c.AddUser(
                actor=None,
                email="e" * EMAIL_MAX + "@x.kr",
                name="x",
                org="city",
                roles=("approver",),
            ),
            "is longer than 254 characters",
        ),
        (
            lambda: c.AddUser(
                actor=None,
                email="new@paju.go.kr",
                name="N" * (NAME_MAX + 1),
                org="city",
                roles=("approver",),
            ),
            "name is 201 characters long",
        ),
    ],
)
def test_text_past_its_limit_or_unstorable_is_refused_alike_on_both_databases(
    bus: MessageBus, make: Callable[[], Command], match: str
) -> None:
    s.seed(bus)
    refused(bus, make(), InvalidInput, match)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda p: c.DecideReview(
                actor=s.CITY_APPROVER,
                program_id=p,
                decision="approve",
                comment="c" * (TEXT_MAX + 1),
            ),
            "comment is 10,001 characters long",
        ),
        (
            lambda p: c.WithdrawProgram(actor=s.COORDINATOR, program_id=p, reason="\x00"),
            "reason holds characters",
        ),
    ],
)
def test_what_people_write_on_a_program_is_held_to_the_limits(
    bus: MessageBus, make: Callable[[int], Command], match: str
) -> None:
    s.seed(bus)
    program_id = s.submitted(bus)
    refused(bus, make(program_id), InvalidInput, match)


def test_an_edit_is_held_to_the_same_limits_as_the_draft(bus: MessageBus) -> None:
    s.seed(bus)
    program_id = s.create(bus)
    for title in ("t" * (TITLE_MAX + 1), "", "a\rb"):
        refused(
            bus,
            c.UpdateProgram(actor=s.COORDINATOR, program_id=program_id, title=title),
            InvalidInput,
            "title",
        )


def test_a_lookup_by_text_no_database_can_keep_names_nothing(bus: MessageBus) -> None:
    s.seed(bus)
    refused(
        bus,
        c.AddEnvelope(actor=s.ADMIN, party="ci\x00ty", year=s.YEAR, amount=5),
        NotFound,
        "does not exist",
    )
    refused(bus, create(requests={"ci\x00ty": 5}), NotFound, "does not exist")
    refused(
        bus, c.SubmitProgram(actor="coord\x00@munsan-high.kr", program_id=1), NotFound, "no user"
    )
    assert bus.view(lambda uow, who: views.program_list(uow, who, "draft\x00"), None) == []
    # The refused acting user is recorded as far as it can be stored.
    actors = [e.actor for e in s.history(bus, SYSTEM_STREAM) if e.type == ev.ACTION_REFUSED]
    assert actors[-1] == "coord\\x00@munsan-high.kr"


# -- ids --------------------------------------------------------------------------


@pytest.mark.parametrize("number", NO_ROW)
def test_an_id_no_row_can_have_is_not_found_everywhere_on_both_databases(
    bus: MessageBus, number: int
) -> None:
    s.seed(bus)
    s.submitted(bus)
    reads: list[Callable[[Any, Any], Any]] = [
        lambda uow, who: views.program_detail(uow, who, number),
        lambda uow, who: views.program_history(uow, who, number),
        lambda uow, who: views.ledger_entries(uow, who, program_id=number),
    ]
    for read in reads:
        with pytest.raises(NotFound, match=f"program {number} does not exist"):
            bus.view(read, None)
    with pytest.raises(NotFound, match=f"task {number} does not exist"):
        bus.view(lambda uow, who: queues.inbox_page(uow, who.user, after=number), s.CITY_APPROVER)
    commands: list[tuple[Command, str]] = [
        (c.SubmitProgram(actor=s.COORDINATOR, program_id=number), f"program {number} does"),
        (c.CommitFunds(actor=s.CITY_OFFICER, program_id=number), f"program {number} does"),
        (c.ClaimTask(actor=s.CITY_APPROVER, task_id=number), f"task {number} does not"),
        (c.DecideTask(actor=s.CITY_APPROVER, task_id=number, decision="approve"), "task"),
        (c.MarkNotificationRead(actor=s.COORDINATOR, notification_id=number), "no message"),
    ]
    for cmd, match in commands:
        refused(bus, cmd, NotFound, match)
    refusals = [e for e in s.history(bus, SYSTEM_STREAM) if e.type == ev.ACTION_REFUSED]
    assert [json.loads(e.data)["code"] for e in refusals] == ["not-found"] * len(commands)


def test_a_page_after_an_id_past_64_bits_is_empty(bus: MessageBus) -> None:
    s.seed(bus)
    first = s.create(bus)
    assert [r["id"] for r in bus.view(lambda u, w: views.program_list(u, w, after=0), None)] == [
        first
    ]
    for number in (2**63, 10**30):
        assert bus.view(lambda u, w, n=number: views.program_list(u, w, after=n), None) == []


# -- the directory, and someone else's message -------------------------------------


@pytest.mark.parametrize("email", ["@", "a@", "@b", "a b@c.kr", "a@b@c.kr", "", "a\tb@c.kr"])
def test_an_email_needs_something_on_each_side_of_one_at_sign(bus: MessageBus, email: str) -> None:
    s.seed(bus)
    refused(
        bus,
        c.AddUser(actor=None, email=email, name="x", org="city", roles=("approver",)),
        InvalidInput,
        "is not an email address",
    )


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_a_person_or_an_organization_needs_a_name(bus: MessageBus, name: str) -> None:
    s.seed(bus)
    refused(
        bus,
        c.AddUser(actor=None, email="new@paju.go.kr", name=name, org="city", roles=("approver",)),
        InvalidInput,
        "name must not",
    )
    refused(bus, c.AddOrganization(actor=None, key="new-org", name=name), InvalidInput, "name")


def test_names_are_kept_trimmed(bus: MessageBus) -> None:
    bus.handle(c.AddOrganization(actor=None, key="city", name="  Paju City ", funder=True))
    [org] = bus.query(lambda uow: uow.directory.organizations())
    assert org.name == "Paju City"


def test_reading_someone_elses_message_is_refused_and_the_refusal_names_it(
    bus: MessageBus,
) -> None:
    s.seed(bus)
    s.submitted(bus, city=1_930_000_001)  # waitlisted: the coordinator is told
    [message] = bus.query(lambda uow: uow.notifications.of_user(s.COORDINATOR))
    refused(
        bus,
        c.MarkNotificationRead(actor=s.CITY_APPROVER, notification_id=message["id"]),
        NotFound,
        f"no message {message['id']} for {s.CITY_APPROVER}",
    )
    [again] = bus.query(lambda uow: uow.notifications.of_user(s.COORDINATOR))
    assert not again["read"]
    [refusal] = [e for e in s.history(bus, SYSTEM_STREAM) if e.type == ev.ACTION_REFUSED]
    assert refusal.actor == s.CITY_APPROVER
    assert json.loads(refusal.data) == {
        "command": "MarkNotificationRead",
        "code": "not-found",
        "reason": f"no message {message['id']} for {s.CITY_APPROVER}",
        "notification": message["id"],
    }


def test_an_acting_user_from_another_organization_is_still_refused_not_crashed(
    bus: MessageBus,
) -> None:
    s.seed(bus)
    refused(bus, create(org="city"), NotPermitted, "may not create programs for city")


# -- a definition another process stored first -------------------------------------


def test_a_version_another_process_stored_first_is_used_as_stored(bus: MessageBus) -> None:
    s.seed(bus)
    first = s.create(bus)  # this process stores the version on its first use
    registry = bus.uow.registry  # type: ignore[attr-defined]
    other = DefinitionRegistry(registry.directory)  # a second process, nothing stored yet

    def first_use(uow: Any) -> tuple[str, int]:
        machine = other.current(uow.conn, "joint-program", uow.now)
        return machine.definition.key, machine.definition.version

    key, version = s.in_transaction(bus, first_use)
    assert s.detail(bus, first)["workflow"] == f"{key}@{version}"
