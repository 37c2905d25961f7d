"""Request bodies and parameters: unknown fields refused, amounts strict JSON integers,
ids within the database's 64-bit integers, text without NUL characters.

The range of an amount is the domain's rule (``money.check_amount``); these models only
refuse what is not a JSON integer (a string, a float, a boolean) before it gets there.
Text lengths are the domain's limits (``domain.text``), declared here too so that the
OpenAPI contract shows them; the domain checks them again, as it does for every door.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from workflow.domain.errors import InvalidInput
from workflow.domain.money import check_amount
from workflow.domain.program import FISCAL_YEARS
from workflow.domain.text import EMAIL_MAX, KEY_MAX, TEXT_MAX, TITLE_MAX


def _amount(value: int) -> int:
    try:
        return check_amount(value)
    except InvalidInput as err:
        raise ValueError(err.message) from err


def _spent(value: int) -> int:
    try:
        return check_amount(value, "spent", allow_zero=True)
    except InvalidInput as err:
        raise ValueError(err.message) from err


# JSON Schema counts 80000000.0 as an integer; this API does not, and says so.
WHOLE = "a JSON integer, written without a fraction or exponent (8e7, 80000000.0 are refused)"
Amount = Annotated[
    int, Field(strict=True, gt=0, lt=10**13, description=WHOLE), AfterValidator(_amount)
]
Spent = Annotated[
    int, Field(strict=True, ge=0, lt=10**13, description=WHOLE), AfterValidator(_spent)
]
# Bounds keep values inside the columns (a bigger one would fail in the database).
Year = Annotated[
    int,
    Field(strict=True, ge=FISCAL_YEARS.start, le=FISCAL_YEARS.stop - 1, description=WHOLE),
]
# Any whole number: one that names no row (0, -1, 10**30) is "not found", as any other.
Id = Annotated[int, Field(strict=True, description=WHOLE)]
PathId = Annotated[int, Path()]
# No person's text holds a NUL, and PostgreSQL's text columns cannot store one.
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(max_length=TEXT_MAX, pattern=NO_NUL)]
Statement = Annotated[str, Field(min_length=1, max_length=TEXT_MAX, pattern=NO_NUL)]
Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX, pattern=NO_NUL)]
Key = Annotated[str, Field(min_length=1, max_length=KEY_MAX, pattern=NO_NUL)]
Email = Annotated[str, Field(min_length=3, max_length=EMAIL_MAX, pattern=NO_NUL)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProgramIn(Body):
    title: Title
    org: Key
    category: Key
    requests: dict[Key, Amount]
    start: date | None = None
    end: date | None = None
    year: Year | None = None
    description: Text = ""
    workflow: Key | None = None


class ProgramPatch(Body):
    title: Title | None = None
    category: Key | None = None
    requests: dict[Key, Amount] | None = None
    start: date | None = None
    end: date | None = None
    year: Year | None = None
    description: Text | None = None
    # ``requests`` changes only the funders it names; a funder leaves only by name here.
    drop_requests: Annotated[list[Key], Field(max_length=20)] = []


class ReasonIn(Body):
    reason: Text = ""


class CancelIn(Body):
    reason: Statement


# The domain's decision keys, spelled as JSON identifiers (a test keeps them in step).
DecisionName = Literal["approve", "reject", "request_changes"]


class DecisionIn(Body):
    decision: DecisionName
    comment: Text = ""

    @property
    def domain_key(self) -> str:
        return self.decision.replace("_", "-")


class DisbursementIn(Body):
    amount: Amount
    memo: Text = ""


class ReportIn(Body):
    spent: dict[Key, Spent]
    summary: Statement


class EvaluationIn(Body):
    verdict: Literal["accept", "return"]
    score: Annotated[int, Field(strict=True, ge=1, le=5, description=WHOLE)] | None = None
    comment: Text = ""


class ReassignIn(Body):
    to: Email


BulkAction = Literal["claim", "approve", "reject", "request_changes"]


class BulkIn(Body):
    action: BulkAction
    tasks: Annotated[list[Id], Field(min_length=1, max_length=500)]
    comment: Text = ""


class DelegationIn(Body):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    to: Email
    starts_on: date = Field(alias="from")
    ends_on: date = Field(alias="until")


class EnvelopeIn(Body):
    party: Key
    year: Year
    amount: Amount


# A change to an amount, either way; zero and the range are the domain's to refuse.
SignedAmount = Annotated[
    int, Field(strict=True, gt=-(10**13), lt=10**13, description=f"{WHOLE}; + raises, - lowers")
]


class RefundIn(Body):
    amount: Amount
    party: Key | None = None  # the funder paid back (default: the officer's own)
    memo: Text = ""


class AmendmentIn(Body):
    party: Key
    year: Year
    by: SignedAmount
    reason: Statement
