"""cdr_duration_seconds(text): an ISO 8601 duration's length in seconds, for AQL's ORDER BY of DV_DURATION.

A DV_DURATION that is an ELEMENT's value sorts by its node's typed column (``num_value``, seconds); one that
is an attribute of another object (``INTERVAL_EVENT.width``) sorts from the stored JSON, where its text would
put ``P30M`` before ``P40D``. The AQL compilers sort such values by this function instead. On PostgreSQL it
is a SQL function created here; SQLite has no stored functions, so the engine registers the same function, in
Python, on each connection (:mod:`cdr.storage.engine`). Both follow
:func:`cdr.rm.data_types.iso8601.duration_seconds` (openEHR's average month and year; NULL when the text is no
duration).

Revision ID: 0006_duration_seconds
Revises: 0005_node_rows_unchecked
Create Date: 2026-11-27 04:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_duration_seconds"
down_revision: str | None = "0005_node_rows_unchecked"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# frozen here, as a migration's SQL must stay what it was: the pattern and the average year and month of
# cdr.rm.data_types.iso8601 (tests/storage/test_engine.py checks that both databases agree with it)
_NUM = r"(\d+(?:[.,]\d+)?)"
_PATTERN = (
    rf"^(-)?P(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}W)?(?:{_NUM}D)?"
    rf"(?:T(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?$"
)


def _part(index: int) -> str:
    return f"coalesce(replace(m[{index}], ',', '.')::float8, 0)"


_FUNCTION = f"""
CREATE OR REPLACE FUNCTION cdr_duration_seconds(value text) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
  SELECT CASE WHEN m IS NULL OR value ~ '[PT]$' THEN NULL
    ELSE (CASE WHEN m[1] IS NULL THEN 1 ELSE -1 END) * (
      ({_part(2)} * 365.24219 + {_part(3)} * 30.43685 + {_part(4)} * 7 + {_part(5)}) * 86400
      + {_part(6)} * 3600 + {_part(7)} * 60 + {_part(8)})
  END
  FROM (SELECT regexp_match(value, '{_PATTERN}') AS m) AS parsed
$fn$
"""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(_FUNCTION)  # not text(): the pattern's '(?:T' would read as a bind parameter


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS cdr_duration_seconds(text)")
