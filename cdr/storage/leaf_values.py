"""Typed leaf values of a node, for indexed WHERE and ORDER BY: the ``node.*_value`` columns.

Each node type with a natural value has one attribute whose data value is spread into typed columns:

=================  ======================  =============================================================
node rm_type       attribute               typical AQL
=================  ======================  =============================================================
ELEMENT            ``value``               ``.../items[at0004]/value/magnitude > 140``
POINT_EVENT,       ``time``                ``o/data/events/time/value`` ORDER BY
INTERVAL_EVENT
HISTORY            ``origin``
ACTION             ``time``
COMPOSITION        ``context/start_time``  ``c/context/start_time/value`` ORDER BY
=================  ======================  =============================================================

The columns per data value type (``value_type`` always holds the RM type of the value):

* ``num_value``: DV_QUANTITY and DV_COUNT magnitude, DV_ORDINAL and DV_SCALE value, DV_PROPORTION
  numerator/denominator, DV_DURATION in seconds (openEHR average month and year);
* ``text_value`` (first :data:`~cdr.storage.schema.TEXT_VALUE_LENGTH` characters): DV_TEXT and DV_CODED_TEXT
  value, the symbol text of DV_ORDINAL and DV_SCALE, DV_IDENTIFIER id, DV_URI value, DV_BOOLEAN ``true`` or
  ``false``, and the ISO 8601 text of DV_DATE_TIME, DV_DATE, DV_TIME and DV_DURATION;
* ``code_string`` and ``terminology``: DV_CODED_TEXT defining code, DV_ORDINAL and DV_SCALE symbol code,
  DV_STATE value code;
* ``units``: DV_QUANTITY units;

  these three hold a text longer than their column (a post-coordinated SNOMED CT expression where the
  template leaves coding open) as its :func:`column_key`, which AQL applies to the literal too;
* ``time_value``: DV_DATE_TIME as an instant (no zone read as UTC, partial values at their start), DV_DATE
  at midnight UTC.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from cdr.rm.data_types.iso8601 import duration_seconds, full_date_time, parse_date, parse_date_time
from cdr.storage.schema import CODE_LENGTH, TEXT_VALUE_LENGTH, UNITS_LENGTH

LEAF_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "ELEMENT": ("value",),
    "POINT_EVENT": ("time",),
    "INTERVAL_EVENT": ("time",),
    "HISTORY": ("origin",),
    "ACTION": ("time",),
    "COMPOSITION": ("context", "start_time"),
}
"""Node RM type -> the attribute path (from the node) whose value fills the typed columns."""


@dataclass(slots=True, init=False)
class LeafValue:
    """The typed columns of one node (all ``None`` but ``value_type`` when a type has no such part); the
    ``__init__`` is written out so that it is compiled too (see :class:`cdr.storage.decompose.NodeRow`)."""

    value_type: str
    num_value: float | None
    text_value: str | None
    code_string: str | None
    terminology: str | None
    units: str | None
    time_value: dt.datetime | None

    def __init__(
        self,
        value_type: str,
        num_value: float | None = None,
        text_value: str | None = None,
        code_string: str | None = None,
        terminology: str | None = None,
        units: str | None = None,
        time_value: dt.datetime | None = None,
    ) -> None:
        self.value_type = value_type
        self.num_value = num_value
        self.text_value = text_value
        self.code_string = code_string
        self.terminology = terminology
        self.units = units
        self.time_value = time_value


def leaf_value(rm_type: str, node: dict[str, Any]) -> LeafValue | None:
    """The typed value of a node given as canonical JSON, ``None`` when its type has none or it is absent."""
    attribute = LEAF_ATTRIBUTES.get(rm_type)
    if attribute is None:
        return None
    value: Any = node
    for name in attribute:
        value = value.get(name) if isinstance(value, dict) else None
    if not isinstance(value, dict) or not isinstance(value.get("_type"), str):
        return None
    return data_value(value)


def data_value(value: dict[str, Any]) -> LeafValue:
    """Spread one data value (canonical JSON with ``_type``) into the typed columns."""
    leaf = LeafValue(value["_type"])
    reader = _READERS.get(leaf.value_type)
    if reader is not None:
        reader(value, leaf)
    if leaf.text_value is not None:
        leaf.text_value = leaf.text_value[:TEXT_VALUE_LENGTH]
    if leaf.code_string is not None and len(leaf.code_string) > CODE_LENGTH:
        leaf.code_string = column_key(leaf.code_string, CODE_LENGTH)
    if leaf.terminology is not None and len(leaf.terminology) > CODE_LENGTH:
        leaf.terminology = column_key(leaf.terminology, CODE_LENGTH)
    if leaf.units is not None and len(leaf.units) > UNITS_LENGTH:
        leaf.units = column_key(leaf.units, UNITS_LENGTH)
    return leaf


def column_key(text: str, length: int) -> str:
    """What a column of ``length`` characters holds for ``text``: the text itself when it fits, else its start
    and a digest of the whole, ``length`` characters in all, so that equality on the column stays exact
    (AQL compares the literal's key, :func:`code_key`) where cutting the text would make it miss or match
    wrongly.

    >>> column_key("44054006", 16)
    '44054006'
    >>> key = column_key("x" * 40, 40 - 1)
    >>> len(key), key[:6], key[6]
    (39, 'xxxxxx', '#')
    """
    if len(text) <= length:
        return text
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return f"{text[: length - len(digest) - 1]}#{digest}"


def code_key(text: str) -> str:
    """How ``node.code_string`` holds a code (:func:`column_key`): AQL keys its literals the same way."""
    return column_key(text, CODE_LENGTH)


def instant(text: str) -> dt.datetime | None:
    """The instant of an ISO 8601 (possibly partial) date-time (no zone: UTC); ``None`` if invalid, or if
    it falls outside the years 1-9999 once in UTC (``9999-12-31T23:59:59-14:00``): no instant here holds
    that (the value itself is stored; its node has no ``time_value``)."""
    try:
        return _instant(text)
    except OverflowError:
        return None


def _instant(text: str) -> dt.datetime | None:
    moment = full_date_time(text)
    if moment is not None:
        return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    parsed = parse_date_time(text)
    if parsed is None:
        return None
    date, time = parsed
    try:
        if time is None:
            return dt.datetime.combine(date.to_date(), dt.time(), dt.UTC)
        moment = dt.datetime.combine(date.to_date(), time.to_time())
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _code(code: Any, leaf: LeafValue) -> None:
    if isinstance(code, dict):
        leaf.code_string = _text(code.get("code_string"))
        terminology = code.get("terminology_id")
        if isinstance(terminology, dict):
            leaf.terminology = _text(terminology.get("value"))


def _dv_text(value: dict[str, Any], leaf: LeafValue) -> None:
    leaf.text_value = _text(value.get("value"))
    _code(value.get("defining_code"), leaf)


def _dv_quantity(value: dict[str, Any], leaf: LeafValue) -> None:
    leaf.num_value = _number(value.get("magnitude"))
    leaf.units = _text(value.get("units"))


def _dv_count(value: dict[str, Any], leaf: LeafValue) -> None:
    leaf.num_value = _number(value.get("magnitude"))


def _dv_ordinal(value: dict[str, Any], leaf: LeafValue) -> None:
    leaf.num_value = _number(value.get("value"))
    symbol = value.get("symbol")
    if isinstance(symbol, dict):
        _dv_text(symbol, leaf)


def _dv_proportion(value: dict[str, Any], leaf: LeafValue) -> None:
    numerator, denominator = _number(value.get("numerator")), _number(value.get("denominator"))
    if numerator is not None and denominator:
        leaf.num_value = numerator / denominator


def _dv_date_time(value: dict[str, Any], leaf: LeafValue) -> None:
    leaf.text_value = _text(value.get("value"))
    if leaf.text_value is not None:
        leaf.time_value = instant(leaf.text_value)


def _dv_date(value: dict[str, Any], leaf: LeafValue) -> None:
    leaf.text_value = _text(value.get("value"))
    parts = parse_date(leaf.text_value) if leaf.text_value is not None else None
    if parts is not None:
        leaf.time_value = dt.datetime.combine(parts.to_date(), dt.time(), dt.UTC)


def _dv_duration(value: dict[str, Any], leaf: LeafValue) -> None:
    leaf.text_value = _text(value.get("value"))
    if leaf.text_value is not None:
        leaf.num_value = duration_seconds(leaf.text_value)


def _dv_boolean(value: dict[str, Any], leaf: LeafValue) -> None:
    flag = value.get("value")
    if isinstance(flag, bool):
        leaf.text_value = "true" if flag else "false"


def _dv_identifier(value: dict[str, Any], leaf: LeafValue) -> None:
    leaf.text_value = _text(value.get("id"))


def _value_text(value: dict[str, Any], leaf: LeafValue) -> None:
    leaf.text_value = _text(value.get("value"))


def _dv_state(value: dict[str, Any], leaf: LeafValue) -> None:
    state = value.get("value")
    if isinstance(state, dict):
        _dv_text(state, leaf)


_READERS = {
    "DV_TEXT": _dv_text,
    "DV_CODED_TEXT": _dv_text,
    "DV_QUANTITY": _dv_quantity,
    "DV_COUNT": _dv_count,
    "DV_ORDINAL": _dv_ordinal,
    "DV_SCALE": _dv_ordinal,
    "DV_PROPORTION": _dv_proportion,
    "DV_DATE_TIME": _dv_date_time,
    "DV_DATE": _dv_date,
    "DV_TIME": _value_text,
    "DV_DURATION": _dv_duration,
    "DV_BOOLEAN": _dv_boolean,
    "DV_IDENTIFIER": _dv_identifier,
    "DV_URI": _value_text,
    "DV_EHR_URI": _value_text,
    "DV_PARSABLE": _value_text,
    "DV_STATE": _dv_state,
}
