"""SQLite: JSON1 (``->``, ``->>``, ``json_each``), ``julianday`` for instants, GLOB for a case-sensitive
LIKE."""

from __future__ import annotations

import json as jsonlib
from typing import Any

import orjson
import sqlalchemy as sa

from aql.compiler.base import _LIKE_TOKEN, Compiler, Expr
from aql.compiler.scope import Scope

_SEPARATOR = "\x1f"
_JSON_KIND_RANK = {
    "null": 0,
    "text": 1,
    "integer": 2,
    "real": 2,
    "true": 3,
    "false": 3,
    "array": 4,
    "object": 5,
}
"""``json_type`` names in jsonb's order of kinds (PostgreSQL sorts jsonb null < string < number < boolean <
array < object)."""


def _json_path(keys: list[str]) -> str:
    return "$" + "".join(f'."{k}"' for k in keys)


def _arrow(doc: Any, path: Any, operator: str = "->") -> Expr:
    """``doc -> path`` with the path bound as text (not through the JSON column type's serializer)."""
    right = sa.literal(path, sa.String) if isinstance(path, str) else path
    left = sa.type_coerce(doc, sa.String)
    return left.op(operator, return_type=sa.types.NullType())(right)


class SqliteCompiler(Compiler):
    dialect_name = "sqlite"

    def json_get(self, doc: Any, keys: list[str]) -> Expr:
        return _arrow(doc, _json_path(keys))

    def json_at(self, doc: Any, json_path: Any) -> Expr:
        return _arrow(doc, json_path)

    def json_text(self, json: Any) -> Expr:
        return sa.case((sa.func.json_type(json) == "text", _arrow(json, "$", "->>")))

    def json_number(self, json: Any) -> Expr:
        return sa.case((sa.func.json_type(json).in_(["integer", "real"]), _arrow(json, "$", "->>")))

    def json_bool(self, json: Any) -> Expr:
        kind = sa.func.json_type(json)
        return sa.case((kind == "true", sa.literal(1)), (kind == "false", sa.literal(0)))

    def json_sort_key(self, json: Any) -> Expr:
        return _arrow(json, "$", "->>")

    def json_sort_keys(self, json: Any) -> list[Expr]:
        """SQLite's own order of values (numbers, then text) differs from jsonb's: the kind goes first."""
        return [sa.case(_JSON_KIND_RANK, value=sa.func.json_type(json)), self.json_sort_key(json)]

    def json_is_integer(self, json: Any) -> Expr:
        return sa.func.json_type(json) == "integer"

    def json_count_key(self, json: Any) -> Expr:
        return sa.case((sa.func.json_type(json) != "null", json))

    def json_unnest(self, doc: Any, keys: list[str], scope: Scope) -> Expr:
        elements = (
            sa.func.json_each(doc, _json_path(keys)).table_valued("fullkey").alias(self.alias_name("u"))
        )
        scope.add_path(elements, sa.true())
        return _arrow(doc, elements.c.fullkey)

    def decode_json(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:  # orjson: several times the standard library's speed on a large extract
            return orjson.loads(value)
        except orjson.JSONDecodeError:  # an integer beyond 64 bits, which only the standard library reads
            return jsonlib.loads(value)

    def text_instant(self, text: Any) -> Expr:
        return sa.func.julianday(text)

    def uuid_text(self, column: Any) -> Expr:
        hexa = sa.func.lower(sa.cast(column, sa.String))
        parts = [
            sa.func.substr(hexa, start, length)
            for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
        ]
        out: Any = parts[0]
        for part in parts[1:]:
            out = out + "-" + part
        return out

    def like_pattern(self, text: Any, pattern: Any) -> Expr:
        return text.op("GLOB")(pattern)

    def convert_like_pattern(self, pattern: Any) -> str:
        """AQL wildcards as a GLOB pattern (GLOB is case-sensitive, as LIKE is on PostgreSQL)."""
        out = []
        for escaped, many, one, plain in _LIKE_TOKEN.findall(str(pattern)):
            if escaped:
                out.append(f"[{escaped}]" if escaped in "*?[" else escaped)
            elif many:
                out.append("*")
            elif one:
                out.append("?")
            else:
                out.append(f"[{plain}]" if plain == "[" else plain)
        return "".join(out)

    def position(self, needle: Any, haystack: Any) -> Expr:
        return sa.func.instr(haystack, needle)

    def concat(self, parts: list[Any], separator: Any | None) -> Expr:
        if separator is None:
            out: Any = sa.literal("")
            for part in parts:
                out = out + sa.func.coalesce(part, "")
            return out
        joined: Any = sa.literal("")
        for part in parts:
            joined = joined + sa.func.coalesce(separator + part, "")
        return sa.func.substr(joined, sa.func.length(separator) + 1)

    def ceil(self, x: Any) -> Expr:
        whole = sa.cast(x, sa.Integer)
        return sa.case((x > whole, whole + 1), else_=whole)

    def floor(self, x: Any) -> Expr:
        whole = sa.cast(x, sa.Integer)
        return sa.case((x < whole, whole - 1), else_=whole)

    def modulo(self, x: Any, y: Any) -> Expr:
        return x - y * sa.cast(x / y, sa.Integer)

    def arg_extreme(self, function: str, key: Any, value: Any, kind: str) -> Expr:
        """SQLite 3.40 has no ordered aggregates: take MIN/MAX of ``sortable key || separator || value``."""
        sortable: Any
        if kind in ("number", "whole"):
            sortable = sa.case(
                (key >= 0, "1" + sa.func.printf("%030.10f", key)),
                else_="0" + sa.func.printf("%030.10f", 1e18 + key),
            )
        else:
            sortable = sa.cast(key, sa.String)
        packed = sa.case((key.is_not(None), sortable + _SEPARATOR + value))
        fn = sa.func.max if function == "MAX" else sa.func.min
        extreme = fn(packed)
        return sa.func.substr(extreme, sa.func.instr(extreme, _SEPARATOR) + 1)

    def ehr_id_list(self, ehr_id: Any) -> Expr:
        return sa.func.group_concat(sa.distinct(ehr_id))
