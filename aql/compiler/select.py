"""SELECT items (paths, literals, functions, aggregates) and ORDER BY.

Aggregates follow AQL 1.1: COUNT counts non-NULL values (``*``: rows), MIN/MAX/SUM/AVG take numbers or,
for MIN/MAX, strings; MIN/MAX of a whole DV_ORDERED return the data value object with the smallest/largest
magnitude (as EHRbase does). Non-aggregated columns next to aggregates are grouped by.
"""

# mypy: disable-error-code="misc"
# (the mixins annotate ``self`` as the Compiler they are mixed into)
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from aql import ast
from aql.compiler.binds import Scalar
from aql.compiler.scope import Scope
from aql.compiler.values import ColumnValue, JsonValue, ScalarValue, Value
from aql.errors import AqlSemanticError, AqlUnsupported

if TYPE_CHECKING:
    from aql.compiler.base import Compiler

Expr = sa.ColumnElement[Any]


@dataclass
class OutputColumn:
    """One result column: its value, where its SQL outputs sit in the row, and whether it aggregates."""

    name: str
    path: str | None
    value: Value
    start: int
    width: int
    aggregate: bool


def _int_or_float(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class SelectMixin:
    """Values of SELECT expressions and functions."""

    def expression_value(self: Compiler, expr: ast.Expression, scope: Scope) -> Value:
        if isinstance(expr, ast.IdentifiedPath):
            return self.path_value(expr, scope)
        if isinstance(expr, ast.Literal | ast.Parameter):
            scalar = self.binds.scalar(expr)
            return self.literal_value(scalar)
        if isinstance(expr, ast.FunctionCall):
            return self.function_value(expr, scope)
        if isinstance(expr, ast.Aggregate):
            return self.aggregate_value(expr, scope)
        if isinstance(expr, ast.Terminology):
            return self.terminology_value(expr)
        raise AqlUnsupported(f"{type(expr).__name__} as a value")

    def literal_value(self: Compiler, scalar: Scalar) -> Value:
        if scalar.type == ast.AqlType.NULL:
            return ScalarValue({"json": sa.null()}, "json")
        if scalar.type == ast.AqlType.BOOLEAN:
            return ScalarValue({"bool": self.binds.bind(scalar, bool, sa.Boolean())}, "bool", render=bool)
        if scalar.type == ast.AqlType.INTEGER:
            return ScalarValue({"number": self.binds.bind(scalar, int, sa.Integer())}, "number", render=int)
        if scalar.type == ast.AqlType.REAL:
            return ScalarValue({"number": self.binds.bind(scalar, float, sa.Float())}, "number", render=float)
        return ScalarValue({"text": self.binds.bind(scalar, str, sa.String())}, "text", render=str)

    # ---------------------------------------------------------------------------------- functions

    def _text_arg(self: Compiler, expr: ast.Expression, scope: Scope) -> Expr:
        value = self.expression_value(expr, scope)
        text = value.projection("text")
        if text is None:
            raise AqlSemanticError("a string argument is required")
        return text

    def _number_arg(self: Compiler, expr: ast.Expression, scope: Scope) -> Expr:
        value = self.expression_value(expr, scope)
        number = value.projection("number")
        if number is None:
            raise AqlSemanticError("a numeric argument is required")
        return number

    def function_value(self: Compiler, call: ast.FunctionCall, scope: Scope) -> Value:
        name, args = call.name, call.arguments
        if name == "LENGTH":
            return ScalarValue(
                {"number": sa.func.length(self._text_arg(args[0], scope))}, "number", render=int
            )
        if name == "CONTAINS":
            haystack, needle = self._text_arg(args[0], scope), self._text_arg(args[1], scope)
            expr = self.position(needle, haystack) > 0
            return ScalarValue({"bool": expr}, "bool", render=bool)
        if name == "POSITION":
            needle, haystack = self._text_arg(args[0], scope), self._text_arg(args[1], scope)
            return ScalarValue({"number": self.position(needle, haystack)}, "number", render=int)
        if name == "SUBSTRING":
            text = self._text_arg(args[0], scope)
            numbers = [sa.cast(self._number_arg(a, scope), sa.Integer) for a in args[1:]]
            return ScalarValue({"text": sa.func.substr(text, *numbers)}, "text")
        if name in ("CONCAT", "CONCAT_WS"):
            parts = [self._text_arg(a, scope) for a in args]
            separator = parts.pop(0) if name == "CONCAT_WS" else None
            return ScalarValue({"text": self.concat(parts, separator)}, "text")
        if name in ("ABS", "CEIL", "FLOOR"):
            x = self._number_arg(args[0], scope)
            result = sa.func.abs(x) if name == "ABS" else self.ceil(x) if name == "CEIL" else self.floor(x)
            return ScalarValue({"number": result}, "number", render=_int_or_float)
        if name == "MOD":
            x, y = self._number_arg(args[0], scope), self._number_arg(args[1], scope)
            return ScalarValue({"number": self.modulo(x, y)}, "number", render=_int_or_float)
        if name == "ROUND":
            x = self._number_arg(args[0], scope)
            digits = sa.cast(self._number_arg(args[1], scope), sa.Integer) if len(args) > 1 else sa.literal(0)
            return ScalarValue({"number": self.round(x, digits)}, "number", render=_int_or_float)
        clock = {
            "CURRENT_DATE": lambda now: now.date().isoformat(),
            "CURRENT_TIME": lambda now: now.time().isoformat(timespec="seconds"),
            "CURRENT_DATE_TIME": lambda now: now.isoformat(timespec="milliseconds"),
            "NOW": lambda now: now.isoformat(timespec="milliseconds"),
            "CURRENT_TIMEZONE": _timezone,
        }
        if name in clock:
            return ScalarValue({"text": sa.cast(self.binds.now(clock[name]), sa.String)}, "text")
        raise AqlUnsupported(f"function {name}")

    # --------------------------------------------------------------------------------- aggregates

    def aggregate_value(self: Compiler, agg: ast.Aggregate, scope: Scope) -> Value:
        function = agg.function.upper()
        if agg.argument is None:
            return ScalarValue({"number": sa.func.count()}, "number", render=int)
        value = self.path_value(agg.argument, scope)
        if function == "COUNT":
            outputs = value.outputs()
            target = outputs[0] if len(outputs) == 1 else sa.func.coalesce(*outputs)
            if isinstance(value, JsonValue):
                target = self.json_count_key(value.json)
            elif isinstance(value, ColumnValue) and value.count_key is not None and not agg.distinct:
                target = value.count_key
            counted = sa.func.count(sa.distinct(target)) if agg.distinct else sa.func.count(target)
            return ScalarValue({"number": counted}, "number", render=int)
        if function in ("SUM", "AVG"):
            number = value.projection("number")
            whole = isinstance(value, JsonValue) and (
                "whole" in value.leaf or value.description == "a whole object"
            )
            if number is None or whole:
                # AQL 1.1: "Input values type should be either Integer or Real" (so not DV_QUANTITY itself)
                raise AqlSemanticError(
                    f"{function} takes Integer or Real values, not {value.description}"
                    + (" (a data value: use its magnitude)" if "whole" in getattr(value, "leaf", {}) else "")
                )
            fn = sa.func.sum if function == "SUM" else sa.func.avg
            arg = sa.distinct(number) if agg.distinct else number
            if function == "SUM" and isinstance(value, JsonValue):
                # EHRbase keeps the type of what it adds: DV_COUNT magnitudes sum to 493, DV_QUANTITY
                # magnitudes 52.0 + 52.0 to 104.0; a second output says whether any addend had a fraction
                fractional = sa.func.max(sa.case((self.json_is_integer(value.json), 0), else_=1))
                return _Sum(fn(arg), fractional)
            return ScalarValue({"number": fn(arg)}, "number", render=float)
        if function in ("MIN", "MAX"):
            if isinstance(value, JsonValue):
                keys = value.extreme_keys()
                if not keys:
                    kind = "text" if value.primitive in ("str", "bool") else "number"
                    key = value.projection(kind)
                    assert key is not None
                    keys = [(key, kind)]
                picks = [self.arg_extreme(function, key, value.json, kind) for key, kind in keys]
                picked = picks[0] if len(picks) == 1 else sa.func.coalesce(*picks)
                return JsonValue(self, picked, description="an aggregate")
            for kind in ("instant", "number", "text"):
                expr = value.projection(kind)
                if expr is not None:
                    return _Wrapped(sa.func.min(expr) if function == "MIN" else sa.func.max(expr), value)
            # AQL 1.1: "Input values type should be either String, Date, Time, Integer or Real"
            raise AqlSemanticError(
                f"{function} takes String, Date, Time, Integer or Real values, not {value.description}"
            )
        raise AqlUnsupported(f"aggregate {function}")  # pragma: no cover


class _Wrapped(ScalarValue):
    """An aggregate over a column value, decoded as that value is."""

    def __init__(self, expr: Expr, inner: Value) -> None:
        super().__init__({"json": expr}, "json")
        self.inner = inner

    def decode(self, values: Any) -> Any:
        return self.inner.decode(values)


class _Sum(ScalarValue):
    """SUM of JSON numbers: an integer when every addend was written as one, else a real."""

    def __init__(self, total: Expr, fractional: Expr) -> None:
        super().__init__({"number": total}, "number")
        self.fractional = fractional

    def outputs(self) -> list[Expr]:
        return [self.kinds["number"], self.fractional]

    def decode(self, values: Any) -> Any:
        total, fractional = values[0], values[1]
        if total is None:
            return None
        return float(total) if fractional else int(total)


def _timezone(now: dt.datetime) -> str:
    offset = now.utcoffset() or dt.timedelta()
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
