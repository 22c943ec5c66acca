"""FLAT codecs of the data value types (RM ``data_types``): the suffixes EHRbase's simSDT format uses.

Each reader takes the bare value and ``|suffix`` values of one node and fills in what the template fixes when
the document leaves it out (the single allowed unit, a local code's term text, an ordinal's value from its
code, the terminology of a code list). Each writer is the exact inverse of its reader, so that
canonical -> FLAT -> canonical is stable: whatever a reader would not restore is written out explicitly.
"""

from __future__ import annotations

import re
from typing import Any

from cdr.errors import FormatError
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
    read_generic,
    read_object,
    register,
    write_object,
)
from cdr.formats.flat_keys import FlatNode
from cdr.rm import (
    CodePhrase,
    DvCodedText,
    DvDuration,
    DvIdentifier,
    DvInterval,
    DvMultimedia,
    DvOrdinal,
    DvParsable,
    DvProportion,
    DvQuantity,
    DvText,
    ReferenceRange,
    RMObject,
    TerminologyId,
    TermMapping,
)
from cdr.rm.base import RM_TYPES, assemble, construct, empty_values
from cdr.template.aom import CCodePhrase, CComplexObject, CDvOrdinal, CDvQuantity, CObject, OrdinalItem
from cdr.terminology import openehr as openehr_terms


def _fast(cls: Any, **values: Any) -> Any:
    """``construct`` with keyword values (``None`` values left out)."""
    return build(cls, values)


__all__ = ["code_phrase", "coded_text", "text_value"]

_NO_CONSTRAINT: CObject | None = None

# ------------------------------------------------------------------------------------------- helpers


def _attr_constraint(constraint: CObject | None, name: str) -> CObject | None:
    if isinstance(constraint, CComplexObject):
        attr = constraint.attribute(name)
        if attr is not None and attr.children:
            return attr.children[0]
    return None


def _code_constraint(constraint: CObject | None) -> CCodePhrase | None:
    if isinstance(constraint, CCodePhrase):
        return constraint
    found = _attr_constraint(constraint, "defining_code")
    return found if isinstance(found, CCodePhrase) else None


_TERMINOLOGY_ID = empty_values(TerminologyId)


def code_phrase(terminology: str | None, code: str | None, preferred_term: str | None = None) -> CodePhrase:
    """A CODE_PHRASE (built directly: entries, names and coded texts make many of them)."""
    tid = None
    if terminology is not None:
        data = _TERMINOLOGY_ID.copy()
        data["value"] = terminology
        tid = assemble(TerminologyId, data, {"value"})
    return build(CodePhrase, {"terminology_id": tid, "code_string": code, "preferred_term": preferred_term})


def _term_text(
    ctx: ReadContext, constraint: CObject | None, terminology: str | None, code: str
) -> str | None:
    """The text of a code: the archetype term for local codes, the openEHR rubric for openehr codes."""
    if terminology == "openehr":
        for group in openehr_terms.group_of(code):
            text = openehr_terms.rubric(code, group, ctx.language)
            if text is not None:
                return text
        return None
    if constraint is not None and (terminology in (None, "local") or code.startswith(("at", "ac"))):
        return ctx.term_text(constraint, code)
    return None


# ----------------------------------------------------------------------------------- text and codes


def _read_code_phrase(take: Take, ctx: ReadContext, constraint: CObject | None, _t: str) -> RMObject:
    bare = take.value()
    code = take.attr("code", "code_string")
    code = bare if code is None else code
    terminology = take.attr("terminology", "terminology_id")
    if terminology is None or code is None:  # what the template fixes, only where the document is silent
        cons = _code_constraint(constraint)
        if terminology is None and cons is not None:
            terminology = cons.terminology_id
        if code is None and cons is not None and cons.assumed_value is not None:
            code, terminology = cons.assumed_value.code_string, cons.assumed_value.terminology_id
    preferred = take.attr("preferred_term")
    return code_phrase(
        None if terminology is None else as_str(terminology, take.key),
        None if code is None else as_str(code, take.key),
        None if preferred is None else as_str(preferred, take.key),
    )


def _write_code_phrase(obj: RMObject, node: FlatNode) -> None:
    assert isinstance(obj, CodePhrase)
    if obj.code_string is not None:
        node.attrs["code"] = obj.code_string
    if obj.terminology_id is not None:
        node.attrs["terminology"] = obj.terminology_id.value
    if obj.preferred_term is not None:
        node.attrs["preferred_term"] = obj.preferred_term


