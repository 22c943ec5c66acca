"""FLAT codecs of ordered and quantified values (RM ``data_types.quantity``).

DV_QUANTITY, DV_COUNT, DV_PROPORTION, DV_ORDINAL and DV_SCALE, the DV_INTERVAL and REFERENCE_RANGE they are
bounded by, and the DV_ORDERED attributes every ordered value shares (normal range, other reference ranges,
normal status, magnitude status, accuracy), which the date/time codecs use too. A single allowed unit, a
single allowed proportion type and an ordinal's value and text from its code come from the template.
"""

from __future__ import annotations

import re
from typing import Any

from cdr.formats.flat_codec import (
    Codec,
    ReadContext,
    Take,
    as_bool,
    as_float,
    as_int,
    as_str,
    base_type,
    build,
    make,
    read_object,
    register,
    write_object,
)
from cdr.formats.flat_keys import FlatNode
from cdr.formats.flat_text import attr_constraint, code_phrase, coded_text, term_text, write_text
from cdr.rm import DvInterval, DvOrdinal, DvProportion, DvQuantity, ReferenceRange, RMObject
from cdr.rm.base import RM_TYPES, construct
from cdr.template.aom import CDvOrdinal, CDvQuantity, CObject, OrdinalItem

__all__ = ["read_ordered_extras", "write_ordered_extras"]

_NORMAL_STATUS = "openehr_normal_statuses"


def read_ordered_extras(take: Take, ctx: ReadContext, values: dict[str, Any], rm_type: str) -> None:
    """DV_ORDERED / DV_QUANTIFIED attributes: ranges, normal status, magnitude status, accuracy."""
    normal = take.child("_normal_range", "normal_range")
    if normal is not None:
        values["normal_range"] = read_object(normal, ctx, f"DV_INTERVAL<{rm_type}>")
    others = take.children("_other_reference_ranges", "other_reference_ranges", "_other_reference_range")
    if others:
        values["other_reference_ranges"] = [
            read_object(n, ctx, f"REFERENCE_RANGE<{rm_type}>") for n in others
        ]
    status = take.attr("normal_status")
    if status is not None:
        values["normal_status"] = code_phrase(_NORMAL_STATUS, as_str(status, take.key))
    status_node = take.child("_normal_status", "normal_status")
    if status_node is not None:
        values["normal_status"] = read_object(status_node, ctx, "CODE_PHRASE")
    fields = RM_TYPES[rm_type].model_fields
    if "magnitude_status" in fields and (ms := take.attr("magnitude_status")) is not None:
        values["magnitude_status"] = as_str(ms, take.key)
    if "accuracy" in fields:
        if rm_type in ("DV_DATE", "DV_TIME", "DV_DATE_TIME"):
            acc = take.child("_accuracy", "accuracy")
            if acc is not None:
                values["accuracy"] = read_object(acc, ctx, "DV_DURATION")
            elif (a := take.attr("accuracy")) is not None:
                values["accuracy"] = make("DV_DURATION", value=as_str(a, take.key))
        else:
            if (a := take.attr("accuracy")) is not None:
                values["accuracy"] = as_float(a, take.key)
            if (p := take.attr("accuracy_is_percent")) is not None:
                values["accuracy_is_percent"] = as_bool(p, take.key)


def write_ordered_extras(obj: RMObject, node: FlatNode) -> None:
    d = obj.__dict__
    if d.get("normal_range") is not None:
        write_object(d["normal_range"], node.child("_normal_range"))
    if d.get("other_reference_ranges"):
        node.multi.add("_other_reference_ranges")
        for i, r in enumerate(d["other_reference_ranges"]):
            write_object(r, node.child("_other_reference_ranges", i))
    status = d.get("normal_status")
    if status is not None:
        if (
            status.terminology_id is not None
            and status.terminology_id.value == _NORMAL_STATUS
            and status.preferred_term is None
        ):
            node.attrs["normal_status"] = status.code_string
        else:
            write_object(status, node.child("_normal_status"))
    if d.get("magnitude_status") is not None:
        node.attrs["magnitude_status"] = d["magnitude_status"]
    acc = d.get("accuracy")
    if isinstance(acc, RMObject):
        write_object(acc, node.child("_accuracy"))
    elif acc is not None:
        node.attrs["accuracy"] = acc
    if d.get("accuracy_is_percent") is not None:
        node.attrs["accuracy_is_percent"] = d["accuracy_is_percent"]


