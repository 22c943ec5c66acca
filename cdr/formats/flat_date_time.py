"""FLAT codecs of dates, times and durations (RM ``data_types.date_time``).

The bare value is ISO 8601 text. Older EHRbase output also gives a date/time as fields (``|year``,
``|month``...) and a duration as its parts (``|year``, ``|hour``...); both are read into ISO 8601 text,
and written back as the bare value, so that the round trip is stable.
"""

from __future__ import annotations

from typing import Any

from cdr.errors import FormatError
from cdr.formats.flat_codec import (
    Codec,
    ReadContext,
    Take,
    as_float,
    as_int,
    as_str,
    base_type,
    build,
    make,
    register,
)
from cdr.formats.flat_keys import FlatNode
from cdr.formats.flat_quantities import read_ordered_extras, write_ordered_extras
from cdr.rm import DvDuration, RMObject
from cdr.template.aom import CObject

_DURATION_PARTS = (("year", "Y"), ("month", "M"), ("week", "W"), ("day", "D"))
_DURATION_TIME_PARTS = (("hour", "H"), ("minute", "M"), ("second", "S"))


def _read_temporal(take: Take, ctx: ReadContext, _c: CObject | None, rm_type: str) -> RMObject:
    values: dict[str, Any] = {}
    bare = take.value()
    explicit = take.attr("value")
    value = bare if explicit is None else explicit
    if base_type(rm_type) == "DV_DURATION":
        parts = {name: take.attr(name) for name, _ in (*_DURATION_PARTS, *_DURATION_TIME_PARTS)}
        if value is None and any(v is not None for v in parts.values()):
            value = _duration_text(parts, take.key)
    if isinstance(value, dict):
        value = _temporal_text(value, take.key)
    if value is not None:
        values["value"] = as_str(value, take.key)
    read_ordered_extras(take, ctx, values, base_type(rm_type))
    return make(base_type(rm_type), **values)


def _temporal_text(parts: dict[str, Any], key: str) -> str:
    """A date/time given as fields (``{"year": 2019, "month": 3}``, older EHRbase output) as ISO 8601."""
    unknown = set(parts) - {"year", "month", "day", "hour", "minute", "second"}
    if unknown:
        raise FormatError(key, f"unknown date/time field {sorted(unknown)[0]!r}")
    date = "-".join(
        f"{as_int(parts[n], key):0{w}d}" for n, w in (("year", 4), ("month", 2), ("day", 2)) if n in parts
    )
    time = ":".join(f"{as_int(parts[n], key):02d}" for n in ("hour", "minute", "second") if n in parts)
    return date + ("T" + time if date and time else time)


def _duration_text(parts: dict[str, Any], key: str) -> str:
    date = "".join(f"{as_int(parts[n], key)}{d}" for n, d in _DURATION_PARTS if parts[n] is not None)
    time = "".join(
        f"{as_float(parts[n], key):g}{d}" if n == "second" else f"{as_int(parts[n], key)}{d}"
        for n, d in _DURATION_TIME_PARTS
        if parts[n] is not None
    )
    return "P" + date + ("T" + time if time else "") if (date or time) else "PT0S"


def _write_temporal(obj: RMObject, node: FlatNode) -> None:
    if obj.value is not None:  # type: ignore[attr-defined]
        node.value, node.has_value = obj.value, True  # type: ignore[attr-defined]
    write_ordered_extras(obj, node)


register("DV_DATE_TIME", "DV_DATE", "DV_TIME", "DV_DURATION")(Codec(_read_temporal, _write_temporal))


def read_duration(value: str) -> DvDuration:
    return build(DvDuration, {"value": value})