register("CODE_PHRASE")(Codec(_read_code_phrase, _write_code_phrase))

_TEXT_EXTRAS = ("hyperlink", "mappings", "language", "encoding")


def _read_text_extras(take: Take, ctx: ReadContext, values: dict[str, Any]) -> None:
    formatting = take.attr("formatting")
    if formatting is not None:
        values["formatting"] = as_str(formatting, take.key)
    mappings = take.children("_mapping", "mapping", "_mappings", "mappings")
    if mappings:
        values["mappings"] = [read_object(n, ctx, "TERM_MAPPING") for n in mappings]
    for name, rm_type in (("hyperlink", "DV_URI"), ("language", "CODE_PHRASE"), ("encoding", "CODE_PHRASE")):
        child = take.child("_" + name, name)
        if child is not None:
            values[name] = read_object(child, ctx, rm_type)


def _write_text_extras(obj: DvText, node: FlatNode) -> None:
    if obj.formatting is not None:
        node.attrs["formatting"] = obj.formatting
    if obj.mappings:
        node.multi.add("_mapping")
        for i, m in enumerate(obj.mappings):
            write_object(m, node.child("_mapping", i))
    for name in ("hyperlink", "language", "encoding"):
        value = getattr(obj, name)
        if value is not None:
            write_object(value, node.child("_" + name))


def text_value(text: str, **extra: Any) -> DvText:
    return _fast(DvText, value=text, **extra)


def coded_text(text: str | None, terminology: str | None, code: str | None) -> DvCodedText:
    return _fast(DvCodedText, value=text, defining_code=code_phrase(terminology, code))


def _read_text(take: Take, ctx: ReadContext, constraint: CObject | None, rm_type: str) -> RMObject:
    """DV_TEXT or DV_CODED_TEXT: codes (``|code``) make a coded text, ``|other`` a free text."""
    other = take.attr("other")
    values: dict[str, Any] = {}
    if other is not None:
        values["value"] = as_str(other, take.key + "|other")
        _read_text_extras(take, ctx, values)
        return construct(DvText, values)
    bare = take.value()
    text = take.attr("value")
    text = bare if text is None else text
    code = take.attr("code")
    terminology = take.attr("terminology", "terminology_id")
    preferred = take.attr("preferred_term")
    defining = take.child("defining_code")
    cons = _code_constraint(constraint)
    coded = code is not None or defining is not None or rm_type == "DV_CODED_TEXT" or terminology is not None
    if coded:
        if defining is not None:
            phrase = read_object(defining, ctx, "CODE_PHRASE", cons)
        else:
            if terminology is None and cons is not None:
                terminology = cons.terminology_id
            if code is None and text is not None and cons is not None:
                code = _code_for_text(ctx, cons, as_str(text, take.key))
            if terminology is None and code is not None and str(code).startswith("at"):
                terminology = "local"
            if (
                terminology is None
                and cons is None
                and code is not None
                and openehr_terms.group_of(str(code))
            ):
                terminology = "openehr"  # RM attributes outside the template are coded in openEHR terms
            phrase = code_phrase(
                None if terminology is None else as_str(terminology, take.key),
                None if code is None else as_str(code, take.key),
                None if preferred is None else as_str(preferred, take.key),
            )
        if text is None and phrase.code_string is not None:
            text = _term_text(
                ctx, cons, phrase.terminology_id.value if phrase.terminology_id else None, phrase.code_string
            )
        values["value"] = None if text is None else as_str(text, take.key)
        values["defining_code"] = phrase
        _read_text_extras(take, ctx, values)
        return construct(DvCodedText, values)
    if text is None:
        raise FormatError(take.key, "a text value is required")
    values["value"] = as_str(text, take.key)
    _read_text_extras(take, ctx, values)
    return construct(DvText, values)


def _code_for_text(ctx: ReadContext, cons: CCodePhrase, text: str) -> str | None:
    """The code of a code list whose term text is ``text`` (a coded text given by its text only)."""
    for code in cons.code_list:
        if _term_text(ctx, cons, cons.terminology_id, code) == text:
            return code
    return None


