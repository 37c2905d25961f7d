"""The command line's language: Korean by default; English by ``--lang en`` or, without
``--lang``, by the acting user's locale (``--as``'s entry in the directory).

Every line a person reads goes through one function, :func:`say`: its English template
is the key, ``KO`` holds the Korean, and a template missing there prints in English
(``tests/unit/test_cli_words.py`` lists every ``say("...")`` literal of the CLI modules
that has no Korean, so none is forgotten). A new command routes its text with::

    from workflow.entrypoints.cli_words import money, say, state, when
    click.echo(say("program {id} refunded: {amount}", id=pid, amount=money(amount)))

and adds ``"program {id} refunded: {amount}": "사업 {id} 반납 기록: {amount}"`` to ``KO``.
Table headers are ``say``'d too (``table(rows, [say("party"), ...])``). The other helpers:
:func:`state` (a state's name), :func:`money` (``19억 3,000만 원`` / ``₩1,930,000,000``),
:func:`when` (``2026-03-04 14:00 (KST)``), :func:`refusal` (a domain error's sentence).
``--json`` output never goes through here: machine keys and raw values.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from workflow.domain.calendar import SEOUL
from workflow.domain.directory import DEFAULT_LOCALE, LOCALES
from workflow.domain.errors import WorkflowError
from workflow.domain.money import spell_krw
from workflow.entrypoints.cli_words_ko import KO
from workflow.entrypoints.refusals import refusal_text
from workflow.entrypoints.vocabulary import ROLES, STATES, pick

__all__ = ["KO", "LANGS", "lang", "money", "refusal", "say", "state", "use", "when"]

LANGS = LOCALES  # what --lang takes: ko | en
_resolver: ContextVar[Callable[[], str] | None] = ContextVar("cli_lang", default=None)


def use(resolver: Callable[[], str] | None) -> None:
    """Set how this command finds its language (the CLI group does, once per command)."""
    _resolver.set(resolver)


def lang() -> str:
    resolve = _resolver.get()
    chosen = resolve() if resolve is not None else DEFAULT_LOCALE
    return chosen if chosen in LANGS else DEFAULT_LOCALE


def say(template: str, /, **values: Any) -> str:
    """``template`` (English) in the command's language, filled with ``values``."""
    text = template if lang() == "en" else KO.get(template, template)
    return text.format(**values) if values else text


def state(name: str | None) -> str:
    """A state's (or a decision's) name: Korean words, or the machine name in English --
    the very word ``--state`` takes."""
    if not name:
        return "-"
    return name if lang() == "en" else pick(STATES.get(name), "ko", name)


def role(name: str) -> str:
    return name if lang() == "en" else pick(ROLES.get(name), "ko", name)


def money(amount: int | None) -> str:
    """An amount as people write it: ``19억 3,000만 원`` (Korean), ``₩1,930,000,000``."""
    return "-" if amount is None else spell_krw(int(amount), lang())


def splits(amounts: dict[str, int]) -> str:
    """``city 8,000만 원, education_office 2,000만 원``."""
    return ", ".join(f"{party} {money(a)}" for party, a in amounts.items()) or "-"


def when(moment: datetime | str | None) -> str:
    """An instant in Seoul time, marked as such: ``2026-03-04 14:00 (KST)``."""
    if not moment:
        return "-"
    at = moment if isinstance(moment, datetime) else datetime.fromisoformat(moment)
    if at.tzinfo is None:  # the engine stores UTC
        at = at.replace(tzinfo=UTC)
    return f"{at.astimezone(SEOUL):%Y-%m-%d %H:%M} (KST)"


def refusal(err: WorkflowError) -> str:
    """A domain refusal's sentence in the command's language."""
    return refusal_text(err, lang())
