"""Who may do what (PRODUCT §2), checked on the domain's permission rules alone."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from workflow.domain.errors import NotPermitted
from workflow.domain.permissions import (
    User,
    ensure_coordinator_of,
    ensure_may_create,
    ensure_may_decide,
    ensure_may_manage_budget,
    ensure_not_own_program,
    require_role,
)


def user(email: str, org: str, *roles: str) -> User:
    return User(id=1, email=email, name=email.split("@")[0], org=org, roles=frozenset(roles))


COORDINATOR = user("coord@munsan-high.kr", "munsan-high", "coordinator")
OTHER_COORDINATOR = user("coord@paju-youth.kr", "paju-youth", "coordinator")
CITY_APPROVER = user("approver@paju.go.kr", "city", "approver")
OE_APPROVER = user("approver@goepj.kr", "education_office", "approver")
SCHOOL_APPROVER = user("approver@munsan-high.kr", "munsan-high", "approver")
CITY_OFFICER = user("budget@paju.go.kr", "city", "budget_officer")
OE_OFFICER = user("budget@goepj.kr", "education_office", "budget_officer")
ADMIN = user("admin@jointflow.kr", "city", "admin")
# City staff who both run a city programme and approve for the city.
CITY_STAFF = user("staff@paju.go.kr", "city", "coordinator", "approver")
NOBODY = user("guest@paju.go.kr", "city")


@dataclass
class Prog:
    """What the permission rules read of a program."""

    id: int | None = 7
    org: str = "munsan-high"
    created_by: str = COORDINATOR.email
    submitted_by: set[str] = field(default_factory=lambda: {COORDINATOR.email})
    parties: tuple[str, ...] = ("city", "education_office")


# -- coordinators: their own organization only --

def test_a_coordinator_may_create_programs_for_their_own_organization() -> None:
    ensure_may_create(COORDINATOR, "munsan-high")


def test_a_coordinator_may_not_create_programs_for_another_organization() -> None:
    with pytest.raises(NotPermitted, match="for paju-youth: they belong to munsan-high"):
        ensure_may_create(COORDINATOR, "paju-youth")


@pytest.mark.parametrize("someone", [CITY_APPROVER, CITY_OFFICER, ADMIN, NOBODY])
def test_only_coordinators_create_programs(someone: User) -> None:
    with pytest.raises(NotPermitted, match="needs the coordinator role"):
        ensure_may_create(someone, someone.org)


def test_a_coordinator_may_act_on_their_own_organizations_programs() -> None:
    ensure_coordinator_of(COORDINATOR, Prog(), "submit program 7")
    colleague = user("teacher@munsan-high.kr", "munsan-high", "coordinator")
    ensure_coordinator_of(colleague, Prog(), "withdraw program 7")


def test_a_coordinator_may_not_touch_another_organizations_program() -> None:
    with pytest.raises(NotPermitted) as refused:
        ensure_coordinator_of(OTHER_COORDINATOR, Prog(), "submit program 7")
    assert str(refused.value) == ("coord@paju-youth.kr may not submit program 7: program 7 "
                                  "belongs to munsan-high, not to paju-youth")
    assert refused.value.context == {"user": "coord@paju-youth.kr", "program": 7}


@pytest.mark.parametrize("someone", [CITY_APPROVER, SCHOOL_APPROVER, CITY_OFFICER, ADMIN])
def test_people_without_the_coordinator_role_may_not_edit_submit_or_withdraw(
        someone: User) -> None:
    with pytest.raises(NotPermitted, match="needs the coordinator role"):
        ensure_coordinator_of(someone, Prog(), "update program 7")


# -- approvers: their own party's side only --

@pytest.mark.parametrize(("approver", "party"), [(CITY_APPROVER, "city"),
                                                 (OE_APPROVER, "education_office")])
def test_an_approver_decides_for_their_own_party_only(approver: User, party: str) -> None:
    assert ensure_may_decide(approver, Prog(), "approver") == party


def test_an_approver_of_an_organization_that_does_not_review_may_not_decide() -> None:
    with pytest.raises(NotPermitted, match="munsan-high is not one of its reviewing parties"):
        ensure_may_decide(SCHOOL_APPROVER, Prog(), "approver")


@pytest.mark.parametrize("someone", [CITY_OFFICER, ADMIN, NOBODY, COORDINATOR])
def test_only_approvers_decide(someone: User) -> None:
    with pytest.raises(NotPermitted, match="needs the approver role"):
        ensure_may_decide(someone, Prog(), "approver")


def test_a_party_may_name_another_role_as_its_deciders() -> None:
    dean = user("dean@univ.ac.kr", "university", "evaluator")
    program = Prog(parties=("city", "education_office", "university"))
    assert ensure_may_decide(dean, program, "evaluator") == "university"
    with pytest.raises(NotPermitted):
        ensure_may_decide(dean, program, "approver")


# -- separation of duties --

def test_the_creator_of_a_program_may_not_decide_on_it() -> None:
    program = Prog(org="city", created_by=CITY_STAFF.email, submitted_by=set())
    with pytest.raises(NotPermitted, match=r"created or submitted it \(separation of duties\)"):
        ensure_may_decide(CITY_STAFF, program, "approver")


def test_the_submitter_of_a_program_may_not_decide_on_it() -> None:
    program = Prog(org="city", created_by="other@paju.go.kr",
                   submitted_by={"other@paju.go.kr", CITY_STAFF.email})
    with pytest.raises(NotPermitted, match="separation of duties"):
        ensure_may_decide(CITY_STAFF, program, "approver")


def test_a_colleague_who_neither_created_nor_submitted_may_decide() -> None:
    program = Prog(org="city", created_by=CITY_STAFF.email, submitted_by={CITY_STAFF.email})
    assert ensure_may_decide(CITY_APPROVER, program, "approver") == "city"


def test_separation_of_duties_is_checked_on_its_own_for_any_action() -> None:
    ensure_not_own_program(CITY_APPROVER, Prog(), "commit funds for")
    with pytest.raises(NotPermitted, match="may not commit funds for program 7"):
        ensure_not_own_program(COORDINATOR, Prog(), "commit funds for")


# -- budget officers and admins --

@pytest.mark.parametrize(("officer", "party"), [(CITY_OFFICER, "city"),
                                                (OE_OFFICER, "education_office")])
def test_a_budget_officer_manages_their_own_partys_envelopes(officer: User, party: str) -> None:
    ensure_may_manage_budget(officer, party)


@pytest.mark.parametrize(("officer", "party"), [(CITY_OFFICER, "education_office"),
                                                (OE_OFFICER, "city")])
def test_a_budget_officer_may_not_manage_another_partys_envelopes(officer: User,
                                                                  party: str) -> None:
    with pytest.raises(NotPermitted, match=f"may not manage {party}'s budget: they belong to"):
        ensure_may_manage_budget(officer, party)


@pytest.mark.parametrize("someone", [CITY_APPROVER, COORDINATOR, CITY_STAFF, NOBODY])
def test_people_without_the_budget_officer_role_may_not_manage_envelopes(someone: User) -> None:
    with pytest.raises(NotPermitted, match="needs the budget_officer role"):
        ensure_may_manage_budget(someone, "city")


@pytest.mark.parametrize("party", ["city", "education_office", "university"])
def test_an_admin_may_manage_any_partys_envelopes(party: str) -> None:
    ensure_may_manage_budget(ADMIN, party)


def test_a_refusal_names_the_user_the_action_and_the_roles_they_have() -> None:
    with pytest.raises(NotPermitted) as refused:
        require_role(NOBODY, "approver", "decide on program 7")
    assert str(refused.value) == ("guest@paju.go.kr may not decide on program 7: it needs the "
                                  "approver role (has: none)")
    with pytest.raises(NotPermitted, match=r"\(has: approver, coordinator\)"):
        require_role(CITY_STAFF, "budget_officer", "manage city's budget")
