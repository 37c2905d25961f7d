"""Who may do what (PRODUCT §2), checked on the domain's permission rules alone."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import yaml

from config.settings import WORKFLOWS_DIR
from workflow.domain.definition import WorkflowDefinition, parse_definition
from workflow.domain.errors import NotPermitted, TransitionNotAllowed
from workflow.domain.machine import GUARDS
from workflow.domain.permissions import (
    User,
    ensure_may_create,
    ensure_may_fire,
    ensure_may_manage_budget,
    ensure_member_of,
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


# -- the definition names who fires each trigger --


def definition(**changes: object) -> WorkflowDefinition:
    """The shipped joint-program definition, with top-level changes (e.g. parties)."""
    data = yaml.safe_load((WORKFLOWS_DIR / "joint-program.yaml").read_text(encoding="utf-8"))
    data.update(changes)
    return parse_definition(data, "joint-program.yaml", GUARDS)


DEFINITION = definition()


def fire(
    who: User,
    trigger: str,
    program: Prog | None = None,
    verb: str = "submit",
    parties: tuple[str, ...] | None = None,
    of: WorkflowDefinition = DEFINITION,
) -> str | None:
    return ensure_may_fire(who, of, trigger, program or Prog(), verb, parties, "reviewing")


def may_decide(
    who: User, program: Prog | None = None, of: WorkflowDefinition = DEFINITION
) -> str | None:
    program = program or Prog()
    return fire(who, "approve", program, "decide on", program.parties, of)


# -- coordinators: their own organization only --


def test_a_coordinator_may_create_programs_for_their_own_organization() -> None:
    ensure_may_create(COORDINATOR, DEFINITION, "munsan-high")


def test_a_coordinator_may_not_create_programs_for_another_organization() -> None:
    with pytest.raises(NotPermitted, match="for paju-youth: they belong to munsan-high"):
        ensure_may_create(COORDINATOR, DEFINITION, "paju-youth")


@pytest.mark.parametrize("someone", [CITY_APPROVER, CITY_OFFICER, ADMIN, NOBODY])
def test_only_coordinators_create_programs(someone: User) -> None:
    with pytest.raises(NotPermitted, match="needs the coordinator role"):
        ensure_may_create(someone, DEFINITION, someone.org)


@pytest.mark.parametrize(
    ("trigger", "verb"),
    [
        ("submit", "submit"),
        ("resubmit", "submit"),
        ("withdraw", "withdraw"),
        ("report", "report on"),
    ],
)
def test_a_coordinator_may_act_on_their_own_organizations_programs(trigger: str, verb: str) -> None:
    assert fire(COORDINATOR, trigger, verb=verb) is None
    colleague = user("teacher@munsan-high.kr", "munsan-high", "coordinator")
    assert fire(colleague, trigger, verb=verb) is None


def test_a_coordinator_may_not_touch_another_organizations_program() -> None:
    with pytest.raises(NotPermitted) as refused:
        fire(OTHER_COORDINATOR, "submit")
    assert str(refused.value) == (
        "coord@paju-youth.kr may not submit program 7: program 7 "
        "belongs to munsan-high, not to paju-youth"
    )
    assert refused.value.reason == "other_organization"
    assert refused.value.context == {
        "user": "coord@paju-youth.kr",
        "program": 7,
        "action": "submit program 7",
        "owner": "munsan-high",
        "org": "paju-youth",
    }


@pytest.mark.parametrize("someone", [CITY_APPROVER, SCHOOL_APPROVER, CITY_OFFICER, ADMIN])
def test_people_without_the_coordinator_role_may_not_edit_submit_or_withdraw(someone: User) -> None:
    with pytest.raises(NotPermitted, match="needs the coordinator role"):
        ensure_member_of(someone, Prog(), DEFINITION.drafter_role, "update program 7")
    for trigger in ("submit", "withdraw"):
        with pytest.raises(NotPermitted, match="needs the coordinator role"):
            fire(someone, trigger)


def test_the_role_a_definition_names_as_a_triggers_actor_is_the_one_that_may_fire_it() -> None:
    data = yaml.safe_load((WORKFLOWS_DIR / "joint-program.yaml").read_text(encoding="utf-8"))
    withdraw = next(t for t in data["transitions"] if t["trigger"] == "withdraw")
    withdraw["actor"] = "admin"
    by_admins = parse_definition(data, "joint-program.yaml", GUARDS)
    with pytest.raises(NotPermitted, match="needs the admin role"):
        fire(COORDINATOR, "withdraw", verb="withdraw", of=by_admins)
    assert fire(ADMIN, "withdraw", verb="withdraw", of=by_admins) is None


@pytest.mark.parametrize("trigger", ["hold", "waitlist", "activate", "finish", "expire"])
def test_nobody_fires_what_the_engine_does_by_itself(trigger: str) -> None:
    with pytest.raises(NotPermitted, match="the engine does it itself"):
        fire(ADMIN, trigger, verb=trigger)


def test_a_trigger_the_definition_lacks_is_not_allowed() -> None:
    with pytest.raises(TransitionNotAllowed, match="which has no teleport step"):
        fire(ADMIN, "teleport", verb="teleport")


def test_only_admins_cancel_and_on_any_organizations_program() -> None:
    assert fire(ADMIN, "cancel", verb="cancel") is None
    for someone in (COORDINATOR, CITY_APPROVER, CITY_OFFICER):
        with pytest.raises(NotPermitted, match="needs the admin role"):
            fire(someone, "cancel", verb="cancel")


# -- approvers: their own party's side only --


@pytest.mark.parametrize(
    ("approver", "party"), [(CITY_APPROVER, "city"), (OE_APPROVER, "education_office")]
)
def test_an_approver_decides_for_their_own_party_only(approver: User, party: str) -> None:
    assert may_decide(approver) == party


def test_an_approver_of_an_organization_that_does_not_review_may_not_decide() -> None:
    with pytest.raises(NotPermitted, match="munsan-high is not one of its reviewing parties"):
        may_decide(SCHOOL_APPROVER)


@pytest.mark.parametrize("someone", [CITY_OFFICER, ADMIN, NOBODY, COORDINATOR])
def test_only_approvers_decide(someone: User) -> None:
    with pytest.raises(NotPermitted, match="needs the approver role"):
        may_decide(someone)


def test_a_party_may_name_another_role_as_its_deciders() -> None:
    dean = user("dean@univ.ac.kr", "university", "evaluator")
    three = definition(
        parties=[
            {"key": "city"},
            {"key": "education_office"},
            {"key": "university", "role": "evaluator"},
        ]
    )
    program = Prog(parties=("city", "education_office", "university"))
    assert may_decide(dean, program, of=three) == "university"
    with pytest.raises(NotPermitted, match="needs the evaluator role"):
        may_decide(user("dean2@univ.ac.kr", "university", "approver"), program, of=three)


# -- separation of duties --


def test_the_creator_of_a_program_may_not_decide_on_it() -> None:
    program = Prog(org="city", created_by=CITY_STAFF.email, submitted_by=set())
    with pytest.raises(NotPermitted, match=r"created or submitted it \(separation of duties\)"):
        may_decide(CITY_STAFF, program)


def test_the_submitter_of_a_program_may_not_decide_on_it() -> None:
    program = Prog(
        org="city",
        created_by="other@paju.go.kr",
        submitted_by={"other@paju.go.kr", CITY_STAFF.email},
    )
    with pytest.raises(NotPermitted, match="separation of duties"):
        may_decide(CITY_STAFF, program)


def test_a_colleague_who_neither_created_nor_submitted_may_decide() -> None:
    program = Prog(org="city", created_by=CITY_STAFF.email, submitted_by={CITY_STAFF.email})
    assert may_decide(CITY_APPROVER, program) == "city"


def test_separation_of_duties_is_checked_on_its_own_for_any_action() -> None:
    ensure_not_own_program(CITY_APPROVER, Prog(), "commit funds for")
    with pytest.raises(NotPermitted, match="may not commit funds for program 7"):
        ensure_not_own_program(COORDINATOR, Prog(), "commit funds for")


# -- budget officers and admins --


@pytest.mark.parametrize(
    ("officer", "party"), [(CITY_OFFICER, "city"), (OE_OFFICER, "education_office")]
)
def test_a_budget_officer_manages_their_own_partys_envelopes(officer: User, party: str) -> None:
    ensure_may_manage_budget(officer, party)


@pytest.mark.parametrize(
    ("officer", "party"), [(CITY_OFFICER, "education_office"), (OE_OFFICER, "city")]
)
def test_a_budget_officer_may_not_manage_another_partys_envelopes(
    officer: User, party: str
) -> None:
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
    assert str(refused.value) == (
        "guest@paju.go.kr may not decide on program 7: it needs the approver role (has: none)"
    )
    with pytest.raises(NotPermitted, match=r"\(has: approver, coordinator\)"):
        require_role(CITY_STAFF, "budget_officer", "manage city's budget")
