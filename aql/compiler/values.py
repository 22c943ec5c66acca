"""What an AQL expression compiles to: SQL to select, a decoder to the EHRbase-style result value, and
typed projections for comparing, sorting and aggregating.

AQL values are typed only at run time (``.../value/value`` is a string for DV_TEXT and an integer for
DV_ORDINAL), so a value offers each kind it may have: ``number``, ``text``, ``bool``, ``instant`` (a
date/time compared as an instant) and ``json``. A projection is NULL where the value is not of that kind, so
``value.number() > 3`` is simply false for text. Where the ``node`` table has an indexed typed column for
the value (:mod:`cdr.storage.leaf_values`), that column is the projection, so filters run on indexes.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from aql.errors import AqlUnsupported

if TYPE_CHECKING:
    from aql.compiler.base import Compiler

Expr = sa.ColumnElement[Any]
KINDS = ("number", "text", "bool", "instant")


class Value(ABC):
    """Base: something selectable, maybe comparable."""

    description = "value"

    @abstractmethod
    def outputs(self) -> list[Expr]:
        """The SQL columns that carry this value in a SELECT list."""

    def decode(self, values: Sequence[Any]) -> Any:
        return values[0]

    def projection(self, kind: str) -> Expr | None:
        """The value as ``kind`` (NULL where it is not one), or None if it can never be one."""
        return None

    def instant_is_column(self) -> bool:
        """Whether the ``instant`` projection is a timestamp column (else dialect SQL on text)."""
        return False

    def sort_keys(self) -> list[Expr]:
        return self.outputs()

    def extreme_keys(self) -> list[tuple[Expr, str]]:
        """Sort keys for MIN/MAX when the value is an object (DV_ORDERED), each with its kind (``number``,
        ``instant``, ``text``), in the order they decide: empty if the value is not an orderable object."""
        return []

    def require(self, kind: str) -> Expr:
        expr = self.projection(kind)
        if expr is None:
            raise AqlUnsupported(f"{kind} operations on {self.description}")
        return expr


@dataclass(eq=False)
class JsonValue(Value):
    """A value inside stored JSON (node data or version data); ``leaf`` holds typed node columns for it."""

    compiler: Compiler
    json: Expr
    leaf: dict[str, tuple[Expr, Expr]] = field(default_factory=dict)  # kind -> (column, guard)
    leaf_sort: list[Expr] = field(default_factory=list)
    primitive: str | None = None  # RM primitive type when known: str, int, float, bool
    primitives: tuple[str, ...] | None = None  # every RM primitive type it may have; None: not known
    description: str = "a path value"
    compare_hook: Callable[[str, Any], Expr | None] | None = None

    def outputs(self) -> list[Expr]:
        return [self.json]

    def decode(self, values: Sequence[Any]) -> Any:
        return canonical_output(self.compiler.decode_json(values[0]))

    def projection(self, kind: str) -> Expr | None:
        if kind in self.leaf:
            column, guard = self.leaf[kind]
            return sa.case((guard, column))
        c = self.compiler
        if kind == "number":
            return c.json_number(self.json)
        if kind == "text":
            return c.json_text(self.json)
        if kind == "bool":
            return c.json_bool(self.json)
        if kind == "instant":
            return c.text_instant(c.json_text(self.json))
        if kind == "json":
            return self.json
        return None

    def instant_is_column(self) -> bool:
        return "instant" in self.leaf

    def sort_keys(self) -> list[Expr]:
        if self.leaf_sort:
            return self.leaf_sort
        return [self.compiler.json_duration_key(self.json), *self.compiler.json_sort_keys(self.json)]

    def extreme_keys(self) -> list[tuple[Expr, str]]:
        if "whole" in self.leaf and len(self.leaf_sort) == 3:
            # magnitudes, then instants (DV_DATE_TIME, DV_DATE), then ISO text (DV_TIME: same-zone times
            # sort as text): a node has at most the first of them that applies
            return list(zip(self.leaf_sort, ("number", "instant", "text"), strict=True))
        return []


@dataclass(eq=False)
class ColumnValue(Value):
    """A plain typed column (or SQL expression): ``kind`` names its projection, ``render`` formats it."""

    expr: Expr
    kind: str
    render: Callable[[Any], Any] = lambda v: v
    text: Expr | None = None  # its text form, for LIKE and text comparisons
    description: str = "a column"
    compare_hook: Callable[[str, Any], Expr | None] | None = None
    count_key: Expr | None = None  # NULL exactly where the value is, cheaper to COUNT (a key column)

    def outputs(self) -> list[Expr]:
        return [self.expr]

    def decode(self, values: Sequence[Any]) -> Any:
        return None if values[0] is None else self.render(values[0])

    def projection(self, kind: str) -> Expr | None:
        if kind == self.kind:
            return self.expr
        if kind == "text":
            return self.text
        return None

    def instant_is_column(self) -> bool:
        return self.kind == "instant"


@dataclass(eq=False)
class CompositeValue(Value):
    """An object built in Python from several columns (an EHR, a VERSION, an AUDIT_DETAILS)."""

    exprs: list[Expr]
    build: Callable[[Sequence[Any]], Any]
    description: str = "an object"
    texts: dict[str, Expr] = field(default_factory=dict)

    def outputs(self) -> list[Expr]:
        return self.exprs

    def decode(self, values: Sequence[Any]) -> Any:
        return self.build(values)

    def projection(self, kind: str) -> Expr | None:
        return self.texts.get(kind)


@dataclass(eq=False)
class ScalarValue(Value):
    """A literal, parameter or function result: its projections are given outright."""

    kinds: dict[str, Expr]
    main: str
    render: Callable[[Any], Any] = lambda v: v
    description: str = "a literal"

    def outputs(self) -> list[Expr]:
        return [self.kinds[self.main]]

    def decode(self, values: Sequence[Any]) -> Any:
        value = values[0]
        if isinstance(value, float) and self.main == "number" and value.is_integer() and self.render is int:
            return int(value)
        return None if value is None else self.render(value)

    def projection(self, kind: str) -> Expr | None:
        return self.kinds.get(kind)


IMPLIED_TYPES = frozenset({"ARCHETYPED", "ARCHETYPE_ID", "TEMPLATE_ID", "HISTORY", "LINK"})
"""Types whose ``_type`` EHRbase leaves out below the top of a result value: the attribute declares them."""


def canonical_output(value: Any) -> Any:
    """Stored canonical JSON as EHRbase returns it in a result: ``_type`` of :data:`IMPLIED_TYPES` dropped
    below the top object, and of a LINK everywhere.

    ``value`` is changed in place and returned: it is the driver's fresh decoding of one cell, and a whole
    composition in an extract is thousands of objects, which copying walked twice as long.

    >>> canonical_output({"_type": "X", "details": {"_type": "ARCHETYPED"}, "links": [{"_type": "LINK"}]})
    {'_type': 'X', 'details': {}, 'links': [{}]}
    """
    if type(value) is dict:
        _strip(value, True)
    elif type(value) is list:
        _strip_items(value)
    return value


def _strip(obj: dict[str, Any], top: bool) -> None:
    for item in obj.values():
        kind = type(item)
        if kind is dict:
            _strip(item, False)
        elif kind is list:
            _strip_items(item)
    rm_type = obj.get("_type")
    if rm_type is not None and ((not top and rm_type in IMPLIED_TYPES) or rm_type == "LINK"):
        del obj["_type"]  # a LINK has none even as a whole cell (``SELECT o/links``)


def _strip_items(items: list[Any]) -> None:
    for item in items:
        kind = type(item)
        if kind is dict:
            _strip(item, False)
        elif kind is list:
            _strip_items(item)


def iso_instant(value: Any) -> Any:
    """A stored instant as EHRbase writes it (ISO 8601, milliseconds, Z).

    SQLite hands back the stored UTC text (``2026-11-26 10:32:01.648427``) because selected columns are not
    read through their column type; it is parsed here so both databases answer alike."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value
