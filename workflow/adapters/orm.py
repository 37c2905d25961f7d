"""The database schema as SQLAlchemy Core tables, shared by SQLite and PostgreSQL.

Core rather than ORM mapping: the hot paths are a handful of statements per action
and the domain objects stay plain dataclasses built by the repositories. Alembic
migrations (``adapters/migrations``) create exactly this schema; a test keeps the two
in step. Amounts are BIGINT won; CHECK constraints are the last line of defence for
the ledger rules the domain already enforces. Text columns are as long as the domain's
limits (``domain.text``) let a value be, so both databases keep the same values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)

from workflow.domain.events import STREAM_MAX
from workflow.domain.messaging import STORED_KINDS
from workflow.domain.text import (
    EMAIL_MAX,
    FILE_NAME_MAX,
    KEY_MAX,
    NAME_MAX,
    TITLE_MAX,
    storable,
)


class UtcDateTime(TypeDecorator[datetime]):
    """An instant, always read back aware: SQLite keeps no time zone, and every instant
    the engine writes is UTC, so a naive value read from it is UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


# What a 64-bit integer column holds (PostgreSQL BIGINT, SQLite INTEGER).
INT64 = range(-(2**63), 2**63)


class RowId(TypeDecorator[int]):
    """A row's id, and every column naming one: BIGINT on PostgreSQL, INTEGER on SQLite
    (which auto-increments only an INTEGER PRIMARY KEY).

    A number no such column can hold (outside 64 bits: ``program show 10**30``) is bound
    as NULL, which equals nothing and follows nothing: a look-up finds no row, an UPDATE
    changes none, a page after it is empty. So such an id is "not found" like any id
    that names no row, in every query, instead of an overflow in the driver (SQLite)
    or the server (PostgreSQL)."""

    impl = BigInteger
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        return dialect.type_descriptor(Integer() if dialect.name == "sqlite" else BigInteger())

    def process_bind_param(self, value: int | None, dialect: Dialect) -> int | None:
        return value if value is None or value in INT64 else None


BigId = RowId()


