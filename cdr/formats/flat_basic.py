"""FLAT codecs of the basic, URI and encapsulated data values (RM ``data_types.basic``, ``uri``,
``encapsulated``) and of plain strings.

DV_BOOLEAN, DV_URI and STRING are the bare value; DV_STATE is a coded text with ``|is_terminal``;
DV_IDENTIFIER is its ``|id``, ``|issuer``, ``|assigner`` and ``|type``; DV_MULTIMEDIA is its URI with
``|mediatype`` and the other codes as suffixes when they are in their usual terminology, and DV_PARSABLE its
bare value with ``|formalism``.
"""

from __future__ import annotations

from typing import Any

from cdr.formats.flat_codec import (
    Codec,
    ReadContext,
    Take,
    as_bool,
    as_int,
    as_str,
    base_type,
    make,
    read_object,
    register,
    write_object,
)
from cdr.formats.flat_keys import FlatNode
from cdr.formats.flat_text import code_phrase, read_text, write_text
from cdr.rm import DvIdentifier, DvMultimedia, DvParsable, RMObject
from cdr.rm.base import construct
from cdr.template.aom import CObject


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
    value = read_text(inner, ctx, constraint, "DV_CODED_TEXT")
    return make(
        "DV_STATE", value=value, is_terminal=None if terminal is None else as_bool(terminal, take.key)
    )


def _write_state(obj: RMObject, node: FlatNode) -> None:
    if obj.value is not None:  # type: ignore[attr-defined]
        write_text(obj.value, node)  # type: ignore[attr-defined]
    if obj.is_terminal is not None:  # type: ignore[attr-defined]
        node.attrs["is_terminal"] = obj.is_terminal  # type: ignore[attr-defined]


register("DV_STATE")(Codec(_read_state, _write_state))