def _read_quantity(take: Take, ctx: ReadContext, constraint: CObject | None, _t: str) -> RMObject:
    values: dict[str, Any] = {}
    bare = take.value()
    magnitude = take.attr("magnitude")
    magnitude = bare if magnitude is None else magnitude
    if magnitude is not None:
        values["magnitude"] = as_float(magnitude, take.key)
    unit = take.attr("unit", "units")
    if unit is None and isinstance(constraint, CDvQuantity) and len(constraint.list) == 1:
        unit = constraint.list[0].units
    if unit is not None:
        values["units"] = as_str(unit, take.key)
    for name, conv in (("precision", as_int), ("units_system", as_str), ("units_display_name", as_str)):
        if (v := take.attr(name)) is not None:
            values[name] = conv(v, take.key)
    prop = take.child("_property", "property")
    if prop is not None:
        values["property"] = read_object(prop, ctx, "CODE_PHRASE")
    read_ordered_extras(take, ctx, values, "DV_QUANTITY")
    return construct(DvQuantity, values)


def _write_quantity(obj: RMObject, node: FlatNode) -> None:
    assert isinstance(obj, DvQuantity)
    if obj.magnitude is not None:
        node.attrs["magnitude"] = obj.magnitude
    if obj.units is not None:
        node.attrs["unit"] = obj.units
    for name in ("precision", "units_system", "units_display_name"):
        if getattr(obj, name) is not None:
            node.attrs[name] = getattr(obj, name)
    if obj.property is not None:
        write_object(obj.property, node.child("_property"))
    write_ordered_extras(obj, node)


register("DV_QUANTITY")(Codec(_read_quantity, _write_quantity))


def _read_count(take: Take, ctx: ReadContext, _c: CObject | None, _t: str) -> RMObject:
    values: dict[str, Any] = {}
    bare = take.value()
    magnitude = take.attr("magnitude", "value")
    magnitude = bare if magnitude is None else magnitude
    if magnitude is not None:
        values["magnitude"] = as_int(magnitude, take.key)
    read_ordered_extras(take, ctx, values, "DV_COUNT")
    return make("DV_COUNT", **values)


def _write_count(obj: RMObject, node: FlatNode) -> None:
    if obj.magnitude is not None:  # type: ignore[attr-defined]
        node.value, node.has_value = obj.magnitude, True  # type: ignore[attr-defined]
    write_ordered_extras(obj, node)


register("DV_COUNT")(Codec(_read_count, _write_count))


def _read_proportion(take: Take, ctx: ReadContext, constraint: CObject | None, _t: str) -> RMObject:
    values: dict[str, Any] = {}
    take.value()  # the bare value is the derived magnitude (numerator / denominator): not stored
    take.attr("value")  # STRUCTURED spells it ``|value`` beside the other suffixes
    for name in ("numerator", "denominator"):
        if (v := take.attr(name)) is not None:
            values[name] = as_float(v, take.key)
    kind = take.attr("type")
    if kind is None:
        allowed = _proportion_types(constraint)
        kind = allowed[0] if len(allowed) == 1 else None
    if kind is not None:
        values["type"] = as_int(kind, take.key)
    if (p := take.attr("precision")) is not None:
        values["precision"] = as_int(p, take.key)
    read_ordered_extras(take, ctx, values, "DV_PROPORTION")
    return construct(DvProportion, values)


def _proportion_types(constraint: CObject | None) -> list[int]:
    found = attr_constraint(constraint, "type")
    item = getattr(found, "item", None)
    allowed = getattr(item, "list", None) or []
    return [int(v) for v in allowed]


def _write_proportion(obj: RMObject, node: FlatNode) -> None:
    assert isinstance(obj, DvProportion)
    if obj.numerator is not None and obj.denominator:  # the derived magnitude, as EHRbase writes it
        node.value, node.has_value = obj.numerator / obj.denominator, True
    for name in ("numerator", "denominator", "type", "precision"):
        if getattr(obj, name) is not None:
            node.attrs[name] = getattr(obj, name)
    write_ordered_extras(obj, node)


register("DV_PROPORTION")(Codec(_read_proportion, _write_proportion))


