"""The relay's Celery messages: a row each, but notices in groups of up to GROUP_SIZE,
each group in the order its rows were claimed (no broker or database needed)."""

from __future__ import annotations

from celery import Celery

from workflow.adapters.relay import GROUP_SIZE, OutboxRelay
from workflow.service_layer.handlers import NOTIFY, PLACE_HOLDS, TOGETHER


def test_notices_go_in_groups_and_every_other_message_alone() -> None:
    relay = OutboxRelay(None, Celery(broker="memory://"), 60, 500, TOGETHER)  # type: ignore[arg-type]
    due = [
        (1, PLACE_HOLDS),
        *[(i, NOTIFY) for i in range(2, 2 + GROUP_SIZE + 3)],
        (99, PLACE_HOLDS),
    ]
    messages = relay.messages_for(due)
    assert messages == [
        (PLACE_HOLDS, {"outbox_id": 1}),
        (NOTIFY, {"outbox_ids": list(range(2, 2 + GROUP_SIZE))}),
        (NOTIFY, {"outbox_ids": list(range(2 + GROUP_SIZE, 2 + GROUP_SIZE + 3))}),
        (PLACE_HOLDS, {"outbox_id": 99}),
    ]
    carried = sorted(i for _, kw in messages for i in kw.get("outbox_ids", [kw.get("outbox_id")]))
    assert carried == sorted(i for i, _ in due)  # each row in exactly one message


def test_without_together_every_row_is_a_message_of_its_own() -> None:
    relay = OutboxRelay(None, Celery(broker="memory://"), 60, 500)  # type: ignore[arg-type]
    assert relay.messages_for([(1, NOTIFY), (2, NOTIFY)]) == [
        (NOTIFY, {"outbox_id": 1}),
        (NOTIFY, {"outbox_id": 2}),
    ]
