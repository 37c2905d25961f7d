"""Sign-in links through the bus on the fakes: a link is mailed at once to a known
person only, works once and for 15 minutes, and every ask and use is audited; the
asker is told nothing about who has an account."""

from __future__ import annotations

import re
from datetime import timedelta

from tests import support as s
from tests.fakes import Clock, FakeUnitOfWorkFactory
from tests.handlers import helpers as h
from workflow.domain import commands as c
from workflow.domain.messaging import SIGN_IN_LINK
from workflow.domain.passwords import SESSION
from workflow.domain.people import INACTIVE
from workflow.domain.sign_in_links import EXPIRED, LIFETIME, PER_HOUR, TOO_MANY, UNKNOWN, USED
from workflow.domain.tokens import token_hash
from workflow.service_layer.handlers import SignedIn
from workflow.service_layer.handlers.common import DIRECTORY_STREAM
from workflow.service_layer.messagebus import MessageBus

SECRET = re.compile(r"/login/link/open#(jf_[A-Za-z0-9_-]{43})")


def ask(bus: MessageBus, email: str = s.COORDINATOR) -> None:
    bus.handle(c.RequestSignInLink(actor=None, email=email))


def mailed_secrets(fakes: FakeUnitOfWorkFactory, email: str = s.COORDINATOR) -> list[str]:
    store = fakes.reader().store
    links = [
        n for n in store.notifications if n["kind"] == SIGN_IN_LINK and n["user_email"] == email
    ]
    return [m.group(1) for n in links if (m := SECRET.search(n["body"]))]


def use(bus: MessageBus, secret: str) -> SignedIn:
    result: SignedIn = bus.handle(c.UseSignInLink(actor=None, secret=secret))
    return result


def test_a_link_is_mailed_at_once_and_signs_its_owner_in_once(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory, clock: Clock
) -> None:
    clock.at = clock.at.replace(hour=14)  # 23:00 Seoul: quiet hours do not hold it back
    ask(bus, " Coord@Munsan-High.kr ")
    (secret,) = mailed_secrets(fakes)
    store = fakes.reader().store
    (mail,) = [d for d in store.deliveries if d["recipient"] == s.COORDINATOR]
    assert (mail["channel"], mail["status"], mail["due_at"]) == ("email", "sent", clock.at)
    assert not any(d["channel"] == "inapp" for d in store.deliveries)  # never in-app
    assert store.links[0]["hash"] == token_hash(secret) and secret not in str(store.links)

    signed = use(bus, secret)
    assert signed.session is not None and signed.session.expires_at == clock.at + SESSION
    assert fakes.reader().directory.token_owner(token_hash(signed.session.token), clock.at) == (
        s.COORDINATOR
    )
    again = use(bus, secret)
    assert (again.session, again.refusal) == (None, USED)
    history = h.history(fakes, DIRECTORY_STREAM)
    assert [t for t, _ in history][-3:] == ["SignInLinkSent", "SignedIn", "SignInLinkRefused"]
    assert history[-2][1]["by"] == "link" and history[-1][1]["reason"] == USED
    assert secret not in str(history)


def test_a_link_expires(bus: MessageBus, fakes: FakeUnitOfWorkFactory, clock: Clock) -> None:
    ask(bus)
    (secret,) = mailed_secrets(fakes)
    clock.at += LIFETIME
    assert use(bus, secret).refusal == EXPIRED


def test_an_unknown_address_gets_nothing_and_the_same_answer(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    before = len(fakes.reader().store.notifications)
    assert bus.handle(c.RequestSignInLink(actor=None, email="nobody@nowhere.kr")) is None
    assert len(fakes.reader().store.notifications) == before and not fakes.reader().store.links
    assert h.history(fakes, DIRECTORY_STREAM)[-1] == (
        "SignInLinkRefused",
        {"email": "nobody@nowhere.kr", "reason": UNKNOWN},
    )
    assert use(bus, "jf_" + "x" * 43).refusal == UNKNOWN
    assert use(bus, "not a secret").refusal == UNKNOWN


def test_a_mailbox_gets_a_few_links_an_hour_not_a_flood(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory, clock: Clock
) -> None:
    for _ in range(PER_HOUR + 2):
        ask(bus)
        clock.at += timedelta(minutes=1)
    assert len(mailed_secrets(fakes)) == PER_HOUR
    assert h.history(fakes, DIRECTORY_STREAM)[-1][1]["reason"] == TOO_MANY
    clock.at += timedelta(hours=1)
    ask(bus)
    assert len(mailed_secrets(fakes)) == PER_HOUR + 1


def test_a_deactivated_person_gets_no_link_and_their_link_signs_nobody_in(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    ask(bus)
    (secret,) = mailed_secrets(fakes)
    bus.handle(c.DeactivateUser(actor=None, email=s.COORDINATOR))
    assert use(bus, secret).refusal == INACTIVE
    ask(bus)
    assert len(mailed_secrets(fakes)) == 1
    assert h.history(fakes, DIRECTORY_STREAM)[-1][1]["reason"] == INACTIVE
