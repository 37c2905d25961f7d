"""refunds and envelope amendments in the ledger

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 17:00:00

Issue 16 (money): a ``refund`` entry takes back money paid out and not spent; an
``amend`` entry raises or lowers an envelope (its ``source``: raise | lower) and
belongs to no program. Only the kinds' CHECK constraint changes. SQLite copies the
table to change a CHECK, and the copy loses the append-only triggers: they are laid
again here (PostgreSQL alters the constraint in place, triggers untouched).
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

NAME = "ck_ledger_entries_kind_known"
KINDS = "('hold', 'commit', 'disburse', 'release', 'refund', 'amend')"
OLD_KINDS = "('hold', 'commit', 'disburse', 'release')"


def _set_kinds(kinds: str) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS ledger_entries_no_{verb}")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_constraint(op.f(NAME), type_="check")
        batch.create_check_constraint(op.f(NAME), f"kind IN {kinds}")
    if sqlite:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER ledger_entries_no_{verb.lower()} BEFORE {verb} ON ledger_entries "
                "BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END"
            )


def upgrade() -> None:
    _set_kinds(KINDS)


def downgrade() -> None:
    # Append-only: entries of the new kinds cannot be deleted, so the old CHECK would
    # fail on a ledger that used them; a downgrade is for a ledger that never did.
    _set_kinds(OLD_KINDS)