def _write_text(obj: RMObject, node: FlatNode) -> None:
    assert isinstance(obj, DvText)
    if isinstance(obj, DvCodedText):
        node.attrs["value"] = obj.value
        phrase = obj.defining_code
        if phrase is not None:
            if phrase.code_string is not None:
                node.attrs["code"] = phrase.code_string
            if phrase.terminology_id is not None:
                node.attrs["terminology"] = phrase.terminology_id.value
            if phrase.preferred_term is not None:
                node.attrs["preferred_term"] = phrase.preferred_term
    else:
        node.value, node.has_value = obj.value, True
    _write_text_extras(obj, node)


register("DV_TEXT", "DV_CODED_TEXT")(Codec(_read_text, _write_text, subtypes=("DV_CODED_TEXT",)))


def _read_mapping(take: Take, ctx: ReadContext, _c: CObject | None, _t: str) -> RMObject:
    match = take.attr("match")
    target = take.child("target")
    purpose = take.child("purpose")
    return _fast(
        TermMapping,
        match=None if match is None else as_str(match, take.key),
        target=None if target is None else read_object(target, ctx, "CODE_PHRASE"),
        purpose=None if purpose is None else read_object(purpose, ctx, "DV_CODED_TEXT"),
    )


def _write_mapping(obj: RMObject, node: FlatNode) -> None:
    assert isinstance(obj, TermMapping)
    if obj.match is not None:
        node.attrs["match"] = obj.match
    if obj.target is not None:
        write_object(obj.target, node.child("target"))
    if obj.purpose is not None:
        write_object(obj.purpose, node.child("purpose"))


register("TERM_MAPPING")(Codec(_read_mapping, _write_mapping))

# ---------------------------------------------------------------------------------------- quantities

_NORMAL_STATUS = "openehr_normal_statuses"


def _read_ordered_extras(take: Take, ctx: ReadContext, values: dict[str, Any], rm_type: str) -> None:
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


def _write_ordered_extras(obj: RMObject, node: FlatNode) -> None:
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
    _read_ordered_extras(take, ctx, values, "DV_QUANTITY")
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
    _write_ordered_extras(obj, node)


register("DV_QUANTITY")(Codec(_read_quantity, _write_quantity))


def _read_count(take: Take, ctx: ReadContext, _c: CObject | None, _t: str) -> RMObject:
    values: dict[str, Any] = {}
    bare = take.value()
    magnitude = take.attr("magnitude", "value")
    magnitude = bare if magnitude is None else magnitude
    if magnitude is not None:
        values["magnitude"] = as_int(magnitude, take.key)
    _read_ordered_extras(take, ctx, values, "DV_COUNT")
    return make("DV_COUNT", **values)


def _write_count(obj: RMObject, node: FlatNode) -> None:
    if obj.magnitude is not None:  # type: ignore[attr-defined]
        node.value, node.has_value = obj.magnitude, True  # type: ignore[attr-defined]
    _write_ordered_extras(obj, node)


register("DV_COUNT")(Codec(_read_count, _write_count))


def _read_proportion(take: Take, ctx: ReadContext, constraint: CObject | None, _t: str) -> RMObject:
    values: dict[str, Any] = {}
    take.value()  # the bare value is the derived magnitude (numerator / denominator): not stored
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
    _read_ordered_extras(take, ctx, values, "DV_PROPORTION")
    return construct(DvProportion, values)


def _proportion_types(constraint: CObject | None) -> list[int]:
    found = _attr_constraint(constraint, "type")
    item = getattr(found, "item", None)
    allowed = getattr(item, "list", None) or []
    return [int(v) for v in allowed]


def _write_proportion(obj: RMObject, node: FlatNode) -> None:
    assert isinstance(obj, DvProportion)
    for name in ("numerator", "denominator", "type", "precision"):
        if getattr(obj, name) is not None:
            node.attrs[name] = getattr(obj, name)
    _write_ordered_extras(obj, node)


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
        text = _term_text(ctx, constraint, None if terminology is None else str(terminology), str(code))
    symbol = coded_text(
        None if text is None else as_str(text, take.key),
        None if terminology is None else as_str(terminology, take.key),
        None if code is None else as_str(code, take.key),
    )
    values: dict[str, Any] = {"symbol": symbol}
    if number is not None:
        values["value"] = as_float(number, take.key) if is_scale else as_int(number, take.key)
    _read_ordered_extras(take, ctx, values, base_type(rm_type))
    return make(base_type(rm_type), **values)


