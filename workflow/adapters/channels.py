"""The channels a courier sends through: email (SMTP) and webhooks (HTTP POST).

With no SMTP server configured (the embedded default), email is delivered in-app
instead: the delivery is marked ``fallback`` and the message shown in the person's
inbox, and the log says so once per process.
"""

from __future__ import annotations

import logging

from workflow.adapters.mail import Mailer
from workflow.adapters.webhook_post import WebhookPoster
from workflow.domain.delivery import EMAIL, WEBHOOK, Outcome
from workflow.service_layer.ports import Attempt

log = logging.getLogger(__name__)
NO_SMTP = "no SMTP server configured (JOINTFLOW_SMTP_HOST): delivered in-app instead"


class OutboundChannels:
    def __init__(self, mailer: Mailer | None, poster: WebhookPoster | None = None) -> None:
        self.mailer = mailer
        self.poster = poster or WebhookPoster()
        self._said_no_smtp = False

    def send(self, attempt: Attempt) -> Outcome:
        if attempt.channel == EMAIL:
            if self.mailer is None:
                if not self._said_no_smtp:
                    log.warning("email: %s", NO_SMTP)
                    self._said_no_smtp = True
                return Outcome(False, fallback=True, error=NO_SMTP)
            return self.mailer.send(attempt)
        if attempt.channel == WEBHOOK:
            return self.poster.send(attempt)
        return Outcome.fail(f"nothing sends on channel {attempt.channel!r}")
