"""The canonical form of versioned data: one lexical form per value, as it is stored at commit.

The same instant can be written many ways in ISO 8601 (``20190114`` and ``2019-01-14``; ``…+00:00`` and
``…Z``), and a DV_INTERVAL may leave out flags whose value follows from its limits. EHRbase re-serialises
what it stores, so its reads and AQL results show one form; a client comparing ``time/value = '…Z'`` finds
a value committed as ``+00:00``. :func:`canonical_form` gives our stored data that same property, and only
that: the same instant and the same value, never a different one.

* DV_DATE_TIME, DV_DATE and DV_TIME ``value``: the extended ISO 8601 form that openEHR recommends
  (:func:`cdr.rm.data_types.iso8601.extended_date_time` and siblings): separators, ``.`` before a fraction,
  a zero offset as ``Z``, other offsets as ``±hh:mm``. Partial values and the precision sent stay as they
  are; a value that is not ISO 8601 is left alone for the validator to report.
* DV_INTERVAL: an absent ``lower_unbounded``/``upper_unbounded`` is whether that limit is missing (RM 1.1.0
  makes both mandatory), and an absent ``lower_included``/``upper_included`` beside a limit is ``true``, the
  default of the BASE Interval. Flags that were sent are kept, even where they contradict the limits: that
  is the validator's business, not a rewrite.

The function works on canonical JSON (``_type`` on every object, as
:func:`cdr.formats.canonical_json.to_json` writes it), because that is what is stored; it never changes its
argument and returns it as it is when nothing needed rewriting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cdr.rm.data_types.iso8601 import extended_date, extended_date_time, extended_time

__all__ = ["canonical_form"]

JsonObject = dict[str, Any]

_TEMPORAL_VALUES: dict[str, Callable[[str], str | None]] = {
    "DV_DATE_TIME": extended_date_time,
    "DV_DATE": extended_date,
    "DV_TIME": extended_time,
}


def _temporal(node: JsonObject, extended: Callable[[str], str | None]) -> JsonObject:
    value = node.get("value")
    if not isinstance(value, str):
        return node
    canonical = extended(value)
    return node if canonical is None or canonical == value else {**node, "value": canonical}


def _interval(node: JsonObject) -> JsonObject:
    filled: JsonObject = {}
    for limit in ("lower", "upper"):
        present = node.get(limit) is not None
        if node.get(f"{limit}_unbounded") is None:
            filled[f"{limit}_unbounded"] = not present
        if present and node.get(f"{limit}_included") is None:
            filled[f"{limit}_included"] = True
    return {**node, **filled} if filled else node


def _rewrite(value: Any) -> Any:
    if isinstance(value, dict):
        return _object(value)
    if isinstance(value, list):
        items = [_rewrite(item) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


def _object(node: JsonObject) -> JsonObject:
    changed: JsonObject = {}
    for key, value in node.items():
        if isinstance(value, dict | list):
            rewritten = _rewrite(value)
            if rewritten is not value:
                changed[key] = rewritten
    out = {**node, **changed} if changed else node
    type_name = out.get("_type")
    extended = _TEMPORAL_VALUES.get(type_name) if isinstance(type_name, str) else None
    if extended is not None:
        return _temporal(out, extended)
    if type_name == "DV_INTERVAL":
        return _interval(out)
    return out


def canonical_form(doc: JsonObject) -> JsonObject:
    """``doc`` (canonical JSON of an RM object) with every value in the form it is stored in (module doc).

    >>> canonical_form({"_type": "DV_INTERVAL", "lower": {"_type": "DV_DATE", "value": "20190114"}})
    {'_type': 'DV_INTERVAL', 'lower': {'_type': 'DV_DATE', 'value': '2019-01-14'}, \
'lower_unbounded': False, 'lower_included': True, 'upper_unbounded': True}
    """
    return _object(doc)
