"""COMPOSITION and VERSIONED_COMPOSITION resources, in canonical JSON/XML and the FLAT/STRUCTURED formats.

The format of a request body comes from EHRbase's ``format`` parameter when given, else from Content-Type;
the format of the answer from ``format`` too, else from Accept (canonical JSON when the client does not say).
"""

from __future__ import annotations

from flask import Blueprint, Response

from cdr.api import item_tags
from cdr.api.common import ctx, ehr_uuid, original_version_response, svc
from cdr.api.current import current_request, the_app
from cdr.api.errors import ApiError, UnsupportedMediaType
from cdr.api.headers import (
    if_match,
    set_tag_headers,
    set_version_headers,
    template_id_header,
    version_to_delete,
    wants_representation,
    write_tags,
)
from cdr.api.openapi import documented
from cdr.api.representation import (
    JSON,
    XML,
    add_ignored_header,
    best_of,
    content_type,
    empty,
    is_json,
    is_xml,
    note_ignored,
    rm_response,
)
from cdr.api.schemas import CompositionQuery, VersionAtTime, parse_args
from cdr.api.schemas.documents import revision_history_document, versioned_object_document
from cdr.json_codec import dumps_bytes
from cdr.rm.base import RMObject
from cdr.services import composition as service
from cdr.services.composition_io import Format, read_composition, render_composition
from cdr.services.errors import NotLatestVersion
from cdr.storage import StaleVersion, VersionRecord

bp = Blueprint("composition", __name__)

FLAT = "application/openehr.wt.flat+json"
FLAT_SCHEMA = "application/openehr.wt.flat.schema+json"
STRUCTURED = "application/openehr.wt.structured+json"
STRUCTURED_SCHEMA = "application/openehr.wt.structured.schema+json"
MEDIA_TYPES = {
    JSON: Format.JSON,
    XML: Format.XML,
    "text/xml": Format.XML,
    FLAT: Format.FLAT,
    FLAT_SCHEMA: Format.FLAT,
    STRUCTURED: Format.STRUCTURED,
    STRUCTURED_SCHEMA: Format.STRUCTURED,
}
MEDIA_OF = {Format.JSON: JSON, Format.XML: XML, Format.FLAT: FLAT, Format.STRUCTURED: STRUCTURED}
_ALL = tuple(MEDIA_TYPES)
_WRITE_HEADERS = (
    "Prefer",
    "openEHR-TEMPLATE_ID",
    "openEHR-VERSION",
    "openEHR-AUDIT_DETAILS",
    "openehr-item-tag",
    "openehr-version-item-tag",
)
# built once: a marshmallow schema's construction costs more than loading a query string with it
_FORMAT_QUERY = CompositionQuery()
_AT_TIME = VersionAtTime()


def _format_param() -> Format | None:
    value = parse_args(_FORMAT_QUERY)["format"]
    if value is None:
        return None
    try:
        return Format(value.upper())
    except ValueError:
        known = ", ".join(f.value for f in Format)
        raise ApiError(f"format {value!r} is not one of {known}") from None


def request_format() -> Format:
    """The body's format: ``format`` parameter, else Content-Type (canonical JSON when absent)."""
    explicit = _format_param()
    if explicit is not None:
        return explicit
    mimetype = content_type()
    if mimetype in MEDIA_TYPES:
        return MEDIA_TYPES[mimetype]
    if mimetype == "" or is_json(mimetype):
        return Format.JSON
    if is_xml(mimetype):
        return Format.XML
    raise UnsupportedMediaType(f"Content-Type {mimetype!r} is not a composition format ({', '.join(_ALL)})")


def response_format() -> Format:
    """The answer's format: ``format`` parameter, else Accept."""
    explicit = _format_param()
    if explicit is not None:
        return explicit
    return MEDIA_TYPES[best_of(list(MEDIA_TYPES), JSON)]


