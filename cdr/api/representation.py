"""Media types: reading RM bodies in canonical JSON or XML and answering in the format the client accepts.

Unknown JSON attributes are read leniently, as EHRbase does, unless ``STRICT_JSON`` is set; the JSON pointers
of what was skipped are never dropped silently: they are logged and sent back in the
``Cdr-Ignored-Attributes`` response header.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

from flask import Response, jsonify

from cdr.api.current import current_request, request_globals, the_app
from cdr.api.errors import NotAcceptable, UnsupportedMediaType
from cdr.errors import FormatError
from cdr.formats.canonical_json import parse_json
from cdr.formats.canonical_xml import parse_xml, to_xml
from cdr.rm.base import RMObject

log = logging.getLogger(__name__)

JSON = "application/json"
XML = "application/xml"
IGNORED_HEADER = "Cdr-Ignored-Attributes"
MAX_IGNORED_IN_HEADER = 50

_JSON_TYPES = frozenset({JSON, "application/openehr+json", "text/json"})
_XML_TYPES = frozenset({XML, "text/xml", "application/openehr+xml"})


def content_type() -> str:
    """The request's media type without parameters (``""`` when absent)."""
    return (current_request().mimetype or "").lower()


def is_json(mimetype: str) -> bool:
    """Canonical JSON: the JSON media types and any other ``+json`` type except the simplified formats
    (``openehr.wt.*``, read on their own) and the legacy ECISFLAT (``application/openehr.nc.flat+json``),
    which is not supported: ITS-REST answers an unsupported simplified format with 415."""
    return mimetype in _JSON_TYPES or (
        mimetype.endswith("+json") and "openehr.wt" not in mimetype and "openehr.nc." not in mimetype
    )


def is_xml(mimetype: str) -> bool:
    """Canonical XML: the XML media types and any other ``+xml`` type except Ocean's Template Data Document
    (``application/openehr.tds2+xml``), a simplified format of its own that is not supported (415, as
    ITS-REST requires for one, not a 400 from reading it as canonical XML)."""
    return mimetype in _XML_TYPES or (mimetype.endswith("+xml") and "openehr.tds" not in mimetype)


def best_of(offered: list[str], default: str | None = None) -> str:
    """The offered media type the client accepts best; :class:`NotAcceptable` (406) if none."""
    req = current_request()
    if not req.accept_mimetypes or req.accept_mimetypes.provided is False:
        return default or offered[0]
    for accepted, _quality in req.accept_mimetypes:
        if accepted == "*/*":
            return default or offered[0]
        if accepted.lower() in offered:
            return accepted.lower()
    match = req.accept_mimetypes.best_match(offered)
    if match is None:
        raise NotAcceptable(
            f"none of {', '.join(offered)} is acceptable (Accept: {req.headers.get('Accept')})"
        )
    return match


def rm_format() -> str:
    """JSON or XML for an RM resource, by Accept (JSON when the client does not say)."""
    return XML if best_of([JSON, XML, "text/xml"], JSON) in (XML, "text/xml") else JSON


def note_ignored(pointers: list[str]) -> None:
    """Remember attributes the lenient reader skipped, for the response header and the log."""
    if pointers:
        req = current_request()
        log.warning("%s %s: unknown attributes ignored: %s", req.method, req.path, ", ".join(pointers))
        request_globals().setdefault("cdr_ignored", []).extend(pointers)


def header_pointer(pointer: str) -> str:
    """A JSON pointer as header text: percent-encoded as in a URI fragment (RFC 6901, section 6), because an
    attribute name may hold any character and a header value only visible ASCII.

    >>> header_pointer("/name/x\\ny é,z")
    '/name/x%0Ay%20%C3%A9%2Cz'
    """
    return quote(pointer, safe="/~!$&'()*+;=:@")


def add_ignored_header(response: Response) -> Response:
    pointers: list[str] = [header_pointer(p) for p in request_globals().get("cdr_ignored", [])]
    if pointers:
        shown = pointers[:MAX_IGNORED_IN_HEADER]
        more = len(pointers) - len(shown)
        response.headers[IGNORED_HEADER] = ", ".join(shown) + (f", ... ({more} more)" if more else "")
    return response


def read_rm(rm_type: str, *, optional: bool = False, require_type: bool = False) -> RMObject | None:
    """The request body as an RM object of ``rm_type``, from canonical JSON (also when no Content-Type is
    given) or XML; ``None`` for an empty body when ``optional``. :class:`UnsupportedMediaType` otherwise.

    ``require_type``: a JSON body must name its ``_type`` at the root (EHRbase refuses an EHR_STATUS without).
    """
    raw = current_request().get_data()
    if not raw.strip():
        if optional:
            return None
        from cdr.api.errors import ApiError

        raise ApiError(f"a {rm_type} body is required")
    mimetype = content_type()
    if is_xml(mimetype):
        return parse_xml(raw, rm_type)
    if mimetype == "" or is_json(mimetype):
        ignored: list[str] = []
        strict = bool(the_app().config.get("STRICT_JSON"))
        doc: Any = raw
        if require_type:
            doc = _json_document(raw)
            if isinstance(doc, dict) and "_type" not in doc:
                raise FormatError("/_type", f"_type ({rm_type}) is required at the root")
        obj = parse_json(doc, rm_type, strict=strict, ignored=None if strict else ignored)
        note_ignored(ignored)
        return obj
    raise UnsupportedMediaType(f"Content-Type {mimetype!r} is not supported here; send {JSON} or {XML}")


def _json_document(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError("/", f"not valid JSON: {exc}") from None


def rm_response(doc: dict[str, Any], status: int = 200, fmt: str | None = None) -> Response:
    """Canonical JSON ``doc`` as JSON, or as ITS-XML when that is the format asked for."""
    fmt = fmt or rm_format()
    if fmt == XML:
        response = Response(to_xml(parse_json(doc)), status=status, mimetype=XML)
    else:
        response = jsonify(doc)
        response.status_code = status
    return add_ignored_header(response)


def empty(status: int = 204) -> Response:
    """An answer without a body, hence without a Content-Type (flask would otherwise claim text/html)."""
    response = Response(status=status)
    del response.headers["Content-Type"]
    return add_ignored_header(response)
