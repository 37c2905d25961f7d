"""KRW amounts: whole won as ``int``, validated once at the edge of the domain, and
written out for people (``80,000,000원`` in tables; ``8,000만 원`` / ``₩80,000,000`` in
the messages people read)."""

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
_UNSIGNED = re.compile(r"[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+")  # a count before 조/억/만
# Korean counts large sums in groups of four digits: 조 (10^12), 억 (10^8), 만 (10^4).
_KO_SIZES = {"조": 10**12, "억": 10**8, "만": 10**4}


def check_amount(amount: object, what: str = "amount", allow_zero: bool = False) -> int:
    """Return ``amount`` if it is a whole number of KRW in (0, 10^13); else refuse.

    ``allow_zero`` admits 0 for figures that may be nothing (a reported spend).
    """
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput(
            f"{what} must be a whole number of KRW, got {amount!r}",
            reason="amount_not_whole",
            field=what,
            value=repr(amount),
        )
    if amount == 0 and allow_zero:
        return amount
    if amount <= 0:
        raise InvalidInput(
            f"{what} must be greater than 0 KRW, got {amount}",
            reason="amount_not_positive",
            field=what,
            value=amount,
        )
    if amount >= MAX_AMOUNT:
        raise InvalidInput(
            f"{what} must be below 10^13 KRW, got {amount}",
            reason="amount_too_large",
            field=what,
            value=amount,
        )
    return amount


def parse_whole_krw(text: str, what: str = "amount") -> int:
    """Read an amount as a person types it, the one reading for every door: ``80000000``,
    ``80_000_000``, ``80,000,000``, ``8000만``, ``1억 2,000만``, ``₩80,000,000``
    (``원``/KRW suffix optional).

    Only the spelling is checked; the range is :func:`check_amount`'s job, so an entry
    point can tell a malformed value (usage) from a refused one.
    """
    spelled = text.strip().removeprefix("₩").removesuffix("원").removesuffix("KRW").strip()
    if len(spelled) > DIGITS_READ:
        raise _misspelled(text, what)
    if not any(unit in spelled for unit in _KO_SIZES):
        if not WHOLE_NUMBER.fullmatch(spelled):
            raise _misspelled(text, what)
        return int(spelled.replace(",", "").replace("_", ""))
    total, rest = 0, spelled.replace(" ", "")
    for unit, size in _KO_SIZES.items():  # largest first: "1억 2,000만", never "2,000만 1억"
        if unit in rest:
            head, rest = rest.split(unit, 1)
            total += _group(head, text, what) * size
    return total + (_group(rest, text, what) if rest else 0)


def _group(part: str, text: str, what: str) -> int:
    if not _UNSIGNED.fullmatch(part):
        raise _misspelled(text, what)
    return int(part.replace(",", ""))


def _misspelled(text: str, what: str) -> InvalidInput:
    return InvalidInput(
        f"{what} must be a whole number of KRW, got {shown(text)}",
        reason="amount_misspelled",
        field=what,
        value=shown(text),
    )


def parse_signed_krw(text: str, what: str = "amount") -> int:
    """Read a change to an amount, either way: ``+2억``, ``-5,000만``, ``-80000000`` (no
    sign: a raise). Only the spelling is checked, as :func:`parse_whole_krw`."""
    spelled = text.strip()
    sign = -1 if spelled.startswith("-") else 1
    unsigned = spelled[1:] if spelled[:1] in ("+", "-") else spelled
    if not unsigned or unsigned[:1] in ("+", "-"):
        raise _misspelled(text, what)
    return sign * parse_whole_krw(unsigned, what)


def parse_krw(text: str, what: str = "amount") -> int:
    """Read and check an amount: a whole number of KRW in (0, 10^13)."""
    return check_amount(parse_whole_krw(text, what), what)


def format_krw(amount: int) -> str:
    """Format for people: ``80,000,000원``."""
    return f"{amount:,}원"


def spell_krw(amount: int, locale: str = "ko") -> str:
    """An amount as people write it: ``8,000만 원``, ``18억 5,000만 원``, ``1만 2,500원``
    in Korean; ``₩80,000,000`` in English (any locale but ``en`` reads Korean)."""
    if locale == "en":
        return f"-₩{-amount:,}" if amount < 0 else f"₩{amount:,}"
    if amount == 0:
        return "0원"
    sign, rest = ("-" if amount < 0 else ""), abs(amount)
    parts = []
    for unit, size in _KO_SIZES.items():
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count:,}{unit}")
    if rest:
        parts.append(f"{rest:,}")
    # A unit word takes the spaced 원 (8,000만 원); bare digits take it attached (2,500원).
    won = "원" if rest else " 원"
    return sign + " ".join(parts) + won
