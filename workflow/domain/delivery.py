"""Carrying a message out (issue 14): a delivery's life, which failures are worth a
retry, how long to wait, and the identities a receiver drops a re-send by.

A delivery is one row per (message, recipient, channel). It is ``pending`` until an
attempt is marked (``sending``, attempts + 1) in a committed transaction *before* the
message leaves (a worker marks a batch's attempts together); the outcome is reconciled
in another: ``sent``, ``pending``
again with a later ``due_at`` (a transient failure, backed off), or ``dead`` (a
permanent failure, or the last attempt spent) -- the dead-letter list an operator reads
and re-drives. An email with no SMTP server configured is delivered in-app instead
(``fallback``). A ``sending`` row whose outcome never came back (the worker died between
sending and reconciling) is tried again after ``stale`` seconds: the one window where a
receiver may get a message twice, recognisable by the same ``Message-ID`` /
``X-Jointflow-Delivery``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from workflow.domain.errors import InvalidInput

EMAIL, INAPP, WEBHOOK = "email", "inapp", "webhook"
CHANNELS = (EMAIL, INAPP, WEBHOOK)
PENDING, SENDING, SENT, FALLBACK, DEAD = "pending", "sending", "sent", "fallback", "dead"
STATUSES = (PENDING, SENDING, SENT, FALLBACK, DEAD)


@dataclass(frozen=True)
class RetryPolicy:
    """``JOINTFLOW_DELIVERY_MAX_ATTEMPTS`` and ``_RETRY_SECONDS``; the wait doubles from
    ``base_seconds`` after each failure, up to ``cap_seconds``, half of it jittered."""

    max_attempts: int = 8
    base_seconds: float = 30.0
    cap_seconds: float = 6 * 3600.0
    stale_seconds: float = 300.0  # a ``sending`` row older than this is tried again

    def next_attempt(self, attempts: int, now: datetime, jitter: float) -> datetime | None:
        """When to try again after ``attempts`` failed ones; None: give up (dead letter).

        ``jitter`` in [0, 1) is the caller's randomness: the wait is between half and
        all of the exponential step, so receivers coming back up are not hit in step.
        """
        if attempts >= self.max_attempts:
            return None
        step = min(self.base_seconds * 2 ** (attempts - 1), self.cap_seconds)
        return now + timedelta(seconds=step * (0.5 + jitter / 2))


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: sent, or failed (transient: worth another attempt)."""

    sent: bool
    transient: bool = False
    error: str = ""
    fallback: bool = False  # delivered in-app instead (no SMTP server configured)

    @classmethod
    def ok(cls) -> Outcome:
        return cls(True)

    @classmethod
    def retry(cls, error: str) -> Outcome:
        return cls(False, True, error)

    @classmethod
    def fail(cls, error: str) -> Outcome:
        return cls(False, False, error)


def smtp_transient(code: int) -> bool:
    """SMTP replies 4xx are temporary (greylisting, mailbox busy); 5xx are final."""
    return 400 <= code < 500


def http_outcome(status: int) -> Outcome:
    """2xx delivered; 5xx, 408 and 429 try again later; any other answer is final."""
    if 200 <= status < 300:
        return Outcome.ok()
    error = f"HTTP {status}"
    if status >= 500 or status in (408, 429):
        return Outcome.retry(error)
    return Outcome.fail(error)


def message_id(delivery_id: int, domain: str) -> str:
    """The ``Message-ID`` of a delivery's email: every attempt carries the same one."""
    return f"<jointflow-delivery-{delivery_id}@{domain}>"


# -- webhooks --

SIGNATURE_PREFIX = "sha256="


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``X-Jointflow-Signature``: HMAC-SHA256 of ``"{timestamp}.{body}"``, hex."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def check_webhook_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"a webhook URL must be http:// or https:// with a host, got {url!r}", field="url"
        )
    if len(url) > 2000:
        raise InvalidInput("a webhook URL must be at most 2000 characters", field="url")
    return url


def check_webhook_events(types: tuple[str, ...], known: tuple[str, ...]) -> tuple[str, ...]:
    wanted = tuple(sorted({t.strip() for t in types if t.strip()}))
    unknown = sorted(set(wanted) - set(known))
    if not wanted or unknown:
        raise InvalidInput(
            f"unknown event type(s) {', '.join(unknown) or 'none given'} "
            f"(event types: {', '.join(known)})",
            field="events",
        )
    return wanted


def check_secret(secret: str) -> str:
    if not 16 <= len(secret) <= 200 or not secret.isprintable():
        raise InvalidInput("a webhook secret is 16 to 200 printable characters", field="secret")
    return secret


def new_secret() -> str:
    """A webhook secret when the organization brings none (shown once, kept to sign)."""
    return "whsec_" + secrets.token_urlsafe(32)


def webhook_body(
    event_id: str,
    event_type: str,
    occurred_at: str,
    program: dict[str, Any] | None,
    data: dict[str, Any],
) -> str:
    """The JSON a webhook receives, the same bytes on every attempt."""
    return json.dumps(
        {
            "id": event_id,
            "type": event_type,
            "occurred_at": occurred_at,
            "program": program,
            "data": data,
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
