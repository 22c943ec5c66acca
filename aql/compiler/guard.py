"""A value that exists only where a condition holds: what a predicate inside an identified path makes of it.

AQL 1.1 ("Identified Paths"): ``o[name/value=$n]/data[at0001]/...`` "specifies a data item at a path within an
object satisfying the predicate", so for an object that does not satisfy it there is no such item: the value
is NULL there, as for a path that reaches nothing. SQL-wise every output, projection, typed leaf column guard
and sort key of the value gets the condition (``CASE WHEN cond THEN x END``, or ``guard AND cond``), so
comparisons are false, COUNT skips it and the typed columns stay usable by their indexes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from aql.compiler.values import ColumnValue, JsonValue, ScalarValue, Value

Expr = sa.ColumnElement[Any]
Cond = sa.ColumnElement[bool]


def guarded(value: Value, cond: Cond) -> Value:
    """``value`` where ``cond`` holds, NULL elsewhere."""
    if isinstance(value, JsonValue):
        return guarded_json(value, cond)
    if isinstance(value, ColumnValue):
        return replace(
            value,
            expr=_when(cond, value.expr),
            text=_when(cond, value.text) if value.text is not None else None,
            compare_hook=_hook(value.compare_hook, cond),
            count_key=_when(cond, value.count_key) if value.count_key is not None else None,
        )
    if type(value) is ScalarValue:
        return replace(value, kinds={kind: _when(cond, expr) for kind, expr in value.kinds.items()})
    return _Guarded(value, cond)


def guarded_json(value: JsonValue, cond: Cond) -> JsonValue:
    """A JSON value where ``cond`` holds: its JSON, typed leaf columns' guards and sort keys."""
    return replace(
        value,
        json=_when(cond, value.json),
        leaf={kind: (column, sa.and_(guard, cond)) for kind, (column, guard) in value.leaf.items()},
        leaf_sort=[_when(cond, key) for key in value.leaf_sort],
        compare_hook=_hook(value.compare_hook, cond),
    )


def _when(cond: Cond, expr: Any) -> Expr:
    return sa.case((cond, expr))


def _hook(
    hook: Callable[[str, Any], Expr | None] | None, cond: Cond
) -> Callable[[str, Any], Expr | None] | None:
    """A value's own comparison (key columns) holds only where the condition does."""
    if hook is None:
        return None

    def compare(op: str, scalar: Any) -> Expr | None:
        result = hook(op, scalar)
        return None if result is None else sa.and_(cond, result)

    return compare


class _Guarded(Value):
    """Any other value (an object built in Python from several columns): its columns plus a flag saying
    whether the condition held, decoded to None where it did not."""

    def __init__(self, inner: Value, cond: Cond) -> None:
        self.inner = inner
        self.cond = cond
        self.description = inner.description

    def outputs(self) -> list[Expr]:
        return [_when(self.cond, o) for o in self.inner.outputs()] + [_when(self.cond, sa.literal(1))]

    def decode(self, values: Sequence[Any]) -> Any:
        return None if values[-1] is None else self.inner.decode(values[:-1])

    def projection(self, kind: str) -> Expr | None:
        expr = self.inner.projection(kind)
        return None if expr is None else _when(self.cond, expr)

    def sort_keys(self) -> list[Expr]:
        return [_when(self.cond, key) for key in self.inner.sort_keys()]
