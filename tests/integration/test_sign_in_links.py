"""Sign-in links on SQLite and PostgreSQL with a real SMTP server: mailed at once in the
person's language, even at night, and spent once however many tabs press the button."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from tests.fakes import Clock
from tests.integration.test_mail import BASE, EN_APPROVER, mail_bus, seoul
from tests.mail_sink import smtp_server, text_of
from workflow.domain import commands as c
from workflow.domain.sign_in_links import USED
from workflow.domain.tokens import token_hash
from workflow.service_layer.handlers import SignedIn

LINK = re.compile(re.escape(BASE) + r"/login/link/open#(jf_[A-Za-z0-9_-]{43})")


def test_a_link_goes_out_at_night_in_english_and_signs_in_once(database_url: str) -> None:
    clock = Clock(seoul(date(2026, 11, 2), 23, 30))  # quiet hours: digests wait, links not
    with smtp_server() as (sink, port):
        bus = mail_bus(database_url, clock, port)
        bus.handle(c.RequestSignInLink(actor=None, email=EN_APPROVER.upper()))
        (mail,) = sink.to(EN_APPROVER)
    assert mail["Subject"] == "[jointflow] Your sign-in link"
    found = LINK.search(text_of(mail))
    assert found, text_of(mail)

    def press(_: int) -> SignedIn:
        signed: SignedIn = bus.handle(c.UseSignInLink(actor=None, secret=found.group(1)))
        return signed

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(press, range(4)))
    assert sum(r.session is not None for r in results) == 1
    assert {r.refusal for r in results if r.session is None} == {USED}
    (won,) = [r.session.token for r in results if r.session is not None]
    owner = bus.query(lambda uow: uow.directory.token_owner(token_hash(won), clock.at))
    assert owner == EN_APPROVER
