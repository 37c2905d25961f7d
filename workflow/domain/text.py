"""Text people type: one set of length limits for every door and both databases, and
what a text may hold.

Every free-text field of a command is checked here before it is stored, so a title of
100,000 characters is refused with the same sentence on SQLite (which would store it)
and on PostgreSQL (whose column would refuse it with a traceback). The columns are sized
from these constants (``adapters.orm``) and the API's schemas declare them too.

A line (a title, a name, a key) holds no control characters; a text written at length
(a description, a comment) may hold line breaks and tabs, and no other control
character. Neither may hold NUL, which PostgreSQL cannot store, nor an unpaired
surrogate (what Python makes of bytes on the command line that are not UTF-8), which
no database can.
"""

from __future__ import annotations

import unicodedata

from workflow.domain.errors import InvalidInput

TITLE_MAX = 300  # a program's title
NAME_MAX = 200  # a person's or an organization's name
EMAIL_MAX = 254  # an email address (the longest path RFC 5321 allows)
KEY_MAX = 64  # organization (so party), category and workflow keys
TEXT_MAX = 10_000  # written at length: description, comment, memo, reason, summary
FILE_NAME_MAX = 255  # an attached report's file name
SHOWN_MAX = 40  # how much of a refused value a message repeats

_LAYOUT = frozenset("\n\r\t")  # what a text written at length may hold besides print


def shown(value: str) -> str:
    """``value`` quoted for a message, cut short: a refusal never echoes 10,000 characters."""
    if len(value) <= SHOWN_MAX:
        return repr(value)
    return repr(value[:SHOWN_MAX]) + f"... ({len(value):,} characters)"


def check_line(value: object, what: str, max_len: int, required: bool = True) -> str:
    """One line (a title, a name): at most ``max_len`` characters, no control characters;
    ``required``: not blank. Returned as given."""
    return _check(value, what, max_len, required, frozenset())


def check_text(value: object, what: str, max_len: int = TEXT_MAX, required: bool = False) -> str:
    """Text written at length: line breaks and tabs allowed. Returned as given."""
    return _check(value, what, max_len, required, _LAYOUT)


def _check(value: object, what: str, max_len: int, required: bool, allowed: frozenset[str]) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, got {value!r}", reason="not_text", field=what)
    if len(value) > max_len:
        raise InvalidInput(
            f"{what} is {len(value):,} characters long; at most {max_len:,} are kept",
            reason="text_too_long",
            field=what,
            max_length=max_len,
            length=len(value),
        )
    if not storable(value):
        raise InvalidInput(
            f"{what} holds characters that are not valid text", reason="text_invalid", field=what
        )
    if any(_is_control(ch) and ch not in allowed for ch in value):
        kind = "control characters" if allowed else "line breaks or other control characters"
        reason = "text_control" if allowed else "line_breaks"
        raise InvalidInput(f"{what} must not hold {kind}", reason=reason, field=what)
    if required and not value.strip():
        raise InvalidInput(f"{what} must not be empty", reason="text_empty", field=what)
    return value


def storable(value: str) -> bool:
    """Whether both databases can keep ``value``: no NUL, no unpaired surrogate."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def recorded(value: str, max_len: int) -> str:
    """What the audit log keeps of text nobody checked (the acting user a refused
    command named, a refusal's message): as given when it can be stored and fits, else
    with the unstorable characters escaped and cut to ``max_len``."""
    if not storable(value):
        value = value.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode()
    return value if len(value) <= max_len else value[: max_len - 1] + "…"


def _is_control(ch: str) -> bool:
    """C0 and C1 controls, and the Unicode line and paragraph separators."""
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp")
