"""Codes, terminology ids and units longer than their ``node`` column are stored as a key.

A ``code_string`` or ``terminology`` over 255 characters (a post-coordinated SNOMED CT expression where the
template leaves coding open) or ``units`` over 64 now go into the column as their start and a digest of the
whole, so that PostgreSQL takes them (it refused the commit: a 500) and AQL equality stays exact: the compiler
compares a literal's key (:func:`cdr.storage.leaf_values.column_key`). SQLite does not enforce a varchar's
length, so an SQLite database may hold such values whole; this rewrites them as keys. PostgreSQL has none.

Revision ID: 0008_long_leaf_keys
Revises: 0007_audit_chains
Create Date: 2026-11-27 15:50:00
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_long_leaf_keys"
down_revision: str | None = "0007_audit_chains"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# frozen here, as a migration must stay what it was: the columns' lengths and the key of leaf_values
_LIMITS = {"code_string": 255, "terminology": 255, "units": 64}
_KEYS = ("ehr_id", "vo_id", "version", "num")


def _key(text: str, length: int) -> str:
    if len(text) <= length:
        return text
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return f"{text[: length - len(digest) - 1]}#{digest}"


def upgrade() -> None:
    node = sa.table("node", *(sa.column(name) for name in (*_KEYS, *_LIMITS)))
    bind = op.get_bind()
    for name, limit in _LIMITS.items():
        column = node.c[name]
        rows = bind.execute(
            sa.select(*(node.c[k] for k in _KEYS), column).where(sa.func.length(column) > limit)
        ).all()
        for row in rows:
            bind.execute(
                sa.update(node)
                .where(*(node.c[k] == row._mapping[k] for k in _KEYS))
                .values({name: _key(row._mapping[name], limit)})
            )


def downgrade() -> None:
    """The keys stay: the whole values are in the stored JSON, and the columns never held more."""
