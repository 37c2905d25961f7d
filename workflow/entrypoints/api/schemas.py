"""Request bodies: unknown fields refused, amounts strict JSON integers.

The range of an amount is the domain's rule (``money.check_amount``); these models only
refuse what is not a JSON integer (a string, a float, a boolean) before it gets there.
Text lengths are the domain's limits (``domain.text``), declared here too so that the
OpenAPI contract shows them; the domain checks them again, as it does for every door.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from workflow.domain.errors import InvalidInput
from workflow.domain.money import check_amount
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


Amount = Annotated[int, Field(strict=True, gt=0, lt=10**13), AfterValidator(_amount)]
Spent = Annotated[int, Field(strict=True, ge=0, lt=10**13), AfterValidator(_spent)]
# Bounds keep values inside the columns (a bigger one would fail in the database).
Year = Annotated[int, Field(strict=True, ge=1, le=9999)]
Id = Annotated[int, Field(strict=True)]  # one that names no row is "not found", as any
Text = Annotated[str, Field(max_length=TEXT_MAX)]
Required = Annotated[str, Field(min_length=1, max_length=TEXT_MAX)]
Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX)]
Key = Annotated[str, Field(min_length=1, max_length=KEY_MAX)]
Email = Annotated[str, Field(min_length=3, max_length=EMAIL_MAX)]


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


class ReasonIn(Body):
    reason: Text = ""


class CancelIn(Body):
    reason: Required


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
    summary: Required


class EvaluationIn(Body):
    verdict: Literal["accept", "return"]
    score: Annotated[int, Field(strict=True, ge=1, le=5)] | None = None
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
