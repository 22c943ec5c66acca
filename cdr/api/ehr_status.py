"""EHR_STATUS and VERSIONED_EHR_STATUS resources."""

from __future__ import annotations

from flask import Blueprint, Response

from cdr.api import item_tags
from cdr.api.common import ctx, ehr_uuid, original_version_response, svc, version_response
from cdr.api.headers import if_match, set_tag_headers, wants_representation, write_tags
from cdr.api.openapi import documented
from cdr.api.representation import JSON, XML, read_rm, rm_response
from cdr.api.schemas import VersionAtTime, parse_args
from cdr.api.schemas.documents import revision_history_document, versioned_object_document
from cdr.services import ehr_status as service

bp = Blueprint("ehr_status", __name__)
_RM = (JSON, XML)


def _location(ehr_id: str, uid: str) -> str:
    return f"/ehr/{ehr_id}/ehr_status/{uid}"


@bp.get("/ehr/<ehr_id>/ehr_status")
@documented(200, 400, 404, tag="EHR_STATUS", query=("version_at_time",), produces=_RM)
def get_status(ehr_id: str) -> Response:
    """Get the current EHR_STATUS, or the one current at ``version_at_time``."""
    at = parse_args(VersionAtTime())["version_at_time"]
    record = service.get_status(svc(), ctx(), ehr_uuid(ehr_id), at)
    return version_response(record, _location(ehr_id, record.uid))


@bp.get("/ehr/<ehr_id>/ehr_status/<version_uid>")
@documented(200, 400, 404, tag="EHR_STATUS", produces=_RM)
def get_status_version(ehr_id: str, version_uid: str) -> Response:
    """Get an EHR_STATUS version by its version uid."""
    record = service.get_status_version(svc(), ctx(), ehr_uuid(ehr_id), version_uid)
    return version_response(record, _location(ehr_id, record.uid))


@bp.put("/ehr/<ehr_id>/ehr_status")
@documented(
    200,
    204,
    400,
    404,
    412,
    415,
    tag="EHR_STATUS",
    headers=(
        "If-Match",
        "Prefer",
        "openEHR-VERSION",
        "openEHR-AUDIT_DETAILS",
        "openehr-item-tag",
        "openehr-version-item-tag",
    ),
    consumes=_RM,
    produces=_RM,
)
def update_status(ehr_id: str) -> Response:
    """Update the EHR_STATUS; ``If-Match`` names the latest version."""
    eid = ehr_uuid(ehr_id)
    preceding = if_match()
    tags = write_tags()
    status = read_rm("EHR_STATUS")
    assert status is not None
    record = service.update_status(svc(), ctx(), eid, preceding or "", status, tags)
    representation = wants_representation()
    location = _location(ehr_id, record.uid)
    answer = version_response(record, location, 200 if representation else 204, body=representation)
    return set_tag_headers(answer, tags)


@bp.get("/ehr/<ehr_id>/versioned_ehr_status")
@documented(200, 400, 404, tag="EHR_STATUS", produces=_RM)
def versioned_status(ehr_id: str) -> Response:
    """Get the VERSIONED_EHR_STATUS."""
    view = service.versioned_status(svc(), ctx(), ehr_uuid(ehr_id))
    return rm_response(versioned_object_document(view))


@bp.get("/ehr/<ehr_id>/versioned_ehr_status/revision_history")
@documented(200, 400, 404, tag="EHR_STATUS", produces=_RM)
def status_revision_history(ehr_id: str) -> Response:
    """Get the revision history of the EHR_STATUS, oldest version first."""
    view = service.versioned_status(svc(), ctx(), ehr_uuid(ehr_id))
    return rm_response(revision_history_document(view.versions))


@bp.get("/ehr/<ehr_id>/versioned_ehr_status/version")
@documented(200, 400, 404, tag="EHR_STATUS", query=("version_at_time",), produces=_RM)
def status_version_at_time(ehr_id: str) -> Response:
    """Get the EHR_STATUS VERSION current at ``version_at_time`` (the latest without it)."""
    at = parse_args(VersionAtTime())["version_at_time"]
    record = service.get_status(svc(), ctx(), ehr_uuid(ehr_id), at)
    return original_version_response(record, f"/ehr/{ehr_id}/versioned_ehr_status/version/{record.uid}")


@bp.get("/ehr/<ehr_id>/versioned_ehr_status/version/<version_uid>")
@documented(200, 400, 404, tag="EHR_STATUS", produces=_RM)
def status_version(ehr_id: str, version_uid: str) -> Response:
    """Get an EHR_STATUS VERSION by its version uid."""
    record = service.get_status_version(svc(), ctx(), ehr_uuid(ehr_id), version_uid)
    return original_version_response(record, f"/ehr/{ehr_id}/versioned_ehr_status/version/{record.uid}")


@bp.get("/ehr/<ehr_id>/ehr_status/<uid_based_id>/tags")
@documented(200, 400, 404, tag="ITEM_TAG", produces=(JSON,))
def get_status_tags(ehr_id: str, uid_based_id: str) -> Response:
    """The ITEM_TAGs of an EHR_STATUS version (a version uid) or of the VERSIONED_EHR_STATUS (its id)."""
    return item_tags.get_tags("EHR_STATUS", ehr_id, uid_based_id)


@bp.put("/ehr/<ehr_id>/ehr_status/<uid_based_id>/tags")
@documented(
    200, 204, 400, 404, 409, 415, tag="ITEM_TAG", headers=("Prefer",), consumes=(JSON,), produces=(JSON,)
)
def put_status_tags(ehr_id: str, uid_based_id: str) -> Response:
    """Replace the ITEM_TAGs of an EHR_STATUS version or VERSIONED_EHR_STATUS (an empty list removes them)."""
    return item_tags.put_tags("EHR_STATUS", ehr_id, uid_based_id)


@bp.delete("/ehr/<ehr_id>/ehr_status/<uid_based_id>/tags/<key>")
@documented(204, 400, 404, 409, tag="ITEM_TAG", produces=())
def delete_status_tags(ehr_id: str, uid_based_id: str, key: str) -> Response:
    """Delete the ITEM_TAGs with ``key`` of an EHR_STATUS version or VERSIONED_EHR_STATUS."""
    return item_tags.delete_tags("EHR_STATUS", ehr_id, uid_based_id, key)


item_tags.add_item_tag_routes(bp, "ehr_status", "EHR_STATUS", "status")
