"""Admin endpoints (admin role only, see :mod:`cdr.api.auth`): physical deletion of an EHR, of one of its
compositions or of its directory, deletion and replacement of unused templates. Paths follow EHRbase's admin
API under the openEHR base path."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from cdr.api.common import ctx, ehr_uuid, svc
from cdr.api.definition import read_opt
from cdr.api.openapi import documented
from cdr.api.representation import XML, empty
from cdr.api.schemas.documents import template_document
from cdr.services import admin as service
from cdr.services import definition

bp = Blueprint("admin", __name__)


@bp.delete("/admin/ehr/<ehr_id>")
@documented(204, 400, 401, 403, 404, tag="ADMIN", produces=())
def delete_ehr(ehr_id: str) -> Response:
    """Delete an EHR physically, with all its versions and contributions."""
    service.delete_ehr(svc(), ctx(), ehr_uuid(ehr_id))
    return empty(204)


@bp.delete("/admin/ehr/<ehr_id>/composition/<uid_based_id>")
@documented(204, 400, 401, 403, 404, tag="ADMIN", produces=())
def erase_composition(ehr_id: str, uid_based_id: str) -> Response:
    """Delete a COMPOSITION physically, with every version (its object id or a version uid)."""
    service.erase(svc(), ctx(), ehr_uuid(ehr_id), "COMPOSITION", uid_based_id)
    return empty(204)


@bp.delete("/admin/ehr/<ehr_id>/directory/<uid_based_id>")
@documented(204, 400, 401, 403, 404, tag="ADMIN", produces=())
def erase_directory(ehr_id: str, uid_based_id: str) -> Response:
    """Delete the EHR's directory (its root FOLDER) physically, with every version."""
    service.erase(svc(), ctx(), ehr_uuid(ehr_id), "FOLDER", uid_based_id)
    return empty(204)


@bp.delete("/admin/template/<template_id>")
@documented(204, 401, 403, 404, 422, tag="ADMIN", produces=())
def delete_template(template_id: str) -> Response:
    """Delete a template that no version uses (422 "is used by" otherwise)."""
    definition.delete_template(svc(), ctx(), template_id)
    return empty(204)


@bp.put("/admin/template/<template_id>")
@documented(200, 400, 401, 403, 404, 415, 422, tag="ADMIN", consumes=(XML,))
def replace_template(template_id: str) -> Response:
    """Replace a template that no version uses by a new OPT with the same id."""
    record = definition.replace_template(svc(), ctx(), template_id, read_opt())
    return jsonify(template_document(record))
