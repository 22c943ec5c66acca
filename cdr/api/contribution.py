"""CONTRIBUTION resource: several versions committed together, and reading a contribution back."""

from __future__ import annotations

from flask import Blueprint, Response, request

from cdr.api.common import ctx, ehr_uuid, svc
from cdr.api.errors import UnsupportedMediaType
from cdr.api.headers import absolute_url, http_date, quoted, wants_representation
from cdr.api.openapi import documented
from cdr.api.representation import JSON, content_type, empty, is_json, rm_response
from cdr.services import contribution as service
from cdr.storage import ContributionRecord

bp = Blueprint("contribution", __name__)


def _headers(response: Response, ehr_id: str, record: ContributionRecord) -> Response:
    response.headers["Location"] = absolute_url(f"/ehr/{ehr_id}/contribution/{record.contribution_id}")
    response.headers["ETag"] = quoted(str(record.contribution_id))
    response.headers["Last-Modified"] = http_date(record.audit.time_committed)
    return response


@bp.post("/ehr/<ehr_id>/contribution")
@documented(
    201,
    400,
    404,
    409,
    415,
    503,
    tag="CONTRIBUTION",
    headers=("Prefer", "openEHR-AUDIT_DETAILS"),
    consumes=(JSON,),
    produces=(JSON,),
)
def commit_contribution(ehr_id: str) -> Response:
    """Commit a CONTRIBUTION: versions of COMPOSITION, EHR_STATUS and FOLDER, all or nothing."""
    eid = ehr_uuid(ehr_id)
    mimetype = content_type()
    if mimetype and not is_json(mimetype):
        raise UnsupportedMediaType(f"Content-Type {mimetype!r}: a contribution is sent as {JSON}")
    record, _ = service.commit_contribution(svc(), ctx(), eid, request.get_data())
    response = rm_response(record.to_json(), 201) if wants_representation() else empty(201)
    return _headers(response, ehr_id, record)


@bp.get("/ehr/<ehr_id>/contribution/<contribution_uid>")
@documented(200, 400, 404, tag="CONTRIBUTION", produces=(JSON,))
def get_contribution(ehr_id: str, contribution_uid: str) -> Response:
    """Get a CONTRIBUTION by its uid."""
    record = service.get_contribution(svc(), ctx(), ehr_uuid(ehr_id), contribution_uid)
    return _headers(rm_response(record.to_json()), ehr_id, record)