def _write_ordinal(obj: RMObject, node: FlatNode) -> None:
    assert isinstance(obj, DvOrdinal) or obj.rm_type == "DV_SCALE"
    symbol = obj.symbol  # type: ignore[attr-defined]
    if symbol is not None:
        _write_text(symbol, node)
    if obj.value is not None:  # type: ignore[attr-defined]
        node.attrs["ordinal"] = obj.value  # type: ignore[attr-defined]
    _write_ordered_extras(obj, node)


register("DV_ORDINAL", "DV_SCALE")(Codec(_read_ordinal, _write_ordinal))

# -------------------------------------------------------------------------------------- date and time

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
    _read_ordered_extras(take, ctx, values, base_type(rm_type))
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
    _write_ordered_extras(obj, node)


register("DV_DATE_TIME", "DV_DATE", "DV_TIME", "DV_DURATION")(Codec(_read_temporal, _write_temporal))


def _read_boolean(take: Take, _x: ReadContext, _c: CObject | None, _t: str) -> RMObject:
    bare = take.value()
    value = take.attr("value") if bare is None else bare
    return make("DV_BOOLEAN", value=None if value is None else as_bool(value, take.key))


def _write_value(obj: RMObject, node: FlatNode) -> None:
    node.value, node.has_value = obj.value, True  # type: ignore[attr-defined]


register("DV_BOOLEAN")(Codec(_read_boolean, _write_value))


def _read_uri(take: Take, _x: ReadContext, _c: CObject | None, rm_type: str) -> RMObject:
    bare = take.value()
    value = take.attr("value") if bare is None else bare
    return make(base_type(rm_type), value=None if value is None else as_str(value, take.key))


register("DV_URI", "DV_EHR_URI")(Codec(_read_uri, _write_value))


def _read_string(take: Take, _x: ReadContext, _c: CObject | None, _t: str) -> Any:
    bare = take.value()
    bare = take.attr("value") if bare is None else bare
    return None if bare is None else as_str(bare, take.key)


def _write_string(obj: Any, node: FlatNode) -> None:
    node.value, node.has_value = obj, True


register("STRING")(Codec(_read_string, _write_string))

# ------------------------------------------------------------------------------------ encapsulated

_MULTIMEDIA_CODES = {
    "mediatype": ("media_type", "IANA_media-types"),
    "compression_algorithm": ("compression_algorithm", "openehr_compression_algorithms"),
    "integrity_check_algorithm": ("integrity_check_algorithm", "openehr_integrity_check_algorithms"),
}


def _read_encapsulated_extras(take: Take, ctx: ReadContext, values: dict[str, Any]) -> None:
    for name in ("charset", "language"):
        child = take.child("_" + name, name)
        if child is not None:
            values[name] = read_object(child, ctx, "CODE_PHRASE")
    if (size := take.attr("size")) is not None:
        values["size"] = as_int(size, take.key)


def _write_encapsulated_extras(obj: RMObject, node: FlatNode) -> None:
    for name in ("charset", "language"):
        value = getattr(obj, name)
        if value is not None:
            write_object(value, node.child("_" + name))
    if obj.size is not None:  # type: ignore[attr-defined]
        node.attrs["size"] = obj.size  # type: ignore[attr-defined]


def _read_multimedia(take: Take, ctx: ReadContext, _c: CObject | None, _t: str) -> RMObject:
    values: dict[str, Any] = {}
    bare = take.value()
    uri = take.attr("value", "url", "uri")
    uri = bare if uri is None else uri
    if uri is not None:
        values["uri"] = make("DV_URI", value=as_str(uri, take.key))
    for suffix, (attr, terminology) in _MULTIMEDIA_CODES.items():
        if (code := take.attr(suffix)) is not None:
            values[attr] = code_phrase(terminology, as_str(code, take.key))
        elif (child := take.child("_" + attr, attr)) is not None:
            values[attr] = read_object(child, ctx, "CODE_PHRASE")
    for suffix, attr in (
        ("alternatetext", "alternate_text"),
        ("data", "data"),
        ("integrity_check", "integrity_check"),
    ):
        if (v := take.attr(suffix, attr)) is not None:
            values[attr] = as_str(v, take.key)
    thumbnail = take.child("_thumbnail", "thumbnail")
    if thumbnail is not None:
        values["thumbnail"] = read_object(thumbnail, ctx, "DV_MULTIMEDIA")
    _read_encapsulated_extras(take, ctx, values)
    return construct(DvMultimedia, values)


