"""DIRECTORY resource: an EHR's versioned root FOLDER."""

from __future__ import annotations

from flask import Blueprint, Response

from cdr.api.common import ctx, ehr_uuid, svc
from cdr.api.headers import if_match, set_version_headers, wants_representation
from cdr.api.openapi import documented
from cdr.api.representation import JSON, XML, empty, read_rm, rm_response
from cdr.api.schemas import DirectoryQuery, parse_args
from cdr.rm.base import RMObject
from cdr.services import directory as service
from cdr.services.directory import sub_folder
from cdr.storage import VersionRecord

bp = Blueprint("directory", __name__)
_RM = (JSON, XML)
_WRITE = ("Prefer", "openEHR-VERSION", "openEHR-AUDIT_DETAILS")


def _location(ehr_id: str, record: VersionRecord) -> str:
    return f"/ehr/{ehr_id}/directory/{record.uid}"


def _folder() -> RMObject:
    folder = read_rm("FOLDER")
    assert folder is not None  # read_rm raises for an empty body unless optional
    return folder


def _written(record: VersionRecord, ehr_id: str, status: int) -> Response:
    if wants_representation():
        assert record.data is not None
        return set_version_headers(rm_response(record.data, status), record, _location(ehr_id, record))
    return set_version_headers(empty(status if status == 201 else 204), record, _location(ehr_id, record))


def _read(record: VersionRecord, ehr_id: str, path: str | None) -> Response:
    if record.data is None:
        return set_version_headers(empty(204), record, _location(ehr_id, record))
    folder = sub_folder(record.data, path)
    return set_version_headers(rm_response(folder), record, _location(ehr_id, record))


@bp.post("/ehr/<ehr_id>/directory")
@documented(201, 400, 404, 409, 415, tag="DIRECTORY", headers=_WRITE, consumes=_RM, produces=_RM)
def create_directory(ehr_id: str) -> Response:
    """Create the EHR's directory (root FOLDER)."""
    eid = ehr_uuid(ehr_id)
    record = service.create_directory(svc(), ctx(), eid, _folder())
    return _written(record, ehr_id, 201)


@bp.put("/ehr/<ehr_id>/directory")
@documented(
    200,
    204,
    400,
    404,
    409,
    412,
    415,
    tag="DIRECTORY",
    headers=("If-Match", *_WRITE),
    consumes=_RM,
    produces=_RM,
)
def update_directory(ehr_id: str) -> Response:
    """Update the directory; ``If-Match`` names its latest version."""
    eid = ehr_uuid(ehr_id)
    preceding = if_match() or ""
    record = service.update_directory(svc(), ctx(), eid, preceding, _folder())
    return _written(record, ehr_id, 200)


@bp.delete("/ehr/<ehr_id>/directory")
@documented(
    204, 400, 404, 409, 412, tag="DIRECTORY", headers=("If-Match", "openEHR-AUDIT_DETAILS"), produces=()
)
def delete_directory(ehr_id: str) -> Response:
    """Delete the directory logically; ``If-Match`` names its latest version."""
    eid = ehr_uuid(ehr_id)
    record = service.delete_directory(svc(), ctx(), eid, if_match() or "")
    return set_version_headers(empty(204), record, _location(ehr_id, record))


@bp.get("/ehr/<ehr_id>/directory")
@documented(200, 204, 400, 404, tag="DIRECTORY", query=("version_at_time", "path"), produces=_RM)
def get_directory(ehr_id: str) -> Response:
    """Get the directory (or the sub-folder at ``path``), latest or at ``version_at_time``."""
    args = parse_args(DirectoryQuery())
    record = service.get_directory(svc(), ctx(), ehr_uuid(ehr_id), at=args["version_at_time"])
    return _read(record, ehr_id, args["path"])


@bp.get("/ehr/<ehr_id>/directory/<version_uid>")
@documented(200, 204, 400, 404, tag="DIRECTORY", query=("path",), produces=_RM)
def get_directory_version(ehr_id: str, version_uid: str) -> Response:
    """Get a directory version (or the sub-folder at ``path`` in it)."""
    args = parse_args(DirectoryQuery())
    record = service.get_directory(svc(), ctx(), ehr_uuid(ehr_id), version_uid=version_uid)
    return _read(record, ehr_id, args["path"])
