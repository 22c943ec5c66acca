"""ITEM_TAGs (ITS-REST ``/tags``): the ``item_tag`` table, keyed by EHR, target and (key, path).

Revision ID: 0011_item_tag
Revises: 0010_year_is_twelve_months
Create Date: 2026-11-28 11:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_item_tag"
down_revision: str | None = "0010_year_is_twelve_months"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "item_tag",
        sa.Column("ehr_id", sa.Uuid(), nullable=False),
        sa.Column(
            "target_vo_id", sa.Uuid(), nullable=False, comment="the tagged COMPOSITION or EHR_STATUS object"
        ),
        sa.Column(
            "target_version",
            sa.Integer(),
            nullable=False,
            comment="the tagged version; 0: the versioned object",
        ),
        sa.Column("target_type", sa.String(length=32), nullable=False, comment="COMPOSITION or EHR_STATUS"),
        sa.Column(
            "target_uid",
            sa.String(length=510),
            nullable=False,
            comment="the target's uid as ITS-REST names it",
        ),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column(
            "target_path",
            sa.Text(),
            nullable=False,
            comment="path within the target; '' for the whole target",
        ),
        sa.Column("value", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint(
            "ehr_id", "target_vo_id", "target_version", "key", "target_path", name=op.f("pk_item_tag")
        ),
        comment="ITEM_TAG: key/value tags of a VERSION or VERSIONED_OBJECT (ITS-REST tags), not versioned",
    )
    op.create_index(op.f("ix_item_tag_ehr_id_key"), "item_tag", ["ehr_id", "key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_item_tag_ehr_id_key"), table_name="item_tag")
    op.drop_table("item_tag")
