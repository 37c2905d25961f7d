"""The sign-in rule without a database: argon2 hashes, five wrong tries lock 15 minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workflow.domain.errors import InvalidInput
from workflow.domain.passwords import (
    LOCK,
    LOCKED,
    MAX_FAILURES,
    WRONG,
    attempt,
    check_new_password,
    new_credentials,
)

NOW = datetime(2026, 2, 2, 0, 0, tzinfo=UTC)
GOOD = "correct horse battery"


def test_the_right_password_lets_in_and_clears_the_wrong_tries() -> None:
    stored = new_credentials(GOOD)
    assert stored.password_hash.startswith("$argon2id$") and GOOD not in stored.password_hash
    wrong = attempt(stored, "nope", NOW)
    assert (wrong.ok, wrong.refusal, wrong.credentials.failures) == (False, WRONG, 1)  # type: ignore[union-attr]
    right = attempt(wrong.credentials, GOOD, NOW)
    assert right.ok and right.credentials is not None and right.credentials.failures == 0


def test_five_wrong_tries_lock_for_fifteen_minutes_even_with_the_right_password() -> None:
    stored = new_credentials(GOOD)
    for n in range(1, MAX_FAILURES + 1):
        tried = attempt(stored, f"wrong {n}", NOW)
        assert tried.credentials is not None
        stored = tried.credentials
    assert tried.locked_now and tried.refusal == LOCKED and tried.locked_until == NOW + LOCK
    during = attempt(stored, GOOD, NOW + LOCK - timedelta(seconds=1))
    assert (during.ok, during.refusal, during.credentials) == (False, LOCKED, None)
    assert attempt(stored, GOOD, NOW + LOCK).ok


def test_an_unknown_account_gets_the_same_words() -> None:
    tried = attempt(None, GOOD, NOW)
    assert (tried.ok, tried.refusal, tried.credentials) == (False, WRONG, None)


@pytest.mark.parametrize("password", ["short", " " * 12, "x" * 201])
def test_a_new_password_has_ten_to_two_hundred_characters(password: str) -> None:
    with pytest.raises(InvalidInput, match="10 to 200 characters"):
        check_new_password(password)


def test_an_overlong_try_is_wrong_without_hashing_it() -> None:
    assert attempt(new_credentials(GOOD), GOOD + "x" * 300, NOW).refusal == WRONG
