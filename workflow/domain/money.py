"""KRW amounts: whole won as ``int``, validated once at the edge of the domain."""

from __future__ import annotations

import re

from workflow.domain.errors import InvalidInput
from workflow.domain.text import shown

MAX_AMOUNT = 10**13  # exclusive upper bound (PRODUCT §4)
# ASCII digits, one optional sign, and thousands separators only between groups of three
# ("80,000,000", "80_000_000"): isdigit() lets "²" through, lstrip("-") lets "--5"
# through, and int() reads "1_0" as 10 (and fails on "1_0_" with a ValueError).
WHOLE_NUMBER = re.compile(r"-?(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,3}(?:_[0-9]{3})+)")
DIGITS_READ = 100  # far past any amount; int() of thousands of digits is slow, then fails


def check_amount(amount: object, what: str = "amount", allow_zero: bool = False) -> int:
    """Return ``amount`` if it is a whole number of KRW in (0, 10^13); else refuse.

    ``allow_zero`` admits 0 for figures that may be nothing (a reported spend).
    """
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput(f"{what} must be a whole number of KRW, got {amount!r}")
    if amount == 0 and allow_zero:
        return amount
    if amount <= 0:
        raise InvalidInput(f"{what} must be greater than 0 KRW, got {amount}")
    if amount >= MAX_AMOUNT:
        raise InvalidInput(f"{what} must be below 10^13 KRW, got {amount}")
    return amount


def parse_whole_krw(text: str, what: str = "amount") -> int:
    """Read ``80000000``, ``80_000_000`` or ``80,000,000`` (optional ``원``/KRW suffix):
    the one reading of an amount typed by a person, for every door.

    Only the spelling is checked; the range is :func:`check_amount`'s job, so an entry
    point can tell a malformed value (usage) from a refused one.
    """
    spelled = text.strip().removesuffix("원").removesuffix("KRW").strip()
    if len(spelled) > DIGITS_READ or not WHOLE_NUMBER.fullmatch(spelled):
        raise InvalidInput(f"{what} must be a whole number of KRW, got {shown(text)}")
    return int(spelled.replace(",", "").replace("_", ""))


def parse_krw(text: str, what: str = "amount") -> int:
    """Read and check an amount: a whole number of KRW in (0, 10^13)."""
    return check_amount(parse_whole_krw(text, what), what)


def format_krw(amount: int) -> str:
    """Format for people: ``80,000,000원``."""
    return f"{amount:,}원"
