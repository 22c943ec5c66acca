"""Checks on a parsed query that need no database: variables, TOP against LIMIT, LIMIT/OFFSET/TOP bounds.

Variables are compared case-insensitively, as AQL 1.1 says variable names are ("Variables", "Syntax"). Checks
against templates and the RM come later, with the compiler.
"""

from __future__ import annotations

import dataclasses

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
    top = query.select.top.count if query.select.top is not None else None
    for clause, count in (("LIMIT", query.limit), ("OFFSET", query.offset), ("TOP", top)):
        if count is not None and count >= ast.INT64_LIMIT:  # no database counts rows beyond BIGINT
            largest = ast.INT64_LIMIT - 1
            raise AqlSemanticError(f"{clause} {count} is beyond the largest 64-bit integer ({largest})")


def resolve_order_aliases(query: ast.Query) -> ast.Query:
    """``ORDER BY n`` where ``n`` is no FROM variable but a SELECT item's ``AS`` name: sort by that column.

    AQL 1.1 sorts by identified paths only; SQL users write the alias, and for a computed column (``COUNT(*)
    AS n``, a function) it is the only way to sort by it. A FROM variable of the same name keeps its AQL
    meaning. Aliases match as written, else ignoring case (as variables do); an alias given to two columns
    is ambiguous and left for :func:`check_query` to report as an undefined variable.
    """
    if not query.order_by:
        return query
    defined = _defined_variables(query)
    aliases = [item.alias for item in query.select.items if item.alias]
    resolved: list[ast.OrderBy] = []
    for item in query.order_by:
        path = item.path
        name = path.variable if path is not None and not path.path and path.predicate is None else None
        alias = None if name is None or name.lower() in defined else _alias_named(name, aliases)
        resolved.append(item if alias is None else ast.OrderBy(None, item.descending, alias))
    return dataclasses.replace(query, order_by=tuple(resolved))


def _alias_named(name: str, aliases: list[str]) -> str | None:
    exact = [a for a in aliases if a == name]
    if len(exact) == 1:
        return exact[0]
    folded = [a for a in aliases if a.lower() == name.lower()]
    return folded[0] if len(folded) == 1 else None


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
