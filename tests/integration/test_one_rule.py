"""One home per rule (issue 12): every door reads the same answer, on both databases.

"Waiting on whom" is one domain rule: ``program show``, ``program list --waiting-on``
and the board agree, for every step a party owes. What a person may see is one rule,
the same for each read. Reads never commit; every write is an audited command.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError

from tests import support as s
from tests.conftest import make_settings
from workflow.adapters import queues, views
from workflow.adapters.orm import programs
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.errors import NotFound
from workflow.domain.events import program_stream
from workflow.service_layer.bulk import bulk
from workflow.service_layer.messagebus import MessageBus

detail = s.detail


def listed(bus: MessageBus, who: str | None = None, **filters: Any) -> list[int]:
    rows = bus.view(lambda uow, viewer: views.program_list(uow, viewer, **filters), who)
    return [r["id"] for r in rows]


def board(bus: MessageBus, who: str | None = None) -> dict[int, list[dict[str, str]]]:
    return {r["program"]: r["waiting_for"] for r in bus.view(queues.waiting, who)}


def approved(bus: MessageBus) -> int:
    program_id = s.submitted(bus)
    s.decide(bus, program_id, s.CITY_APPROVER)
    s.decide(bus, program_id, s.OE_APPROVER)
    return program_id


# -- waiting on whom --


def test_an_approved_program_waits_on_each_funders_commitment_in_every_view(
    bus: MessageBus,
) -> None:
    s.seed(bus)
    program_id = approved(bus)
    owed = [
        {"org": "city", "step": "commit_funds"},
        {"org": "education_office", "step": "commit_funds"},
    ]

    shown = detail(bus, program_id)
    assert (shown["waiting_on"], shown["waiting_for"]) == (["city", "education_office"], owed)
    assert listed(bus, waiting_on="city") == [program_id]
    assert board(bus)[program_id] == owed

    bus.handle(c.CommitFunds(actor=s.CITY_OFFICER, program_id=program_id))
    assert detail(bus, program_id)["waiting_on"] == ["education_office"]
    assert listed(bus, waiting_on="city") == []
    assert listed(bus, waiting_on="education_office") == [program_id]
    assert board(bus)[program_id] == owed[1:]


def test_a_program_in_review_waits_on_the_parties_yet_to_decide_in_every_view(
    bus: MessageBus,
) -> None:
    s.seed(bus)
    program_id = s.submitted(bus)
    s.decide(bus, program_id, s.CITY_APPROVER)

    owed = [{"org": "education_office", "step": "review"}]
    assert detail(bus, program_id)["waiting_for"] == owed
    assert board(bus)[program_id] == owed
    assert listed(bus, waiting_on="education_office") == [program_id]
    assert listed(bus, waiting_on="city") == []


def test_a_draft_waits_on_its_own_organization_in_every_view(bus: MessageBus) -> None:
    s.seed(bus)
    program_id = s.create(bus)

    owed = [{"org": "munsan-high", "step": "submit"}]
    assert detail(bus, program_id)["waiting_for"] == owed
    assert board(bus)[program_id] == owed
    assert listed(bus, waiting_on="munsan-high") == [program_id]


# -- who sees what --


def test_each_person_sees_the_programs_the_visibility_rule_gives_them(bus: MessageBus) -> None:
    s.seed(bus)
    draft = s.create(bus)
    submitted = s.submitted(bus)
    other_draft = s.create(bus, actor=s.OTHER_COORDINATOR, org="paju-youth")

    assert listed(bus) == [draft, submitted, other_draft]  # the operator
    assert listed(bus, s.ADMIN) == [draft, submitted, other_draft]
    assert listed(bus, s.COORDINATOR) == [draft, submitted]
    assert listed(bus, s.OTHER_COORDINATOR) == [other_draft]
    assert listed(bus, s.CITY_APPROVER) == [submitted]  # drafts stay with their school
    assert set(board(bus, s.CITY_APPROVER)) == {submitted}
    assert set(board(bus, s.OTHER_COORDINATOR)) == {other_draft}


@pytest.mark.parametrize("read", ["show", "history", "ledger"])
def test_a_program_someone_may_not_see_does_not_exist_for_them(bus: MessageBus, read: str) -> None:
    s.seed(bus)
    draft = s.create(bus)
    readers = {
        "show": lambda uow, who: views.program_detail(uow, who, draft),
        "history": lambda uow, who: views.program_history(uow, who, draft),
        "ledger": lambda uow, who: views.ledger_entries(uow, who, program_id=draft),
    }
    for outsider in (s.OTHER_COORDINATOR, s.CITY_APPROVER):
        with pytest.raises(NotFound, match=f"^program {draft} does not exist$"):
            bus.view(readers[read], outsider)
    assert bus.view(readers[read], s.COORDINATOR) is not None


def test_funding_staff_see_their_own_partys_budget_and_schools_none(bus: MessageBus) -> None:
    s.seed(bus)
    s.submitted(bus)

    def parties(who: str | None) -> set[str]:
        return {
            r["party"] for r in bus.view(lambda uow, viewer: views.budget_report(uow, viewer), who)
        }

    def ledger_parties(who: str | None) -> set[str]:
        return {
            r["party"] for r in bus.view(lambda uow, viewer: views.ledger_entries(uow, viewer), who)
        }

    assert parties(None) == parties(s.ADMIN) == {"city", "education_office"}
    assert parties(s.CITY_OFFICER) == ledger_parties(s.CITY_OFFICER) == {"city"}
    assert parties(s.OE_APPROVER) == {"education_office"}
    assert parties(s.COORDINATOR) == ledger_parties(s.COORDINATOR) == set()


# -- reads never commit; writes are audited commands --


def test_a_read_never_commits_what_it_wrote(bus: MessageBus, database_url: str) -> None:
    """PostgreSQL refuses the write in a read-only transaction; SQLite rolls it back."""
    s.seed(bus)
    program_id = s.create(bus)

    def sneaky(uow: Any) -> None:
        uow.conn.execute(update(programs).values(title="changed in a read"))

    if database_url.startswith("postgresql"):
        with pytest.raises(DBAPIError, match="read-only transaction"):
            bus.query(sneaky)
    else:
        bus.query(sneaky)
    assert detail(bus, program_id)["title"] == "High school–university linkage"


def test_reading_someone_elses_message_is_refused_and_audited(bus: MessageBus) -> None:
    s.seed(bus)
    with pytest.raises(NotFound, match="no message 1 for"):
        bus.handle(c.MarkNotificationRead(actor=s.CITY_APPROVER, notification_id=1))
    refused = bus.query(lambda uow: uow.events.history("system"))
    assert [(e.type, e.actor) for e in refused][-1] == (ev.ACTION_REFUSED, s.CITY_APPROVER)


def test_every_refused_item_of_a_bulk_action_is_audited(bus: MessageBus) -> None:
    s.seed(bus)
    own = s.submitted(bus)
    submit_task = 9999

    results = bulk(bus, s.CITY_APPROVER, "approve", [submit_task])

    assert not results[0].ok
    refusals = [
        e
        for e in bus.query(lambda uow: uow.events.history("system"))
        if e.type == ev.ACTION_REFUSED
    ]
    assert '"command":"DecideTask"' in refusals[-1].data
    assert own  # the program itself was untouched
    assert ev.ACTION_REFUSED not in [
        e.type for e in bus.query(lambda uow: uow.events.history(program_stream(own)))
    ]


def test_the_handler_chooses_the_deployments_default_workflow(database_url: str) -> None:
    bus = bootstrap(make_settings(database_url, default_workflow="linkage-program"))
    s.seed(bus)
    bus.handle(c.AddOrganization(actor=None, key="university", name="Gyeongin University"))
    program_id = s.create(bus)
    assert detail(bus, program_id)["workflow"] == "linkage-program@4"
