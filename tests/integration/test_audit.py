"""The audit log on SQLite and PostgreSQL: tampering is detected, refusals are recorded.

The append-only triggers stop ordinary edits; these tests switch them off the way a
database owner could and check that the hash chain still gives the edit away.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, text

from tests import support as s
from workflow.adapters.database import make_engine
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.audit import event_hash
from workflow.domain.errors import NotFound, NotPermitted
from workflow.domain.events import program_stream
from workflow.service_layer.messagebus import SYSTEM_STREAM, MessageBus


@contextmanager
def as_database_owner(database_url: str) -> Iterator[Connection]:
    """A connection on which the append-only triggers do not fire."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            else:
                conn.execute(text("DROP TRIGGER events_no_update"))
                conn.execute(text("DROP TRIGGER events_no_delete"))
            yield conn
    finally:
        engine.dispose()


def verify(bus: MessageBus) -> tuple[int, Any]:
    result: tuple[int, Any] = bus.query(lambda uow: uow.events.verify())
    return result


def history(bus: MessageBus, stream: str) -> list[Any]:
    return list(bus.query(lambda uow: uow.events.history(stream)))


def reviewed_program(bus: MessageBus) -> int:
    s.seed(bus)
    s.submitted(bus)  # another program's stream, before and around the one we tamper with
    program_id = s.submitted(bus)
    s.decide(bus, program_id, s.CITY_APPROVER)
    s.decide(bus, program_id, s.OE_APPROVER)
    return program_id


def test_an_untouched_audit_log_verifies(bus: MessageBus) -> None:
    reviewed_program(bus)
    checked, broken = verify(bus)
    assert broken is None
    total = bus.query(
        lambda uow: uow.conn.execute(text("SELECT count(*) FROM events")).scalar_one()
    )
    assert checked == total


def test_editing_an_events_data_is_reported_as_the_first_broken_event(
    bus: MessageBus, database_url: str
) -> None:
    program_id = reviewed_program(bus)
    held = next(e for e in history(bus, program_stream(program_id)) if e.type == ev.BUDGET_HELD)
    forged = json.dumps(
        {**json.loads(held.data), "amount": 8_000_000}, sort_keys=True, separators=(",", ":")
    )

    with as_database_owner(database_url) as conn:
        conn.execute(
            text("UPDATE events SET data = :data WHERE id = :id"), {"data": forged, "id": held.id}
        )

    checked, broken = verify(bus)
    assert broken is not None
    assert (broken.event_id, broken.stream, broken.seq) == (
        held.id,
        program_stream(program_id),
        held.seq,
    )
    assert "does not match its hash" in broken.reason


def test_an_edit_with_a_recomputed_hash_is_caught_at_the_next_link(
    bus: MessageBus, database_url: str
) -> None:
    program_id = reviewed_program(bus)
    events = history(bus, program_stream(program_id))
    target, following = next(
        (e, events[i + 1]) for i, e in enumerate(events) if e.type == ev.PARTY_APPROVED
    )
    forged_actor = "someone-else@paju.go.kr"
    rehashed = event_hash(
        target.prev_hash,
        target.stream,
        target.seq,
        target.type,
        forged_actor,
        target.at,
        target.data,
    )

    with as_database_owner(database_url) as conn:
        conn.execute(
            text("UPDATE events SET actor = :actor, hash = :hash WHERE id = :id"),
            {"actor": forged_actor, "hash": rehashed, "id": target.id},
        )

    _, broken = verify(bus)
    assert broken is not None
    assert broken.event_id == following.id
    assert "previous-hash link" in broken.reason


def test_deleting_the_last_event_of_a_stream_is_detected(
    bus: MessageBus, database_url: str
) -> None:
    program_id = reviewed_program(bus)
    last = history(bus, program_stream(program_id))[-1]
    assert last.type == ev.PROGRAM_APPROVED

    with as_database_owner(database_url) as conn:
        conn.execute(text("DELETE FROM events WHERE id = :id"), {"id": last.id})

    _, broken = verify(bus)
    assert broken is not None
    assert broken.stream == program_stream(program_id)
    assert f"stream head says seq {last.seq}" in broken.reason