def _read_ordinal(take: Take, ctx: ReadContext, constraint: CObject | None, rm_type: str) -> RMObject:
    """DV_ORDINAL / DV_SCALE: by ``|code`` (value and text from the template) or by ``|ordinal``."""
    is_scale = base_type(rm_type) == "DV_SCALE"
    number = take.attr("ordinal", "value_ordinal") if is_scale is False else take.attr("ordinal", "scale")
    bare = take.value()
    code = take.attr("code")
    text = take.attr("value")
    terminology = take.attr("terminology", "terminology_id")
    item: OrdinalItem | None = None
    if isinstance(constraint, CDvOrdinal):
        item = constraint.item_for(
            value=None if number is None else as_float(number, take.key),
            code=None if code is None else as_str(code, take.key),
        )
        if item is None and code is None and number is None and bare is not None:
            item = constraint.item_for(code=as_str(bare, take.key))
    if item is not None:
        code = item.symbol.code_string if code is None else code
        number = item.value if number is None else number
        terminology = item.symbol.terminology_id if terminology is None else terminology
    if code is None and bare is not None:
        code = bare
    if terminology is None and code is not None:
        terminology = "local"  # ordinal symbols are archetype codes
    if text is None and code is not None:
        text = term_text(ctx, constraint, None if terminology is None else str(terminology), str(code))
    symbol = coded_text(
        None if text is None else as_str(text, take.key),
        None if terminology is None else as_str(terminology, take.key),
        None if code is None else as_str(code, take.key),
    )
    values: dict[str, Any] = {"symbol": symbol}
    if number is not None:
        values["value"] = as_float(number, take.key) if is_scale else as_int(number, take.key)
    read_ordered_extras(take, ctx, values, base_type(rm_type))
    return make(base_type(rm_type), **values)


def _write_ordinal(obj: RMObject, node: FlatNode) -> None:
    assert isinstance(obj, DvOrdinal) or obj.rm_type == "DV_SCALE"
    symbol = obj.symbol  # type: ignore[attr-defined]
    if symbol is not None:
        write_text(symbol, node)
        if node.attrs.get("terminology") == "local":  # the reader's default; EHRbase leaves it out too
            del node.attrs["terminology"]
    if obj.value is not None:  # type: ignore[attr-defined]
        node.attrs["ordinal"] = obj.value  # type: ignore[attr-defined]
    write_ordered_extras(obj, node)


register("DV_ORDINAL", "DV_SCALE")(Codec(_read_ordinal, _write_ordinal))

# ------------------------------------------------------------------------------------------ intervals

_GENERIC = re.compile(r"^[A-Z_]+<(.+)>$")


def _inner_type(rm_type: str, default: str) -> str:
    m = _GENERIC.match(rm_type)
    return m.group(1) if m else default


def _read_interval(take: Take, ctx: ReadContext, constraint: CObject | None, rm_type: str) -> RMObject:
    inner = _inner_type(rm_type, "DV_ORDERED")
    values: dict[str, Any] = {}
    for end in ("lower", "upper"):
        node = take.child(end)
        if node is not None:
            values[end] = read_object(node, ctx, inner, attr_constraint(constraint, end))
    for end in ("lower", "upper"):
        for flag in ("included", "unbounded"):
            if (v := take.attr(f"{end}_{flag}")) is not None:
                values[f"{end}_{flag}"] = as_bool(v, take.key)
        values.setdefault(f"{end}_unbounded", end not in values)
        values.setdefault(f"{end}_included", end in values)
    return construct(DvInterval, values)


def _write_interval(obj: RMObject, node: FlatNode) -> None:
    assert isinstance(obj, DvInterval)
    for end in ("lower", "upper"):
        bound = getattr(obj, end)
        if bound is not None:
            write_object(bound, node.child(end))
        for flag in ("included", "unbounded"):
            value = getattr(obj, f"{end}_{flag}")
            if value is not None:
                node.attrs[f"{end}_{flag}"] = value


register("DV_INTERVAL")(Codec(_read_interval, _write_interval))


def _read_reference_range(take: Take, ctx: ReadContext, _c: CObject | None, rm_type: str) -> RMObject:
    inner = _inner_type(rm_type, "DV_ORDERED")
    meaning = take.child("meaning")
    range_node = take.child("range")
    if range_node is not None:
        interval = read_object(range_node, ctx, f"DV_INTERVAL<{inner}>")
    else:
        interval = _read_interval(take, ctx, None, f"DV_INTERVAL<{inner}>")
    return build(
        ReferenceRange,
        {"meaning": None if meaning is None else read_object(meaning, ctx, "DV_TEXT"), "range": interval},
    )


def _write_reference_range(obj: RMObject, node: FlatNode) -> None:
    assert isinstance(obj, ReferenceRange)
    if obj.meaning is not None:
        write_object(obj.meaning, node.child("meaning"))
    if obj.range is not None:
        _write_interval(obj.range, node)


register("REFERENCE_RANGE")(Codec(_read_reference_range, _write_reference_range))
