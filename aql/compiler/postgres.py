"""PostgreSQL: ``jsonb`` operators and SQL/JSON paths, ordered aggregates, ``timestamptz`` casts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, JSONPATH, aggregate_order_by

from aql.compiler.base import Compiler, Expr
from aql.compiler.constants import inline_constants
from aql.compiler.scope import Scope

_ISO_INSTANT = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$"


class PostgresCompiler(Compiler):
    dialect_name = "postgresql"

    def finish(self, statement: Any) -> Any:
        # constants as literals, so that PostgreSQL keeps one generic plan (see aql.compiler.constants)
        return inline_constants(statement)

    def json_get(self, doc: Any, keys: list[str]) -> Expr:
        return sa.func.jsonb_extract_path(doc, *[sa.literal(k, sa.String) for k in keys])

    def json_at(self, doc: Any, json_path: Any) -> Expr:
        return sa.func.jsonb_path_query_first(doc, sa.cast(json_path, JSONPATH))

    def json_text(self, json: Any) -> Expr:
        return sa.case((sa.func.jsonb_typeof(json) == "string", json.op("#>>")(sa.text("'{}'"))))

    def json_number(self, json: Any) -> Expr:
        text = json.op("#>>")(sa.text("'{}'"))
        return sa.case((sa.func.jsonb_typeof(json) == "number", sa.cast(text, sa.Float)))

    def json_bool(self, json: Any) -> Expr:
        text = json.op("#>>")(sa.text("'{}'"))
        return sa.case((sa.func.jsonb_typeof(json) == "boolean", sa.cast(text, sa.Boolean)))

    def json_sort_key(self, json: Any) -> Expr:
        return sa.type_coerce(json, JSONB)

    def json_is_integer(self, json: Any) -> Expr:
        text = json.op("#>>")(sa.text("'{}'"))
        return sa.and_(sa.func.jsonb_typeof(json) == "number", text.op("~")(r"^-?\d+$"))

    def json_count_key(self, json: Any) -> Expr:
        return sa.case((sa.func.jsonb_typeof(json) != "null", json))

    def json_unnest(self, doc: Any, keys: list[str], scope: Scope) -> Expr:
        array = self.json_get(doc, keys)
        guarded = sa.case((sa.func.jsonb_typeof(array) == "array", array))
        elements = sa.func.jsonb_array_elements(guarded).table_valued("value").lateral(self.alias_name("u"))
        scope.add_path(elements, sa.true())
        return elements.c.value

    def text_instant(self, text: Any) -> Expr:
        return sa.case((text.op("~")(_ISO_INSTANT), sa.cast(text, sa.DateTime(timezone=True))))

    def modulo(self, x: Any, y: Any) -> Expr:
        return sa.cast(sa.func.mod(sa.cast(x, sa.Numeric), sa.cast(y, sa.Numeric)), sa.Float)

    def round(self, x: Any, digits: Any) -> Expr:
        return sa.cast(sa.func.round(sa.cast(x, sa.Numeric), digits), sa.Float)

    def arg_extreme(self, function: str, key: Any, value: Any, kind: str) -> Expr:
        order = key.desc() if function == "MAX" else key.asc()
        agg = sa.func.array_agg(aggregate_order_by(sa.type_coerce(value, JSONB), order)).filter(
            key.is_not(None)
        )
        return sa.type_coerce(agg, ARRAY(JSONB))[1]

    def ehr_id_list(self, ehr_id: Any) -> Expr:
        # an array of uuids: DISTINCT compares 16 bytes, not collated text
        return sa.func.array_agg(sa.distinct(ehr_id), type_=ARRAY(sa.Uuid()))
