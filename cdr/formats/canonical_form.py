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
:func:`cdr.formats.canonical_json.to_json` writes it), because that is what is stored; an object without
``_type`` is left as it is. It never changes its argument and returns it as it is when nothing needed
rewriting.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import cdr.rm  # noqa: F401  (defines every RM class and fills RM_TYPES)
from cdr.memo import StringMemo
from cdr.rm.base import RM_TYPES, rm_fields
from cdr.rm.data_types.iso8601 import extended_date, extended_date_time, extended_time

__all__ = ["canonical_form"]

JsonObject = dict[str, Any]


_DATE = r"\d{4}(?:-\d{2}(?:-\d{2})?)?"
_TIME = r"\d{2}(?::\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-](?!00:00)\d{2}:\d{2})?"


def _temporal(
    extended: Callable[[str], str | None], canonical_pattern: str
) -> Callable[[JsonObject], JsonObject]:
    """The rewrite of one temporal type; values already in the extended form (most) skip the parse."""
    pattern = re.compile(canonical_pattern, re.ASCII)
    canonical = StringMemo(lambda text: pattern.fullmatch(text) is not None)

    def rewrite(node: JsonObject) -> JsonObject:
        value = node.get("value")
        if not isinstance(value, str) or canonical(value):
            return node
        new = extended(value)
        return node if new is None or new == value else {**node, "value": new}

    return rewrite


def _interval(node: JsonObject) -> JsonObject:
    filled: JsonObject = {}
    for limit in ("lower", "upper"):
        present = node.get(limit) is not None
        if node.get(f"{limit}_unbounded") is None:
            filled[f"{limit}_unbounded"] = not present
        if present and node.get(f"{limit}_included") is None:
            filled[f"{limit}_included"] = True
    return {**node, **filled} if filled else node


_REWRITES: dict[Any, Callable[[JsonObject], JsonObject]] = {
    "DV_DATE_TIME": _temporal(extended_date_time, rf"\d{{4}}-\d{{2}}-\d{{2}}T{_TIME}|{_DATE}"),
    "DV_DATE": _temporal(extended_date, _DATE),
    "DV_TIME": _temporal(extended_time, _TIME),
    "DV_INTERVAL": _interval,
}


def _holders() -> frozenset[str]:
    """The RM types that are, or through their attributes may hold, a value rewritten here; objects of
    other types (DV_TEXT, CODE_PHRASE, PARTY_SELF, ...) are not walked."""
    found = set(_REWRITES)
    targets = {name: [f.target for f in rm_fields(cls) if f.is_object] for name, cls in RM_TYPES.items()}
    grown = True
    while grown:
        holders = [RM_TYPES[name] for name in found]
        grown = False
        for name, declared in targets.items():
            if name not in found and any(issubclass(h, d) for d in declared for h in holders):
                found.add(name)
                grown = True
    return frozenset(found)


def _list(items: list[Any]) -> list[Any]:
    out: list[Any] | None = None
    for i, item in enumerate(items):
        new: Any
        if type(item) is dict:
            new = _object(item)
        elif type(item) is list:
            new = _list(item)
        else:
            continue
        if new is not item:
            if out is None:
                out = list(items)
            out[i] = new
    return items if out is None else out


def _object(node: JsonObject) -> JsonObject:
    # runs once per object of every committed document: copies only what changes
    if node.get("_type") not in _HOLDERS:
        return node
    changed: JsonObject | None = None
    for key, value in node.items():
        new: Any
        if type(value) is dict:
            new = _object(value)
        elif type(value) is list:
            new = _list(value)
        else:
            continue
        if new is not value:
            if changed is None:
                changed = {}
            changed[key] = new
    out = node if changed is None else {**node, **changed}
    rewrite = _REWRITES.get(out.get("_type"))
    return out if rewrite is None else rewrite(out)


_HOLDERS = _holders()


def canonical_form(doc: JsonObject) -> JsonObject:
    """``doc`` (canonical JSON of an RM object) with every value in the form it is stored in (module doc).

    >>> canonical_form({"_type": "DV_INTERVAL", "lower": {"_type": "DV_DATE", "value": "20190114"}})
    {'_type': 'DV_INTERVAL', 'lower': {'_type': 'DV_DATE', 'value': '2019-01-14'}, \
'lower_unbounded': False, 'lower_included': True, 'upper_unbounded': True}
    """
    return _object(doc)
