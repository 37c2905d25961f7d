"""only the next rung of a task's reminders waits as a row

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 20:50:00

A task's reminders climb two ladders (``domain/reminders.py``): reminders to its people
(before, due, overdue) and its escalation, and only the next rung of each is a row --
sending one writes the next. Rows written before, a row per rung up front, are brought
to that: of a task's pending reminder rows (the escalation aside) the earliest stays and
the later ones go (sending it writes the next, so none is lost and none is sent twice:
``(task_id, rung)`` stays unique). Sent and voided rows are the record, and stay. No
downgrade is needed for the data: an older version sends the rows it finds.
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# The pending reminder rows (not escalations) of a task with an earlier one pending: by
# due time, then id (two rungs of one day: the first written, before -> due -> overdue).
LATER_RUNGS = """
DELETE FROM reminders
WHERE status = 'pending' AND rung <> 'escalate'
  AND EXISTS (
    SELECT 1 FROM reminders AS earlier
    WHERE earlier.task_id = reminders.task_id
      AND earlier.status = 'pending' AND earlier.rung <> 'escalate'
      AND (earlier.due_at < reminders.due_at
           OR (earlier.due_at = reminders.due_at AND earlier.id < reminders.id))
  )
"""


def upgrade() -> None:
    op.execute(LATER_RUNGS)


def downgrade() -> None:
    pass  # the rows left are valid for the older version too
