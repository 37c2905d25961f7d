"""The pages' words in Korean (the default) and English, and how people read numbers and
times: amounts as ``8,000만 원`` / ``₩80,000,000``, instants in Seoul time. The catalogues
themselves are ``workflow.entrypoints.vocabulary``'s, shared with the command line.

A key missing from the catalogue shows the key itself, which a test would catch.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from workflow.domain.calendar import SEOUL
from workflow.domain.directory import DEFAULT_LOCALE, LOCALES
from workflow.domain.errors import WorkflowError
from workflow.domain.messaging import spell_day
from workflow.domain.money import spell_krw
from workflow.entrypoints.refusals import refusal_text
from workflow.entrypoints.vocabulary import STATES, WORDS

__all__ = ["STATES", "WORDS", "Words", "pick_locale"]


def pick_locale(asked: str | None, user_locale: str | None) -> str:
    for choice in (asked, user_locale):
        if choice in LOCALES:
            return choice
    return DEFAULT_LOCALE


class Words:
    """The words of one locale, for the templates (``_('key', name=...)``)."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._en = locale == "en"

    def __call__(self, key: str, **values: Any) -> str:
        pair = WORDS.get(key)
        text = key if pair is None else pair[self._en]
        return text.format(**values) if values else text

    def state(self, name: str | None) -> str:
        pair = STATES.get(name or "")
        return (name or "") if pair is None else pair[self._en]

    def refusal(self, err: WorkflowError | str | None) -> str:
        """A refusal's sentence in this locale (``refusals``); a plain string as it is."""
        if err is None or isinstance(err, str):
            return err or ""
        return refusal_text(err, self.locale)

    def krw(self, amount: int | None) -> str:
        return "" if amount is None else spell_krw(int(amount), self.locale)

    def day(self, value: date | str | None) -> str:
        if not value:
            return ""
        day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
        return spell_day(day, self.locale)

    def when(self, value: datetime | str | None) -> str:
        """An instant in Seoul time: ``2026년 2월 2일 09:00`` / ``2 February 2026, 09:00``."""
        if not value:
            return ""
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        local = moment.astimezone(SEOUL)
        day = spell_day(local.date(), self.locale)
        if self._en:
            return f"{day} {local.year}, {local:%H:%M}"
        return f"{local.year}년 {day} {local:%H:%M}"
