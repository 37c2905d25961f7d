"""money lifecycle: commitments, disbursements, evaluation, scheduled work

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("programs") as batch_op:
        batch_op.add_column(sa.Column("holds_expire_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("tranches", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("evaluation_round", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("report", sa.Text(), nullable=True))

    # SQLite cannot add a CHECK constraint in place: batch mode copies the table
    # (nothing refers to program_requests, so the copy is safe with foreign keys on).
    with op.batch_alter_table("program_requests") as batch_op:
        batch_op.add_column(
            sa.Column("committed", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("disbursed", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.create_check_constraint(
            "disbursed_within_commitment",
            "committed >= 0 AND disbursed >= 0 AND disbursed <= committed",
        )

    # A plain ADD COLUMN: ledger_entries keeps its append-only triggers (no table copy).
    op.add_column("ledger_entries", sa.Column("source", sa.String(length=16), nullable=True))

    op.create_table(
        "party_evaluations",
        sa.Column("program_id", BigId, nullable=False),
        sa.Column("party", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=254), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "score IS NULL OR score BETWEEN 1 AND 5", name=op.f("ck_party_evaluations_score_range")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_party_evaluations_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("program_id", "party", name=op.f("pk_party_evaluations")),
    )
    op.create_table(
        "report_files",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("program_id", BigId, nullable=False),
        sa.Column("evaluation_round", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_report_files_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_files")),
    )
    op.create_index(
        op.f("ix_report_files_program_id"), "report_files", ["program_id"], unique=False
    )
    op.create_table(
        "scheduled_work",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("program_id", BigId, nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_scheduled_work_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_work")),
        sa.UniqueConstraint("key", name=op.f("uq_scheduled_work_key")),
    )
    op.create_index(
        "ix_scheduled_work_due",
        "scheduled_work",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text("done_at IS NULL"),
        sqlite_where=sa.text("done_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_scheduled_work_due", table_name="scheduled_work")
    op.drop_table("scheduled_work")
    op.drop_index(op.f("ix_report_files_program_id"), table_name="report_files")
    op.drop_table("report_files")
    op.drop_table("party_evaluations")
    op.drop_column("ledger_entries", "source")
    with op.batch_alter_table("program_requests") as batch_op:
        batch_op.drop_constraint("disbursed_within_commitment", type_="check")
        batch_op.drop_column("disbursed")
        batch_op.drop_column("committed")
    with op.batch_alter_table("programs") as batch_op:
        batch_op.drop_column("report")
        batch_op.drop_column("evaluation_round")
        batch_op.drop_column("tranches")
        batch_op.drop_column("holds_expire_at")
