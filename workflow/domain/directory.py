"""The directory's rules: what makes an organization key, a user and a locale valid."""

from __future__ import annotations

import re

from workflow.domain.definition import ROLES
from workflow.domain.errors import InvalidInput

ORG_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
LOCALES = ("ko", "en")  # what people read: Korean by default, English by their choice
DEFAULT_LOCALE = LOCALES[0]


def check_org_key(key: str) -> str:
    key = key.strip()
    if not ORG_KEY.match(key):
        raise InvalidInput(
            f"organization key {key!r} must be lower-case letters, digits, '-' or '_'", org=key
        )
    return key


def check_email(email: str) -> str:
    """The address as stored: trimmed and lower-case."""
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidInput(f"{email!r} is not an email address", email=email)
    return email


def check_roles(roles: tuple[str, ...]) -> tuple[str, ...]:
    unknown = sorted(set(roles) - ROLES)
    if unknown or not roles:
        raise InvalidInput(
            f"unknown role(s) {', '.join(unknown) or 'none given'} "
            f"(roles: {', '.join(sorted(ROLES))})"
        )
    return tuple(sorted(set(roles)))


def check_locale(locale: str) -> str:
    if locale not in LOCALES:
        raise InvalidInput(f"locale must be one of {', '.join(LOCALES)}, got {locale!r}")
    return locale
