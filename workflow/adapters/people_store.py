"""An admin's changes to people and organizations, with SQLAlchemy Core (issue 16)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update

from workflow.adapters.batch import BatchingConnection
from workflow.adapters.orm import delegations, organizations, tasks, users
from workflow.adapters.task_store import _task
from workflow.domain.delegation import Delegation
from workflow.domain.permissions import User
from workflow.domain.tasks import CLAIMED
from workflow.service_layer.ports import Task

_d = delegations.c


class PeopleStore:
    def __init__(self, conn: BatchingConnection) -> None:
        self.conn = conn

    def save_user(self, user: User, now: datetime) -> None:
        self.conn.execute(
            update(users)
            .where(users.c.email == user.email)
            .values(
                roles=",".join(sorted(user.roles)),
                locale=user.locale,
                deactivated_at=None if user.active else now,
            )
        )

    def rename_organization(self, key: str, name: str) -> None:
        self.conn.execute(update(organizations).where(organizations.c.key == key).values(name=name))

    def claims_of(self, email: str) -> list[Task]:
        query = select(tasks).where(tasks.c.state == CLAIMED, tasks.c.claimed_by == email)
        return [_task(r) for r in self.conn.execute(query.order_by(tasks.c.id))]

    def end_delegations(self, email: str, now: datetime) -> list[Delegation]:
        running = _d.cleared_at.is_(None), or_(_d.delegator == email, _d.delegate == email)
        ended = self.conn.execute(
            update(delegations)
            .where(*running)
            .values(cleared_at=now)
            .returning(_d.id, _d.delegator, _d.delegate, _d.starts_on, _d.ends_on)
        ).all()
        return [Delegation(r.delegator, r.delegate, r.starts_on, r.ends_on)
                for r in sorted(ended, key=lambda r: r.id)]  # fmt: skip
