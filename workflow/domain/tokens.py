"""Personal API tokens: a secret shown once, only its SHA-256 kept.

The secret carries a fixed prefix so that a token pasted into the wrong place is
recognisable (and a malformed one is refused without a database lookup); 32 random
bytes make guessing hopeless, so a plain, unsalted SHA-256 is enough to look it up.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from workflow.domain.errors import InvalidInput

PREFIX = "jf_"
SHAPE = re.compile(r"jf_[A-Za-z0-9_-]{43}")
DEFAULT_DAYS = 90
MAX_DAYS = 366


def new_token() -> tuple[str, str]:
    """A fresh secret and the hash to store."""
    secret = PREFIX + secrets.token_urlsafe(32)
    return secret, token_hash(secret)


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def well_formed(secret: str) -> bool:
    return SHAPE.fullmatch(secret) is not None


def check_days(days: int) -> int:
    """A token lives 1 to ``MAX_DAYS`` days: a year at most, then the person asks again."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"a token lives 1 to {MAX_DAYS} days, not {days!r}", field="days")
    return days
