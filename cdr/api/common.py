"""Small helpers every blueprint uses: path ids, the request context, version responses."""

from __future__ import annotations

import uuid

from flask import Response

from cdr.api import services
from cdr.api.auth import request_context
from cdr.api.errors import ApiError
from cdr.api.headers import set_version_headers
from cdr.api.representation import empty, rm_response
from cdr.services import RequestContext, Services
from cdr.storage import VersionRecord

__all__ = ["ctx", "ehr_uuid", "services", "version_response"]


def ehr_uuid(value: str) -> uuid.UUID:
    """An ``ehr_id`` path segment; 400 when it is not a UUID (EHRbase's suites expect a 400, not a 404)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ApiError(f"ehr_id {value!r} is not a UUID") from None


def ctx() -> RequestContext:
    return request_context()


def svc() -> Services:
    return services()


def version_response(record: VersionRecord, location: str, status: int = 200, body: bool = True) -> Response:
    """The data of a version (204 when it is a deletion) with its ETag, Last-Modified and Location."""
    if record.data is None or not body:
        response = empty(204 if record.data is None else status)
    else:
        response = rm_response(record.data, status)
    return set_version_headers(response, record, location)


def original_version_response(record: VersionRecord, location: str) -> Response:
    """A whole ORIGINAL_VERSION (its data included) with the version's headers."""
    return set_version_headers(rm_response(record.to_json()), record, location)