class Str(TypeDecorator[str]):
    """A text column. Text no column can keep (NUL, which PostgreSQL refuses, or an
    unpaired surrogate, which no driver can encode) is bound as NULL, so a look-up by
    it finds nothing on both databases instead of failing in the driver. What is
    written has been checked by the domain (``domain.text``) before it gets here."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or (value.isascii() and "\x00" not in value) or storable(value):
            return value
        return None


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

organizations = Table(
    "organizations",
    metadata,
    Column("key", Str(KEY_MAX), primary_key=True),
    Column("name", Str(NAME_MAX), nullable=False),
    Column("funder", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("email", Str(EMAIL_MAX), nullable=False, unique=True),
    Column("name", Str(NAME_MAX), nullable=False),
    Column("org_key", Str(KEY_MAX), ForeignKey("organizations.key"), nullable=False),
    Column("roles", Str(200), nullable=False),  # sorted, comma-separated
    Column("locale", Str(8), nullable=False, default="ko"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("deactivated_at", UtcDateTime()),  # null while active (domain.people)
)

workflow_definitions = Table(
    "workflow_definitions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key", Str(KEY_MAX), nullable=False),
    Column("version", Integer, nullable=False),
    Column("checksum", Str(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("key", "version"),
)

programs = Table(
    "programs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("title", Str(TITLE_MAX), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("category", Str(KEY_MAX), nullable=False),
    Column("org_key", Str(KEY_MAX), ForeignKey("organizations.key"), nullable=False),
    Column("workflow_key", Str(KEY_MAX), nullable=False),
    Column("workflow_version", Integer, nullable=False),
    Column("state", Str(40), nullable=False),
    Column("fiscal_year", Integer, nullable=False),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("review_round", Integer, nullable=False, default=1),
    Column("created_by", Str(EMAIL_MAX), nullable=False),
    Column("submitted_by", Text, nullable=False, default="[]"),  # JSON list of emails
    Column("version", Integer, nullable=False, default=1),
    Column("waitlisted_at", UtcDateTime()),
    Column("holds_expire_at", UtcDateTime()),
    Column("tranches", Integer, nullable=False, server_default="0"),  # disbursements so far
    Column("evaluation_round", Integer, nullable=False, server_default="0"),
    Column("report", Text),  # JSON: the latest evaluation report (spent, summary, by, file)
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index(None, "state", "org_key"),
    Index(None, "fiscal_year", "state", "waitlisted_at"),
)

program_requests = Table(
    "program_requests",
    metadata,
    Column("program_id", BigId, ForeignKey("programs.id"), primary_key=True),
    Column("party", Str(KEY_MAX), ForeignKey("organizations.key"), primary_key=True),
    Column("amount", BigInteger, nullable=False),
    Column("held", BigInteger, nullable=False, default=0),
    Column("committed", BigInteger, nullable=False, server_default="0"),
    Column("disbursed", BigInteger, nullable=False, server_default="0"),
    CheckConstraint("amount > 0 AND amount < 10000000000000", name="amount_range"),
    CheckConstraint("held >= 0", name="held_not_negative"),
    CheckConstraint(
        "committed >= 0 AND disbursed >= 0 AND disbursed <= committed",
        name="disbursed_within_commitment",
    ),
)

party_decisions = Table(
    "party_decisions",
    metadata,
    Column("program_id", BigId, ForeignKey("programs.id"), primary_key=True),
    Column("party", Str(KEY_MAX), primary_key=True),
    Column("decision", Str(20), nullable=False),
    Column("decided_by", Str(EMAIL_MAX)),
    Column("comment", Text, nullable=False, default=""),
    Column("decided_at", UtcDateTime()),
    Index(None, "party", "decision"),
)

party_evaluations = Table(
    "party_evaluations",
    metadata,
    Column("program_id", BigId, ForeignKey("programs.id"), primary_key=True),
    Column("party", Str(KEY_MAX), primary_key=True),
    Column("verdict", Str(20), nullable=False),
    Column("score", Integer),
    Column("decided_by", Str(EMAIL_MAX)),
    Column("comment", Text, nullable=False, default=""),
    Column("decided_at", UtcDateTime()),
    CheckConstraint("score IS NULL OR score BETWEEN 1 AND 5", name="score_range"),
)

report_files = Table(
    "report_files",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("program_id", BigId, ForeignKey("programs.id"), nullable=False),
    Column("evaluation_round", Integer, nullable=False),
    Column("name", Str(FILE_NAME_MAX), nullable=False),
    Column("sha256", Str(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index(None, "program_id"),
)

# Attached documents (``domain.documents``): one row per file of a program, its bytes
# named by SHA-256 in the file store; ``name_key`` (casefolded) keeps names unique.
documents = Table(
    "documents",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("program_id", BigId, ForeignKey("programs.id"), nullable=False),
    Column("name", Str(FILE_NAME_MAX), nullable=False),
    Column("name_key", Str(FILE_NAME_MAX), nullable=False),
    Column("kind", Str(20), nullable=False),
    Column("round", Integer, nullable=False),
    Column("sha256", Str(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content_type", Str(100), nullable=False),
    Column("attached_by", Str(EMAIL_MAX), nullable=False),
    Column("attached_at", UtcDateTime(), nullable=False),
    UniqueConstraint("program_id", "name_key"),
    Index(None, "sha256"),
)

# The database file store: bytes by their SHA-256 (the default store; a deployment may
# name a directory instead).
document_blobs = Table(
    "document_blobs",
    metadata,
    Column("sha256", Str(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# Due times (a program's start, end, hold expiry) as rows: the sweep carries out the due ones,
# never long ETA tasks. ``done_at`` makes each row run once, however many sweeps race.
scheduled_work = Table(
    "scheduled_work",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("program_id", BigId, ForeignKey("programs.id"), nullable=False),
    Column("action", Str(20), nullable=False),
    Column("key", Str(120), nullable=False, unique=True),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("done_at", UtcDateTime()),
    Column("outcome", Str(20)),
    Index(
        "ix_scheduled_work_due",
        "due_at",
        postgresql_where=text("done_at IS NULL"),
        sqlite_where=text("done_at IS NULL"),
    ),
)

# Human tasks (PRODUCT §5), opened and closed by the workflow. The inbox pages through
# live tasks by queue in (due_at, id) order: the partial indexes hold exactly that
# order, the id included because many tasks share a due time.
tasks = Table(
    "tasks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("program_id", BigId, ForeignKey("programs.id"), nullable=False),
    Column("kind", Str(40), nullable=False),
    Column("party", Str(KEY_MAX)),
    Column("queue_org", Str(KEY_MAX), nullable=False),
    Column("queue_role", Str(40), nullable=False),
    Column("state", Str(20), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("claimed_by", Str(EMAIL_MAX)),
    Column("closed_at", UtcDateTime()),
    Column("closed_by", Str(EMAIL_MAX)),
    CheckConstraint("state IN ('open', 'claimed', 'completed', 'cancelled')", name="state_known"),
    Index(
        "ix_tasks_live_queue",
        "queue_org",
        "queue_role",
        "due_at",
        "id",
        postgresql_where=text("state IN ('open', 'claimed')"),
        sqlite_where=text("state IN ('open', 'claimed')"),
    ),
    Index(
        "ix_tasks_live_claimed",
        "claimed_by",
        "due_at",
        "id",
        postgresql_where=text("state = 'claimed'"),
        sqlite_where=text("state = 'claimed'"),
    ),
    Index(None, "program_id"),
)

# 대결: while a delegation runs, the delegator's queues route to the delegate.
delegations = Table(
    "delegations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("delegator", Str(EMAIL_MAX), ForeignKey("users.email"), nullable=False),
    Column("delegate", Str(EMAIL_MAX), ForeignKey("users.email"), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("cleared_at", UtcDateTime()),
    CheckConstraint("ends_on >= starts_on", name="period"),
    Index(None, "delegate"),
    Index(None, "delegator"),
)

# Reminder moments (issue 4 §3): one row per (task, rung), swept when due; ``status``
# pending -> sent (with the recipients resolved then) or void (the task closed first).
reminders = Table(
    "reminders",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("task_id", BigId, ForeignKey("tasks.id"), nullable=False),
    Column("rung", Str(20), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("status", Str(10), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime()),
    Column("recipients", Text),  # JSON list of emails, written when sent
    UniqueConstraint("task_id", "rung"),
    CheckConstraint("status IN ('pending', 'sent', 'void')", name="status_known"),
    Index(
        "ix_reminders_pending",
        "due_at",
        postgresql_where=text("status = 'pending'"),
        sqlite_where=text("status = 'pending'"),
    ),
)

# The messages people are sent (issue 14): one per person, kind, Seoul day and topic --
# the topic names the occasion (a decision, a budget notice); a digest has none, so it
# is one per day and grows during it. Shown in-app when it has an in-app delivery.
notifications = Table(
    "notifications",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_email", Str(EMAIL_MAX), nullable=False),
    Column("kind", Str(20), nullable=False),
    Column("day", Date, nullable=False),
    Column("topic", Str(120), nullable=False, server_default=""),
    Column("subject", Str(300), nullable=False),
    Column("body", Text, nullable=False),  # the plain text
    Column("html", Text, nullable=False, server_default=""),
    Column("items", Text, nullable=False),  # JSON: what the body says, to re-render it
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("read_at", UtcDateTime()),
    UniqueConstraint("user_email", "kind", "day", "topic"),
    CheckConstraint(
        "kind IN (" + ", ".join(f"'{k}'" for k in STORED_KINDS) + ")", name="kind_known"
    ),
)

# A person's channels per kind of message; no row: the kind's default (email and in-app).
notification_prefs = Table(
    "notification_prefs",
    metadata,
    Column("user_email", Str(EMAIL_MAX), ForeignKey("users.email"), primary_key=True),
    Column("kind", Str(20), primary_key=True),
    Column("channels", Str(40), nullable=False),  # sorted, comma-separated; "" = none
    Column("updated_at", UtcDateTime(), nullable=False),
)

# An organization's webhook subscriptions: signed POSTs of the program events it wants.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("org_key", Str(KEY_MAX), ForeignKey("organizations.key"), nullable=False),
    Column("url", Str(2000), nullable=False),
    Column("events", Text, nullable=False),  # sorted, comma-separated event types
    Column("secret", Str(200), nullable=False),  # needed in the clear to sign
    Column("created_at", UtcDateTime(), nullable=False),
    Column("removed_at", UtcDateTime()),
    Index(None, "org_key"),
)

# One row per (message, recipient, channel): carried out by the workers, retried when
# due (``due_at``), dead-lettered when it can't be (domain/delivery.py).
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key", Str(300), nullable=False, unique=True),  # written once per occasion
    Column("notification_id", BigId, ForeignKey("notifications.id")),
    Column("webhook_id", BigId, ForeignKey("webhooks.id")),
    Column("channel", Str(10), nullable=False),
    Column("recipient", Str(2000), nullable=False),  # an email address or a URL
    Column("status", Str(10), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("attempted_at", UtcDateTime()),
    Column("sent_at", UtcDateTime()),
    Column("last_error", Text),
    Column("event_type", Str(64)),  # a webhook's
    Column("payload", Text),  # a webhook's JSON body, the same on every attempt
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    CheckConstraint("channel IN ('email', 'inapp', 'webhook')", name="channel_known"),
    CheckConstraint(
        "status IN ('pending', 'sending', 'sent', 'fallback', 'dead')", name="status_known"
    ),
    CheckConstraint("(notification_id IS NULL) <> (webhook_id IS NULL)", name="one_message"),
    Index(
        "ix_deliveries_due",
        "due_at",
        postgresql_where=text("status IN ('pending', 'sending')"),
        sqlite_where=text("status IN ('pending', 'sending')"),
    ),
    Index(None, "notification_id"),
    Index(None, "status"),
)

envelopes = Table(
    "envelopes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("party", Str(KEY_MAX), ForeignKey("organizations.key"), nullable=False),
    Column("fiscal_year", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("held", BigInteger, nullable=False, default=0),
    Column("committed", BigInteger, nullable=False, default=0),
    Column("disbursed", BigInteger, nullable=False, default=0),
    UniqueConstraint("party", "fiscal_year"),
    CheckConstraint("amount > 0 AND amount < 10000000000000", name="amount_range"),
    CheckConstraint("held >= 0 AND committed >= 0 AND disbursed >= 0", name="not_negative"),
    CheckConstraint("held + committed <= amount", name="no_overcommitment"),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("envelope_id", BigId, ForeignKey("envelopes.id"), nullable=False),
    Column("program_id", BigId, ForeignKey("programs.id")),
    Column("kind", Str(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("idempotency_key", Str(200), nullable=False, unique=True),
    Column("source", Str(16)),  # a release's bucket: held | committed; an amend's raise | lower
    Column("actor", Str(EMAIL_MAX), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint(
        "kind IN ('hold', 'commit', 'disburse', 'release', 'refund', 'amend')", name="kind_known"
    ),
    Index(None, "program_id"),
    Index(None, "envelope_id"),
)

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("stream", Str(STREAM_MAX), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("type", Str(64), nullable=False),
    Column("actor", Str(EMAIL_MAX), nullable=False),
    Column("at", Str(40), nullable=False),  # ISO 8601 text, hashed exactly as stored
    Column("data", Text, nullable=False),  # canonical JSON, hashed exactly as stored
    Column("prev_hash", Str(64), nullable=False),
    Column("hash", Str(64), nullable=False),
    UniqueConstraint("stream", "seq"),
    Index(None, "type"),
)

event_streams = Table(
    "event_streams",
    metadata,
    Column("stream", Str(STREAM_MAX), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("head", Str(64), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("task", Str(100), nullable=False),
    Column("payload", Text, nullable=False),  # JSON
    Column("created_at", UtcDateTime(), nullable=False),
    Column("published_at", UtcDateTime()),
    Column("attempts", Integer, nullable=False, default=0),
    Column("done_at", UtcDateTime()),
    Index(
        "ix_outbox_undone",
        "id",
        postgresql_where=text("done_at IS NULL"),
        sqlite_where=text("done_at IS NULL"),
    ),
)

# Personal API tokens: only the secret's SHA-256 is kept (domain/tokens.py).
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_email", Str(EMAIL_MAX), ForeignKey("users.email"), nullable=False, index=True),
    Column("token_hash", Str(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
)

# One-time sign-in links mailed to people (the pages, issue 15): only the secret's hash;
# a link works once (``used_at``) and until ``expires_at``.
sign_in_links = Table(
    "sign_in_links",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_email", Str(EMAIL_MAX), ForeignKey("users.email"), nullable=False),
    Column("secret_hash", Str(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime()),
    Index(None, "user_email", "created_at"),
)

# Sign-in passwords (argon2 hashes) and the wrong tries that lock an account.
user_credentials = Table(
    "user_credentials",
    metadata,
    Column("user_email", Str(EMAIL_MAX), ForeignKey("users.email"), primary_key=True),
    Column("password_hash", Str(200), nullable=False),
    Column("failures", Integer, nullable=False, default=0),
    Column("locked_until", UtcDateTime()),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# HTTP Idempotency-Key claims: a row is inserted (status NULL) before the request runs;
# the unique key makes a concurrent repeat wait for the first one's stored response.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_email", Str(EMAIL_MAX), nullable=False),
    Column("key", Str(255), nullable=False),
    Column("request_hash", Str(64), nullable=False),
    Column("status", Integer),  # NULL while the first request is still running
    Column("body", Text),
    Column("headers", Text),  # JSON: the stored response's Location and ETag
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("user_email", "key"),
    Index(None, "created_at"),
)

APPEND_ONLY_TABLES = ("events", "ledger_entries")
