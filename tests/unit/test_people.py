"""The rules of people and organizations (issue 16), with no database: who may manage
them, what a deactivated person may do, the last-admin guard, parties that must exist."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.handlers.helpers import joint_program_with
from workflow.domain.errors import Conflict, InvalidInput, NotPermitted
from workflow.domain.people import (
    check_keeps_an_admin,
    deactivated,
    ensure_active,
    ensure_may_manage_people,
    ensure_parties_exist,
    keeps_claim,
    manages_people,
    reactivated,
)
from workflow.domain.permissions import User

ADMIN = User(1, "admin@x.kr", "admin", "city", frozenset({"admin"}))
OTHER_ADMIN = User(2, "admin2@x.kr", "admin2", "city", frozenset({"admin", "approver"}))
APPROVER = User(3, "approver@x.kr", "approver", "city", frozenset({"approver"}))
GONE_ADMIN = replace(OTHER_ADMIN, active=False)


def test_a_deactivated_person_may_not_act_and_an_active_one_may() -> None:
    ensure_active(APPROVER)
    with pytest.raises(NotPermitted, match="approver@x.kr is deactivated and can no longer act"):
        ensure_active(replace(APPROVER, active=False))


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [(None, True), (ADMIN, True), (APPROVER, False), (GONE_ADMIN, False)],
    ids=["operator", "admin", "approver", "deactivated-admin"],
)
def test_only_an_active_admin_or_the_operator_manages_people(
    actor: User | None, allowed: bool
) -> None:
    if allowed:
        ensure_may_manage_people(actor, "deactivate users")
    else:
        with pytest.raises(NotPermitted):
            ensure_may_manage_people(actor, "deactivate users")
    assert manages_people(actor) is (allowed and actor is not None)


def test_deactivating_twice_or_reactivating_an_active_person_is_a_conflict() -> None:
    gone = deactivated(APPROVER)
    assert not gone.active and reactivated(gone) == APPROVER
    with pytest.raises(Conflict, match="already deactivated"):
        deactivated(gone)
    with pytest.raises(Conflict, match="already active"):
        reactivated(APPROVER)


@pytest.mark.parametrize(
    ("after", "others", "refused"),
    [
        (deactivated(ADMIN), [], True),  # the only admin deactivated (by themselves, too)
        (replace(ADMIN, roles=frozenset({"approver"})), [], True),  # loses the admin role
        (deactivated(ADMIN), [GONE_ADMIN], True),  # the other admin is deactivated
        (deactivated(ADMIN), [OTHER_ADMIN], False),  # another admin remains
        (replace(ADMIN, roles=frozenset({"admin", "supervisor"})), [], False),  # stays admin
    ],
    ids=["deactivate-last", "demote-last", "other-inactive", "other-active", "keeps-role"],
)
def test_the_last_active_admin_is_kept(after: User, others: list[User], refused: bool) -> None:
    people = [ADMIN, APPROVER, *others]
    if refused:
        with pytest.raises(Conflict, match="last active admin"):
            check_keeps_an_admin(ADMIN, after, people)
    else:
        check_keeps_an_admin(ADMIN, after, people)


def test_changing_someone_who_is_no_admin_never_meets_the_guard() -> None:
    check_keeps_an_admin(APPROVER, deactivated(APPROVER), [APPROVER])


def test_a_claim_stays_only_while_its_person_is_active_in_its_queue() -> None:
    assert keeps_claim(APPROVER, "city", "approver")
    assert not keeps_claim(APPROVER, "city", "supervisor")
    assert not keeps_claim(APPROVER, "education_office", "approver")
    assert not keeps_claim(deactivated(APPROVER), "city", "approver")


def test_a_workflow_whose_party_is_no_organization_cannot_start_programs() -> None:
    definition = joint_program_with("joint-program")
    ensure_parties_exist(definition, ["city", "education_office", "munsan-high"])
    with pytest.raises(InvalidInput, match="party education_office is not an organization") as e:
        ensure_parties_exist(definition, ["city", "munsan-high"])
    assert e.value.context["missing"] == ["education_office"]
    with pytest.raises(InvalidInput, match="parties city, education_office are not"):
        ensure_parties_exist(definition, [])
