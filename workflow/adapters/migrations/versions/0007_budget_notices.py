"""notifications may be budget notices (waitlisted, off the waitlist, holds expired)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 03:00:00

PRODUCT §4: the coordinator and the budget officers are told when a program is
waitlisted and when its holds expire. Those notices are in-app messages of their own
kind, one per person per day like the reminder digest. (SQLite: the table is copied
with the new CHECK constraint, its rows and indexes with it.)
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NAME = "ck_notifications_kind_known"
KINDS = "('reminder_digest', 'escalation', 'budget_notice')"
OLD_KINDS = "('reminder_digest', 'escalation')"


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint(op.f(NAME), type_="check")
        batch.create_check_constraint(op.f(NAME), f"kind IN {KINDS}")


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE kind = 'budget_notice'")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint(op.f(NAME), type_="check")
        batch.create_check_constraint(op.f(NAME), f"kind IN {OLD_KINDS}")
