"""node without its foreign key to object_version; object_version.data compressed with lz4 on PostgreSQL.

``node`` rows are derived data: the decomposition of one version's ``data``, written only by the commit path
(:mod:`cdr.storage.write_path`) right after that version's row, in the same transaction, and removed only with
the EHR (:meth:`cdr.storage.ehrs.EhrStore.delete` deletes them explicitly). The foreign key checked each of a
composition's ~80 rows against ``object_version`` one by one (a row trigger per node): about 1 ms of a
Corona_Anamnese commit's ~2.3 ms ``COPY`` on PostgreSQL (issue 4), for an invariant that one code path keeps.

A version's canonical JSON (~40 kB for Corona_Anamnese) is TOASTed; lz4 compresses it in less time than the
default pglz (the version insert 0.65 -> 0.52 ms) and decompresses faster on reads. Values written before
keep their compression; PostgreSQL servers built without lz4 keep pglz.

Revision ID: 0005_node_rows_unchecked
Revises: 0004_audit_ehr
Create Date: 2026-11-26 23:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_node_rows_unchecked"
down_revision: str | None = "0004_audit_ehr"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FK = "fk_node_object_version"


def _lz4_available() -> bool:
    bind = op.get_bind()
    choices = bind.execute(
        sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar()
    return choices is not None and "lz4" in choices


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(_FK, "node", type_="foreignkey")
        if _lz4_available():
            op.execute("ALTER TABLE object_version ALTER COLUMN data SET COMPRESSION lz4")
        return
    with op.batch_alter_table("node") as batch:
        batch.drop_constraint(_FK, type_="foreignkey")


def downgrade() -> None:
    columns = ["ehr_id", "vo_id", "version"]
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE object_version ALTER COLUMN data SET COMPRESSION default")
        op.create_foreign_key(_FK, "node", "object_version", columns, columns, ondelete="CASCADE")
        return
    with op.batch_alter_table("node") as batch:
        batch.create_foreign_key(_FK, "object_version", columns, columns, ondelete="CASCADE")
