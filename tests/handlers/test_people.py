"""People and organizations through the bus on the fakes (issue 16): a deactivated
person hands back their claims, delegations and tokens and can no longer act; role and
locale changes and renames are audited with before and after; non-admins change nothing."""

from __future__ import annotations

from datetime import date

import pytest

from config.settings import WORKFLOWS_DIR
from tests import support as s
from tests.fakes import FakeUnitOfWorkFactory
from tests.handlers import helpers as h
from workflow.adapters.definitions import load_file
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.errors import Conflict, InvalidInput, NotPermitted
from workflow.domain.machine import WorkflowMachine
from workflow.domain.people import INACTIVE
from workflow.domain.tokens import token_hash
from workflow.service_layer.messagebus import MessageBus


def claimed_review(bus: MessageBus, fakes: FakeUnitOfWorkFactory, who: str) -> tuple[int, int]:
    program_id = s.submitted(bus)
    task = h.task_id(fakes, program_id, "review", "city")
    bus.handle(c.ClaimTask(actor=who, task_id=task))
    return program_id, task


def test_deactivation_returns_claims_ends_delegations_and_revokes_tokens(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id, task = claimed_review(bus, fakes, s.CITY_APPROVER)
    bus.handle(c.SetDelegation(actor=s.CITY_APPROVER, to=h.DEPUTY, starts_on=date(2026, 1, 1),
                               ends_on=date(2026, 1, 31)))  # fmt: skip
    bus.handle(c.SetDelegation(actor=h.CITY_TEAM, to=s.CITY_APPROVER, starts_on=date(2026, 1, 1),
                               ends_on=date(2026, 1, 31)))  # fmt: skip
    token = bus.handle(c.IssueToken(actor=None, email=s.CITY_APPROVER, days=30)).token

    done = bus.handle(c.DeactivateUser(actor=s.ADMIN, email=s.CITY_APPROVER))

    assert (done.claims_returned, done.delegations_ended, done.tokens_revoked) == ([task], 2, 1)
    reader = fakes.reader()
    assert not reader.directory.user(s.CITY_APPROVER).active
    assert reader.tasks.get(task).state == "open" and reader.tasks.get(task).claimed_by is None
    assert reader.directory.delegations() == []
    assert reader.directory.token_owner(token_hash(token), reader.now) is None
    released = h.history(fakes, program_id)[-1]
    assert released[0] == ev.TASK_RELEASED and released[1]["returned_by"] == s.ADMIN
    kind, data = h.history(fakes, "directory")[-1]
    assert kind == ev.USER_DEACTIVATED
    assert data["before"] == {"active": True} and data["after"] == {"active": False}


def test_a_deactivated_person_can_no_longer_act_read_or_sign_in(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.submitted(bus)
    bus.handle(c.SetPassword(actor=None, email=s.CITY_APPROVER, password="long-enough-1"))
    bus.handle(c.DeactivateUser(actor=s.ADMIN, email=s.CITY_APPROVER))
    before = h.snapshot(fakes)

    decide = c.DecideReview(actor=s.CITY_APPROVER, program_id=program_id, decision="approve")
    h.refused(bus, decide, NotPermitted, "is deactivated and can no longer act")
    task = h.task_id(fakes, program_id, "review", "city")
    h.refused(bus, c.ClaimTask(actor=s.CITY_APPROVER, task_id=task), NotPermitted, "deactivated")
    with pytest.raises(NotPermitted, match="deactivated"):
        s.detail(bus, program_id, s.CITY_APPROVER)
    h.refused(bus, c.IssueToken(actor=None, email=s.CITY_APPROVER), NotPermitted, "deactivated")
    signed = bus.handle(c.SignIn(actor=None, email=s.CITY_APPROVER, password="long-enough-1"))
    assert signed.session is None and signed.refusal == INACTIVE

    assert h.snapshot(fakes) == before
    assert h.last_refusal(fakes, program_id)["command"] == "ClaimTask"

    bus.handle(c.ActivateUser(actor=s.ADMIN, email=s.CITY_APPROVER))
    s.decide(bus, program_id, s.CITY_APPROVER)
    assert h.types(fakes, "directory")[-1] == ev.USER_ACTIVATED


def test_nobody_hands_work_to_a_deactivated_person(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id = s.submitted(bus)
    bus.handle(c.AddUser(actor=None, email="boss@paju.go.kr", name="boss", org="city",
                         roles=("supervisor",)))  # fmt: skip
    bus.handle(c.DeactivateUser(actor=s.ADMIN, email=h.DEPUTY))
    task = h.task_id(fakes, program_id, "review", "city")
    h.refused(bus, c.ReassignTask(actor="boss@paju.go.kr", task_id=task, to=h.DEPUTY),
              NotPermitted, "deactivated")  # fmt: skip
    away = c.SetDelegation(
        actor=s.CITY_APPROVER, to=h.DEPUTY, starts_on=date(2026, 1, 1), ends_on=date(2026, 1, 9)
    )
    h.refused(bus, away, NotPermitted, "deactivated")


def test_a_role_change_takes_effect_at_once_and_returns_claims_outside_the_new_roles(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    program_id, task = claimed_review(bus, fakes, h.CITY_TEAM)

    done = bus.handle(c.SetRoles(actor=s.ADMIN, email=h.CITY_TEAM, roles=("coordinator",)))

    assert done.claims_returned == [task] and done.user.roles == {"coordinator"}
    h.refused(bus, c.DecideReview(actor=h.CITY_TEAM, program_id=program_id, decision="approve"),
              NotPermitted, "needs the approver role")  # fmt: skip
    kind, data = h.history(fakes, "directory")[-1]
    assert kind == ev.USER_ROLES_CHANGED
    assert (data["before"], data["after"]) == (["approver", "coordinator"], ["coordinator"])
    bus.handle(c.SetRoles(actor=s.ADMIN, email=s.COORDINATOR, roles=("coordinator", "approver")))
    assert fakes.reader().directory.user(s.COORDINATOR).roles == {"approver", "coordinator"}


def test_locale_and_organization_names_change_with_before_and_after(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    bus.handle(c.SetLocale(actor=s.ADMIN, email=s.COORDINATOR, locale="en"))
    renamed = bus.handle(c.RenameOrganization(actor=None, key="munsan-high", name="문산고등학교"))

    assert fakes.reader().directory.user(s.COORDINATOR).locale == "en"
    assert renamed.name == fakes.reader().directory.organization("munsan-high").name
    assert h.history(fakes, "directory")[-2:] == [
        (ev.USER_LOCALE_CHANGED, {"email": s.COORDINATOR, "before": "ko", "after": "en"}),
        (ev.ORGANIZATION_RENAMED,
         {"key": "munsan-high", "before": "Munsan High School", "after": "문산고등학교"}),
    ]  # fmt: skip
    h.refused(bus, c.SetLocale(actor=s.ADMIN, email=s.COORDINATOR, locale="fr"), InvalidInput,
              "locale must be one of ko, en")  # fmt: skip
    h.refused(bus, c.RenameOrganization(actor=s.ADMIN, key="munsan-high", name=" "), InvalidInput,
              "organization name")  # fmt: skip


@pytest.mark.parametrize(
    "cmd",
    [
        c.DeactivateUser(actor=s.CITY_APPROVER, email=s.COORDINATOR),
        c.ActivateUser(actor=s.COORDINATOR, email=s.COORDINATOR),
        c.SetRoles(actor=s.COORDINATOR, email=s.COORDINATOR, roles=("admin",)),
        c.SetLocale(actor=s.OE_OFFICER, email=s.COORDINATOR, locale="en"),
        c.RenameOrganization(actor=s.COORDINATOR, key="munsan-high", name="Mine now"),
    ],
    ids=lambda cmd: type(cmd).__name__,
)
def test_a_non_admin_changes_nobody_and_is_audited(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory, cmd: c.Command
) -> None:
    before = h.snapshot(fakes), dict(fakes.store.users), dict(fakes.store.organizations)
    h.refused(bus, cmd, NotPermitted, "needs the admin role")
    assert (h.snapshot(fakes), dict(fakes.store.users), dict(fakes.store.organizations)) == before
    assert h.last_refusal(fakes, "system")["command"] == type(cmd).__name__


def test_the_last_active_admin_cannot_be_deactivated_or_demoted(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    h.refused(bus, c.DeactivateUser(actor=s.ADMIN, email=s.ADMIN), Conflict, "last active admin")
    h.refused(bus, c.SetRoles(actor=None, email=s.ADMIN, roles=("approver",)), Conflict,
              "last active admin")  # fmt: skip
    bus.handle(c.SetRoles(actor=s.ADMIN, email=h.DEPUTY, roles=("approver", "admin")))
    bus.handle(c.DeactivateUser(actor=s.ADMIN, email=s.ADMIN))  # another admin remains
    h.refused(bus, c.DeactivateUser(actor=s.ADMIN, email=h.DEPUTY), NotPermitted, "deactivated")
    h.refused(bus, c.DeactivateUser(actor=h.DEPUTY, email=h.DEPUTY), Conflict, "last active")


def test_a_program_on_a_workflow_whose_party_is_missing_is_refused_naming_it(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    linkage = load_file(WORKFLOWS_DIR / "linkage-program.yaml")
    fakes.registry.machines[linkage.key, linkage.version] = WorkflowMachine(linkage)
    before = h.snapshot(fakes)
    with pytest.raises(InvalidInput, match="party university is not an organization"):
        s.create(bus, workflow="linkage-program")
    assert h.snapshot(fakes) == before
