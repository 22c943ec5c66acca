"""FLAT codecs of parties, participations, references and links (RM ``common.generic``, ``support``).

EHRbase writes a party as suffixes of one node (``composer|name``, ``|id``, ``|id_scheme``,
``|id_namespace``) plus ``_identifier:n`` children, a participation the same way with ``|function`` and
``|mode``, object references as ``|id``, ``|id_scheme``, ``|namespace``, ``|type`` and instruction details as
``|composition_uid``, ``|path``, ``|activity_id``. The concrete party type follows from what is given
(``|_type`` overrides): a name or identifiers make a PARTY_IDENTIFIED, a relationship a PARTY_RELATED,
nothing but a reference a PARTY_SELF.
"""

from __future__ import annotations

from typing import Any

from cdr.errors import FormatError
from cdr.formats.flat_codec import (
    Codec,
    ReadContext,
    Take,
    as_str,
    base_type,
    make,
    read_generic,
    read_object,
    register,
    write_generic,
    write_object,
)
from cdr.formats.flat_datatypes import coded_text, text_value
from cdr.formats.flat_keys import FlatNode
from cdr.rm import DvCodedText, DvText, RMObject
from cdr.rm.base import RM_TYPES
from cdr.template.aom import CObject
from cdr.terminology import openehr as openehr_terms

__all__ = ["object_id", "party_ref", "read_party_fields"]

_PARTY_TYPES = ("PARTY_PROXY", "PARTY_SELF", "PARTY_IDENTIFIED", "PARTY_RELATED")
DEFAULT_REF_TYPE = "PARTY"


def object_id(value: str, scheme: str | None = None) -> RMObject:
    """An OBJECT_ID for a FLAT id: GENERIC_ID with a scheme, OBJECT_VERSION_ID for ``x::y::n``, else
    HIER_OBJECT_ID."""
    if scheme is not None:
        return make("GENERIC_ID", value=value, scheme=scheme)
    if value.count("::") == 2:
        return make("OBJECT_VERSION_ID", value=value)
    return make("HIER_OBJECT_ID", value=value)


def _implied_id_type(obj: RMObject) -> bool:
    """Whether :func:`object_id` would rebuild ``obj``'s type from its value and scheme alone."""
    value = getattr(obj, "value", None) or ""
    if obj.rm_type == "GENERIC_ID":
        return getattr(obj, "scheme", None) is not None
    if obj.rm_type == "OBJECT_VERSION_ID":
        return value.count("::") == 2
    return obj.rm_type == "HIER_OBJECT_ID" and value.count("::") != 2


def party_ref(id_value: Any, scheme: Any, namespace: Any, ref_type: Any, key: str) -> RMObject:
    return make(
        "PARTY_REF",
        id=None
        if id_value is None
        else object_id(as_str(id_value, key), None if scheme is None else as_str(scheme, key)),
        namespace=None if namespace is None else as_str(namespace, key),
        type=as_str(ref_type, key) if ref_type is not None else DEFAULT_REF_TYPE,
    )


def read_party_fields(take: Take, ctx: ReadContext, prefix: str = "") -> dict[str, Any]:
    """Party suffixes (``|name``, ``|id``...; with ``prefix`` for participations' performer) as values."""
    values: dict[str, Any] = {}
    name = take.attr(prefix + "name")
    if name is not None:
        values["name"] = as_str(name, take.key)
    id_value, scheme = take.attr(prefix + "id"), take.attr(prefix + "id_scheme")
    namespace, ref_type = take.attr(prefix + "id_namespace"), take.attr(prefix + "id_type", prefix + "type")
    if id_value is not None or namespace is not None:
        values["external_ref"] = party_ref(id_value, scheme, namespace, ref_type, take.key)
    elif scheme is not None or ref_type is not None:
        raise FormatError(take.key, "'|id_scheme' and '|type' need '|id'")
    identifiers = [read_object(n, ctx, "DV_IDENTIFIER") for n in take.children("_identifier", "identifiers")]
    for _, parts in sorted(take.indexed_attrs(prefix + "identifiers_").items()):
        node = FlatNode(take.key, attrs=parts)
        identifiers.append(read_object(node, ctx, "DV_IDENTIFIER"))
    if identifiers:
        values["identifiers"] = identifiers
    relationship = take.child("relationship", "_relationship")
    if relationship is not None:
        values["relationship"] = read_object(relationship, ctx, "DV_CODED_TEXT")
    ref_node = take.child("external_ref", "_external_ref")
    if ref_node is not None:
        values["external_ref"] = read_object(ref_node, ctx, "PARTY_REF")
    return values


