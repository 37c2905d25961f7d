"""The webhook channel (issue 14): a signed JSON POST to an organization's URL.

Headers: ``X-Jointflow-Event`` (the event type), ``X-Jointflow-Delivery`` (the delivery's
id, the same on every attempt, so a receiver drops a repeat), ``X-Jointflow-Timestamp``
(this attempt's Unix time) and ``X-Jointflow-Signature: sha256=<hex HMAC-SHA256 of
"{timestamp}.{body}" with the subscription's secret>``. 10 s timeout; the answer decides
the outcome (2xx delivered; 5xx, 408, 429, timeouts and refused connections retried;
any other 4xx final). Redirects are not followed: the URL registered is the one posted to.
One pooled client per process: a batch's posts to one receiver share its connections.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from workflow.domain.delivery import Outcome, http_outcome, sign
from workflow.service_layer.ports import Attempt

if TYPE_CHECKING:
    import httpx

TIMEOUT_SECONDS = 10.0


class WebhookPoster:
    def __init__(
        self, timeout: float = TIMEOUT_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self.timeout = timeout
        self.clock = clock
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def client(self) -> httpx.Client:
        import httpx  # here: a command that posts nothing does not pay for the import

        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout, follow_redirects=False)
            return self._client

    def send(self, attempt: Attempt) -> Outcome:
        import httpx  # here: a command that posts nothing does not pay for the import

        if attempt.secret is None:
            return Outcome.fail("the webhook was removed")
        body = attempt.body.encode()
        stamp = int(self.clock())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "jointflow-webhooks/1",
            "X-Jointflow-Event": attempt.event_type,
            "X-Jointflow-Delivery": str(attempt.delivery_id),
            "X-Jointflow-Timestamp": str(stamp),
            "X-Jointflow-Signature": sign(attempt.secret, stamp, body),
        }
        try:
            answer = self.client().post(attempt.recipient, content=body, headers=headers)
        except httpx.TimeoutException as err:
            return Outcome.retry(f"timed out after {self.timeout:.0f} s: {err}")
        except httpx.HTTPError as err:  # refused, reset, DNS: the receiver may come back
            return Outcome.retry(f"{type(err).__name__}: {err}")
        return http_outcome(answer.status_code)
