"""Column types that behave the same on PostgreSQL and SQLite.

Each is one :class:`~sqlalchemy.types.TypeDecorator` whose dialect difference is chosen in
``load_dialect_impl``, so that the schema, the migrations and the stores never branch on the dialect.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, LargeBinary
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine


class JsonDocument(TypeDecorator[Any]):
    """A JSON value: JSONB on PostgreSQL (indexable, operators ``->``, ``#>``), JSON text on SQLite."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB(none_as_null=True))
        return dialect.type_descriptor(JSON(none_as_null=True))


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An instant: ``timestamptz`` on PostgreSQL, UTC text on SQLite; always read back as aware UTC.

    SQLite has no time zone type; storing every instant in UTC with the same text layout keeps its string
    comparison in time order, so ranges and ``ORDER BY`` agree with PostgreSQL.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given for an instant column")
        value = value.astimezone(dt.UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class json_bytes(FunctionElement[bytes]):
    """The UTF-8 bytes of a JSON column's text: ``convert_to(CAST(x AS TEXT), 'UTF8')`` on PostgreSQL (a
    cast from text to ``bytea`` would read backslashes as escapes), ``CAST(x AS BLOB)`` on SQLite."""

    type = LargeBinary()
    inherit_cache = True


@compiles(json_bytes, "postgresql")
def _json_bytes_postgresql(element: json_bytes, compiler: SQLCompiler, **kw: Any) -> str:
    return f"convert_to(CAST({compiler.process(element.clauses, **kw)} AS TEXT), 'UTF8')"


@compiles(json_bytes)
def _json_bytes_default(element: json_bytes, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS BLOB)"
