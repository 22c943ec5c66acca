"""EHR resource: ``POST /ehr``, ``PUT /ehr/{ehr_id}``, ``GET /ehr/{ehr_id}``, ``GET /ehr?subject_id=...``."""

from __future__ import annotations

from flask import Blueprint, Response

from cdr.api.common import ctx, ehr_uuid, svc
from cdr.api.headers import absolute_url, http_date, quoted, wants_representation
from cdr.api.item_tags import tags_response
from cdr.api.openapi import documented
from cdr.api.representation import JSON, XML, empty, read_rm, rm_response
from cdr.api.schemas import SubjectQuery, parse_args
from cdr.api.schemas.documents import ehr_document
from cdr.api.schemas.item_tags import ehr_tag_filters
from cdr.services import ehr as service
from cdr.services import item_tags
from cdr.services.ehr import EhrView

bp = Blueprint("ehr", __name__)
_HEADERS = ("Prefer", "openEHR-AUDIT_DETAILS")


def _created(view: EhrView) -> Response:
    response = rm_response(ehr_document(view), 201) if wants_representation() else empty(201)
    return _headers(response, view)


def _headers(response: Response, view: EhrView) -> Response:
    response.headers["Location"] = absolute_url(f"/ehr/{view.ehr.ehr_id}")
    response.headers["ETag"] = quoted(str(view.ehr.ehr_id))
    response.headers["Last-Modified"] = http_date(view.ehr.time_created)
    return response


@bp.post("/ehr")
@documented(201, 400, 409, 415, tag="EHR", headers=_HEADERS, consumes=(JSON, XML), produces=(JSON, XML))
def create_ehr() -> Response:
    """Create an EHR, with the EHR_STATUS in the body or a default one."""
    status = read_rm("EHR_STATUS", optional=True, require_type=True)
    return _created(service.create_ehr(svc(), ctx(), status))


@bp.put("/ehr/<ehr_id>")
@documented(201, 400, 409, 415, tag="EHR", headers=_HEADERS, consumes=(JSON, XML), produces=(JSON, XML))
def create_ehr_with_id(ehr_id: str) -> Response:
    """Create an EHR with the given id."""
    status = read_rm("EHR_STATUS", optional=True, require_type=True)
    return _created(service.create_ehr(svc(), ctx(), status, ehr_uuid(ehr_id)))


@bp.get("/ehr/<ehr_id>")
@documented(200, 400, 404, tag="EHR", produces=(JSON, XML))
def get_ehr(ehr_id: str) -> Response:
    """Get an EHR by id."""
    view = service.get_ehr(svc(), ctx(), ehr_uuid(ehr_id))
    return _headers(rm_response(ehr_document(view)), view)


@bp.get("/ehr")
@documented(200, 400, 404, tag="EHR", query=("subject_id", "subject_namespace"), produces=(JSON, XML))
def find_ehr() -> Response:
    """Get the EHR of a subject (one per subject id and namespace)."""
    args = parse_args(SubjectQuery())
    view = service.find_ehr(svc(), ctx(), args["subject_id"], args["subject_namespace"])
    return _headers(rm_response(ehr_document(view)), view)


@bp.get("/ehr/<ehr_id>/tags")
@documented(
    200, 400, 404, tag="ITEM_TAG", query=("tag_key", "tag_value", "tag_target_path"), produces=(JSON,)
)
def get_ehr_tags(ehr_id: str) -> Response:
    """The ITEM_TAGs of every COMPOSITION and EHR_STATUS (version or versioned object) in the EHR, narrowed by
    key, value and path."""
    key, value, path = ehr_tag_filters()
    return tags_response(item_tags.ehr_tags(svc(), ctx(), ehr_uuid(ehr_id), key, value, path))
