"""Which path ends are stored in the typed ``node`` columns (:mod:`cdr.storage.leaf_values`).

A path like ``.../items[at0004]/value/magnitude`` ends in the ELEMENT node's ``value``; its magnitude is
``node.num_value`` when the value is a DV_QUANTITY or DV_COUNT. Comparing that column instead of the JSON
lets the partial indexes ``ix_node_num_value`` ... serve the filter. The ``value_type`` guard keeps the column
to exactly the values the JSON path would reach.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from cdr.storage.leaf_values import LEAF_ATTRIBUTES

Expr = sa.ColumnElement[Any]

_NUMERIC = ("DV_QUANTITY", "DV_COUNT")
_TEMPORAL = ("DV_DATE_TIME", "DV_DATE")
_ORDINALS = ("DV_ORDINAL", "DV_SCALE")
_TEXTS = ("DV_TEXT", "DV_CODED_TEXT")
ORDERED_NUMERIC = ("DV_QUANTITY", "DV_COUNT", "DV_ORDINAL", "DV_SCALE", "DV_PROPORTION", "DV_DURATION")
"""Data values a whole-value comparison with a number compares by ``num_value`` (magnitude, ordinal value)."""

# rest of the path after the leaf attribute -> [(projection kind, column, value types)]
_SUB_PATHS: dict[tuple[str, ...], list[tuple[str, str, tuple[str, ...]]]] = {
    ("magnitude",): [("number", "num_value", _NUMERIC)],
    ("value",): [
        ("instant", "time_value", _TEMPORAL),
        ("number", "num_value", _ORDINALS),
        ("duration", "num_value", ("DV_DURATION",)),  # its length in seconds
    ],
    ("defining_code", "code_string"): [("code", "code_string", ("DV_CODED_TEXT",))],
    ("symbol", "defining_code", "code_string"): [("code", "code_string", _ORDINALS)],
    ("units",): [("units", "units", ("DV_QUANTITY",))],
}


def one_of(column: Any, values: Sequence[str]) -> Expr:
    """``column`` equals one of a few constant ``values``: ORed equalities, not IN, whose list SQLAlchemy
    expands into the SQL text again on every execution."""
    return column == values[0] if len(values) == 1 else sa.or_(*(column == v for v in values))


def leaf_columns(
    node: Any, node_types: tuple[str, ...], data_steps: tuple[str, ...]
) -> dict[str, tuple[Expr, Expr]]:
    """Typed columns that answer the JSON at ``data_steps`` below ``node``: kind -> (column, guard).

    ``node_types`` are the RM types the node may have. Kinds: ``number``, ``instant``, ``code``, ``units``,
    and ``whole`` (the path ends at the data value itself; the column is the node's ``num_value``). A
    comparison is ``guard AND column op x``, which an index on the column can serve.
    """
    out: dict[str, tuple[Expr, Expr]] = {}
    by_attribute: dict[tuple[str, ...], list[str]] = {}
    for rm_type, attribute in LEAF_ATTRIBUTES.items():
        if rm_type in node_types and data_steps[: len(attribute)] == attribute:
            by_attribute.setdefault(attribute, []).append(rm_type)
    # several node types may keep the value at the same attribute (POINT_EVENT and INTERVAL_EVENT ``time``):
    # the guard admits all of them
    for attribute, rm_types in by_attribute.items():
        sub = data_steps[len(attribute) :]
        guard_type = one_of(node.c.rm_type, rm_types)
        if not sub:
            out["whole"] = (node.c.num_value, guard_type)
            out["whole_instant"] = (node.c.time_value, guard_type)
            out["whole_text"] = (node.c.text_value, guard_type)
            out["whole_type"] = (node.c.value_type, guard_type)
            continue
        for kind, column, value_types in _SUB_PATHS.get(sub, []):
            out[kind] = (node.c[column], sa.and_(guard_type, one_of(node.c.value_type, value_types)))
    return out


def whole_value_sort(node: Any) -> list[Expr]:
    """Sort keys of a whole data value in its node: numbers, then instants, then text."""
    return [node.c.num_value, node.c.time_value, node.c.text_value]
