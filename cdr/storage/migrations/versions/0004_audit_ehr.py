"""audit_ehr: the EHRs an audit record names besides its own ``ehr_id`` (the EHRs in an AQL query's result).

One row per (EHR, record), keyed by the EHR first, so that a patient's access log finds the population
queries that returned their data by index however many EHRs each record names. The record's hash covers the
list (cdr.security.audit), so ``cdr audit verify`` detects a row added or removed here.

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


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_ehr_audit_seq"), table_name="audit_ehr")
    op.drop_table("audit_ehr")