def _write_multimedia(obj: RMObject, node: FlatNode) -> None:
    assert isinstance(obj, DvMultimedia)
    if obj.uri is not None:
        node.value, node.has_value = obj.uri.value, True
    for suffix, (attr, terminology) in _MULTIMEDIA_CODES.items():
        phrase = getattr(obj, attr)
        if phrase is None:
            continue
        if (
            phrase.terminology_id is not None
            and phrase.terminology_id.value == terminology
            and phrase.preferred_term is None
        ):
            node.attrs[suffix] = phrase.code_string
        else:
            write_object(phrase, node.child("_" + attr))
    for suffix, attr in (
        ("alternatetext", "alternate_text"),
        ("data", "data"),
        ("integrity_check", "integrity_check"),
    ):
        if getattr(obj, attr) is not None:
            node.attrs[suffix] = getattr(obj, attr)
    if obj.thumbnail is not None:
        write_object(obj.thumbnail, node.child("_thumbnail"))
    _write_encapsulated_extras(obj, node)


register("DV_MULTIMEDIA")(Codec(_read_multimedia, _write_multimedia))


def _read_parsable(take: Take, ctx: ReadContext, _c: CObject | None, _t: str) -> RMObject:
    values: dict[str, Any] = {}
    bare = take.value()
    value = take.attr("value")
    value = bare if value is None else value
    if value is not None:
        values["value"] = as_str(value, take.key)
    if (formalism := take.attr("formalism")) is not None:
        values["formalism"] = as_str(formalism, take.key)
    _read_encapsulated_extras(take, ctx, values)
    return construct(DvParsable, values)


def _write_parsable(obj: RMObject, node: FlatNode) -> None:
    assert isinstance(obj, DvParsable)
    if obj.value is not None:  # bare, as EHRbase writes it
        node.value, node.has_value = obj.value, True
    if obj.formalism is not None:
        node.attrs["formalism"] = obj.formalism
    _write_encapsulated_extras(obj, node)


register("DV_PARSABLE")(Codec(_read_parsable, _write_parsable))


def _read_identifier(take: Take, _x: ReadContext, _c: CObject | None, _t: str) -> RMObject:
    bare = take.value()
    values: dict[str, Any] = {}
    for name in ("id", "issuer", "assigner", "type"):
        if (v := take.attr(name)) is not None:
            values[name] = as_str(v, take.key)
    if bare is not None and "id" not in values:
        values["id"] = as_str(bare, take.key)
    return construct(DvIdentifier, values)


def _write_identifier(obj: RMObject, node: FlatNode) -> None:
    for name in ("id", "issuer", "assigner", "type"):
        if getattr(obj, name) is not None:
            node.attrs[name] = getattr(obj, name)


register("DV_IDENTIFIER")(Codec(_read_identifier, _write_identifier))


def _read_state(take: Take, ctx: ReadContext, constraint: CObject | None, _t: str) -> RMObject:
    terminal = take.attr("is_terminal")
    inner = Take(take.node)
    take.value()
    for name in ("code", "value", "terminology", "terminology_id"):
        take.attr(name)
    value = _read_text(inner, ctx, constraint, "DV_CODED_TEXT")
    return make(
        "DV_STATE", value=value, is_terminal=None if terminal is None else as_bool(terminal, take.key)
    )


def _write_state(obj: RMObject, node: FlatNode) -> None:
    if obj.value is not None:  # type: ignore[attr-defined]
        _write_text(obj.value, node)  # type: ignore[attr-defined]
    if obj.is_terminal is not None:  # type: ignore[attr-defined]
        node.attrs["is_terminal"] = obj.is_terminal  # type: ignore[attr-defined]


register("DV_STATE")(Codec(_read_state, _write_state))

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
            values[end] = read_object(node, ctx, inner, _attr_constraint(constraint, end))
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
    return _fast(
        ReferenceRange,
        meaning=None if meaning is None else read_object(meaning, ctx, "DV_TEXT"),
        range=interval,
    )


def _write_reference_range(obj: RMObject, node: FlatNode) -> None:
    assert isinstance(obj, ReferenceRange)
    if obj.meaning is not None:
        write_object(obj.meaning, node.child("meaning"))
    if obj.range is not None:
        _write_interval(obj.range, node)


register("REFERENCE_RANGE")(Codec(_read_reference_range, _write_reference_range))


def read_duration(value: str) -> DvDuration:
    return _fast(DvDuration, value=value)


_ = (read_generic, _NO_CONSTRAINT)