def _party_type(values: dict[str, Any]) -> str:
    if "relationship" in values:
        return "PARTY_RELATED"
    if "name" in values or "identifiers" in values:
        return "PARTY_IDENTIFIED"
    return "PARTY_SELF"


def _read_party(take: Take, ctx: ReadContext, _c: CObject | None, rm_type: str) -> RMObject:
    values = read_party_fields(take, ctx)
    chosen = rm_type if rm_type != "PARTY_PROXY" else _party_type(values)
    if chosen == "PARTY_IDENTIFIED" and "relationship" in values:
        chosen = "PARTY_RELATED"
    cls = RM_TYPES[chosen]
    unknown = [k for k in values if k not in cls.model_fields]
    if unknown:
        raise FormatError(take.key, f"{chosen} has no '{unknown[0]}'")
    return make(chosen, **values)


def write_party_fields(obj: RMObject, node: FlatNode, *, participation: bool = False) -> None:
    """A party as suffixes of ``node``. In a participation (the performer's fields on the participation's
    own node) identifiers are ``|identifiers_id:0``, ``|identifiers_issuer:0``..., as EHRbase writes them;
    elsewhere ``_identifier:0`` children."""
    d = obj.__dict__
    if d.get("name") is not None:
        node.attrs["name"] = d["name"]
    ref = d.get("external_ref")
    if ref is not None:
        if ref.id is not None and _implied_id_type(ref.id) and ref.rm_type == "PARTY_REF":
            node.attrs["id"] = ref.id.value
            if ref.id.rm_type == "GENERIC_ID":
                node.attrs["id_scheme"] = ref.id.scheme
            if ref.namespace is not None:
                node.attrs["id_namespace"] = ref.namespace
            if ref.type != DEFAULT_REF_TYPE:
                node.attrs["id_type"] = ref.type
        elif participation:
            raise FormatError(node.key, "a performer's reference cannot be written as participation suffixes")
        else:
            write_object(ref, node.child("external_ref"))
    for i, ident in enumerate(d.get("identifiers") or []):
        if participation:
            for name in ("id", "issuer", "assigner", "type"):
                if getattr(ident, name) is not None:
                    node.attrs[f"identifiers_{name}:{i}"] = getattr(ident, name)
        else:
            node.multi.add("_identifier")
            write_object(ident, node.child("_identifier", i))
    if d.get("relationship") is not None:
        write_object(d["relationship"], node.child("relationship"))


def _write_party(obj: RMObject, node: FlatNode) -> None:
    write_party_fields(obj, node)
    implied = _party_type({k: v for k, v in obj.__dict__.items() if v})
    if implied != obj.rm_type:
        node.attrs["_type"] = obj.rm_type


register(*_PARTY_TYPES)(Codec(_read_party, _write_party, subtypes=_PARTY_TYPES))


def _read_ref(take: Take, ctx: ReadContext, _c: CObject | None, rm_type: str) -> RMObject:
    if take.remaining_children() or take.has("_type"):
        return read_generic(take, ctx, RM_TYPES[base_type(rm_type)])
    id_value, scheme = take.attr("id"), take.attr("id_scheme")
    namespace, ref_type = take.attr("namespace", "id_namespace"), take.attr("type")
    values: dict[str, Any] = {
        "id": None
        if id_value is None
        else object_id(as_str(id_value, take.key), None if scheme is None else as_str(scheme, take.key)),
        "namespace": None if namespace is None else as_str(namespace, take.key),
        "type": None if ref_type is None else as_str(ref_type, take.key),
    }
    if base_type(rm_type) == "LOCATABLE_REF" and (path := take.attr("path")) is not None:
        values["path"] = as_str(path, take.key)
    return make(base_type(rm_type) if base_type(rm_type) != "OBJECT_REF" else "OBJECT_REF", **values)


