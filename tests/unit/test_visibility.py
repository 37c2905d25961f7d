"""Who sees what (PRODUCT §2): the visibility rule alone, as every door applies it."""

from __future__ import annotations

import pytest

from workflow.domain.errors import NotFound
from workflow.domain.permissions import User
from workflow.domain.visibility import (
    OPERATOR_VIEW,
    Viewer,
    budget_parties,
    ensure_sees_program,
    may_see_program,
)


def viewer(org: str, *roles: str, funder: bool = False) -> Viewer:
    return Viewer(User(1, f"someone@{org}.kr", "someone", org, frozenset(roles)), funder)


COORDINATOR = viewer("munsan-high", "coordinator")
CITY_APPROVER = viewer("city", "approver", funder=True)
ADMIN = viewer("city", "admin", funder=True)


@pytest.mark.parametrize("submitted", [False, True])
def test_a_coordinator_sees_their_own_organizations_programs_drafts_included(
    submitted: bool,
) -> None:
    assert may_see_program(COORDINATOR, "munsan-high", submitted)


@pytest.mark.parametrize("submitted", [False, True])
def test_a_coordinator_never_sees_another_organizations_programs(submitted: bool) -> None:
    assert not may_see_program(COORDINATOR, "paju-youth", submitted)


def test_a_funding_partys_staff_see_every_program_once_submitted_but_no_draft() -> None:
    assert may_see_program(CITY_APPROVER, "munsan-high", ever_submitted=True)
    assert not may_see_program(CITY_APPROVER, "munsan-high", ever_submitted=False)


def test_a_funding_partys_staff_see_their_own_organizations_drafts() -> None:
    assert may_see_program(CITY_APPROVER, "city", ever_submitted=False)


@pytest.mark.parametrize("who", [ADMIN, OPERATOR_VIEW])
def test_admins_and_the_operator_see_everything(who: Viewer) -> None:
    assert may_see_program(who, "munsan-high", ever_submitted=False)
    assert budget_parties(who) is None


def test_a_funding_partys_staff_see_their_own_partys_budget_and_a_school_none() -> None:
    assert budget_parties(CITY_APPROVER) == {"city"}
    assert budget_parties(COORDINATOR) == frozenset()


def test_a_program_one_may_not_see_is_reported_as_not_existing() -> None:
    with pytest.raises(NotFound, match="^program 7 does not exist$"):
        ensure_sees_program(COORDINATOR, 7, "paju-youth", True)


def test_a_party_that_reviews_without_funding_sees_its_programs_once_submitted() -> None:
    university = viewer("university", "approver")  # the linkage workflow's third party
    parties = ("city", "education_office", "university")
    assert may_see_program(university, "munsan-high", True, parties)
    assert not may_see_program(university, "munsan-high", False, parties)  # a draft
    assert not may_see_program(university, "munsan-high", True, ("city", "education_office"))
