"""The directory's rules: what makes an organization key, a name, a user and a locale
valid."""

from __future__ import annotations

import re

from workflow.domain.definition import ROLES
from workflow.domain.errors import InvalidInput
from workflow.domain.text import EMAIL_MAX, KEY_MAX, NAME_MAX, check_line, shown

ORG_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# Something before and after one "@", no spaces or controls (the mail server says more).
EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$")
LOCALES = ("ko", "en")  # what people read: Korean by default, English by their choice
DEFAULT_LOCALE = LOCALES[0]


def check_org_key(key: str) -> str:
    key = key.strip()
    if len(key) > KEY_MAX:
        raise InvalidInput(
            f"organization key {shown(key)} is longer than {KEY_MAX} characters",
            reason="key_too_long",
            org=key[:KEY_MAX],
            max_length=KEY_MAX,
        )
    if not ORG_KEY.match(key):
        raise InvalidInput(
            f"organization key {key!r} must be lower-case letters, digits, '-' or '_'",
            reason="bad_key",
            org=key,
        )
    return key


def check_name(name: str, what: str = "name") -> str:
    """A person's or an organization's name as stored: trimmed, not empty, one line."""
    return check_line(name.strip() if isinstance(name, str) else name, what, NAME_MAX)


def check_email(email: str) -> str:
    """The address as stored: trimmed and lower-case."""
    email = email.strip().lower()
    if len(email) > EMAIL_MAX:
        raise InvalidInput(
            f"email address {shown(email)} is longer than {EMAIL_MAX} characters",
            reason="email_too_long",
            email=email[:EMAIL_MAX],
            max_length=EMAIL_MAX,
        )
    if not EMAIL.match(email):
        raise InvalidInput(f"{email!r} is not an email address", reason="bad_email", email=email)
    return email


def check_roles(roles: tuple[str, ...]) -> tuple[str, ...]:
    unknown = sorted(set(roles) - ROLES)
    if unknown or not roles:
        raise InvalidInput(
            f"unknown role(s) {', '.join(map(shown, unknown)) or 'none given'} "
            f"(roles: {', '.join(sorted(ROLES))})",
            reason="unknown_role",
            value=[shown(r) for r in unknown],
            known=sorted(ROLES),
        )
    return tuple(sorted(set(roles)))


def check_locale(locale: str) -> str:
    if locale not in LOCALES:
        raise InvalidInput(
            f"locale must be one of {', '.join(LOCALES)}, got {shown(locale)}",
            reason="unknown_locale",
            value=shown(locale),
            known=list(LOCALES),
        )
    return locale
