"""Compositions on the wire: canonical JSON and XML, and the web template formats FLAT and STRUCTURED.

FLAT and STRUCTURED are keyed by the web template ids of a template, so reading them needs the template id
(ITS-REST's ``openEHR-TEMPLATE_ID`` header, EHRbase's ``templateId`` parameter) and writing them needs the
template the composition names. Canonical JSON is read leniently by default (EHRbase skips unknown
attributes); the pointers of what was skipped are returned, for the caller to report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cdr.errors import FormatError, InvalidInput
from cdr.formats.canonical_json import parse_json
from cdr.formats.canonical_xml import parse_xml, to_xml
from cdr.formats.flat import (
    composition_to_flat,
    composition_to_structured,
    flat_format_of,
    flat_to_composition,
    structured_to_composition,
)
from cdr.rm import Composition
from cdr.rm.base import RMObject
from cdr.services.core import Services


class Format(StrEnum):
    JSON = "JSON"
    XML = "XML"
    FLAT = "FLAT"
    STRUCTURED = "STRUCTURED"

    @property
    def needs_template(self) -> bool:
        return self in (Format.FLAT, Format.STRUCTURED)


@dataclass(slots=True)
class Incoming:
    """A composition read from a request, and the JSON pointers of attributes the reader skipped."""

    composition: RMObject
    ignored: list[str] = field(default_factory=list)


def _json_object(raw: bytes, fmt: Format) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError("/", f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise FormatError("/", f"a {fmt.value} composition must be a JSON object")
    return doc


def read_composition(
    svc: Services, raw: bytes, fmt: Format, template_id: str | None = None, *, strict: bool = False
) -> Incoming:
    """A COMPOSITION from a request body in ``fmt``; :class:`FormatError` (400) naming the offending spot,
    :class:`~cdr.services.errors.UnknownTemplate` (422) when a FLAT/STRUCTURED template was never uploaded."""
    if fmt == Format.XML:
        return Incoming(parse_xml(raw, "COMPOSITION"))
    if fmt == Format.JSON:
        ignored: list[str] = []
        comp = parse_json(raw, "COMPOSITION", strict=strict, ignored=None if strict else ignored)
        return Incoming(comp, ignored)
    if not template_id:
        raise InvalidInput(f"a {fmt.value} composition needs its template id (header openEHR-TEMPLATE_ID)")
    doc = _json_object(raw, fmt)
    found = flat_format_of(doc)
    if found not in (fmt.value, "UNKNOWN"):
        raise FormatError("/", f"the document is {found}, not {fmt.value}")
    opt = svc.templates.get(template_id)
    if fmt == Format.FLAT:
        return Incoming(flat_to_composition(doc, opt))
    return Incoming(structured_to_composition(doc, opt))


def render_composition(svc: Services, data: dict[str, Any], fmt: Format) -> dict[str, Any] | bytes:
    """A stored composition (canonical JSON) in ``fmt``: a JSON document, or XML bytes."""
    if fmt == Format.JSON:
        return data
    comp = parse_json(data, "COMPOSITION")
    if fmt == Format.XML:
        return to_xml(comp)
    template_id = ((data.get("archetype_details") or {}).get("template_id") or {}).get("value")
    if not isinstance(comp, Composition) or not isinstance(template_id, str):
        raise InvalidInput(f"the composition names no template, so it has no {fmt.value} form")
    opt = svc.templates.get(template_id)
    return composition_to_flat(comp, opt) if fmt == Format.FLAT else composition_to_structured(comp, opt)
