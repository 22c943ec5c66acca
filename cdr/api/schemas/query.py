"""QUERY and stored-query requests and responses: what a client sends (query string or JSON body) and the
RESULT_SET and StoredQuery documents, shaped as EHRbase shapes them.

Requests. ``POST /query/aql`` takes ITS-REST's AdhocQueryExecute body (``q``, ``offset``, ``fetch``,
``query_parameters``; EHRbase's ``query-parameters`` spelling too, and ``ehr_id``); stored-query POSTs take
the same without ``q``. On GET, ``q``, ``offset``, ``fetch`` and ``ehr_id`` are query-string parameters and
every other one is a query parameter (ITS-REST: "they will have specific names ... according to their names in
the query definition"); ``query_parameters`` itself may also carry ``name=value`` pairs or a JSON object.
Values from a query string are strings. ``openEHR-EHR-id`` is read like ``ehr_id``.

Responses. RESULT_SET: ``meta`` (``_href`` for GET only, ``_type`` RESULTSET, ``_schema_version``,
``_created``, ``_generator``, ``_executed_aql``, EHRbase's ``_dry_run`` (always false), ``fetch``/``offset``
when the query was paged, ``resultsize``), ``name`` (stored queries), ``q``, ``columns`` (``path`` then
``name``; no ``path`` for functions and literals) and ``rows``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from flask import request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from aql.ast import INT64_LIMIT
from aql.literals import UntypedText
from cdr import __version__
from cdr.api.errors import ApiError, UnsupportedMediaType
from cdr.api.representation import content_type, is_json
from cdr.services.errors import Issue
from cdr.services.query import QueryRequest, QueryResult
from cdr.storage.queries import StoredQueryRecord

SCHEMA_VERSION = "1.0.3"
"""ITS-REST release whose RESULT_SET this is (``meta._schema_version``)."""

EHR_ID_HEADER = "openEHR-EHR-id"
_PAGING = {"q", "fetch", "offset", "ehr_id", "query_parameters", "query-parameters"}


_ROW_COUNT = validate.Range(min=0, max=INT64_LIMIT - 1)
"""``fetch`` and ``offset``: a count of rows, which the databases take as a 64-bit integer."""


class _Paging(Schema):
    class Meta:
        unknown = EXCLUDE

    fetch = fields.Integer(load_default=None, allow_none=True, strict=False, validate=_ROW_COUNT)
    offset = fields.Integer(load_default=None, allow_none=True, strict=False, validate=_ROW_COUNT)
    ehr_id = fields.UUID(load_default=None, allow_none=True)


class QueryArgs(_Paging):
    """The query string of ``GET /query/...``."""

    q = fields.String(load_default=None)


class QueryBody(_Paging):
    """The JSON body of ``POST /query/...`` (``q`` only for ad hoc queries)."""

    q = fields.String(load_default=None)
    query_parameters = fields.Dict(keys=fields.String(), load_default=None, allow_none=True)

    @pre_load
    def _spellings(self, data: Any, **_kwargs: Any) -> Any:
        """EHRbase reads ``query-parameters`` as well as ITS-REST's ``query_parameters``."""
        if isinstance(data, dict) and "query_parameters" not in data and "query-parameters" in data:
            data = {**data, "query_parameters": data["query-parameters"]}
        return data


def _load(schema: Schema, data: dict[str, Any], where: str) -> dict[str, Any]:
    """``data`` loaded by ``schema``; a 400 naming every bad field otherwise (``?name`` or ``/name``)."""
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as exc:
        messages = exc.normalized_messages()
        details = [
            Issue(f"{where}{name}", "PARAMETER", "; ".join(map(str, m))) for name, m in messages.items()
        ]
        raise ApiError(
            "invalid query request: " + "; ".join(f"{d.path}: {d.message}" for d in details), details=details
        ) from None
    return loaded


def _header_ehr_id(loaded: dict[str, Any]) -> uuid.UUID | None:
    if loaded.get("ehr_id") is not None:
        ehr_id: uuid.UUID = loaded["ehr_id"]
        return ehr_id
    header = request.headers.get(EHR_ID_HEADER)
    if not header:
        return None
    try:
        return uuid.UUID(header)
    except ValueError:
        raise ApiError(f"{EHR_ID_HEADER} {header!r} is not a UUID") from None


def _string_parameters(values: list[str]) -> dict[str, Any]:
    """``query_parameters`` given in a query string: a JSON object, or ``name=value`` pairs."""
    out: dict[str, Any] = {}
    for value in values:
        text = value.strip()
        if text.startswith("{"):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                raise ApiError(f"query_parameters {value!r} is not a JSON object")
            out.update(parsed)
            continue
        pairs = parse_qsl(text, keep_blank_values=True)
        if not pairs:
            raise ApiError(f"query_parameters {value!r} is neither name=value pairs nor a JSON object")
        out.update((name, UntypedText(text)) for name, text in pairs)  # a JSON object's keep their types
    return out