def _write_ref(obj: RMObject, node: FlatNode) -> None:
    ident = obj.id  # type: ignore[attr-defined]
    if ident is not None and not _implied_id_type(ident):
        write_generic(obj, node)
        return
    if ident is not None:
        node.attrs["id"] = ident.value
        if ident.rm_type == "GENERIC_ID":
            node.attrs["id_scheme"] = ident.scheme
    if obj.namespace is not None:  # type: ignore[attr-defined]
        node.attrs["namespace"] = obj.namespace  # type: ignore[attr-defined]
    if obj.type is not None:  # type: ignore[attr-defined]
        node.attrs["type"] = obj.type  # type: ignore[attr-defined]
    if getattr(obj, "path", None) is not None:
        node.attrs["path"] = obj.path  # type: ignore[attr-defined]


register("OBJECT_REF", "PARTY_REF", "LOCATABLE_REF")(Codec(_read_ref, _write_ref))


def _read_uid(take: Take, ctx: ReadContext, _c: CObject | None, rm_type: str) -> RMObject:
    bare = take.value()
    bare = take.attr("value") if bare is None else bare
    if bare is None:
        cls = RM_TYPES[base_type(rm_type)]
        if cls.rm_abstract:
            raise FormatError(take.key, "an id value is required")
        return read_generic(take, ctx, cls)
    scheme = take.attr("scheme")
    value = as_str(bare, take.key)
    cls = RM_TYPES[base_type(rm_type)]
    if not cls.rm_abstract:  # a concrete id type (``|_type``): kept even where the value suggests another
        return make(cls.rm_type, value=value, scheme=None if scheme is None else as_str(scheme, take.key))
    return object_id(value, None if scheme is None else as_str(scheme, take.key))


def _write_uid(obj: RMObject, node: FlatNode) -> None:
    node.value, node.has_value = obj.value, True  # type: ignore[attr-defined]
    if getattr(obj, "scheme", None) is not None:
        node.attrs["scheme"] = obj.scheme  # type: ignore[attr-defined]
    if not _implied_id_type(obj):
        node.attrs["_type"] = obj.rm_type


_ID_TYPES = ("UID_BASED_ID", "OBJECT_ID", "HIER_OBJECT_ID", "OBJECT_VERSION_ID", "GENERIC_ID")
register(*_ID_TYPES)(Codec(_read_uid, _write_uid, subtypes=_ID_TYPES))


def _read_link(take: Take, ctx: ReadContext, _c: CObject | None, _t: str) -> RMObject:
    values: dict[str, Any] = {}
    for name, rm_type in (("meaning", "DV_TEXT"), ("type", "DV_TEXT"), ("target", "DV_EHR_URI")):
        raw = take.attr(name)
        child = take.child(name)
        if child is not None:
            values[name] = read_object(child, ctx, rm_type)
        elif raw is not None:
            text = as_str(raw, f"{take.key}|{name}")
            values[name] = make("DV_EHR_URI", value=text) if rm_type == "DV_EHR_URI" else text_value(text)
    return make("LINK", **values)


def _write_link(obj: RMObject, node: FlatNode) -> None:
    for name in ("meaning", "type", "target"):
        value = getattr(obj, name)
        if value is None:
            continue
        if value.rm_type in ("DV_TEXT", "DV_EHR_URI") and _plain(value):
            node.attrs[name] = value.value
        else:
            write_object(value, node.child(name))


def _plain(value: RMObject) -> bool:
    """A DV_TEXT / DV_URI with nothing but its text."""
    return all(v is None or v == [] for k, v in value.__dict__.items() if k != "value")


register("LINK")(Codec(_read_link, _write_link))


def _read_participation(take: Take, ctx: ReadContext, _c: CObject | None, _t: str) -> RMObject:
    values: dict[str, Any] = {}
    function = take.attr("function")
    if function is not None:
        values["function"] = text_value(as_str(function, take.key))
    elif (child := take.child("function")) is not None:
        values["function"] = read_object(child, ctx, "DV_TEXT")
    mode = take.attr("mode")
    if mode is not None:
        values["mode"] = _participation_mode(as_str(mode, take.key), ctx)
    elif (child := take.child("mode")) is not None:
        values["mode"] = read_object(child, ctx, "DV_CODED_TEXT")
    performer = take.child("performer")
    if performer is not None:
        values["performer"] = read_object(performer, ctx, "PARTY_PROXY")
    else:
        fields = read_party_fields(take, ctx)
        values["performer"] = make(_party_type(fields), **fields)
    time = take.child("time", "_time")
    if time is not None:
        values["time"] = read_object(time, ctx, "DV_INTERVAL<DV_DATE_TIME>")
    return make("PARTICIPATION", **values)


