"""EHR_ACCESS: one row per EHR, written in the EHR's creation contribution; existing EHRs get one each.

Revision ID: 0003_ehr_access
Revises: 0002_security
Create Date: 2026-11-26 11:00:00
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cdr.storage.types import JsonDocument, UtcDateTime

revision: str = "0003_ehr_access"
down_revision: str | None = "0002_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ehr_access",
        sa.Column("ehr_id", sa.Uuid(), nullable=False),
        sa.Column("access_id", sa.Uuid(), nullable=False, comment="versioned object id of the EHR_ACCESS"),
        sa.Column("system_id", sa.String(255), nullable=False),
        sa.Column("contribution_id", sa.Uuid(), nullable=False, comment="the EHR's creation contribution"),
        sa.Column("time_committed", UtcDateTime(), nullable=False),
        sa.Column("data", JsonDocument(), nullable=False, comment="EHR_ACCESS, canonical JSON"),
        sa.ForeignKeyConstraint(["ehr_id"], ["ehr.ehr_id"], name="fk_ehr_access_ehr", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["ehr_id", "contribution_id"],
            ["contribution.ehr_id", "contribution.contribution_id"],
            name="fk_ehr_access_contribution",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ehr_id", name="pk_ehr_access"),
        comment="the one EHR_ACCESS of an EHR, kept out of object_version so AQL FROM VERSION never sees it",
    )
    _backfill()


def _backfill() -> None:
    """An EHR_ACCESS for every EHR created before this revision, in the contribution of its first
    EHR_STATUS version (its creation contribution)."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT e.ehr_id, e.system_id, v.contribution_id, v.time_committed FROM ehr e "
            "JOIN object_version v ON v.ehr_id = e.ehr_id AND v.vo_id = e.ehr_status_id AND v.version = 1"
        ).columns(time_committed=UtcDateTime())
    ).all()
    table = sa.table(
        "ehr_access",
        sa.column("ehr_id", sa.Uuid()),
        sa.column("access_id", sa.Uuid()),
        sa.column("system_id", sa.String()),
        sa.column("contribution_id", sa.Uuid()),
        sa.column("time_committed", UtcDateTime()),
        sa.column("data", JsonDocument()),
    )
    from cdr.storage.ehrs import ehr_access_document  # the one definition of the document

    for row in rows:
        access_id = uuid.uuid4()
        conn.execute(
            table.insert().values(
                ehr_id=row.ehr_id,
                access_id=access_id,
                system_id=row.system_id,
                contribution_id=row.contribution_id,
                time_committed=row.time_committed,
                data=ehr_access_document(access_id, row.system_id),
            )
        )


def downgrade() -> None:
    op.drop_table("ehr_access")
