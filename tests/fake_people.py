"""The in-memory ``People`` port (issue 16), beside ``tests.fakes``' others."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from workflow.domain.delegation import Delegation
from workflow.domain.permissions import User
from workflow.domain.tasks import CLAIMED
from workflow.service_layer.ports import Task

if TYPE_CHECKING:
    from tests.fakes import FakeStore


class FakePeople:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def save_user(self, user: User, now: datetime) -> None:
        assert user.email in self.store.users
        self.store.users[user.email] = user

    def rename_organization(self, key: str, name: str) -> None:
        self.store.organizations[key] = replace(self.store.organizations[key], name=name)

    def claims_of(self, email: str) -> list[Task]:
        return [
            Task(t.id, t["program_id"], t["kind"], t["party"], t["queue_org"], t["queue_role"],
                 t["state"], t["due_at"], t["claimed_by"])
            for t in self.store.tasks
            if t["state"] == CLAIMED and t["claimed_by"] == email
        ]  # fmt: skip

    def end_delegations(self, email: str, now: datetime) -> list[Delegation]:
        ended = []
        for row in self.store.delegations:
            d = row["delegation"]
            if row["cleared_at"] is None and email in (d.delegator, d.delegate):
                row["cleared_at"] = now
                ended.append(d)
        return ended