def _participation_mode(text: str, ctx: ReadContext) -> DvCodedText:
    """``|mode`` by rubric (``face-to-face communication``) or by code (``216``)."""
    group = "participation_mode"
    code = openehr_terms.code_for_rubric(group, text)
    if code is not None:
        return coded_text(text, "openehr", code)
    rubric = openehr_terms.rubric(text, group, ctx.language)
    if rubric is not None:
        return coded_text(rubric, "openehr", text)
    return coded_text(text, "openehr", None)


def _write_participation(obj: RMObject, node: FlatNode) -> None:
    d = obj.__dict__
    function = d.get("function")
    if function is not None:
        if type(function) is DvText and _plain(function):
            node.attrs["function"] = function.value
        else:
            write_object(function, node.child("function"))
    mode = d.get("mode")
    if mode is not None:
        code = mode.defining_code.code_string if mode.defining_code is not None else None
        if (
            _plain_coded(mode)
            and code is not None
            and openehr_terms.code_for_rubric("participation_mode", mode.value) == code
        ):
            node.attrs["mode"] = mode.value
        else:
            write_object(mode, node.child("mode"))
    performer = d.get("performer")
    if performer is not None:
        implied = _party_type({k: v for k, v in performer.__dict__.items() if v})
        if implied == performer.rm_type and _shortcut_party(performer):
            write_party_fields(performer, node, participation=True)
        else:
            write_object(performer, node.child("performer"), explicit_type="PARTY_PROXY")
    if d.get("time") is not None:
        write_object(d["time"], node.child("time"))


def _plain_coded(value: RMObject) -> bool:
    phrase = getattr(value, "defining_code", None)
    return (
        isinstance(value, DvCodedText)
        and phrase is not None
        and phrase.terminology_id is not None
        and phrase.terminology_id.value == "openehr"
        and phrase.preferred_term is None
        and all(
            v is None or v == [] for k, v in value.__dict__.items() if k not in ("value", "defining_code")
        )
    )


def _shortcut_party(party: RMObject) -> bool:
    """Whether a performer fits participation suffixes: a plain reference or none (a PARTY_RELATED's
    ``relationship`` goes below, ``_participation:0/relationship``)."""
    ref = getattr(party, "external_ref", None)
    return ref is None or (ref.id is not None and _implied_id_type(ref.id) and ref.rm_type == "PARTY_REF")


register("PARTICIPATION")(Codec(_read_participation, _write_participation))


def _read_instruction_details(take: Take, ctx: ReadContext, _c: CObject | None, _t: str) -> RMObject:
    values: dict[str, Any] = {}
    uid, path = take.attr("composition_uid"), take.attr("path")
    if uid is not None:
        values["instruction_id"] = make(
            "LOCATABLE_REF",
            id=object_id(as_str(uid, take.key)),
            namespace="local",
            type="INSTRUCTION",
            path=as_str(path, take.key) or None if path is not None else None,
        )
    elif (child := take.child("instruction_id")) is not None:
        values["instruction_id"] = read_object(child, ctx, "LOCATABLE_REF")
    activity = take.attr("activity_id")
    if activity is not None:
        values["activity_id"] = as_str(activity, take.key)
    details = take.child("wf_details", "_wf_details")
    if details is not None:
        values["wf_details"] = read_object(details, ctx, "ITEM_TREE")
    return make("INSTRUCTION_DETAILS", **values)


def _write_instruction_details(obj: RMObject, node: FlatNode) -> None:
    d = obj.__dict__
    ref = d.get("instruction_id")
    if ref is not None:
        if (
            ref.namespace == "local"
            and ref.type == "INSTRUCTION"
            and ref.id is not None
            and ref.id.rm_type != "GENERIC_ID"
            and _implied_id_type(ref.id)
        ):
            node.attrs["composition_uid"] = ref.id.value
            if ref.path is not None:
                node.attrs["path"] = ref.path
        else:
            write_object(ref, node.child("instruction_id"))
    if d.get("activity_id") is not None:
        node.attrs["activity_id"] = d["activity_id"]
    if d.get("wf_details") is not None:
        write_object(d["wf_details"], node.child("wf_details"), explicit_type="ITEM_TREE")


register("INSTRUCTION_DETAILS")(Codec(_read_instruction_details, _write_instruction_details))
