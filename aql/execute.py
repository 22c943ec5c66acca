"""Running AQL: ``execute(storage, text, ...)`` compiles (cached) and runs ONE statement, then decodes rows.

A REST handler calls it with the request's ``q``, ``query_parameters``, ``fetch``, ``offset`` and (for
``/query/{name}?ehr_id=``) ``ehr_id``, and serialises :meth:`aql.result.ResultSet.to_json` plus ``meta``.
Every problem with the query is an :class:`aql.errors.AqlError` (400, or 422 for fetch/offset misuse as
EHRbase answers: see :class:`PagingError`).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

import aql
from aql.cache import CACHE_SIZE
from aql.compiler import bind_values, compile_query, parameter_kinds
from aql.errors import AqlSemanticError, AqlTimeout, AqlTooComplex
from aql.result import ResultColumn, ResultSet
from aql.terminology import external_answers
from cdr.security.query_scope import QueryScope
from cdr.storage.engine import binary_results, read_transaction, statement_deadline
from cdr.terminology.fhir import FhirTerminologyServer


class PagingError(AqlSemanticError):
    """``fetch``/``offset`` given with a query that has LIMIT, or ``offset`` without ``fetch``.

    EHRbase answers these with 422."""


_SQLITE_LIMITS = ("at most 64 tables in a join", "parser stack overflow", "too many", "too large", "too deep")
"""SQLite's messages for a statement beyond its compiled-in limits (joins, expression depth, variables,
terms, string or BLOB length)."""


def _limit_exceeded(exc: DBAPIError) -> str | None:
    """The database's words when ``exc`` says the statement is beyond one of its limits, else None."""
    cause = exc.orig
    sqlstate = getattr(cause, "sqlstate", None)
    message = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    if isinstance(sqlstate, str):
        return message if sqlstate.startswith("54") else None  # PostgreSQL: program_limit_exceeded
    if isinstance(cause, sqlite3.Error) and any(m in message for m in _SQLITE_LIMITS):
        return message
    return None


def _timed_out(exc: DBAPIError) -> bool:
    """Whether the database stopped the statement at its deadline (see ``statement_deadline``)."""
    cause = exc.orig
    if getattr(cause, "sqlstate", None) == "57014":  # PostgreSQL: query_canceled
        return True
    return isinstance(cause, sqlite3.OperationalError) and str(cause) == "interrupted"


class _HasEngine(Protocol):
    engine: Engine


@lru_cache(maxsize=CACHE_SIZE)
def _shape(query_text: str) -> tuple[tuple[str, ...], bool]:
    """The parameter names of a query and whether it has its own LIMIT (or TOP), by query text: finding
    the names walks the whole AST, which costs more than running a small query's statement."""
    query = aql.parse(query_text)
    return query.parameters, query.limit is not None or query.select.top is not None


def execute(
    storage_or_engine: _HasEngine | Engine,
    query_text: str,
    parameters: Mapping[str, Any] | None = None,
    fetch: int | None = None,
    offset: int | None = None,
    ehr_id: uuid.UUID | str | None = None,
    scope: QueryScope | None = None,
    timeout: float | None = None,
    terminology_server: FhirTerminologyServer | None = None,
) -> ResultSet:
    """Run AQL ``query_text`` and return its result set.

    ``parameters`` binds ``$name`` placeholders (strings, numbers, booleans, or lists for ``MATCHES``);
    ``fetch``/``offset`` page the result (REST style, not together with a LIMIT in the query); ``ehr_id``
    restricts every FROM class to that EHR, so the statement touches only its rows; ``scope`` (from
    :func:`cdr.security.query_scope.sql_filter`) restricts them to what the caller may read, in the same
    statement (None: unrestricted, for trusted in-process callers). The result names the EHRs behind its
    rows (``ehr_ids``, from a hidden column of the same statement), for the audit record, and those whose
    rows hold a composition the scope shows only by consent or emergency access (``override_ehr_ids``).
    ``timeout`` (seconds) stops a statement that runs longer: :class:`~aql.errors.AqlTimeout`.
    ``terminology_server`` answers TERMINOLOGY() calls of other terminologies than openEHR's (without one
    they are not supported).
    """
    engine = storage_or_engine if isinstance(storage_or_engine, Engine) else storage_or_engine.engine
    names, has_limit = _shape(query_text)
    parameters = parameters or {}
    missing = [name for name in names if name not in parameters]
    if missing:
        raise AqlSemanticError(f"no value given for parameter ${missing[0]}")
    if has_limit and (fetch is not None or offset is not None):
        raise PagingError("Query contains a LIMIT clause, fetch and offset parameters must not be used")
    if offset is not None and fetch is None:
        raise PagingError("offset requires fetch")
    used = {name: parameters[name] for name in names}
    answers = external_answers(query_text, terminology_server)
    compiled = compile_query(
        query_text, engine.dialect.name, parameter_kinds(used), ehr_id is not None, scope, answers
    )
    statement = compiled.statement
    if fetch is not None:
        statement = statement.limit(fetch)
        if offset:
            statement = statement.offset(offset)
    values = bind_values(list(compiled.derived), used)
    if ehr_id is not None:
        values["ehr_scope"] = ehr_id
    ehr_ids: set[uuid.UUID] = set()
    override_ehr_ids: set[uuid.UUID] = set()
    try:
        with read_transaction(engine) as conn, binary_results(conn), statement_deadline(conn, timeout):
            raw = conn.execute(statement, values).all()
    except DBAPIError as exc:
        if timeout and _timed_out(exc):
            raise AqlTimeout(timeout) from None
        limit = _limit_exceeded(exc)
        if limit is None:
            raise
        raise AqlTooComplex(limit) from None
    rows = [compiled.decode_row(row) for row in raw]
    for row in raw:
        ehr_ids |= compiled.row_ehr_ids(row)
        if compiled.override_column is not None:
            override_ehr_ids |= compiled.row_override_ehr_ids(row)
    columns = tuple(ResultColumn(c.name, c.path) for c in compiled.columns)
    return ResultSet(
        query_text,
        columns,
        rows,
        fetch=fetch,
        offset=offset,
        ehr_ids=frozenset(ehr_ids),
        override_ehr_ids=frozenset(override_ehr_ids),
    )