def test_deleting_an_event_in_the_middle_of_a_stream_is_detected(
    bus: MessageBus, database_url: str
) -> None:
    program_id = reviewed_program(bus)
    events = history(bus, program_stream(program_id))
    middle = events[len(events) // 2]

    with as_database_owner(database_url) as conn:
        conn.execute(text("DELETE FROM events WHERE id = :id"), {"id": middle.id})

    _, broken = verify(bus)
    assert broken is not None
    assert (broken.stream, broken.seq) == (program_stream(program_id), middle.seq)


def refusals(bus: MessageBus, stream: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (e.actor, json.loads(e.data)) for e in history(bus, stream) if e.type == ev.ACTION_REFUSED
    ]


def test_a_refused_decision_by_the_wrong_role_is_recorded_on_the_programs_stream(
    bus: MessageBus,
) -> None:
    s.seed(bus)
    program_id = s.submitted(bus)
    before = bus.query(lambda uow: uow.programs.get(program_id))

    with pytest.raises(NotPermitted, match="needs the approver role"):
        s.decide(bus, program_id, s.CITY_OFFICER)

    assert bus.query(lambda uow: uow.programs.get(program_id)) == before
    [(actor, data)] = refusals(bus, program_stream(program_id))
    assert actor == s.CITY_OFFICER
    assert data["command"] == "DecideReview"
    assert data["code"] == "not-permitted"
    assert "needs the approver role" in data["reason"]
    assert verify(bus)[1] is None


def test_a_refused_action_on_an_unknown_program_is_recorded_on_the_system_stream(
    bus: MessageBus,
) -> None:
    s.seed(bus)

    with pytest.raises(NotFound, match="program 4242 does not exist"):
        bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=4242))

    [(actor, data)] = refusals(bus, SYSTEM_STREAM)
    assert actor == s.COORDINATOR
    assert data == {
        "command": "SubmitProgram",
        "code": "not-found",
        "reason": "program 4242 does not exist",
        "program_id": 4242,
    }
    assert history(bus, program_stream(4242)) == []
    assert verify(bus)[1] is None


def test_an_unknown_acting_user_is_refused_before_the_program_is_looked_at(bus: MessageBus) -> None:
    s.seed(bus)
    program_id = s.submitted(bus)

    for target in (program_id, 4242):
        with pytest.raises(NotFound, match="no user with email 'nobody@paju.go.kr'"):
            s.decide(bus, target, "nobody@paju.go.kr")
    with pytest.raises(NotPermitted, match="needs an acting user"):
        bus.handle(c.SubmitProgram(actor=None, program_id=program_id))

    assert [d["code"] for _, d in refusals(bus, program_stream(program_id))] == [
        "not-found",
        "not-permitted",
    ]
    assert bus.query(lambda uow: uow.programs.get(program_id).state) == "in_review"
    assert verify(bus)[1] is None


def test_refusals_of_self_approval_and_of_another_organizations_program_are_recorded(
    bus: MessageBus,
) -> None:
    s.seed(bus)
    bus.handle(
        c.AddUser(
            actor=None,
            email="teacher-approver@paju.go.kr",
            name="Dual role",
            org="city",
            roles=("coordinator", "approver"),
        )
    )
    own = bus.handle(
        c.CreateProgram(
            actor="teacher-approver@paju.go.kr",
            title="City youth lab",
            org="city",
            category="future-competency",
            requests={"city": 10_000_000},
            year=s.YEAR,
        )
    )
    bus.handle(c.SubmitProgram(actor="teacher-approver@paju.go.kr", program_id=own))
    other_org = s.submitted(bus)

    with pytest.raises(NotPermitted, match="separation of duties"):
        s.decide(bus, own, "teacher-approver@paju.go.kr")
    with pytest.raises(NotPermitted, match="belongs to munsan-high"):
        bus.handle(c.WithdrawProgram(actor=s.OTHER_COORDINATOR, program_id=other_org))

    assert [(a, d["command"]) for a, d in refusals(bus, program_stream(own))] == [
        ("teacher-approver@paju.go.kr", "DecideReview")
    ]
    assert [(a, d["command"]) for a, d in refusals(bus, program_stream(other_org))] == [
        (s.OTHER_COORDINATOR, "WithdrawProgram")
    ]
    assert bus.query(lambda uow: uow.programs.get(other_org).state) == "in_review"
    assert verify(bus)[1] is None
