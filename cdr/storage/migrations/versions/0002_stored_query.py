"""Stored queries: the ``stored_query`` table of the DEFINITION API (name, SemVer as three integers, text).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cdr.storage.types import UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stored_query",
        sa.Column(
            "name",
            sa.String(length=255),
            nullable=False,
            comment="qualified query name: [namespace::]query-name",
        ),
        sa.Column("major", sa.Integer(), nullable=False),
        sa.Column("minor", sa.Integer(), nullable=False),
        sa.Column("patch", sa.Integer(), nullable=False),
        sa.Column("query_type", sa.String(length=16), nullable=False, comment="query language, 'AQL'"),
        sa.Column("q", sa.Text(), nullable=False, comment="the query text as stored"),
        sa.Column("saved", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", "major", "minor", "patch", name=op.f("pk_stored_query")),
        comment="ITS-REST stored queries (DEFINITION API); a version, once stored, never changes",
    )


def downgrade() -> None:
    op.drop_table("stored_query")
