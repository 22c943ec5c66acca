"""Bound values: literals and ``$parameters`` become SQL bind parameters, never SQL text.

A compiled statement is cached per (query text, dialect, parameter kinds), so a parameter's *value* must not
be baked into it: every use of a parameter is a bind parameter whose value is derived from the caller's
parameters at execution (``Derived``: the parameter, and a transform such as "parse as UUID" or "AQL LIKE
pattern to SQL"). Literals are bound the same way with their value fixed at compile time.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from aql import ast
from aql.errors import AqlSemanticError
from aql.literals import UntypedText, string_type


class LenientUuid(TypeDecorator[uuid.UUID]):
    """A UUID bind parameter that turns text which is no UUID into NULL (so ``=`` is false, not an error)."""

    impl = sa.Uuid
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> uuid.UUID | None:
        if value is None or isinstance(value, uuid.UUID):
            return value
        try:
            return uuid.UUID(str(value))
        except ValueError:
            return None


NUMERIC_TEXT = "NUMERIC_TEXT"  # the kind of a query-string value that reads as a number (UntypedText)
BOOLEAN_TEXT = "BOOLEAN_TEXT"  # ... that reads as a boolean (``true``/``false``)


def kind_of(value: Any) -> str:
    """The kind of a parameter value, part of the compiled-statement cache key."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "INTEGER"
    if isinstance(value, float | Decimal):
        return "REAL"
    if isinstance(value, UntypedText) and value.reads_as_number:
        return NUMERIC_TEXT
    if isinstance(value, UntypedText) and value.reads_as_boolean:
        return BOOLEAN_TEXT
    if isinstance(value, str):
        return string_type(value).value
    if isinstance(value, list | tuple):
        kinds = {kind_of(v) for v in value}
        return "LIST:" + ("|".join(sorted(kinds)) if kinds else "STRING")
    raise AqlSemanticError(f"parameter value of type {type(value).__name__} is not supported")


@dataclass(frozen=True, slots=True)
class Derived:
    """A bind parameter whose value is ``transform(parameters[parameter])`` (each item for lists)."""

    bind_name: str
    parameter: str
    transform: Callable[[Any], Any]
    expanding: bool = False


@dataclass(frozen=True, slots=True)
class Scalar:
    """A literal or parameter operand with its AQL type (for a parameter: the type of its value)."""

    type: ast.AqlType
    value: Any = None  # the literal value
    parameter: str | None = None  # or the parameter name
    is_list: bool = False
    untyped: str | None = None  # a query-string value read as a "number" or "bool": that or text by the path

    @property
    def is_number(self) -> bool:
        return self.type in (ast.AqlType.INTEGER, ast.AqlType.REAL)

    @property
    def is_temporal(self) -> bool:
        return self.type in (ast.AqlType.DATE, ast.AqlType.DATE_TIME)


_UNTYPED = {NUMERIC_TEXT: "number", BOOLEAN_TEXT: "bool"}


def _identity(value: Any) -> Any:
    return value


class Binds:
    """Creates bind parameters and remembers which come from ``$parameters``."""

    def __init__(self, parameter_kinds: Mapping[str, str]) -> None:
        self.parameter_kinds = dict(parameter_kinds)
        self.derived: list[Derived] = []
        self._count = 0

    def scalar(self, node: ast.Literal | ast.Parameter) -> Scalar:
        if isinstance(node, ast.Literal):
            value = float(node.value) if isinstance(node.value, Decimal) else node.value
            return Scalar(node.type, value=value)
        kind = self.parameter_kinds.get(node.name)
        if kind is None:
            raise AqlSemanticError(f"no value given for parameter ${node.name}")
        if kind.startswith("LIST:"):
            element = kind[5:].split("|")[0]
            return Scalar(ast.AqlType(element), parameter=node.name, is_list=True)
        if kind in _UNTYPED:
            return Scalar(ast.AqlType.STRING, parameter=node.name, untyped=_UNTYPED[kind])
        return Scalar(ast.AqlType(kind), parameter=node.name)

    def bind(
        self,
        scalar: Scalar,
        transform: Callable[[Any], Any] = _identity,
        type_: TypeEngine[Any] | None = None,
    ) -> sa.ColumnElement[Any]:
        """A bind parameter for ``transform(value)`` (a list bind for a list parameter)."""
        self._count += 1
        name = f"p{self._count}"
        if scalar.parameter is None:
            return sa.bindparam(name, transform(scalar.value), type_=type_)
        self.derived.append(Derived(name, scalar.parameter, transform, scalar.is_list))
        return sa.bindparam(name, type_=type_, expanding=scalar.is_list)

    def bind_list(self, values: list[Any], type_: TypeEngine[Any] | None = None) -> sa.ColumnElement[Any]:
        """One expanding bind parameter for a list of literal values (an ``IN``)."""
        self._count += 1
        return sa.bindparam(f"p{self._count}", values, type_=type_, expanding=True)

    def now(self, transform: Callable[[dt.datetime], Any]) -> sa.ColumnElement[Any]:
        """A bind parameter computed from the time of execution (CURRENT_DATE() and friends)."""
        self._count += 1
        name = f"p{self._count}"
        self.derived.append(Derived(name, "@now", transform))
        return sa.bindparam(name)


def bind_values(derived: list[Derived], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The values of the derived bind parameters for one execution."""
    now = dt.datetime.now().astimezone()
    out: dict[str, Any] = {}
    for d in derived:
        if d.parameter == "@now":
            out[d.bind_name] = d.transform(now)
            continue
        value = parameters[d.parameter]
        if d.expanding:
            out[d.bind_name] = [d.transform(v) for v in value]
        else:
            out[d.bind_name] = d.transform(value)
    return out
