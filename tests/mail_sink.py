"""A real SMTP server for the tests (aiosmtpd on a free loopback port) that keeps what it
is sent and can be told to answer badly: a reply per DATA (``451 ...``) or per recipient
(``550 ...``). Nothing is mocked: the engine's SMTP client talks to it over TCP."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Sink:
    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.data_replies: list[str] = []  # answered to the next DATA commands, in order
        self.refuse: dict[str, str] = {}  # recipient -> reply to its RCPT
        self.delay = 0.0  # seconds each DATA takes: a slow server, to kill a worker mid-send
        self.arrived: list[float] = []  # time.time() of each mail kept

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.data_replies:
            return self.data_replies.pop(0)
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        self.recipients.append(list(envelope.rcpt_tos))
        self.arrived.append(time.time())
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.mails]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m, rcpt in zip(self.mails, self.recipients, strict=True) if address in rcpt]


@contextmanager
def smtp_server(port: int | None = None, sink: Sink | None = None) -> Iterator[tuple[Sink, int]]:
    sink = sink or Sink()
    port = port or free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def text_of(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


def html_of(mail: EmailMessage) -> str:
    part = mail.get_body(("html",))
    assert part is not None
    content: str = part.get_content()
    return content


def main() -> None:
    """``python -m tests.mail_sink [--port 8025]``: a local SMTP sink that prints each mail
    it is sent, decoded (to, subject, the plain text), until interrupted."""
    import argparse
    import threading

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8025)
    port = parser.parse_args().port

    class Printing(Sink):
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            reply = await super().handle_DATA(server, session, envelope)
            mail = self.mails[-1]
            print(f"--- to {', '.join(self.recipients[-1])}: {mail['Subject']}", flush=True)
            print(text_of(mail), flush=True)
            return reply

    with smtp_server(port, Printing()):
        print(f"SMTP sink listening on 127.0.0.1:{port}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
