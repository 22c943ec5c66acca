"""ITEM_TAG ids: ``item_tag.tag_id``, by which EHRbase's ``/item_tag`` API updates, finds and deletes a tag.

Existing tags get a new random id each.

Revision ID: 0012_item_tag_id
Revises: 0011_item_tag
Create Date: 2026-11-29 07:45:00
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_item_tag_id"
down_revision: str | None = "0011_item_tag"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = ("ehr_id", "target_vo_id", "target_version", "key", "target_path")


def upgrade() -> None:
    op.add_column("item_tag", sa.Column("tag_id", sa.Uuid(), nullable=True, comment="the tag's own id"))
    table = sa.table("item_tag", *(sa.column(name) for name in (*_KEY, "tag_id")))
    conn = op.get_bind()
    rows = conn.execute(sa.select(*(table.c[name] for name in _KEY))).all()
    update = (
        sa.update(table)
        .where(*(table.c[name] == sa.bindparam(f"b_{name}") for name in _KEY))
        .values(tag_id=sa.bindparam("b_tag_id", type_=sa.Uuid()))
    )
    for row in rows:
        conn.execute(update, {**{f"b_{k}": v for k, v in row._mapping.items()}, "b_tag_id": uuid.uuid4()})
    with op.batch_alter_table("item_tag") as batch:
        batch.alter_column("tag_id", existing_type=sa.Uuid(), nullable=False)
    op.create_index(op.f("ix_item_tag_ehr_id_tag_id"), "item_tag", ["ehr_id", "tag_id"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_item_tag_ehr_id_tag_id"), table_name="item_tag")
    with op.batch_alter_table("item_tag") as batch:
        batch.drop_column("tag_id")
