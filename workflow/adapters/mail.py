"""The SMTP channel (issue 14): a delivery's email, multipart text + HTML.

``JOINTFLOW_SMTP_HOST`` / ``_PORT`` / ``_USER`` / ``_PASSWORD`` / ``_STARTTLS`` /
``_FROM``. Every attempt at a delivery carries the same ``Message-ID`` (derived from the
delivery's id), so a mail sent twice -- the one window: sent, then the worker died
before the outcome was recorded -- is recognisable and dropped by the receiving side.
One connection is kept per process (opened again when the server has closed it while
idle: checked before each mail, without a round trip).
The server's answer decides the outcome: 4xx replies, refused or dropped connections and
timeouts are worth another attempt; 5xx replies are final.
"""

from __future__ import annotations

import select
import smtplib
import threading
from dataclasses import dataclass
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr

from workflow.domain.delivery import Outcome, message_id, smtp_transient
from workflow.service_layer.ports import Attempt


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    sender: str = "jointflow <jointflow@localhost>"
    timeout: float = 30.0

    @property
    def domain(self) -> str:
        """The sender's domain: where the Message-IDs are minted."""
        address = parseaddr(self.sender)[1]
        return address.rpartition("@")[2] or "localhost"


def build_message(attempt: Attempt, config: SmtpConfig) -> Message:
    """Built with the classic (``compat32``) MIME classes: a quarter of the time
    ``EmailMessage``'s header registry takes (0.44 ms against 1.85 ms a mail, measured),
    the same mail on the wire. Korean headers are RFC 2047 encoded, bodies base64."""
    mail: Message = MIMEText(attempt.text, "plain", "utf-8")
    if attempt.html:
        mail = MIMEMultipart("alternative")
        mail.attach(MIMEText(attempt.text, "plain", "utf-8"))
        mail.attach(MIMEText(attempt.html, "html", "utf-8"))
    mail["Subject"] = Header(attempt.subject, "utf-8")  # type: ignore[assignment]
    mail["From"] = _address(config.sender)
    mail["To"] = _address(attempt.recipient)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = message_id(attempt.delivery_id, config.domain)
    mail["X-Jointflow-Delivery"] = str(attempt.delivery_id)
    return mail


def _address(written: str) -> str:
    """An address as written (``이름 <a@b>``), its display name encoded when not ASCII."""
    name, address = parseaddr(written)
    return formataddr((name, address), charset="utf-8") if name else address


class Mailer:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None
        self._lock = threading.Lock()

    def send(self, attempt: Attempt) -> Outcome:
        mail = build_message(attempt, self.config)
        with self._lock:
            try:
                self._connection().send_message(mail)
            except smtplib.SMTPRecipientsRefused as err:
                self._close()
                code, reply = next(iter(err.recipients.values()))
                return _answer(code, reply)
            except smtplib.SMTPResponseException as err:
                self._close()
                return _answer(err.smtp_code, err.smtp_error)
            except (OSError, smtplib.SMTPException) as err:  # refused, dropped, timed out
                self._close()
                return Outcome.retry(f"{type(err).__name__}: {err}")
        return Outcome.ok()

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None and _said_something(self._smtp):
            # An idle connection the server has spoken on has been closed (421, timeout):
            # never start a mail on it, so one is not cut off half way and sent again.
            self._close()
        if self._smtp is None:
            c = self.config
            smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
            try:
                if c.starttls:
                    smtp.starttls()
                if c.user:
                    smtp.login(c.user, c.password or "")
            except BaseException:
                smtp.close()
                raise
            self._smtp = smtp
        return self._smtp

    def _close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None


def _said_something(smtp: smtplib.SMTP) -> bool:
    """Whether the server wrote to (or closed) a connection that waits for our command."""
    sock = smtp.sock
    if sock is None:
        return True
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def _answer(code: int, reply: bytes | str) -> Outcome:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
    error = f"SMTP {code} {text}".strip()
    return Outcome.retry(error) if smtp_transient(code) else Outcome.fail(error)
