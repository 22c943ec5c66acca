"""QUERY resources (ad hoc and stored AQL) and the DEFINITION resources of stored queries.

``GET|POST /query/aql``, ``GET|POST /query/{qualified_query_name}[/{version}]`` answer a RESULT_SET;
``PUT /definition/query/{qualified_query_name}[/{version}]`` stores a query, ``GET`` of the same reads one
(a partial version resolves to the latest match) and ``GET /definition/query[/{prefix}]`` lists them.
Handlers only read the request (:mod:`cdr.api.schemas.query`), call :mod:`cdr.services.query` and write
the answer.

Emergency access (break-glass) reaches AQL as it reaches a composition read: the
``X-Cdr-Emergency-Reason-Code`` and ``-Text`` headers, both or 400 (checked with authentication,
:mod:`cdr.api.security`), decided by the same policy and recorded as a grant. A reason opens one patient's
record, so a query sending one must name that EHR (``ehr_id`` or ``openEHR-EHR-id``; 400 otherwise): a
population query cannot break the glass.
"""

from __future__ import annotations

from urllib.parse import quote

import orjson
from flask import Blueprint, Response, jsonify, request

from cdr.api.common import ctx, svc
from cdr.api.errors import ApiError
from cdr.api.headers import absolute_url
from cdr.api.openapi import documented
from cdr.api.representation import JSON
from cdr.api.schemas.query import (
    EHR_ID_HEADER,
    cell_default,
    request_from_args,
    request_from_body,
    result_set_document,
    stored_query_document,
    stored_query_text,
)
from cdr.api.security import EMERGENCY_CODE, EMERGENCY_TEXT
from cdr.services import query as service
from cdr.services.query import QueryRequest, QueryResult

bp = Blueprint("query", __name__)

_RUN_ARGS = ("q", "fetch", "offset", "ehr_id", "query_parameters")
_RUN_HEADERS = (EHR_ID_HEADER, EMERGENCY_CODE, EMERGENCY_TEXT)
_TEXT = "text/plain"


_RESULT_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def _answer(result: QueryResult, href: str | None) -> Response:
    """The RESULT_SET written by orjson, which writes ids and JSON itself and hands decimals and instants to
    :func:`cell_default`; an integer beyond 64 bits (orjson refuses it) goes the slower way."""
    try:
        document = result_set_document(result, href, raw_rows=True)
        body = orjson.dumps(document, default=cell_default, option=_RESULT_OPTIONS)
    except TypeError:
        return jsonify(result_set_document(result, href))
    return Response(body + b"\n", mimetype="application/json")


def _href(path: str) -> str | None:
    """``meta._href``: the URL of the executed query, for GET only (EHRbase omits it for POST)."""
    return absolute_url(path) if request.method == "GET" else None


def _one_patient(run: QueryRequest) -> QueryRequest:
    """``run``, unless it sends an emergency reason without naming the one EHR it is for (400)."""
    if run.ehr_id is None and (EMERGENCY_CODE in request.headers or EMERGENCY_TEXT in request.headers):
        raise ApiError(
            "emergency access through AQL opens one patient's record: give ehr_id (or the "
            f"{EHR_ID_HEADER} header) with {EMERGENCY_CODE} and {EMERGENCY_TEXT}"
        )
    return run


def _name_path(name: str, version: str | None = None) -> str:
    return quote(name, safe=":") + (f"/{quote(version, safe='')}" if version is not None else "")


@bp.route("/query/aql", methods=["GET", "POST"])
@documented(200, 400, 415, 422, tag="QUERY", query=_RUN_ARGS, headers=_RUN_HEADERS, consumes=(JSON,))
def execute_adhoc() -> Response:
    """Run an ad hoc AQL query (``q`` in the query string for GET, in the JSON body for POST)."""
    q, run = request_from_args() if request.method == "GET" else request_from_body(required=True)
    if q is None or not q.strip():
        raise ApiError("no query given: q is required", details=[])
    return _answer(service.run(svc(), ctx(), q, _one_patient(run)), _href("/query/aql"))


@bp.route("/query/<name>", methods=["GET", "POST"])
@documented(200, 400, 404, 415, 422, tag="QUERY", query=_RUN_ARGS[1:], headers=_RUN_HEADERS, consumes=(JSON,))
def execute_stored(name: str) -> Response:
    """Run the latest version of a stored query."""
    return _run_stored(name, None)


@bp.route("/query/<name>/<version>", methods=["GET", "POST"])
@documented(200, 400, 404, 415, 422, tag="QUERY", query=_RUN_ARGS[1:], headers=_RUN_HEADERS, consumes=(JSON,))
def execute_stored_version(name: str, version: str) -> Response:
    """Run a stored query at a version (a ``major`` or ``major.minor`` prefix runs the latest match)."""
    return _run_stored(name, version)


def _run_stored(name: str, version: str | None) -> Response:
    _q, run = request_from_args() if request.method == "GET" else request_from_body(required=False)
    result = service.run_stored(svc(), ctx(), name, version, _one_patient(run))
    return _answer(result, _href(f"/query/{_name_path(name, version)}"))


# ------------------------------------------------------------------------------- DEFINITION: stored queries


def _stored(name: str, version: str | None) -> Response:
    record = service.store_query(
        svc(), ctx(), name, version, stored_query_text(), request.args.get("query_type", "AQL")
    )
    response = jsonify(stored_query_document(record))
    response.headers["Location"] = absolute_url(
        f"/definition/query/{_name_path(record.name, str(record.version))}"
    )
    return response


@bp.put("/definition/query/<name>")
@documented(200, 400, 409, 415, tag="DEFINITION", query=("query_type",), consumes=(_TEXT, JSON))
def store_query(name: str) -> Response:
    """Store a query: version 1.0.0 for a new name, else the next patch version of the latest."""
    return _stored(name, None)


@bp.put("/definition/query/<name>/<version>")
@documented(200, 400, 409, 415, tag="DEFINITION", query=("query_type",), consumes=(_TEXT, JSON))
def store_query_version(name: str, version: str) -> Response:
    """Store a query at a version (409 if that version exists; a prefix stores the next version of it)."""
    return _stored(name, version)


@bp.get("/definition/query")
@documented(200, tag="DEFINITION")
def list_all_queries() -> Response:
    """List every version of every stored query."""
    return jsonify([stored_query_document(r) for r in service.list_queries(svc(), ctx())])


@bp.get("/definition/query/<name>")
@documented(200, tag="DEFINITION")
def list_queries(name: str) -> Response:
    """List every version of the stored queries whose names start with ``name``."""
    return jsonify([stored_query_document(r) for r in service.list_queries(svc(), ctx(), name)])


@bp.get("/definition/query/<name>/<version>")
@documented(200, 400, 404, tag="DEFINITION")
def get_query(name: str, version: str) -> Response:
    """A stored query at a version (a prefix gives the latest matching version)."""
    return jsonify(stored_query_document(service.get_query(svc(), ctx(), name, version)))
