"""A duration's year is twelve average months: ``P1Y`` and ``P12M`` are equally long.

DV_DURATION lengths (``node.num_value``, and ``cdr_duration_seconds`` for AQL's ORDER BY of durations that are
no ELEMENT value) took openEHR's average year, 365.24219 days, which is 0.86 s shorter than twelve of its
average months (30.43685 days); so ``value >= 'P12M'`` was false for ``P1Y``. The year is now 365.2422 days
(:data:`cdr.rm.data_types.iso8601.DAYS_PER_YEAR`): the function is redefined on PostgreSQL (SQLite's is
registered from Python on each connection) and stored lengths of durations with a year part are recomputed.

Revision ID: 0010_year_is_twelve_months
Revises: 0009_versioned_object_id_index
Create Date: 2026-11-28 00:45:00
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_year_is_twelve_months"
down_revision: str | None = "0009_versioned_object_id_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# frozen here, as a migration must stay what it was (the pattern and averages of cdr.rm.data_types.iso8601)
_NUM = r"(\d+(?:[.,]\d+)?)"
_PATTERN = (
    rf"^(-)?P(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}W)?(?:{_NUM}D)?"
    rf"(?:T(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?$"
)
_DAYS_PER_MONTH = 30.43685
_DAYS_PER_YEAR = 12 * _DAYS_PER_MONTH
_KEYS = ("ehr_id", "vo_id", "version", "num")


def _part(index: int) -> str:
    return f"coalesce(replace(m[{index}], ',', '.')::float8, 0)"


_FUNCTION = f"""
CREATE OR REPLACE FUNCTION cdr_duration_seconds(value text) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
  SELECT CASE WHEN m IS NULL OR value ~ '[PT]$' THEN NULL
    ELSE (CASE WHEN m[1] IS NULL THEN 1 ELSE -1 END) * (
      ({_part(2)} * {_DAYS_PER_YEAR!r} + {_part(3)} * {_DAYS_PER_MONTH!r}
        + {_part(4)} * 7 + {_part(5)}) * 86400
      + {_part(6)} * 3600 + {_part(7)} * 60 + {_part(8)})
  END
  FROM (SELECT regexp_match(value, '{_PATTERN}') AS m) AS parsed
$fn$
"""


def _seconds(value: str) -> float | None:
    m = re.match(_PATTERN, value)
    if m is None or value.endswith(("P", "T")):
        return None
    y, mo, w, d, h, mi, s = (float(g.replace(",", ".")) if g else 0.0 for g in m.groups()[1:])
    total = (y * _DAYS_PER_YEAR + mo * _DAYS_PER_MONTH + w * 7 + d) * 86400 + h * 3600 + mi * 60 + s
    return -total if m.group(1) else total


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(_FUNCTION)  # not text(): the pattern's '(?:T' would read as a bind parameter
    node = sa.table("node", *(sa.column(name) for name in (*_KEYS, "value_type", "text_value", "num_value")))
    rows = bind.execute(
        sa.select(*(node.c[k] for k in _KEYS), node.c.text_value).where(
            node.c.value_type == "DV_DURATION", node.c.text_value.like("%Y%")
        )
    ).all()
    for row in rows:
        bind.execute(
            sa.update(node)
            .where(*(node.c[k] == row._mapping[k] for k in _KEYS))
            .values(num_value=_seconds(row.text_value))
        )


def downgrade() -> None:
    """The new lengths stay: they differ from the old by under a second per year."""
