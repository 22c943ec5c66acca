"""AST to ONE SQLAlchemy Core statement: the dialect-independent compiler.

:class:`Compiler` walks a :class:`aql.ast.Query` and builds a single ``SELECT`` over ``ehr``,
``object_version``, ``node`` and ``folder_item`` (see :mod:`cdr.storage.schema`): FROM becomes joins
(:mod:`.from_clause`), paths become node joins and JSON access (:mod:`.paths`, :mod:`.objects`), WHERE a
boolean expression (:mod:`.conditions`), SELECT and ORDER BY expressions (:mod:`.select`). Filtering,
sorting, grouping, limits and aggregates all run in the database; Python only decodes the selected columns.

What differs between databases is a method here (the JSON operators, text-to-instant, LIKE, a few string and
numeric functions) overridden in :mod:`.postgres` and :mod:`.sqlite`; this class never asks which dialect it
is.
"""

from __future__ import annotations

import json
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from aql import ast, terminology
from aql.compiler.binds import Binds, Derived, LenientUuid, Scalar
from aql.compiler.conditions import ConditionMixin
from aql.compiler.from_clause import FromMixin, identified_paths, stand_ins, version_roots
from aql.compiler.leaf import one_of
from aql.compiler.objects import ObjectPathMixin
from aql.compiler.paths import PathMixin
from aql.compiler.scope import Binding, Scope
from aql.compiler.select import OutputColumn, SelectMixin
from aql.compiler.values import JsonValue, ScalarValue, Value
from aql.errors import AqlSemanticError
from aql.format import to_aql
from cdr.security.query_scope import QueryScope
from cdr.storage.leaf_values import code_key

Expr = sa.ColumnElement[Any]


@dataclass(frozen=True)
class CompiledQuery:
    """A compiled AQL query: the statement, how to decode its rows, and its derived bind parameters."""

    statement: Any  # sa.Select
    columns: tuple[OutputColumn, ...]
    derived: tuple[Derived, ...]
    limited: bool  # the query has its own LIMIT (or TOP)
    ehr_column: int | None = None  # the hidden column naming the EHR(s) behind each row, if the FROM has any
    # the hidden column naming the EHR(s) of each row that holds a version the caller reads only by consent
    # or emergency access (cdr.security.query_scope.QueryScope.overridden), if the scope has such versions
    override_column: int | None = None

    def decode_row(self, row: Sequence[Any]) -> list[Any]:
        return [c.value.decode(row[c.start : c.start + c.width]) for c in self.columns]

    def row_ehr_ids(self, row: Sequence[Any]) -> set[uuid.UUID]:
        """The EHRs behind ``row`` (for the audit record): one id, or when the row aggregates (GROUP BY,
        DISTINCT) a list of them (an array, or comma-separated text where the database has no arrays)."""
        return _ehr_ids(row, self.ehr_column)

    def row_override_ehr_ids(self, row: Sequence[Any]) -> set[uuid.UUID]:
        """The EHRs of ``row`` whose versions in it the caller reads only by consent or emergency access."""
        return _ehr_ids(row, self.override_column)


def _ehr_ids(row: Sequence[Any], column: int | None) -> set[uuid.UUID]:
    if column is None:
        return set()
    value = row[column]
    if value is None:
        return set()
    if isinstance(value, uuid.UUID):
        return {value}
    if isinstance(value, list | tuple):
        return {v if isinstance(v, uuid.UUID) else uuid.UUID(str(v)) for v in value if v is not None}
    return {uuid.UUID(part) for part in str(value).split(",") if part}


_CONSTANTS = (sa.sql.elements.Null, sa.sql.elements.BindParameter)
_ONE_GROUP: Expr = sa.literal_column("(1 + 0)")
"""Groups every row into one (not a bare integer, which GROUP BY reads as a column position)."""

