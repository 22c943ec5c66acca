"""An index on ``versioned_object.vo_id`` alone: a creation bringing its own object id is checked against
the other EHRs (the key, ``(ehr_id, vo_id)``, keeps an id unique within one EHR only), see
:func:`cdr.storage.versioning.commit_version`.

Revision ID: 0009_versioned_object_id_index
Revises: 0008_long_leaf_keys
Create Date: 2026-11-27 16:35:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_versioned_object_id_index"
down_revision: str | None = "0008_long_leaf_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_versioned_object_vo_id"), "versioned_object", ["vo_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_versioned_object_vo_id"), table_name="versioned_object")
