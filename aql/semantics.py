"""Checks on a parsed query that need no database: variables, TOP against LIMIT, LIMIT bounds.

Variables are compared case-insensitively, as AQL 1.1 says variable names are ("Variables", "Syntax"). Checks
against templates and the RM come later, with the compiler.
"""

from __future__ import annotations

from aql import ast
from aql.errors import AqlSemanticError

# Function names are reserved words ("Reserved words and characters"); the lexer reserves the other keywords.
RESERVED_FUNCTION_NAMES = frozenset(
    {
        "LENGTH", "POSITION", "SUBSTRING", "CONCAT", "CONCAT_WS", "ABS", "MOD", "CEIL", "FLOOR", "ROUND",
        "CURRENT_DATE", "CURRENT_TIME", "CURRENT_DATE_TIME", "NOW", "CURRENT_TIMEZONE",
    }
)  # fmt: skip


def check_query(query: ast.Query) -> None:
    """Raise :class:`AqlSemanticError` for the first problem found."""
    defined = _defined_variables(query)
    for clause, nodes in (
        ("SELECT", query.select.items),
        ("WHERE", query.where),
        ("ORDER BY", query.order_by),
    ):
        for node in ast.walk(nodes):
            if isinstance(node, ast.IdentifiedPath) and node.variable.lower() not in defined:
                raise AqlSemanticError(f"undefined variable '{node.variable}' in {clause}")
    if query.select.top is not None and query.limit is not None:
        raise AqlSemanticError("TOP and LIMIT cannot be used in the same query")
    if query.limit is not None and query.limit < 1:
        raise AqlSemanticError(f"LIMIT must be at least 1, got {query.limit}")


def _defined_variables(query: ast.Query) -> set[str]:
    """The FROM variables. One name declared twice for the same class (``EHR_STATUS s CONTAINS EHR_STATUS
    s``) is accepted, as EHRbase accepts it: nothing can contain itself, so the query has no rows."""
    defined: dict[str, str] = {}
    for expr in query.class_expressions:
        if expr.variable is None:
            continue
        key = expr.variable.lower()
        if key.upper() in RESERVED_FUNCTION_NAMES:
            raise AqlSemanticError(f"variable '{expr.variable}' is a reserved word")
        if key in defined and defined[key] != expr.rm_type.upper():
            raise AqlSemanticError(f"duplicate variable '{expr.variable}' in FROM")
        defined[key] = expr.rm_type.upper()
    return set(defined)
