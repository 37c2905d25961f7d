"""Signing in by a link mailed to the person (issue 15), when the site can send mail.

A link is a one-time secret (only its hash is kept) that works for ``LIFETIME`` and
once. Whoever asks gets the same answer whether or not the address has an account, so
the form does not tell who has one; an address gets at most ``PER_HOUR`` links an hour,
so the form cannot be used to flood a mailbox. The mail goes at once, quiet hours or
not: the person is waiting for it.

The link opens a page with a button rather than signing in on the GET itself: mail
scanners fetch the links in a mail, and one that spent the link would lock its owner out.
The secret rides in the link's fragment (``#...``), which browsers never send, so no
access log or proxy along the way sees it; the page's script puts it in the form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

LIFETIME = timedelta(minutes=15)
PER_HOUR = 3
REQUEST_PATH = "/login/link"  # the form that asks for one
OPEN_PATH = "/login/link/open"  # where the mailed link leads

# Why a link was not sent, or did not sign anyone in (audited, never shown apart).
UNKNOWN, TOO_MANY, EXPIRED, USED = "unknown", "too_many", "expired", "used"


@dataclass(frozen=True)
class Link:
    """A stored link: whose, until when, and when it was used (None: not yet)."""

    id: int
    email: str
    expires_at: datetime
    used_at: datetime | None = None


def may_send(sent_last_hour: int) -> str | None:
    """None when another link may go to the address; else why not."""
    return TOO_MANY if sent_last_hour >= PER_HOUR else None


def refusal(link: Link | None, now: datetime) -> str | None:
    """None when ``link`` signs its owner in at ``now``; else why not."""
    if link is None:
        return UNKNOWN
    if link.used_at is not None:
        return USED
    if link.expires_at <= now:
        return EXPIRED
    return None


def link_path(secret: str) -> str:
    """The path the mail links to (the site's base URL goes in front)."""
    return f"{OPEN_PATH}#{secret}"
