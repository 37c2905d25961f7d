"""Click parameter types for KRW amounts, PARTY=KRW splits, dates and file names.

Only the syntax is checked here (a malformed value is a usage error, exit 2); the
range rules (> 0, < 10^13) belong to the domain, which refuses with exit 1.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from workflow.domain.errors import InvalidInput
from workflow.domain.money import parse_whole_krw


def parse_int_krw(text: str) -> int | None:
    """The amount's value, or None when it is not spelled as a whole number of KRW."""
    try:
        return parse_whole_krw(text)
    except InvalidInput:
        return None


class KrwType(click.ParamType):  # type: ignore[type-arg]
    name = "KRW"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        amount = parse_int_krw(str(value))
        if amount is None:
            self.fail(
                f"{value!r} is not a whole number of KRW (e.g. 80000000 or 80,000,000)", param, ctx
            )
        return amount


class SplitType(click.ParamType):  # type: ignore[type-arg]
    """``PARTY=KRW``, e.g. ``city=80000000``."""

    name = "PARTY=KRW"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, int]:
        if isinstance(value, tuple):
            return value
        party, sep, amount_text = str(value).partition("=")
        amount = parse_int_krw(amount_text) if sep else None
        if not party.strip() or amount is None:
            self.fail(f"{value!r} is not PARTY=KRW (e.g. city=80000000)", param, ctx)
        return party.strip(), amount


class DateType(click.ParamType):  # type: ignore[type-arg]
    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date as YYYY-MM-DD", param, ctx)


class FilePath(click.Path):
    """click's path, for a name the system cannot take (a NUL in it) too: a usage error."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except ValueError:  # os.stat's "embedded null byte"
            self.fail(f"{value!r} is not a file name", param, ctx)


KRW = KrwType()
SPLIT = SplitType()
DATE = DateType()


def splits_to_dict(pairs: tuple[tuple[str, int], ...]) -> dict[str, int]:
    result: dict[str, int] = {}
    for party, amount in pairs:
        if party in result:
            raise click.BadParameter(f"{party} is requested twice", param_hint="--request")
        result[party] = amount
    return result
