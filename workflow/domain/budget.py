"""Budget envelopes and the rules for holds (PRODUCT §4).

An envelope is (party, fiscal year, amount); ``held``, ``committed`` and ``disbursed``
are kept in step with the ledger in the same transaction. Money flows
hold -> commit -> disburse; ``release`` gives back held money, or the undisbursed part
of a commitment. Disbursed money stays counted in ``committed`` (it is spent, not
free), so ``available = amount - held - committed`` never rises when money is paid
out. ``available`` never goes below zero: a hold is placed for all of a program's
funders together or for none of them. A ``refund`` (money paid out and not spent, paid
back) shrinks ``committed`` and ``disbursed`` alike; an ``amend`` moves ``amount``.
"""

from __future__ import annotations

from dataclasses import dataclass

LEDGER_KINDS = ("hold", "commit", "disburse", "release", "refund", "amend")


@dataclass(frozen=True)
class Envelope:
    party: str
    year: int
    amount: int
    held: int = 0
    committed: int = 0
    disbursed: int = 0

    @property
    def available(self) -> int:
        return self.amount - self.held - self.committed


@dataclass(frozen=True)
class Shortfall:
    party: str
    requested: int
    available: int  # 0 when the party has no envelope for the year
    has_envelope: bool

    @property
    def missing(self) -> int:
        """How much more the envelope would need to free to hold the share."""
        return self.requested - self.available

    def as_data(self) -> dict[str, object]:
        """The numbers, JSON-safe (event data, read models)."""
        return {
            "party": self.party,
            "requested": self.requested,
            "available": self.available,
            "missing": self.missing,
            "has_envelope": self.has_envelope,
        }

    def describe(self) -> str:
        if not self.has_envelope:
            return f"{self.party} has no envelope for the year"
        return f"{self.party}: requested {self.requested:,}, available {self.available:,}"


def shortfalls(requests: dict[str, int], envelopes: dict[str, Envelope]) -> list[Shortfall]:
    """The parties whose envelope cannot hold their share; empty means all fit."""
    short: list[Shortfall] = []
    for party, amount in sorted(requests.items()):
        env = envelopes.get(party)
        if env is None:
            short.append(Shortfall(party, amount, 0, False))
        elif env.available < amount:
            short.append(Shortfall(party, amount, env.available, True))
    return short


def hold_key(program_id: int, round_: int, party: str) -> str:
    """Idempotency key of a hold: one per program, review round and party."""
    return f"hold:{program_id}:{round_}:{party}"


def release_key(program_id: int, round_: int, party: str) -> str:
    return f"release:{program_id}:{round_}:{party}"


def commit_key(program_id: int, party: str) -> str:
    """A party commits its share of a program once."""
    return f"commit:{program_id}:{party}"


def disburse_key(program_id: int, tranche: int) -> str:
    """Tranches are numbered per program under its row lock."""
    return f"disburse:{program_id}:{tranche}"


def release_commitment_key(program_id: int, party: str) -> str:
    """Committed money goes back once: at settlement, cancellation or expiry (all final)."""
    return f"release-commitment:{program_id}:{party}"
