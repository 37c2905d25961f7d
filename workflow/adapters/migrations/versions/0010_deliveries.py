"""deliveries, notification preferences, webhooks; notifications get a topic and HTML

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 15:00:00

Issue 14: messages leave the building. A message (``notifications``) is one per person,
kind, Seoul day and *topic* (the occasion: a decision, a budget notice; none for the
daily digests), with its HTML next to the plain text. Each is carried out as one
``deliveries`` row per (message, recipient, channel) -- email, in-app or a webhook's
POST -- retried when due and dead-lettered when it can't be. A person's channels per
kind are ``notification_prefs``; an organization's webhook subscriptions ``webhooks``.
Messages already written were in-app: each gets its in-app delivery, sent.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KIND_CHECK = "ck_notifications_kind_known"
KINDS = (
    "('review_request', 'decision', 'commit_due', 'program_update', 'budget_notice', "
    "'reminder_digest', 'escalation')"
)
OLD_KINDS = "('reminder_digest', 'escalation', 'budget_notice')"


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(
            sa.Column("topic", sa.String(length=120), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("html", sa.Text(), nullable=False, server_default=""))
        batch.drop_constraint(op.f("uq_notifications_user_email_kind_day"), type_="unique")
        batch.create_unique_constraint(
            op.f("uq_notifications_user_email_kind_day_topic"),
            ["user_email", "kind", "day", "topic"],
        )
        batch.drop_constraint(op.f(KIND_CHECK), type_="check")
        batch.create_check_constraint(op.f(KIND_CHECK), f"kind IN {KINDS}")
    op.create_table(
        "notification_prefs",
        sa.Column("user_email", sa.String(length=254), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("channels", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_email"], ["users.email"], name=op.f("fk_notification_prefs_user_email_users")
        ),
        sa.PrimaryKeyConstraint("user_email", "kind", name=op.f("pk_notification_prefs")),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("org_key", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_key"], ["organizations.key"], name=op.f("fk_webhooks_org_key_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_index(op.f("ix_webhooks_org_key"), "webhooks", ["org_key"], unique=False)
    op.create_table(
        "deliveries",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("notification_id", BigId, nullable=True),
        sa.Column("webhook_id", BigId, nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("recipient", sa.String(length=2000), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('email', 'inapp', 'webhook')", name=op.f("ck_deliveries_channel_known")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'fallback', 'dead')",
            name=op.f("ck_deliveries_status_known"),
        ),
        sa.CheckConstraint(
            "(notification_id IS NULL) <> (webhook_id IS NULL)",
            name=op.f("ck_deliveries_one_message"),
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_deliveries_notification_id_notifications"),
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhooks.id"], name=op.f("fk_deliveries_webhook_id_webhooks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("key", name=op.f("uq_deliveries_key")),
    )
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
        sqlite_where=sa.text("status IN ('pending', 'sending')"),
    )
    op.create_index(
        op.f("ix_deliveries_notification_id"), "deliveries", ["notification_id"], unique=False
    )
    op.create_index(op.f("ix_deliveries_status"), "deliveries", ["status"], unique=False)
    # What was written before was read in-app: its in-app delivery, sent.
    op.execute(
        sa.text(
            "INSERT INTO deliveries (key, notification_id, channel, recipient, status, attempts, "
            "due_at, sent_at, created_at, updated_at) "
            "SELECT 'n' || id || '\\:inapp', id, 'inapp', user_email, 'sent', 1, created_at, "
            "created_at, created_at, updated_at FROM notifications"
        ).bindparams()
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_deliveries_status"), table_name="deliveries")
    op.drop_index(op.f("ix_deliveries_notification_id"), table_name="deliveries")
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index(op.f("ix_webhooks_org_key"), table_name="webhooks")
    op.drop_table("webhooks")
    op.drop_table("notification_prefs")
    op.execute(
        "DELETE FROM notifications WHERE topic <> '' OR kind NOT IN "
        "('reminder_digest', 'escalation', 'budget_notice')"
    )
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint(op.f(KIND_CHECK), type_="check")
        batch.create_check_constraint(op.f(KIND_CHECK), f"kind IN {OLD_KINDS}")
        batch.drop_constraint(op.f("uq_notifications_user_email_kind_day_topic"), type_="unique")
        batch.create_unique_constraint(
            op.f("uq_notifications_user_email_kind_day"), ["user_email", "kind", "day"]
        )
        batch.drop_column("html")
        batch.drop_column("topic")
