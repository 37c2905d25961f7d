"""Signing in with a password (PRODUCT §7): argon2 hashes, and a lock after wrong tries.

Five wrong passwords in a row lock the account for 15 minutes; a try while locked is
refused without looking at the password, so guessing gains nothing. An unknown email
costs the same hashing work as a known one and gets the same words, so the sign-in
page does not tell who has an account.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from workflow.domain.errors import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 200  # argon2 takes any length; a bound keeps hashing a posted body cheap
MAX_FAILURES = 5
LOCK = timedelta(minutes=15)
SESSION = timedelta(hours=12)
WRONG, LOCKED = "wrong", "locked"  # why a try was refused

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("jointflow: no such account")


@dataclass(frozen=True)
class Credentials:
    password_hash: str
    failures: int = 0  # wrong tries in a row
    locked_until: datetime | None = None


@dataclass(frozen=True)
class Attempt:
    """What one try did: whether it let the person in, the credentials to store (None:
    nothing to store) and, when refused, why (``WRONG`` or ``LOCKED``, and until when)."""

    ok: bool
    credentials: Credentials | None
    refusal: str | None = None
    locked_until: datetime | None = None
    locked_now: bool = False  # this try set the lock


def check_new_password(password: str) -> str:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH or not password.strip():
        raise InvalidInput(
            f"a password has {MIN_LENGTH} to {MAX_LENGTH} characters", field="password"
        )
    return password


def new_credentials(password: str) -> Credentials:
    return Credentials(_hasher.hash(check_new_password(password)))


def attempt(found: Credentials | None, password: str, now: datetime) -> Attempt:
    """One sign-in try against the stored credentials (None: no such account)."""
    if found is None:
        _verifies(_DUMMY, password)
        return Attempt(False, None, WRONG)
    if found.locked_until is not None and found.locked_until > now:
        return Attempt(False, None, LOCKED, found.locked_until)
    if _verifies(found.password_hash, password):
        rehashed = (
            _hasher.hash(password)
            if _hasher.check_needs_rehash(found.password_hash)
            else found.password_hash
        )
        return Attempt(True, Credentials(rehashed))
    failures = found.failures + 1
    if failures >= MAX_FAILURES:
        until = now + LOCK
        return Attempt(False, Credentials(found.password_hash, 0, until), LOCKED, until, True)
    return Attempt(False, replace(found, failures=failures, locked_until=None), WRONG)


def _verifies(password_hash: str, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
