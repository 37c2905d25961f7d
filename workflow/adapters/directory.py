"""The directory: organizations, users and delegations, with SQLAlchemy Core."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from workflow.adapters.batch import BatchingConnection
from workflow.adapters.orm import (
    api_tokens,
    delegations,
    organizations,
    sign_in_links,
    user_credentials,
    users,
)
from workflow.domain.delegation import Delegation, final_delegates
from workflow.domain.errors import Conflict, NotFound
from workflow.domain.passwords import Credentials
from workflow.domain.permissions import User
from workflow.domain.sign_in_links import Link
from workflow.domain.visibility import Viewer
from workflow.service_layer.ports import Organization

USER = select(users).where(users.c.email == bindparam("email"))
_ORGANIZATION = select(organizations).where(organizations.c.key == bindparam("key"))
_EVERYONE = select(users).order_by(users.c.org_key, users.c.email)
_MEMBERS = _EVERYONE.where(users.c.org_key == bindparam("org"))
_VIEWER = (
    select(users, organizations.c.funder.label("org_funder"))
    .join_from(users, organizations, organizations.c.key == users.c.org_key)
    .where(users.c.email == bindparam("email"))
)


class Directory:
    def __init__(self, conn: BatchingConnection) -> None:
        self.conn = conn

    def add_organization(self, key: str, name: str, funder: bool, now: datetime) -> None:
        try:
            self.conn.execute(
                insert(organizations).values(key=key, name=name, funder=funder, created_at=now)
            )
        except IntegrityError as err:
            raise Conflict(
                f"organization {key!r} already exists", reason="organization_exists", org=key
            ) from err

    def organization(self, key: str) -> Organization:
        row = self.conn.execute(_ORGANIZATION, {"key": key}).first()
        if row is None:
            known = ", ".join(
                self.conn.scalars(select(organizations.c.key).order_by(organizations.c.key))
            )
            raise NotFound(
                f"organization {key!r} does not exist (known: {known or 'none'})", org=key
            )
        return Organization(row.key, row.name, bool(row.funder))

    def organizations(self) -> list[Organization]:
        rows = self.conn.execute(select(organizations).order_by(organizations.c.key))
        return [Organization(r.key, r.name, bool(r.funder)) for r in rows]

    def add_user(
        self, email: str, name: str, org: str, roles: tuple[str, ...], locale: str, now: datetime
    ) -> int:
        try:
            return int(
                self.conn.execute(
                    insert(users)
                    .values(
                        email=email,
                        name=name,
                        org_key=org,
                        roles=",".join(sorted(set(roles))),
                        locale=locale,
                        created_at=now,
                    )
                    .returning(users.c.id)
                ).scalar_one()
            )
        except IntegrityError as err:
            raise Conflict(
                f"user {email!r} already exists", reason="user_exists", email=email
            ) from err

    def user(self, email: str) -> User:
        row = self.conn.execute(USER, {"email": email.lower()}).first()
        if row is None:
            raise NotFound(f"no user with email {email!r}", reason="no_user", email=email)
        return user_of(row)

    def viewer(self, email: str) -> Viewer:
        row = self.conn.execute(_VIEWER, {"email": email.lower()}).first()
        if row is None:
            raise NotFound(f"no user with email {email!r}", reason="no_user", email=email)
        return Viewer(user_of(row), bool(row.org_funder))

    def users(self, org: str | None = None) -> list[User]:
        if org:
            return [user_of(r) for r in self.conn.execute(_MEMBERS, {"org": org})]
        return [user_of(r) for r in self.conn.execute(_EVERYONE)]

    def add_delegation(self, delegation: Delegation, now: datetime) -> None:
        self.conn.execute(
            insert(delegations).values(
                delegator=delegation.delegator,
                delegate=delegation.delegate,
                starts_on=delegation.starts_on,
                ends_on=delegation.ends_on,
                created_at=now,
            )
        )

    def clear_delegation(self, delegator: str, now: datetime) -> int:
        return self.conn.execute(
            update(delegations)
            .where(delegations.c.delegator == delegator, delegations.c.cleared_at.is_(None))
            .values(cleared_at=now)
        ).rowcount

    def delegations(self) -> list[Delegation]:
        rows = self.conn.execute(
            select(delegations).where(delegations.c.cleared_at.is_(None)).order_by(delegations.c.id)
        )
        return [Delegation(r.delegator, r.delegate, r.starts_on, r.ends_on) for r in rows]

    def delegators_of(self, email: str, day: date) -> list[User]:
        routed = final_delegates(self.delegations(), day)
        return [self.user(who) for who, to in sorted(routed.items()) if to == email]

    def add_token(self, email: str, token_hash: str, expires_at: datetime, now: datetime) -> None:
        self.conn.execute(
            insert(api_tokens).values(
                user_email=email, token_hash=token_hash, created_at=now, expires_at=expires_at
            )
        )

    def revoke_tokens(self, email: str, now: datetime) -> int:
        t = api_tokens.c
        return self.conn.execute(
            update(api_tokens)
            .where(t.user_email == email, t.revoked_at.is_(None), t.expires_at > now)
            .values(revoked_at=now)
        ).rowcount

    def token_owner(self, token_hash: str, now: datetime) -> str | None:
        t = api_tokens.c
        found = self.conn.execute(
            select(t.user_email)
            .join(users, users.c.email == t.user_email)
            .where(t.token_hash == token_hash, t.revoked_at.is_(None), t.expires_at > now)
            .where(users.c.deactivated_at.is_(None))  # however it was issued (domain.people)
        ).scalar()
        return None if found is None else str(found)

    def revoke_token(self, email: str, token_hash: str, now: datetime) -> bool:
        t = api_tokens.c
        revoked = self.conn.execute(
            update(api_tokens)
            .where(
                t.user_email == email,
                t.token_hash == token_hash,
                t.revoked_at.is_(None),
                t.expires_at > now,
            )
            .values(revoked_at=now)
        ).rowcount
        return bool(revoked)

    def credentials(self, email: str) -> Credentials | None:
        c = user_credentials.c
        row = self.conn.execute(
            select(c.password_hash, c.failures, c.locked_until).where(c.user_email == email)
        ).first()
        return None if row is None else Credentials(row[0], row[1], row[2])

    def save_credentials(self, email: str, credentials: Credentials, now: datetime) -> None:
        values = {
            "password_hash": credentials.password_hash,
            "failures": credentials.failures,
            "locked_until": credentials.locked_until,
            "updated_at": now,
        }
        c = user_credentials.c
        changed = self.conn.execute(
            update(user_credentials).where(c.user_email == email).values(**values)
        ).rowcount
        if not changed:
            self.conn.execute(insert(user_credentials).values(user_email=email, **values))

    def add_sign_in_link(
        self, email: str, secret_hash: str, expires_at: datetime, now: datetime
    ) -> int:
        found = self.conn.execute(
            insert(sign_in_links)
            .values(
                user_email=email, secret_hash=secret_hash, created_at=now, expires_at=expires_at
            )  # fmt: skip
            .returning(sign_in_links.c.id)
        ).scalar_one()
        return int(found)

    def sign_in_links_since(self, email: str, since: datetime) -> int:
        k = sign_in_links.c
        counted = self.conn.execute(
            select(func.count()).where(k.user_email == email, k.created_at > since)
        ).scalar_one()
        return int(counted)

    def sign_in_link(self, secret_hash: str) -> Link | None:
        k = sign_in_links.c
        row = self.conn.execute(
            select(k.id, k.user_email, k.expires_at, k.used_at)
            .where(k.secret_hash == secret_hash)
            .with_for_update()
        ).first()
        return (
            None if row is None else Link(int(row.id), row.user_email, row.expires_at, row.used_at)
        )

    def use_sign_in_link(self, link_id: int, now: datetime) -> bool:
        k = sign_in_links.c
        used = self.conn.execute(
            update(sign_in_links).where(k.id == link_id, k.used_at.is_(None)).values(used_at=now)
        ).rowcount
        return bool(used)


def user_of(row: Any) -> User:
    return User(
        row.id,
        row.email,
        row.name,
        row.org_key,
        frozenset(r for r in row.roles.split(",") if r),
        row.locale,
        row.deactivated_at is None,
    )
