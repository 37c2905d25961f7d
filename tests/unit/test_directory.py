"""The directory's rules, defined once: organization keys, emails, roles, locales."""

from __future__ import annotations

import pytest

from workflow.domain.directory import (
    LOCALES,
    check_email,
    check_locale,
    check_org_key,
    check_roles,
)
from workflow.domain.errors import InvalidInput


@pytest.mark.parametrize("key", ["city", "education_office", "munsan-high", "2nd-school"])
def test_an_organization_key_is_lower_case_ascii_letters_digits_dashes_underscores(
    key: str,
) -> None:
    assert check_org_key(f" {key} ") == key


@pytest.mark.parametrize("key", ["", "City", "학교", "a b", "-x", "a.b"])
def test_any_other_organization_key_is_refused(key: str) -> None:
    with pytest.raises(InvalidInput, match="must be lower-case letters"):
        check_org_key(key)


def test_an_email_is_kept_trimmed_and_lower_case() -> None:
    assert check_email("  Coord@Munsan-High.KR ") == "coord@munsan-high.kr"


def test_roles_must_be_known_and_at_least_one() -> None:
    assert check_roles(("approver", "approver", "admin")) == ("admin", "approver")
    with pytest.raises(InvalidInput, match="unknown role"):
        check_roles(("mayor",))
    with pytest.raises(InvalidInput, match="none given"):
        check_roles(())


def test_people_read_korean_by_default_or_english() -> None:
    assert LOCALES == ("ko", "en")
    assert check_locale("en") == "en"
    with pytest.raises(InvalidInput, match="locale must be one of ko, en"):
        check_locale("ja")
