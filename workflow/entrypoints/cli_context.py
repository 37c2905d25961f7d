"""What every ``jointflow`` command shares: the acting user, the language, a lazily built
bus, the ``--json`` option, and the hints the command line adds to the domain's refusals."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar

import click

from workflow.domain import commands as c
from workflow.domain.directory import DEFAULT_LOCALE
from workflow.domain.errors import WorkflowError
from workflow.domain.visibility import Viewer
from workflow.entrypoints import cli_words
from workflow.entrypoints.cli_words import say
from workflow.service_layer.messagebus import MessageBus

T = TypeVar("T")
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")

# What to type to supply what a refusal says is missing (its ``needs`` or ``field``).
HINTS = {"actor": "--as EMAIL or JOINTFLOW_USER", "year": "--year or --start"}


class Context:
    """The acting user (None: the operator on the server), the language asked for (None:
    the acting user's locale, else Korean) and a lazily built bus."""

    def __init__(self, actor: str | None, lang: str | None = None) -> None:
        self.actor = actor
        self.asked_lang = lang
        self._locale: str | None = None
        self._bus: MessageBus | None = None
        cli_words.use(self.language)

    def language(self) -> str:
        """``--lang``, else the acting user's locale once the bus is up (a command that
        never opens the database, or fails before it does, speaks Korean)."""
        if self.asked_lang:
            return self.asked_lang
        if self._locale is None and self.actor and self._bus is not None:
            self._locale = self._users_locale(self._bus, self.actor)
        return self._locale or DEFAULT_LOCALE

    @staticmethod
    def _users_locale(bus: MessageBus, email: str) -> str:
        try:
            return str(bus.query(lambda uow: uow.directory.user(email).locale))
        except Exception:  # an unknown user, a database down: the refusal says so, in ko
            return DEFAULT_LOCALE

    @property
    def bus(self) -> MessageBus:
        if self._bus is None:
            from workflow.bootstrap import bootstrap

            self._bus = bootstrap()
        return self._bus

    def handle(self, cmd: c.Command) -> Any:
        return self.bus.handle(cmd)

    def query(self, reader: Callable[[Any], T]) -> T:
        return self.bus.query(reader)

    def view(self, reader: Callable[[Any, Viewer], T]) -> T:
        """A read as the acting user sees it; without one, as the operator (everything)."""
        return self.bus.view(reader, self.actor)

    def require_actor(self) -> str:
        if not self.actor:
            raise click.UsageError(say("give the acting user: {hint}", hint=say(HINTS["actor"])))
        return self.actor


pass_ctx = click.make_pass_decorator(Context)


def refusal_line(err: WorkflowError) -> str:
    """The one line a refusal prints, with the flag that supplies what it lacked. What
    the person typed may be in the message: its control characters are shown escaped,
    so it stays one line."""
    wanted = err.context.get("needs") or err.context.get("field")
    hint = HINTS.get(str(wanted)) if wanted else None
    return f"jointflow: {one_line(cli_words.refusal(err))}" + (f" ({say(hint)})" if hint else "")


def one_line(text: str) -> str:
    return "".join(_escaped(ch) if unicodedata.category(ch) in _BREAKING else ch for ch in text)


_BREAKING = ("Cc", "Cs", "Zl", "Zp")  # controls, unpaired surrogates, line separators


def _escaped(ch: str) -> str:
    return ch.encode("unicode_escape", "backslashreplace").decode("ascii")
