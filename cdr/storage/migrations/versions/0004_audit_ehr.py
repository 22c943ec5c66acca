"""audit_ehr: the EHRs an audit record names besides its own ``ehr_id`` (the EHRs in an AQL query's result).

One row per (EHR, record), keyed by the EHR first, so that a patient's access log finds the population
queries that returned their data by index however many EHRs each record names. The record's hash covers the
list (cdr.security.audit), so ``cdr audit verify`` detects a row added or removed here. Like ``audit_event``
the table refuses UPDATE, and DELETE of rows of records a retention checkpoint does not cover, by trigger.

Revision ID: 0004_audit_ehr
Revises: 0003_ehr_access
Create Date: 2026-11-26 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_audit_ehr"
down_revision: str | None = "0003_ehr_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_COVERED = "COALESCE((SELECT max(checkpoint_seq) FROM audit_event WHERE kind = 'checkpoint'), 0)"

POSTGRES_TRIGGER = (
    f"""
CREATE FUNCTION cdr_audit_ehr_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.audit_seq <= {_COVERED} THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_ehr is append-only: % refused', TG_OP;
END
$$
""",
    "CREATE TRIGGER audit_ehr_append_only BEFORE UPDATE OR DELETE ON audit_ehr "
    "FOR EACH ROW EXECUTE FUNCTION cdr_audit_ehr_append_only()",
)

SQLITE_TRIGGER = (
    "CREATE TRIGGER audit_ehr_no_update BEFORE UPDATE ON audit_ehr "
    "BEGIN SELECT RAISE(ABORT, 'audit_ehr is append-only: UPDATE refused'); END",
    f"CREATE TRIGGER audit_ehr_no_delete BEFORE DELETE ON audit_ehr WHEN OLD.audit_seq > {_COVERED} "
    "BEGIN SELECT RAISE(ABORT, 'audit_ehr is append-only: DELETE refused'); END",
)


def upgrade() -> None:
    op.create_table(
        "audit_ehr",
        sa.Column(
            "ehr_id", sa.Uuid(), nullable=False, comment="no foreign key: the trail outlives a deleted EHR"
        ),
        sa.Column(
            "audit_seq", sa.BigInteger(), nullable=False, comment="the audit_event that names this EHR"
        ),
        sa.PrimaryKeyConstraint("ehr_id", "audit_seq", name=op.f("pk_audit_ehr")),
        comment="the EHRs an audit record names besides its own ehr_id (an AQL query's result), for the "
        "patient's access log; the record's hash covers them",
    )
    op.create_index(op.f("ix_audit_ehr_audit_seq"), "audit_ehr", ["audit_seq"], unique=False)
    statements = POSTGRES_TRIGGER if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGER
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_ehr_append_only ON audit_ehr")
        op.execute("DROP FUNCTION IF EXISTS cdr_audit_ehr_append_only()")
    op.drop_index(op.f("ix_audit_ehr_audit_seq"), table_name="audit_ehr")
    op.drop_table("audit_ehr")
