"""Query use cases: run AQL (ad hoc or stored), and store, read and list stored queries.

What a client may get wrong is decided here, not in the HTTP layer, so that ``cdr query`` and the REST API
answer alike: AQL that does not parse (every syntax error with its line and column), means nothing, or uses
what this engine does not support is :class:`InvalidQuery` (400); a ``$parameter`` without a value is
:class:`InvalidQuery` naming it; paging that contradicts the query is :class:`PagingConflict` (422, EHRbase's
messages). The RESULT_SET's columns come from the SELECT clause as EHRbase names them (the alias, else
``#<index>``; the path as written for identified paths, none for functions and literals).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aql
from aql import ast
from aql.execute import execute
from cdr.errors import InvalidInput
from cdr.security.query_scope import QueryScope, sql_filter
from cdr.services.aql_params import missing, substitute
from cdr.services.context import Action, RequestContext
from cdr.services.core import Services
from cdr.services.errors import InvalidContent, Issue, Unprocessable
from cdr.storage.engine import read_transaction
from cdr.storage.queries import StoredQueryRecord, StoredQueryStore, VersionPattern, check_name

QUERY_TYPES = ("AQL",)
NAME_PREFIX = re.compile(r"[A-Za-z0-9_.:-]+")
EHR_ID_PARAMETER = "ehr_id"


class InvalidQuery(InvalidContent):
    """AQL that cannot be run as given (400); ``issues`` carries every problem with its position."""


class PagingConflict(Unprocessable):
    """``fetch``/``offset`` that contradict the query or each other (422, as EHRbase answers)."""


@dataclass(frozen=True, slots=True)
class QueryRequest:
    """How to run a query: parameter values, paging, and the EHR a single-EHR query is about."""

    parameters: Mapping[str, Any] = field(default_factory=dict)
    fetch: int | None = None
    offset: int | None = None
    ehr_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Column:
    """A RESULT_SET column: its name, and the AQL path it selects (None for functions and literals)."""

    name: str
    path: str | None


@dataclass(frozen=True, slots=True)
class QueryResult:
    """A RESULT_SET without its HTTP parts (``meta._href`` is the API's)."""

    q: str
    executed_aql: str
    columns: tuple[Column, ...]
    rows: list[list[Any]]
    name: str | None = None
    fetch: int | None = None
    offset: int | None = None
    created: dt.datetime = field(default_factory=lambda: dt.datetime.now().astimezone())


def parse(text: str) -> ast.Query:
    """The AST of ``text``; :class:`InvalidQuery` for AQL that cannot be run at all."""
    try:
        return aql.parse(text)
    except aql.AqlError as exc:
        raise invalid_query(exc) from None


def invalid_query(exc: aql.AqlError) -> InvalidQuery:
    """An AQL error as a 400 whose message and details give the positions the engine reported."""
    if isinstance(exc, aql.AqlSyntaxError):
        issues = [Issue("/q", "AQL_SYNTAX", str(e)) for e in exc.errors]
        first = exc.errors[0].message if exc.errors else "syntax error"
        message = f"invalid AQL: line {exc.line}, column {exc.column}: {first}"
        if len(exc.errors) > 1:
            message += f" (and {len(exc.errors) - 1} more)"
        return InvalidQuery(message, issues)
    if isinstance(exc, aql.AqlTimeout):
        return InvalidQuery(str(exc), [Issue("/q", "AQL_TIMEOUT", f"stopped after {exc.seconds:g} s")])
    if isinstance(exc, aql.AqlTooComplex):
        return InvalidQuery(str(exc), [Issue("/q", "AQL_TOO_COMPLEX", exc.limit)])
    if isinstance(exc, aql.AqlUnsupported):
        return InvalidQuery(str(exc), [Issue("/q", "AQL_UNSUPPORTED", str(exc))])
    return InvalidQuery(f"invalid AQL: {exc}", [Issue("/q", "AQL_SEMANTIC", str(exc))])


def columns(query: ast.Query) -> tuple[Column, ...]:
    """The RESULT_SET columns of ``query``, named and pathed as EHRbase does."""
    out = []
    for index, item in enumerate(query.select.items):
        path = aql.to_aql(item.expression) if isinstance(item.expression, ast.IdentifiedPath) else None
        out.append(Column(item.alias or f"#{index}", path))
    return tuple(out)


def check_paging(query: ast.Query, request: QueryRequest) -> None:
    """EHRbase's rules: ``offset`` needs ``fetch``; neither goes with a LIMIT (or TOP) in the query."""
    if request.offset is not None and request.fetch is None:
        raise PagingConflict("Query parameter for offset provided, but no fetch parameter")
    if (request.fetch is not None or request.offset is not None) and (
        query.limit is not None or query.select.top is not None
    ):
        raise PagingConflict("Query contains a LIMIT clause, fetch and offset parameters must not be used")


def _parameters(query: ast.Query, request: QueryRequest) -> dict[str, Any]:
    """The request's parameter values; the ``ehr_id`` of the request fills ``$ehr_id`` (as EHRbase does)."""
    values = dict(request.parameters)
    if request.ehr_id is not None and EHR_ID_PARAMETER in query.parameters:
        values.setdefault(EHR_ID_PARAMETER, str(request.ehr_id))
    absent = missing(query, values)
    if absent:
        names = ", ".join(f"${name}" for name in absent)
        issues = [Issue(f"/query_parameters/{name}", "PARAMETER", f"no value for ${name}") for name in absent]
        raise InvalidQuery(f"missing query parameter{'s' if len(absent) > 1 else ''}: {names}", issues)
    return values


def _scope(svc: Services, ctx: RequestContext) -> QueryScope:
    """What the caller may read, for the compiler to AND into the statement (docs/security.md, "The
    contract for AQL"): the same decisions REST makes per EHR, taken for all EHRs at once."""
    with read_transaction(svc.storage.engine) as conn:
        return sql_filter(ctx.principal, conn, dt.datetime.now(dt.UTC))


def _audit(
    ctx: RequestContext,
    scope: QueryScope,
    ehr_ids: frozenset[uuid.UUID],
    override_ehr_ids: frozenset[uuid.UUID],
    ehr_id: uuid.UUID | None,
    target: str,
) -> None:
    """The query's audit records: they name the EHRs in the result, so that each patient's access log lists
    the query. An EHR whose data in the result the caller reads only by consent or emergency access (the
    whole EHR, or a composition of it that the statement's hidden column names) gets a record of its own,
    flagged with that decision (the emergency reason, ``consent_override``) and naming its patient; one
    record names the rest (also when there is nothing: a query that found nothing is a query)."""
    flags = scope.flags(ehr_ids, override_ehr_ids)
    plain = tuple(sorted(e for e in ehr_ids if e not in flags))
    if plain or not flags:
        ctx.record(None, Action.READ_EHR, ehr_id, target, ehr_ids=plain)
    for flagged in sorted(flags):
        ctx.record(None, Action.READ_EHR, flagged, target, ehr_ids=(flagged,), decision=flags[flagged])


def run(
    svc: Services, ctx: RequestContext, text: str, request: QueryRequest, *, name: str | None = None
) -> QueryResult:
    """Run AQL ``text``; ``name`` is the stored query's ``name/version`` when it is one.

    ``request.ehr_id`` restricts the query to that EHR (and fills ``$ehr_id``); ``fetch``/``offset`` page it
    and appear in ``executed_aql`` as ``LIMIT``/``OFFSET``, as EHRbase reports them.
    """
    ctx.authorize(Action.READ_EHR, request.ehr_id)
    query = parse(text)
    check_paging(query, request)
    values = _parameters(query, request)
    scope = _scope(svc, ctx)
    try:
        result = execute(
            svc.storage.engine,
            text,
            values,
            request.fetch,
            request.offset,
            request.ehr_id,
            scope,
            timeout=svc.aql_timeout,
            terminology_server=svc.terminology_server,
        )
    except aql.AqlError as exc:
        raise invalid_query(exc) from None
    paged = query
    if request.fetch is not None:
        paged = dataclasses.replace(query, limit=request.fetch, offset=request.offset)
    fetch: int | None = None
    offset: int | None = None
    if paged.limit is not None:
        fetch, offset = paged.limit, paged.offset or 0
    _audit(ctx, scope, result.ehr_ids, result.override_ehr_ids, request.ehr_id, name or "AQL")
    return QueryResult(
        q=text,
        executed_aql=aql.to_aql(substitute(paged, values)),
        columns=columns(query),
        rows=[list(row) for row in result.rows],
        name=name,
        fetch=fetch,
        offset=offset,
    )


# ---------------------------------------------------------------------------------------- stored queries


def _store(svc: Services) -> StoredQueryStore:
    return StoredQueryStore(svc.storage.engine)


def store_query(
    svc: Services, ctx: RequestContext, name: str, version: str | None, text: str, query_type: str = "AQL"
) -> StoredQueryRecord:
    """Store AQL ``text`` as ``name`` at ``version`` (exact, a prefix or None: :mod:`cdr.storage.queries`).

    400 for a bad name, version, query type or AQL (the text must parse, so that running it later fails only
    for missing parameters or data); 409 when the exact version exists.
    """
    ctx.authorize(Action.WRITE_DEFINITION)
    check_name(name)
    pattern = VersionPattern.parse(version)
    kind = query_type.upper()
    if kind not in QUERY_TYPES:
        raise InvalidInput(f"query type {query_type!r} is not supported (only AQL)")
    if not text.strip():
        raise InvalidQuery("the query text is empty", [Issue("/q", "AQL_SYNTAX", "no query given")])
    parse(text)
    record = _store(svc).store(name, pattern, kind, text)
    ctx.record(None, Action.WRITE_DEFINITION, None, f"{record.name}/{record.version}")
    return record


def get_query(svc: Services, ctx: RequestContext, name: str, version: str | None = None) -> StoredQueryRecord:
    """The stored query ``name`` at the latest version matching ``version``; 404 if none."""
    ctx.authorize(Action.READ_DEFINITION)
    return _store(svc).get(check_name(name), VersionPattern.parse(version))


def list_queries(svc: Services, ctx: RequestContext, prefix: str = "") -> list[StoredQueryRecord]:
    """Every version of the stored queries whose names start with ``prefix``."""
    ctx.authorize(Action.READ_DEFINITION)
    if prefix and not NAME_PREFIX.fullmatch(prefix):
        raise InvalidInput(
            f"{prefix!r} cannot start a qualified query name (letters, digits, '_', '.', '-', '::')"
        )
    return _store(svc).list(prefix)


def run_stored(
    svc: Services, ctx: RequestContext, name: str, version: str | None, request: QueryRequest
) -> QueryResult:
    """Run a stored query; the result is named ``name/version`` with the version that ran."""
    ctx.authorize(Action.READ_EHR, request.ehr_id)
    record = _store(svc).get(check_name(name), VersionPattern.parse(version))
    return run(svc, ctx, record.q, request, name=f"{record.name}/{record.version}")
