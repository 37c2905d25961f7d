"""Passwords and sessions through the bus on the fakes: the wrong tries are kept although
the sign-in is refused, every try is audited, a session is a revocable token."""

from __future__ import annotations

from datetime import timedelta

from tests import support as s
from tests.fakes import Clock, FakeUnitOfWorkFactory
from tests.handlers import helpers as h
from workflow.domain import commands as c
from workflow.domain.errors import InvalidInput, NotFound
from workflow.domain.passwords import LOCK, LOCKED, MAX_FAILURES, SESSION, WRONG
from workflow.domain.tokens import token_hash
from workflow.service_layer.handlers import SignedIn
from workflow.service_layer.handlers.common import DIRECTORY_STREAM
from workflow.service_layer.messagebus import MessageBus

PASSWORD = "munsan-2026-robotics"


def sign_in(bus: MessageBus, password: str, email: str = s.COORDINATOR) -> SignedIn:
    result: SignedIn = bus.handle(c.SignIn(actor=None, email=email, password=password))
    return result


def test_a_session_is_a_token_that_signing_out_revokes(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory, clock: Clock
) -> None:
    bus.handle(c.SetPassword(actor=None, email=s.COORDINATOR, password=PASSWORD))
    signed = sign_in(bus, PASSWORD, email=" Coord@Munsan-High.kr ".lower())
    assert signed.session is not None and signed.session.expires_at == clock.at + SESSION
    owner = fakes.reader().directory.token_owner(token_hash(signed.session.token), clock.at)
    assert owner == s.COORDINATOR
    bus.handle(c.SignOut(actor=s.COORDINATOR, secret=signed.session.token))
    assert fakes.reader().directory.token_owner(token_hash(signed.session.token), clock.at) is None
    h.refused(bus, c.SignOut(actor=s.COORDINATOR, secret=signed.session.token), NotFound, "no such")
    assert h.types(fakes, DIRECTORY_STREAM)[-3:] == ["PasswordSet", "SignedIn", "SignedOut"]
    assert PASSWORD not in str(h.history(fakes, DIRECTORY_STREAM))


def test_wrong_tries_count_although_refused_and_lock_the_account(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory, clock: Clock
) -> None:
    bus.handle(c.SetPassword(actor=None, email=s.COORDINATOR, password=PASSWORD))
    for _ in range(MAX_FAILURES - 1):
        assert sign_in(bus, "guess").refusal == WRONG
    locked = sign_in(bus, "guess")
    assert (locked.refusal, locked.locked_until) == (LOCKED, clock.at + LOCK)
    assert sign_in(bus, PASSWORD).session is None  # the right one, while locked
    history = h.history(fakes, DIRECTORY_STREAM)
    assert [t for t, _ in history].count("SignInRefused") == MAX_FAILURES + 1
    assert (
        "AccountLocked",
        {"email": s.COORDINATOR, "until": locked.locked_until.isoformat()},
    ) in history  # type: ignore[union-attr]
    clock.at += LOCK + timedelta(seconds=1)
    assert sign_in(bus, PASSWORD).session is not None


def test_nobody_signs_in_without_a_password_and_a_short_one_is_refused(
    bus: MessageBus, fakes: FakeUnitOfWorkFactory
) -> None:
    assert sign_in(bus, PASSWORD).refusal == WRONG  # no password set yet
    assert sign_in(bus, PASSWORD, email="nobody@nowhere.kr").refusal == WRONG
    h.refused(
        bus,
        c.SetPassword(actor=None, email=s.COORDINATOR, password="short"),
        InvalidInput,
        "10 to 200",
    )
    assert fakes.reader().directory.credentials(s.COORDINATOR) is None
    h.refused(bus, c.SetPassword(actor=None, email="x@y.kr", password=PASSWORD), NotFound, "x@y.kr")