def _body(record: VersionRecord, status: int, fmt: Format) -> Response:
    text = record.json_text
    if fmt == Format.JSON and text is not None:  # the stored text as it was read: no parse, no re-encoding
        response = Response(text + b"\n", status=status, mimetype=MEDIA_OF[fmt])
        return add_ignored_header(response)
    assert record.data is not None
    rendered = render_composition(svc(), record.data, fmt)
    if isinstance(rendered, bytes):
        response = Response(rendered, status=status, mimetype=XML)
    else:  # the bytes orjson writes, as jsonify would send them (with its final newline) without re-encoding
        response = Response(dumps_bytes(rendered) + b"\n", status=status, mimetype=MEDIA_OF[fmt])
    return add_ignored_header(response)


def _answer(record: VersionRecord, ehr_id: str, status: int, representation: bool = True) -> Response:
    fmt = response_format()  # 406 before anything else is rendered
    if record.document is None:
        response = empty(204)
    elif representation:
        response = _body(record, status, fmt)
    else:
        response = empty(status)
    return set_version_headers(response, record, f"/ehr/{ehr_id}/composition/{record.uid}")


def _incoming() -> RMObject:
    fmt = request_format()
    strict = bool(the_app().config.get("STRICT_JSON"))
    incoming = read_composition(svc(), current_request().get_data(), fmt, template_id_header(), strict=strict)
    note_ignored(incoming.ignored)
    return incoming.composition


@bp.post("/ehr/<ehr_id>/composition")
@documented(
    201,
    400,
    404,
    406,
    409,
    415,
    422,
    503,
    tag="COMPOSITION",
    headers=_WRITE_HEADERS,
    query=("format", "templateId"),
    consumes=_ALL,
    produces=_ALL,
)
def create_composition(ehr_id: str) -> Response:
    """Create a COMPOSITION (canonical JSON/XML, FLAT or STRUCTURED)."""
    eid = ehr_uuid(ehr_id)
    response_format()
    tags = write_tags()
    comp = _incoming()
    record = service.create_composition(svc(), ctx(), eid, comp, tags)
    return set_tag_headers(_answer(record, ehr_id, 201, wants_representation()), tags)


@bp.get("/ehr/<ehr_id>/composition/<uid_based_id>")
@documented(200, 204, 400, 404, 406, tag="COMPOSITION", query=("version_at_time", "format"), produces=_ALL)
def get_composition(ehr_id: str, uid_based_id: str) -> Response:
    """Get a COMPOSITION by version uid, or the latest (or at ``version_at_time``) by object id."""
    at = parse_args(_AT_TIME)["version_at_time"]
    record = service.get_composition(svc(), ctx(), ehr_uuid(ehr_id), uid_based_id, at)
    return _answer(record, ehr_id, 200)


@bp.put("/ehr/<ehr_id>/composition/<uid_based_id>")
@documented(
    200,
    400,
    404,
    406,
    409,
    412,
    415,
    422,
    503,
    tag="COMPOSITION",
    headers=("If-Match", *_WRITE_HEADERS),
    query=("format", "templateId"),
    consumes=_ALL,
    produces=_ALL,
)
def update_composition(ehr_id: str, uid_based_id: str) -> Response:
    """Update a COMPOSITION; ``If-Match`` names the latest version."""
    eid = ehr_uuid(ehr_id)
    preceding = if_match() or ""
    response_format()
    tags = write_tags()
    comp = _incoming()
    record = service.update_composition(svc(), ctx(), eid, uid_based_id, preceding, comp, tags)
    return set_tag_headers(_answer(record, ehr_id, 200, wants_representation()), tags)


@bp.delete("/ehr/<ehr_id>/composition/<uid_based_id>")
@documented(
    204, 400, 404, 409, 412, tag="COMPOSITION", headers=("If-Match", "openEHR-AUDIT_DETAILS"), produces=()
)
def delete_composition(ehr_id: str, uid_based_id: str) -> Response:
    """Delete a COMPOSITION logically; the path names its latest version (or the versioned object, when an
    ``If-Match`` names the latest version)."""
    eid = ehr_uuid(ehr_id)
    expected = if_match(required=False)
    target = version_to_delete(uid_based_id, expected)
    try:
        record = service.delete_composition(svc(), ctx(), eid, target)
    except NotLatestVersion as exc:
        if target == uid_based_id:
            raise
        raise StaleVersion(str(exc), exc.latest_uid) from None  # If-Match was not the latest version
    return set_version_headers(empty(204), record, f"/ehr/{ehr_id}/composition/{record.uid}")


