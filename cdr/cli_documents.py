"""Composition documents for the command line: recognise, read and write the four wire formats.

``cdr validate``, ``cdr convert`` and ``cdr import`` take a composition in canonical JSON, canonical XML,
FLAT (simSDT) or STRUCTURED (structSDT) and should not make the user say which when the document says it
itself. Recognition looks at the content, not the file name, because all three JSON formats end in
``.json``: a root ``_type`` or ``archetype_node_id`` means canonical JSON, otherwise the shape of the keys
decides (:func:`cdr.formats.flat.flat_format_of`).

Two failure kinds are kept apart because the CLI maps them to different exit codes:
:class:`Unreadable` (not JSON or XML at all: exit 2) and :class:`cdr.errors.FormatError` (readable, but it
does not map onto the RM or the template: exit 1, with the key or path that failed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cdr.errors import CdrError, FormatError
from cdr.rm.base import RMObject
from cdr.template.aom import OperationalTemplate

FORMATS = ("json", "xml", "flat", "structured")
BOM = b"\xef\xbb\xbf"
TEMPLATE_FORMATS = frozenset({"flat", "structured"})
"""The formats keyed by web template ids: reading or writing them needs the template."""


class Unreadable(CdrError):
    """The bytes are not a JSON or XML document at all (the usage exit code, 2)."""


@dataclass(slots=True)
class Document:
    """A document parsed as far as its syntax: XML as bytes (checked well-formed), JSON formats as data."""

    fmt: str
    data: Any
    ignored: list[str] = field(default_factory=list)
    """JSON pointers of unknown attributes the lenient canonical JSON reader skipped."""


def read_document(raw: bytes, fmt: str | None = None) -> Document:
    """Parse ``raw`` as ``fmt`` (recognised from the content when ``None``); raises :class:`Unreadable`."""
    if fmt == "xml" or (fmt is None and raw.lstrip().removeprefix(BOM).lstrip()[:1] == b"<"):
        from lxml import etree

        try:
            etree.fromstring(raw)
        except etree.XMLSyntaxError as exc:
            raise Unreadable(f"not XML: {exc}") from None
        return Document("xml", raw)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unreadable(f"not JSON: {exc}") from None
    return Document(fmt or json_format_of(data), data)


def json_format_of(data: Any) -> str:
    """``json`` for canonical JSON (and anything unrecognisable, so the canonical reader names the fault),
    else ``flat`` or ``structured``; a legacy path-value (ECISFLAT) document counts as ``flat`` so that the
    FLAT reader explains why it is refused."""
    from cdr.formats.flat import flat_format_of

    if not isinstance(data, dict) or "_type" in data or "archetype_node_id" in data:
        return "json"
    kind = flat_format_of(data)
    if kind == "STRUCTURED":
        return "structured"
    if kind in ("FLAT", "ECISFLAT"):
        return "flat"
    return "json"


def template_id_of(doc: Document) -> str | None:
    """The template the document names, if it names one: ``archetype_details/template_id`` of canonical
    documents, ``ctx/template_id`` of simplified ones (FLAT and STRUCTURED usually carry none: see
    :func:`root_id_of`)."""
    if doc.fmt == "xml":
        from lxml import etree

        root = etree.fromstring(doc.data)
        found = root.xpath(
            "./*[local-name()='archetype_details']/*[local-name()='template_id']"
            "/*[local-name()='value']/text()"
        )
        return str(found[0]).strip() if isinstance(found, list) and found else None
    data = doc.data
    if not isinstance(data, dict):
        return None
    if doc.fmt == "json":
        value = ((data.get("archetype_details") or {}).get("template_id") or {}).get("value")
        return value if isinstance(value, str) else None
    ctx = data.get("ctx")
    candidates = [data.get("ctx/template_id"), ctx.get("template_id") if isinstance(ctx, dict) else None]
    return next((c for c in candidates if isinstance(c, str) and c), None)


def root_id_of(doc: Document) -> str | None:
    """The web template root id a FLAT or STRUCTURED document is keyed by (its first path segment)."""
    if doc.fmt not in TEMPLATE_FORMATS or not isinstance(doc.data, dict):
        return None
    for key in doc.data:
        if isinstance(key, str) and key != "ctx" and not key.startswith("ctx/"):
            return key.split("/", 1)[0].split(":", 1)[0].split("|", 1)[0]
    return None


def to_composition(doc: Document, opt: OperationalTemplate | None) -> RMObject:
    """The RM composition in ``doc``; raises :class:`FormatError` naming the key or path that does not fit."""
    if doc.fmt == "xml":
        from cdr.formats.canonical_xml import parse_xml

        return parse_xml(doc.data, "COMPOSITION")
    if doc.fmt == "json":
        from cdr.formats.canonical_json import parse_json

        return parse_json(doc.data, "COMPOSITION", strict=False, ignored=doc.ignored)
    if opt is None:
        raise CdrError(f"reading {doc.fmt.upper()} needs the template (--template)")
    if not isinstance(doc.data, dict):
        raise FormatError(
            "/", f"a {doc.fmt.upper()} composition is a JSON object, not {type(doc.data).__name__}"
        )
    from cdr.formats.flat import flat_to_composition, structured_to_composition

    if doc.fmt == "flat":
        return flat_to_composition(doc.data, opt)
    return structured_to_composition(doc.data, opt)


def render(comp: RMObject, fmt: str, opt: OperationalTemplate | None, *, compact: bool = False) -> str:
    """``comp`` as text in ``fmt``: pretty JSON or XML, or one line each when ``compact`` (JSON lines)."""
    if fmt == "xml":
        from cdr.formats.canonical_xml import to_xml

        return to_xml(comp, pretty=not compact).decode("utf-8").rstrip("\n")
    if fmt == "json":
        from cdr.formats.canonical_json import to_json

        data: Any = to_json(comp)
    else:
        if opt is None:
            raise CdrError(f"writing {fmt.upper()} needs the template (--template)")
        from cdr.formats.flat import composition_to_flat, composition_to_structured
        from cdr.rm import Composition

        if not isinstance(comp, Composition):
            raise FormatError("/", f"{fmt.upper()} is defined for compositions only, not {comp.rm_type}")
        data = composition_to_flat(comp, opt) if fmt == "flat" else composition_to_structured(comp, opt)
    if compact:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(data, ensure_ascii=False, indent=2)