_LIKE_TOKEN = re.compile(r"\\(.)|(\*)|(\?)|(.)", re.DOTALL)
"""AQL LIKE: ``*`` any run, ``?`` one character, ``\\`` escapes; ``%`` and ``_`` are plain (EHRbase)."""


class Compiler(FromMixin, PathMixin, ObjectPathMixin, ConditionMixin, SelectMixin, ABC):
    """One compilation (not reusable): holds the aliases and bind parameters of the statement it builds."""

    dialect_name = "generic"

    def __init__(
        self,
        parameter_kinds: Mapping[str, str],
        ehr_scoped: bool = False,
        query_scope: QueryScope | None = None,
        answers: terminology.Answers = (),
    ) -> None:
        self.binds = Binds(parameter_kinds)
        self.answers = dict(answers)  # a terminology server's answers to the query's foreign calls
        self.bindings: dict[str, Binding] = {}
        self.anonymous: dict[int, str] = {}
        self.negated: set[str] = set()
        self.negated_depth = 0
        self._aliases = 0
        self.restricted: set[int] = set()  # ids of the ehr_id columns _restrict_ehr has restricted
        self.stand_ins: set[str] = set()  # FROM variables reached only through one leaf (no row of their own)
        self.version_roots: set[str] = set()  # COMPOSITION variables bound to their version row alone
        self.query_paths: list[ast.IdentifiedPath] = []  # every path of SELECT, WHERE and ORDER BY
        self.path_keys: dict[str, list[Any]] = {}  # per variable: each path's node steps (PathMixin)
        self.ehr_id_bind: Any = sa.bindparam("ehr_scope", type_=LenientUuid()) if ehr_scoped else None
        self.query_scope = query_scope  # the caller's readable rows (cdr.security); None: unrestricted
        self.overridden_rows: list[Any] = []  # conditions: a main-statement version row shown by override

    def alias_name(self, prefix: str) -> str:
        self._aliases += 1
        return f"{prefix}{self._aliases}"

    # ------------------------------------------------------------------------------------- compile

    def compile(self, query: ast.Query) -> CompiledQuery:
        paths = identified_paths(query)
        self.query_paths = paths
        self.stand_ins = stand_ins(query, paths, self.binds.parameter_kinds)
        self.version_roots = version_roots(query, paths)
        scope = Scope()
        self.compile_from(query.from_, None, scope)
        where = [self.condition(query.where, scope)] if query.where is not None else []
        columns: list[OutputColumn] = []
        outputs: list[Expr] = []
        for i, item in enumerate(query.select.items):
            value = self.expression_value(item.expression, scope)
            exprs = value.outputs()
            columns.append(
                OutputColumn(
                    name=item.alias or f"#{i}",
                    path=self.column_path(item.expression),
                    value=value,
                    start=len(outputs),
                    width=len(exprs),
                    aggregate=isinstance(item.expression, ast.Aggregate),
                )
            )
            outputs.extend(exprs)
        order: list[Any] = []
        raw_keys: list[Expr] = []
        for order_item in query.order_by:
            if order_item.path is None:  # a SELECT alias (aql.semantics.resolve_order_aliases)
                value = next(c.value for c in columns if c.name == order_item.alias)
            else:
                value = self.path_value(order_item.path, scope)
            for key in value.sort_keys():
                if isinstance(key, sa.sql.elements.Null | sa.sql.elements.BindParameter):
                    continue  # a constant sorts nothing (and PostgreSQL rejects a literal sort key)
                raw_keys.append(key)
                order.append(key.desc().nulls_first() if order_item.descending else key.asc().nulls_last())
        assert scope.clause is not None
        if query.select.distinct and order:
            # PostgreSQL sorts a DISTINCT result only by selected expressions: select the sort keys too
            # (hidden columns after the outputs; rows are decoded from the outputs alone)
            outputs = outputs + [k for k in raw_keys if not any(k is x for x in outputs)]
        labelled = [sa.type_coerce(o, sa.types.NullType()).label(f"c{i}") for i, o in enumerate(outputs)]
        aggregated = any(c.aggregate for c in columns)
        # DISTINCT without aggregates becomes GROUP BY over the selected expressions (the same set of rows),
        # so that each row can name every EHR behind it; with aggregates the rows are already distinct in
        # their grouped columns, so the hidden column changes nothing DISTINCT compares
        grouped = query.select.distinct and not aggregated
        root_ehr_id = self.root_ehr_id(query)
        ehr_column: int | None = None
        if root_ehr_id is not None:
            ehr_column = len(labelled)
            hidden = self.ehr_id_list(root_ehr_id) if aggregated or grouped else root_ehr_id
            labelled.append(hidden.label("ehr_ids"))
        override_column: int | None = None
        if root_ehr_id is not None and self.overridden_rows:
            override_column = len(labelled)
            flagged = sa.case((sa.or_(*self.overridden_rows), root_ehr_id))
            shown = self.ehr_id_list(flagged) if aggregated or grouped else flagged
            labelled.append(shown.label("override_ehr_ids"))
        statement = sa.select(*labelled).select_from(scope.clause).where(*scope.where, *where)
        if aggregated:
            plain = [o for c in columns if not c.aggregate for o in outputs[c.start : c.start + c.width]]
            if plain:
                statement = statement.group_by(*plain)
        if query.select.distinct:
            if grouped and root_ehr_id is not None:
                # a constant groups nothing (and PostgreSQL would read a literal integer as a position)
                keys = [o for o in outputs if not isinstance(o, _CONSTANTS)]
                statement = statement.group_by(*keys) if keys else statement.group_by(_ONE_GROUP)
            else:
                statement = statement.distinct()
        if order:
            statement = statement.order_by(*order)
        limit = (
            query.limit if query.limit is not None else (query.select.top.count if query.select.top else None)
        )
        if limit is not None:
            statement = statement.limit(limit)
        if query.offset is not None:
            statement = statement.offset(query.offset)
        statement = self.finish(statement)
        return CompiledQuery(
            statement,
            tuple(columns),
            tuple(self.binds.derived),
            limit is not None,
            ehr_column,
            override_column,
        )

    def finish(self, statement: Any) -> Any:
        """The statement as it is executed (a dialect may rewrite it once here, at compile time)."""
        return statement

    def root_ehr_id(self, query: ast.Query) -> Expr | None:
        """The ``ehr_id`` column of the outermost FROM class (an EHR variable's id, else its row's
        ``ehr_id``): which patient each result row is about, for the audit record."""
        binding = self.bindings.get(self._first_binding(query.from_))
        if binding is None:
            return None
        if binding.kind == "ehr":
            return binding.ehr_id
        table = binding.container.table if binding.container is not None else binding.table
        return table.c.ehr_id

    def ehr_id_list(self, ehr_id: Any) -> Expr:
        """The distinct EHR ids behind a grouped row (here as one comma-separated text; the dialects
        override it with what their database does best)."""
        return sa.func.string_agg(sa.distinct(sa.cast(ehr_id, sa.Text)), sa.literal_column("','"))

    def column_path(self, expr: ast.Expression) -> str | None:
        """The column's ``path`` as EHRbase reports it: an identified path's AQL text, else none."""
        return to_aql(expr) if isinstance(expr, ast.IdentifiedPath) else None

    # ----------------------------------------------------------------------- dialect: JSON access

    @abstractmethod
    def json_get(self, doc: Any, keys: list[str]) -> Expr:
        """The JSON value at ``keys`` below ``doc`` (NULL if absent)."""

    @abstractmethod
    def json_at(self, doc: Any, json_path: Any) -> Expr:
        """The JSON value of ``doc`` at an SQL/JSON path held in a column (``node.json_path``)."""

    @abstractmethod
    def json_text(self, json: Any) -> Expr:
        """The string, if the JSON value is a string."""

    @abstractmethod
    def json_number(self, json: Any) -> Expr:
        """The number, if the JSON value is a number."""

    @abstractmethod
    def json_bool(self, json: Any) -> Expr:
        """The boolean, if the JSON value is one."""

    @abstractmethod
    def json_sort_key(self, json: Any) -> Expr:
        """A sort key for JSON values: numbers numerically, strings as text."""

    def json_sort_keys(self, json: Any) -> list[Expr]:
        """The keys that sort JSON values of any kinds as PostgreSQL's jsonb does (and so EHRbase): by kind
        first (null, string, number, boolean, array, object), then by value."""
        return [self.json_sort_key(json)]

    def json_duration_key(self, json: Any) -> Expr:
        """The length in seconds of a DV_DURATION object, NULL for any other value: a duration sorts by how
        long it is (``P40D`` before ``P30M``), not by its text (``cdr_duration_seconds``: migration 0006 on
        PostgreSQL, a connection function on SQLite)."""
        type_name = self.json_text(self.json_get(json, ["_type"]))
        text = self.json_text(self.json_get(json, ["value"]))
        seconds = sa.func.cdr_duration_seconds(text, type_=sa.Float())
        return sa.case((type_name == "DV_DURATION", seconds))

    @abstractmethod
    def json_is_integer(self, json: Any) -> Expr:
        """Whether a JSON number is written without a fraction part (``42``, not ``42.0``)."""

    def json_count_key(self, json: Any) -> Expr:
        """What COUNT (DISTINCT) counts for a JSON value (JSON null is not a value)."""
        return json

    @abstractmethod
    def json_unnest(self, doc: Any, keys: list[str], scope: Scope) -> Expr:
        """Join one row per element of the JSON array at ``keys`` below ``doc``; returns the element."""

    def json_column_path(self, column: Any, keys: tuple[str, ...]) -> Value:
        return JsonValue(self, self.json_get(column, list(keys)) if keys else column)

    def decode_json(self, value: Any) -> Any:
        """A selected JSON value as Python data."""
        return value

    # ------------------------------------------------------------------------ dialect: other SQL

    @abstractmethod
    def text_instant(self, text: Any) -> Expr:
        """An ISO 8601 date/time text as a comparable instant (NULL if it is not one)."""

    def uuid_text(self, column: Any) -> Expr:
        """A UUID column as its canonical text."""
        return sa.cast(column, sa.String)

    def like_pattern(self, text: Any, pattern: Any) -> Expr:
        """Case-sensitive LIKE with a pattern from :meth:`convert_like_pattern`."""
        return text.like(pattern, escape="\\")

    def convert_like_pattern(self, pattern: Any) -> str:
        """AQL wildcards (``*`` any run, ``?`` one character, ``\\`` escapes) as a SQL LIKE pattern with
        backslash escapes; SQL's own wildcards ``%`` and ``_`` match only themselves."""
        out = []
        for escaped, many, one, plain in _LIKE_TOKEN.findall(str(pattern)):
            char = escaped or plain
            if many:
                out.append("%")
            elif one:
                out.append("_")
            else:
                out.append("\\" + char if char in "%_\\" else char)
        return "".join(out)

    def position(self, needle: Any, haystack: Any) -> Expr:
        return sa.func.strpos(haystack, needle)

    def concat(self, parts: list[Any], separator: Any | None) -> Expr:
        if separator is None:
            return sa.func.concat(*parts)
        return sa.func.concat_ws(separator, *parts)

    def ceil(self, x: Any) -> Expr:
        return sa.func.ceil(x)

    def floor(self, x: Any) -> Expr:
        return sa.func.floor(x)

    def modulo(self, x: Any, y: Any) -> Expr:
        return sa.func.mod(x, y)

    def round(self, x: Any, digits: Any) -> Expr:
        return sa.func.round(x, digits)

    @abstractmethod
    def arg_extreme(self, function: str, key: Any, value: Any, kind: str) -> Expr:
        """The ``value`` of the row with the smallest (MIN) or largest (MAX) non-NULL ``key``."""

    # -------------------------------------------------------------------------------- terminology

    def terminology_result(self, call: ast.Terminology) -> terminology.Result:
        """The call's answer: the terminology server's for another terminology (given to the compiler),
        else from the openEHR terminology."""
        key = terminology.answer_key(call)
        if key in self.answers:
            return self.answers[key]
        return terminology.evaluate(call.operation, call.params)

    def terminology_codes(self, item: ast.Terminology | ast.TerminologyUri) -> tuple[str, ...]:
        """The codes a ``matches`` item stands for: a TERMINOLOGY call's codes (``expand``, ``map``) or
        display (``lookup``), a terminology URI's value set; evaluated now (:mod:`aql.terminology`)."""
        if isinstance(item, ast.TerminologyUri):
            known = self.answers.get(terminology.answer_key(item))
            return known if isinstance(known, tuple) else terminology.value_set(item.uri).codes()
        result = self.terminology_result(item)
        if isinstance(result, bool):
            raise AqlSemanticError(
                f"TERMINOLOGY {item.operation!r} gives a Boolean, not codes to match: compare it (= true)"
            )
        if result is None:
            return ()
        return (result,) if isinstance(result, str) else result

    def terminology_match(self, value: Value, item: ast.Terminology | ast.TerminologyUri) -> Expr:
        """``matches TERMINOLOGY(...)``: the value is one of the call's codes (constants in the SQL)."""
        found = self.terminology_codes(item)
        column: Any = None
        if isinstance(value, JsonValue) and "code" in value.leaf:
            column, guard = value.leaf["code"]
            found = tuple(code_key(code) for code in found)  # as the column holds them
        elif isinstance(value, JsonValue):
            # a code string, or the code of a whole CODE_PHRASE or DV_CODED_TEXT (``.../defining_code``)
            json, guard = value.json, None
            column = sa.func.coalesce(
                self.json_text(json),
                self.json_text(self.json_get(json, ["code_string"])),
                self.json_text(self.json_get(json, ["defining_code", "code_string"])),
            )
        else:
            column, guard = value.projection("code"), None
            if column is None:
                column = value.projection("text")
        if column is None:
            raise AqlSemanticError("TERMINOLOGY needs a coded value")
        if not found:
            return sa.false()
        return sa.and_(guard, one_of(column, found)) if guard is not None else one_of(column, found)

    def terminology_scalar(self, call: ast.Terminology) -> Scalar:
        """A TERMINOLOGY call as the constant operand it is: ``validate`` and ``subsumes`` a Boolean,
        ``lookup`` a text (NULL when the code is unknown); codes (``expand``, ``map``) are for MATCHES."""
        result = self.terminology_result(call)
        if isinstance(result, tuple):
            raise AqlSemanticError(
                f"TERMINOLOGY {call.operation!r} gives codes: use MATCHES to compare with them"
            )
        if isinstance(result, bool):
            return self.binds.scalar(ast.Literal(result, ast.AqlType.BOOLEAN))
        if result is None:
            return self.binds.scalar(ast.Literal(None, ast.AqlType.NULL))
        return self.binds.scalar(ast.Literal(result, ast.AqlType.STRING))

    def terminology_value(self, call: ast.Terminology) -> Value:
        """A TERMINOLOGY call as a SELECT expression or function argument: its constant, codes as a JSON
        array."""
        result = self.terminology_result(call)
        if isinstance(result, tuple):
            text = self.binds.bind(
                self.binds.scalar(ast.Literal(json.dumps(list(result)), ast.AqlType.STRING)), str, sa.String()
            )
            return ScalarValue({"json": text}, "json", render=json.loads, description="a list of codes")
        return self.literal_value(self.terminology_scalar(call))
