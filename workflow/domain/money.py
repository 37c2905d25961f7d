"""KRW amounts: whole won as ``int``, validated once at the edge of the domain, and
written out for people (``80,000,000원`` in tables; ``8,000만 원`` / ``₩80,000,000`` in
the messages people read)."""

from __future__ import annotations

import re

from workflow.domain.errors import InvalidInput

MAX_AMOUNT = 10**13  # exclusive upper bound (PRODUCT §4)
# ASCII digits, one optional sign: isdigit() lets "²" through and lstrip("-") lets "--5"
# through, and int() then fails with a ValueError instead of InvalidInput.
WHOLE_NUMBER = re.compile(r"-?[0-9]+")


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
    """Read ``80000000``, ``80_000_000`` or ``80,000,000`` (optional ``원``/KRW suffix).

    Only the spelling is checked; the range is :func:`check_amount`'s job, so an entry
    point can tell a malformed value (usage) from a refused one.
    """
    cleaned = text.strip().removesuffix("원").removesuffix("KRW").strip()
    cleaned = cleaned.replace(",", "").replace("_", "")
    if not WHOLE_NUMBER.fullmatch(cleaned):
        raise InvalidInput(f"{what} must be a whole number of KRW, got {text!r}")
    return int(cleaned)


def parse_krw(text: str, what: str = "amount") -> int:
    """Read and check an amount: a whole number of KRW in (0, 10^13)."""
    return check_amount(parse_whole_krw(text, what), what)


def format_krw(amount: int) -> str:
    """Format for people: ``80,000,000원``."""
    return f"{amount:,}원"


# Korean counts large sums in groups of four digits: 조 (10^12), 억 (10^8), 만 (10^4).
_KO_UNITS = ((10**12, "조"), (10**8, "억"), (10**4, "만"))


def spell_krw(amount: int, locale: str = "ko") -> str:
    """An amount as people write it: ``8,000만 원``, ``18억 5,000만 원``, ``1만 2,500원``
    in Korean; ``₩80,000,000`` in English (any locale but ``en`` reads Korean)."""
    if locale == "en":
        return f"-₩{-amount:,}" if amount < 0 else f"₩{amount:,}"
    if amount == 0:
        return "0원"
    sign, rest = ("-" if amount < 0 else ""), abs(amount)
    parts = []
    for size, unit in _KO_UNITS:
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count:,}{unit}")
    if rest:
        parts.append(f"{rest:,}")
    # A unit word takes the spaced 원 (8,000만 원); bare digits take it attached (2,500원).
    won = "원" if rest else " 원"
    return sign + " ".join(parts) + won


_AS_TYPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+")
_KO_SIZES = {unit: size for size, unit in _KO_UNITS}


def read_krw(text: str, what: str = "amount") -> int:
    """An amount as people type it in a form: ``80,000,000``, ``8000만``, ``8,000만 원``,
    ``1억 2,000만``, ``₩80,000,000``; checked like every amount."""
    rest = text.strip().removeprefix("₩").removesuffix("원").removesuffix("KRW").replace(" ", "")
    total, seen = 0, False
    for unit in ("조", "억", "만"):
        if unit in rest:
            head, rest = rest.split(unit, 1)
            total += _typed_digits(head, text, what) * _KO_SIZES[unit]
            seen = True
    if rest or not seen:
        total += _typed_digits(rest, text, what)
    return check_amount(total, what)


def _typed_digits(part: str, text: str, what: str) -> int:
    if not _AS_TYPED.fullmatch(part):
        raise InvalidInput(f"{what} must be an amount in KRW such as 80,000,000 or 8000만, "
                           f"got {text!r}")  # fmt: skip
    return int(part.replace(",", ""))
