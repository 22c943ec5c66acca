"""One JSON error shape for every failure, with the status picked from the exception type.

Every error response is ``{"error": <reason phrase>, "status": <code>, "message": <what and where>,
"details": [{"path", "code", "message", "constraint_path"?}, ...], "validationErrors": [<text>, ...]}``;
``details`` is empty when there is nothing more specific than the message, and lists every issue for
validation failures (422) and unreadable documents (400). ``validationErrors`` repeats the details as
``"path: message"`` texts because ITS-REST 1.0.3's ``Error`` schema (the 400 answers of COMPOSITION and
CONTRIBUTION) requires ``message`` and ``validationErrors``; ``error`` and ``message`` are what EHRbase sends.
:func:`error_body` is the only place the shape is built.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from cdr.errors import (
    CdrError,
    Conflict,
    FormatError,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    TemplateError,
    Unavailable,
)
from cdr.services.errors import (
    Forbidden,
    InvalidContent,
    Issue,
    NotLatestVersion,
    TerminologyUnavailable,
    Unauthenticated,
    Unprocessable,
)
from cdr.storage import StaleVersion
from cdr.template.issues import ValidationIssue

log = logging.getLogger(__name__)


class ApiError(CdrError):
    """An HTTP-level problem with the request itself (headers, media types, parameters)."""

    status = 400

    def __init__(self, message: str, status: int | None = None, details: Sequence[Issue] = ()) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.details = list(details)


class UnsupportedMediaType(ApiError):
    status = 415


class NotAcceptable(ApiError):
    status = 406


# Most specific first: the first class an exception is an instance of decides its status.
STATUS_BY_TYPE: tuple[tuple[type[CdrError], int], ...] = (
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (PreconditionFailed, 412),
    (Conflict, 409),
    (Unprocessable, 422),
    (InvalidInput, 400),
    (Unavailable, 503),
)


def status_of(exc: CdrError) -> int:
    if isinstance(exc, ApiError):
        return exc.status
    for cls, status in STATUS_BY_TYPE:
        if isinstance(exc, cls):
            return status
    return 500


def details_of(exc: CdrError) -> list[dict[str, Any]]:
    """The structured issues an exception carries, as JSON."""
    if isinstance(exc, ApiError):
        return [i.to_json() for i in exc.details]
    if isinstance(exc, Unprocessable | InvalidContent | TerminologyUnavailable):
        return [i.to_json() for i in exc.issues]
    if isinstance(exc, FormatError):
        return [Issue(exc.path, "FORMAT", exc.reason).to_json()]
    if isinstance(exc, TemplateError):
        return [Issue("/", "OPT", reason).to_json() for reason in exc.reasons]
    return []


def issue_of(issue: ValidationIssue) -> Issue:
    """A template validation issue as a response detail."""
    return Issue(issue.path, str(issue.code), issue.message, issue.constraint_path or None)


def error_body(status: int, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The single error shape."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    details = details or []
    texts = [f"{d['path']}: {d['message']}" if d.get("path") else str(d["message"]) for d in details]
    return {
        "error": phrase,
        "status": status,
        "message": message,
        "details": details,
        "validationErrors": texts,
    }


def error_response(status: int, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    response = jsonify(error_body(status, message, details))
    response.status_code = status
    return response


def _stale_location(latest_uid: str) -> str | None:
    """Where the latest version lives, for the 412 answer (ITS-REST: SHOULD send it in Location and ETag)."""
    from cdr.api.headers import absolute_url  # headers imports this module's ApiError

    parts = request.path.split("/")
    for kind in ("composition", "ehr_status", "directory"):
        if kind in parts:
            prefix = "/".join(parts[: parts.index(kind) + 1])
            return absolute_url(f"{prefix}/{latest_uid}", raw=True)
    return None


def handle_cdr_error(exc: CdrError) -> Response:
    status = status_of(exc)
    response = error_response(status, exc.message, details_of(exc))
    if isinstance(exc, StaleVersion | NotLatestVersion):
        response.headers["ETag"] = f'"{exc.latest_uid}"'
        location = _stale_location(exc.latest_uid)
        if location:
            response.headers["Location"] = location
    if isinstance(exc, Unavailable):
        response.headers["Retry-After"] = "30"  # the terminology server may be back by then
    if status >= 500:
        log.error("request %s %s failed: %s", request.method, request.path, exc.message)
    return response


def handle_http_error(exc: HTTPException) -> Response:
    """Routing errors (unknown URL 404, wrong method 405, ...) in the same shape."""
    status = exc.code or 500
    message = exc.description or HTTPStatus(status).phrase
    if status == 404:
        message = f"no resource at {request.path}"
    elif status == 405:
        message = f"{request.method} is not allowed on {request.path}"
    response = error_response(status, message)
    if status == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def handle_too_deep(exc: RecursionError) -> Response:
    """A body nested deeper than the parsers recurse (``[[[[...]]]]`` JSON, AQL parentheses) is the client's
    fault, not a server failure: 400 in the error shape. The stack has unwound by the time this runs."""
    log.warning("request %s %s nested too deeply: %s", request.method, request.path, exc)
    return error_response(400, "the request is nested too deeply to be processed")


def handle_unexpected(exc: Exception) -> Response:
    """Anything unplanned: logged with its traceback, answered 500 without internals."""
    if isinstance(exc, HTTPException):
        return handle_http_error(exc)
    log.exception("unhandled error in %s %s", request.method, request.path)
    return error_response(500, "internal server error")


def init_app(app: Flask) -> None:
    app.register_error_handler(CdrError, handle_cdr_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(RecursionError, handle_too_deep)
    app.register_error_handler(Exception, handle_unexpected)