@bp.get("/ehr/<ehr_id>/composition/<uid_based_id>/tags")
@documented(200, 400, 404, tag="ITEM_TAG", produces=(JSON,))
def get_composition_tags(ehr_id: str, uid_based_id: str) -> Response:
    """The ITEM_TAGs of a COMPOSITION version (a version uid) or of the VERSIONED_COMPOSITION (its id)."""
    return item_tags.get_tags("COMPOSITION", ehr_id, uid_based_id)


@bp.put("/ehr/<ehr_id>/composition/<uid_based_id>/tags")
@documented(
    200, 204, 400, 404, 409, 415, tag="ITEM_TAG", headers=("Prefer",), consumes=(JSON,), produces=(JSON,)
)
def put_composition_tags(ehr_id: str, uid_based_id: str) -> Response:
    """Replace the ITEM_TAGs of a COMPOSITION version or VERSIONED_COMPOSITION (an empty list: none)."""
    return item_tags.put_tags("COMPOSITION", ehr_id, uid_based_id)


@bp.delete("/ehr/<ehr_id>/composition/<uid_based_id>/tags/<key>")
@documented(204, 400, 404, 409, tag="ITEM_TAG", produces=())
def delete_composition_tags(ehr_id: str, uid_based_id: str, key: str) -> Response:
    """Delete the ITEM_TAGs with ``key`` of a COMPOSITION version or VERSIONED_COMPOSITION."""
    return item_tags.delete_tags("COMPOSITION", ehr_id, uid_based_id, key)


item_tags.add_item_tag_routes(bp, "composition", "COMPOSITION", "composition")


@bp.get("/ehr/<ehr_id>/versioned_composition/<versioned_object_uid>")
@documented(200, 400, 404, tag="COMPOSITION", produces=(JSON, XML))
def versioned_composition(ehr_id: str, versioned_object_uid: str) -> Response:
    """Get the VERSIONED_COMPOSITION."""
    view = service.versioned_composition(svc(), ctx(), ehr_uuid(ehr_id), versioned_object_uid)
    return rm_response(versioned_object_document(view))


@bp.get("/ehr/<ehr_id>/versioned_composition/<versioned_object_uid>/revision_history")
@documented(200, 400, 404, tag="COMPOSITION", produces=(JSON, XML))
def composition_revision_history(ehr_id: str, versioned_object_uid: str) -> Response:
    """Get the revision history of a composition, oldest version first."""
    view = service.versioned_composition(svc(), ctx(), ehr_uuid(ehr_id), versioned_object_uid)
    return rm_response(revision_history_document(view.versions))


def _version_location(ehr_id: str, record: VersionRecord) -> str:
    return f"/ehr/{ehr_id}/versioned_composition/{record.vo_id}/version/{record.uid}"


@bp.get("/ehr/<ehr_id>/versioned_composition/<versioned_object_uid>/version")
@documented(200, 400, 404, tag="COMPOSITION", query=("version_at_time",), produces=(JSON, XML))
def composition_version_at_time(ehr_id: str, versioned_object_uid: str) -> Response:
    """Get the composition VERSION current at ``version_at_time`` (the latest without it)."""
    at = parse_args(_AT_TIME)["version_at_time"]
    record = service.composition_version(svc(), ctx(), ehr_uuid(ehr_id), versioned_object_uid, at=at)
    return original_version_response(record, _version_location(ehr_id, record))


@bp.get("/ehr/<ehr_id>/versioned_composition/<versioned_object_uid>/version/<version_uid>")
@documented(200, 400, 404, tag="COMPOSITION", produces=(JSON, XML))
def composition_version(ehr_id: str, versioned_object_uid: str, version_uid: str) -> Response:
    """Get a composition VERSION by its version uid."""
    eid = ehr_uuid(ehr_id)
    record = service.composition_version(svc(), ctx(), eid, versioned_object_uid, version_uid)
    return original_version_response(record, _version_location(ehr_id, record))