def _has_nul(value: Any) -> bool:
    """Whether a NUL character hides anywhere in a JSON value (PostgreSQL text cannot hold one)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def _checked_query(q: str | None) -> str | None:
    """The query text, unless it holds a NUL character (a string literal with one would reach PostgreSQL)."""
    if q is not None and "\x00" in q:
        raise ApiError(
            "the query contains a NUL character", details=[Issue("q", "PARAMETER", "NUL character")]
        )
    return q


def _checked_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """``parameters`` if every value is one a query can bind: a JSON scalar or a flat list of scalars (for
    ``MATCHES {$list}``), without NUL characters. A list of lists has no AQL type and PostgreSQL refuses a
    NUL in text, so both are the client's error (400), not the compiler's or the driver's."""
    for name, value in parameters.items():
        if _has_nul(name) or _has_nul(value):
            raise ApiError(
                f"query parameter {name!r} contains a NUL character",
                details=[Issue(f"/query_parameters/{name}", "PARAMETER", "NUL character")],
            )
        if isinstance(value, list) and any(isinstance(item, list | dict) for item in value):
            raise ApiError(
                f"query parameter {name!r}: a list parameter holds strings, numbers or booleans, not lists "
                "or objects",
                details=[Issue(f"/query_parameters/{name}", "PARAMETER", "nested list or object in a list")],
            )
    return parameters


def request_from_args() -> tuple[str | None, QueryRequest]:
    """``q`` and how to run it, from the query string of a GET."""
    loaded = _load(QueryArgs(), request.args.to_dict(), "?")
    parameters: dict[str, Any] = {k: UntypedText(v) for k, v in request.args.items() if k not in _PAGING}
    for key in ("query_parameters", "query-parameters"):
        parameters.update(_string_parameters(request.args.getlist(key)))
    run = QueryRequest(
        _checked_parameters(parameters), loaded["fetch"], loaded["offset"], _header_ehr_id(loaded)
    )
    return _checked_query(loaded["q"]), run


def request_from_body(required: bool) -> tuple[str | None, QueryRequest]:
    """``q`` and how to run it, from the JSON body of a POST (no body is allowed unless ``required``)."""
    mimetype = content_type()
    raw = request.get_data(as_text=True)
    if mimetype and not is_json(mimetype) and (raw.strip() or required):
        raise UnsupportedMediaType(f"Content-Type {mimetype!r}: a query is sent as application/json")
    if not raw.strip():
        if required:
            raise ApiError("the request has no body: expected a JSON object with q")
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ApiError(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError("the body must be a JSON object")
    loaded = _load(QueryBody(), data, "/")
    run = QueryRequest(
        _checked_parameters(loaded["query_parameters"] or {}),
        loaded["fetch"],
        loaded["offset"],
        _header_ehr_id(loaded),
    )
    return _checked_query(loaded["q"]), run


def stored_query_text() -> str:
    """The AQL of a ``PUT /definition/query/...``: the plain-text body, or ``q`` of a JSON body."""
    mimetype = content_type()
    raw = request.get_data(as_text=True)
    if is_json(mimetype):
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ApiError(f"the body is not JSON: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("q"), str):
            raise ApiError("a JSON body must be an object with the query text in q")
        text: str = data["q"]
        return _checked_query(text) or ""
    if mimetype and not mimetype.startswith("text/"):
        raise UnsupportedMediaType(
            f"Content-Type {mimetype!r}: a query is sent as text/plain (or JSON with q)"
        )
    return _checked_query(raw) or ""


# ---------------------------------------------------------------------------------------------- responses


def cell(value: Any) -> Any:
    """A result value as JSON: numbers stay numbers (a decimal keeps whether it has a fraction part, so that
    ``52.0`` stays a real as in EHRbase's answers), instants become ISO 8601 text, ids text.

    >>> cell(Decimal("400")), cell(Decimal("52.0")), cell(Decimal("82.5")), cell(uuid.UUID(int=1))
    (400, 52.0, 82.5, '00000000-0000-0000-0000-000000000001')
    """
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [cell(v) for v in value]
    if isinstance(value, dict):
        return {k: cell(v) for k, v in value.items()}
    return value


def cell_default(value: Any) -> Any:
    """What :func:`cell` makes of the values orjson does not write itself (decimals, instants), as its
    ``default``: the cells of an extract are then written without a walk of every value in Python."""
    if isinstance(value, Decimal | dt.datetime | dt.date | dt.time):
        return cell(value)
    raise TypeError(f"{type(value).__name__} is not a result value")


def result_set_document(
    result: QueryResult, href: str | None = None, *, raw_rows: bool = False
) -> dict[str, Any]:
    """The RESULT_SET JSON; ``href`` is given for GET requests only (as EHRbase does). ``raw_rows``: the
    rows as the query gave them, for a writer that applies :func:`cell_default`."""
    meta: dict[str, Any] = {}
    if href is not None:
        meta["_href"] = href
    meta["_type"] = "RESULTSET"
    meta["_schema_version"] = SCHEMA_VERSION
    meta["_created"] = result.created.isoformat(timespec="milliseconds")
    meta["_generator"] = f"cdr/{__version__}"
    meta["_executed_aql"] = result.executed_aql
    meta["_dry_run"] = False  # EHRbase's key (its debugging headers can ask for a run without rows; not here)
    if result.fetch is not None:
        meta["fetch"] = result.fetch
        meta["offset"] = result.offset or 0
    meta["resultsize"] = len(result.rows)
    doc: dict[str, Any] = {"meta": meta}
    if result.name is not None:
        doc["name"] = result.name
    doc["q"] = result.q
    doc["columns"] = [
        {"path": c.path, "name": c.name} if c.path is not None else {"name": c.name} for c in result.columns
    ]
    doc["rows"] = result.rows if raw_rows else [cell(row) for row in result.rows]
    return doc


def stored_query_document(record: StoredQueryRecord) -> dict[str, Any]:
    """ITS-REST's StoredQuery: name, type, version, saved, q."""
    return {
        "name": record.name,
        "type": record.query_type,
        "version": str(record.version),
        "saved": record.saved.astimezone().isoformat(timespec="milliseconds"),
        "q": record.q,
    }
