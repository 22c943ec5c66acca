"""The AQL engine: AQL 1.1 text to a typed, immutable AST (and, later, to SQL).

``parse(text)`` is the entry point; ``to_aql(query)`` prints a query back as canonical AQL. Errors derive from
:class:`AqlError`: :class:`AqlSyntaxError` (with every error's line and column), :class:`AqlSemanticError` and
:class:`AqlUnsupported`.
"""

from __future__ import annotations

from aql.ast import Query
from aql.cache import cached_parse
from aql.errors import (
    AqlError,
    AqlSemanticError,
    AqlSyntaxError,
    AqlTimeout,
    AqlTooComplex,
    AqlUnsupported,
    SyntaxIssue,
)
from aql.format import to_aql

__all__ = [
    "AqlError",
    "AqlSemanticError",
    "AqlSyntaxError",
    "AqlTimeout",
    "AqlTooComplex",
    "AqlUnsupported",
    "Query",
    "SyntaxIssue",
    "parse",
    "to_aql",
]


def parse(text: str) -> Query:
    """Parse AQL ``text`` into a :class:`Query` (cached by text; the result is immutable and shared).

    Raises :class:`AqlSyntaxError` listing every syntax error, :class:`AqlSemanticError` for undefined or
    duplicate variables and the like, :class:`AqlUnsupported` for functions this engine does not know.
    """
    return cached_parse(text)
