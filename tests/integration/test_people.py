"""People and organizations on SQLite and PostgreSQL (issue 16): deactivation hands back
claims, delegations, tokens and sessions and refuses the person's next command; role
changes act at once; non-admins change nothing and are audited; a workflow whose party
is no organization starts no program."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests import support as s
from tests.conftest import make_settings
from workflow.adapters import queues
from workflow.adapters.people_views import people
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.errors import Conflict, InvalidInput, NotPermitted
from workflow.domain.people import INACTIVE
from workflow.domain.tokens import token_hash
from workflow.service_layer.messagebus import MessageBus
from workflow.service_layer.people_actions import available

NOW = datetime(2026, 3, 4, 1, tzinfo=UTC)  # a Wednesday, 10:00 in Seoul
DEPUTY = "deputy@paju.go.kr"
PASSWORD = "paju-2026-people"


@pytest.fixture
def paju(database_url: str) -> MessageBus:
    bus = bootstrap(make_settings(database_url), clock=lambda: NOW)
    s.seed(bus)
    bus.handle(c.AddUser(actor=None, email=DEPUTY, name="deputy", org="city",
                         roles=("approver",)))  # fmt: skip
    return bus


def live_token(bus: MessageBus, secret: str) -> str | None:
    hashed = token_hash(secret)
    found: str | None = bus.query(lambda uow: uow.directory.token_owner(hashed, uow.now))
    return found


def task_of(bus: MessageBus, program_id: int, org: str) -> dict[str, object]:
    rows = bus.query(lambda uow: uow.tasks.of_program(program_id))
    found: dict[str, object] = next(t for t in rows if t["kind"] == "review" and
                                    t["queue_org"] == org)  # fmt: skip
    return found


def test_deactivation_returns_claims_ends_delegations_and_ends_tokens_and_sessions(
    paju: MessageBus,
) -> None:
    program_id = s.submitted(paju)
    task = int(task_of(paju, program_id, "city")["id"])  # type: ignore[call-overload]
    paju.handle(c.ClaimTask(actor=s.CITY_APPROVER, task_id=task))
    paju.handle(c.SetDelegation(actor=s.CITY_APPROVER, to=DEPUTY, starts_on=date(2026, 3, 1),
                                ends_on=date(2026, 3, 31)))  # fmt: skip
    token = paju.handle(c.IssueToken(actor=None, email=s.CITY_APPROVER, days=30)).token
    paju.handle(c.SetPassword(actor=None, email=s.CITY_APPROVER, password=PASSWORD))
    session = paju.handle(c.SignIn(actor=None, email=s.CITY_APPROVER, password=PASSWORD)).session

    done = paju.handle(c.DeactivateUser(actor=s.ADMIN, email=s.CITY_APPROVER))

    assert (done.claims_returned, done.delegations_ended, done.tokens_revoked) == ([task], 1, 2)
    assert task_of(paju, program_id, "city")["state"] == "open"
    deputy = paju.query(lambda uow: uow.directory.user(DEPUTY))
    inbox = paju.query(lambda uow: queues.inbox(uow, deputy))
    assert [(r["task"], r["claimed_by"], r["acting_for"]) for r in inbox] == [(task, None, None)]
    assert paju.query(lambda uow: uow.directory.delegations()) == []
    assert live_token(paju, token) is None and live_token(paju, session.token) is None
    refused = c.DecideReview(actor=s.CITY_APPROVER, program_id=program_id, decision="approve")
    with pytest.raises(NotPermitted, match="deactivated and can no longer act"):
        paju.handle(refused)
    again = paju.handle(c.SignIn(actor=None, email=s.CITY_APPROVER, password=PASSWORD))
    assert again.session is None and again.refusal == INACTIVE
    audit = [(e.type, e.actor) for e in s.history(paju, "directory")][-3:]
    assert audit == [(ev.DELEGATION_CLEARED, s.ADMIN), (ev.USER_DEACTIVATED, s.ADMIN),
                     (ev.SIGN_IN_REFUSED, s.CITY_APPROVER)]  # fmt: skip
    on_program = [(e.type, e.actor) for e in s.history(paju, f"program:{program_id}")][-2:]
    assert on_program == [(ev.TASK_RELEASED, s.ADMIN), (ev.ACTION_REFUSED, s.CITY_APPROVER)]

    paju.handle(c.ActivateUser(actor=s.ADMIN, email=s.CITY_APPROVER))
    s.decide(paju, program_id, s.CITY_APPROVER)
    assert s.detail(paju, program_id)["parties"]["city"] == "approved"
    assert live_token(paju, token) is None  # a reactivated person gets new tokens


def test_a_role_change_acts_at_once_and_returns_claims_of_queues_left(paju: MessageBus) -> None:
    program_id = s.submitted(paju)
    task = int(task_of(paju, program_id, "city")["id"])  # type: ignore[call-overload]
    paju.handle(c.ClaimTask(actor=DEPUTY, task_id=task))

    done = paju.handle(c.SetRoles(actor=s.ADMIN, email=DEPUTY, roles=("supervisor",)))

    assert done.claims_returned == [task] and task_of(paju, program_id, "city")["state"] == "open"
    with pytest.raises(NotPermitted, match="needs the approver role"):
        s.decide(paju, program_id, DEPUTY)
    paju.handle(c.SetRoles(actor=s.ADMIN, email=DEPUTY, roles=("approver", "supervisor")))
    s.decide(paju, program_id, DEPUTY)
    changes = [e for e in s.history(paju, "directory") if e.type == ev.USER_ROLES_CHANGED]
    assert len(changes) == 2 and '"before":["approver"]' in changes[0].data


@pytest.mark.parametrize(
    "cmd",
    [
        c.DeactivateUser(actor=s.CITY_APPROVER, email=DEPUTY),
        c.ActivateUser(actor=s.COORDINATOR, email=DEPUTY),
        c.SetRoles(actor=s.COORDINATOR, email=s.COORDINATOR, roles=("admin",)),
        c.SetLocale(actor=s.CITY_OFFICER, email=DEPUTY, locale="en"),
        c.RenameOrganization(actor=s.COORDINATOR, key="munsan-high", name="Mine now"),
        c.DeactivateUser(actor=s.ADMIN, email=s.ADMIN),  # the last active admin
    ],
    ids=["deactivate", "activate", "roles", "locale", "rename", "last-admin"],
)
def test_a_refused_change_changes_nothing_and_is_audited(paju: MessageBus, cmd: c.Command) -> None:
    before = s.stored(paju)
    with pytest.raises((NotPermitted, Conflict)):
        paju.handle(cmd)
    assert s.stored(paju) == before
    refusal = s.history(paju, "system")[-1]
    assert refusal.type == ev.ACTION_REFUSED and type(cmd).__name__ in refusal.data
    assert refusal.actor == cmd.actor


def test_locale_and_organization_name_are_stored_and_audited(paju: MessageBus) -> None:
    paju.handle(c.SetLocale(actor=s.ADMIN, email=DEPUTY, locale="en"))
    paju.handle(c.RenameOrganization(actor=s.ADMIN, key="paju-youth", name="파주청소년센터"))
    assert paju.query(lambda uow: uow.directory.user(DEPUTY)).locale == "en"
    assert paju.query(lambda uow: uow.directory.organization("paju-youth")).name == "파주청소년센터"
    last = s.history(paju, "directory")[-1]
    assert last.type == ev.ORGANIZATION_RENAMED and '"before":"Paju Youth Centre"' in last.data


def test_the_linkage_workflow_needs_its_university_organization(paju: MessageBus) -> None:
    before = s.stored(paju)
    with pytest.raises(InvalidInput, match="party university is not an organization here"):
        s.create(paju, workflow="linkage-program")
    assert s.stored(paju) == before
    paju.handle(c.AddOrganization(actor=None, key="university", name="Gyeongin University"))
    program_id = s.create(paju, workflow="linkage-program")
    assert s.detail(paju, program_id)["workflow"] == "linkage-program@4"


def test_the_people_page_offers_what_the_handlers_allow(paju: MessageBus) -> None:
    orgs = paju.view(people, s.ADMIN)
    allowed, renames = available(paju, s.ADMIN, orgs)
    assert allowed[DEPUTY] == {"deactivate", "roles", "locale"}
    assert allowed[s.ADMIN] == {"roles", "locale"}  # the last active admin stays
    assert all(renames.values())
    paju.handle(c.DeactivateUser(actor=s.ADMIN, email=DEPUTY))
    allowed, _ = available(paju, s.ADMIN, paju.view(people, s.ADMIN))
    assert allowed[DEPUTY] == {"activate", "roles", "locale"}
    mine, renames = available(paju, s.COORDINATOR, orgs)
    assert mine == {} and not any(renames.values())
    with pytest.raises(NotPermitted, match="needs the admin role"):
        paju.view(people, s.COORDINATOR)


def test_a_deactivated_approver_is_told_nothing(paju: MessageBus) -> None:
    paju.handle(c.DeactivateUser(actor=s.ADMIN, email=DEPUTY))
    s.submitted(paju)  # its review request goes to the city's approvers
    told = paju.query(lambda uow: uow.notifications.of_user(DEPUTY))
    assert told == [] and paju.query(lambda uow: uow.notifications.of_user(s.CITY_APPROVER))


def test_no_token_of_a_deactivated_person_works_however_it_was_issued(paju: MessageBus) -> None:
    paju.handle(c.DeactivateUser(actor=s.ADMIN, email=DEPUTY))
    later = datetime(2027, 1, 1, tzinfo=UTC)
    s.in_transaction(paju, lambda uow: uow.directory.add_token(DEPUTY, "f" * 64, later, NOW))
    owner = paju.query(lambda uow: uow.directory.token_owner("f" * 64, NOW))
    assert owner is None
    paju.handle(c.ActivateUser(actor=s.ADMIN, email=DEPUTY))
    assert paju.query(lambda uow: uow.directory.token_owner("f" * 64, NOW)) == DEPUTY
