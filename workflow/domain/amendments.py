"""Supplementary budgets and corrections (추경): an envelope raised or lowered in the year.

An amendment is a ledger entry with a reason, never an edit of the amount: ``amend``
with ``source`` ``raise`` or ``lower``. An envelope is never lowered below what it holds
and has committed (that money is promised), nor to nothing, nor past the engine's
amount limit. Raising it lets the waitlist of the year be retried, oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow.domain.budget import Envelope
from workflow.domain.errors import InsufficientBudget, InvalidInput
from workflow.domain.money import MAX_AMOUNT, check_amount
from workflow.domain.text import check_text

RAISE, LOWER = "raise", "lower"


@dataclass(frozen=True)
class Amendment:
    party: str
    year: int
    by: int  # signed: + raises, - lowers
    reason: str

    @property
    def direction(self) -> str:
        return RAISE if self.by > 0 else LOWER


def check_amendment(party: str, year: int, by: object, reason: object) -> Amendment:
    """Refuse an amendment that is not a signed whole number of KRW with a reason."""
    if isinstance(by, bool) or not isinstance(by, int):
        raise InvalidInput(f"an amendment must be a whole number of KRW, got {by!r}")
    if by == 0:
        raise InvalidInput(
            "an amendment of 0 KRW changes nothing: give what to add (+) or take off (-)"
        )
    check_amount(abs(by), "amendment")
    if not check_text(reason, "reason").strip():
        raise InvalidInput("an amendment needs a reason")
    assert isinstance(reason, str)
    return Amendment(party, year, by, reason)


def amended(envelope: Envelope, amendment: Amendment) -> Envelope:
    """The envelope after ``amendment``; refused, naming the figures, where it cannot be."""
    new = envelope.amount + amendment.by
    promised = envelope.held + envelope.committed
    where = f"{envelope.party}'s {envelope.year} envelope"
    if new < promised or new <= 0:
        raise InsufficientBudget(
            f"cannot lower {where} by {-amendment.by:,} KRW to {new:,} KRW: it holds "
            f"{envelope.held:,} KRW and has committed {envelope.committed:,} KRW "
            f"(at most {max(0, envelope.amount - max(promised, 1)):,} KRW can be taken off)",
            party=envelope.party,
            year=envelope.year,
            amount=envelope.amount,
            held=envelope.held,
            committed=envelope.committed,
        )
    if new >= MAX_AMOUNT:
        raise InvalidInput(f"{where} would be {new:,} KRW: amounts must be below 10^13 KRW")
    return Envelope(
        envelope.party,
        envelope.year,
        new,
        envelope.held,
        envelope.committed,
        envelope.disbursed,
    )


def amend_key(party: str, year: int, number: int) -> str:
    """The envelope's amendments are numbered under its row lock."""
    return f"amend:{party}:{year}:{number}"
