"""AQL to SQL: one statement per query and dialect (``base`` + ``postgres`` / ``sqlite`` overrides).

:func:`compile_query` is cached on (query text, dialect, parameter kinds, EHR scoping, the caller's query
scope): the statement
binds every literal and parameter, so one compiled statement serves every execution with the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import aql
from aql.compiler.base import CompiledQuery, Compiler
from aql.compiler.binds import bind_values, kind_of
from aql.compiler.postgres import PostgresCompiler
from aql.compiler.sqlite import SqliteCompiler
from aql.errors import AqlUnsupported
from aql.terminology import Answers
from cdr.security.query_scope import QueryScope

DIALECTS: dict[str, type[Compiler]] = {"postgresql": PostgresCompiler, "sqlite": SqliteCompiler}
CACHE_SIZE = 512

__all__ = ["DIALECTS", "CompiledQuery", "Compiler", "bind_values", "compile_query", "parameter_kinds"]


def parameter_kinds(parameters: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """The cache-key part of the parameters: each name with the kind of its value."""
    return tuple(sorted((name, kind_of(value)) for name, value in (parameters or {}).items()))


def compile_query(
    text: str,
    dialect: str,
    kinds: tuple[tuple[str, str], ...] = (),
    ehr_scoped: bool = False,
    query_scope: QueryScope | None = None,
    answers: Answers = (),
) -> CompiledQuery:
    """The compiled statement for AQL ``text`` on ``dialect`` (``postgresql`` or ``sqlite``), cached.

    ``query_scope`` (the caller's readable EHRs and hidden compositions, :mod:`cdr.security.query_scope`)
    is compiled into the statement, so it is part of the cache key: one caller's statement never serves
    another whose scope differs. So are ``answers``, a terminology server's answers to the query's calls of
    other terminologies (:func:`aql.terminology.external_answers`): a value set that changed compiles anew.
    """
    if dialect not in DIALECTS:
        raise AqlUnsupported(f"database dialect {dialect}")
    return _compile(text, dialect, kinds, ehr_scoped, query_scope, answers)


@lru_cache(maxsize=CACHE_SIZE)
def _compile(
    text: str,
    dialect: str,
    kinds: tuple[tuple[str, str], ...],
    ehr_scoped: bool,
    query_scope: QueryScope | None,
    answers: Answers,
) -> CompiledQuery:
    query = aql.parse(text)
    return DIALECTS[dialect](dict(kinds), ehr_scoped, query_scope, answers).compile(query)


def clear_cache() -> None:
    _compile.cache_clear()
