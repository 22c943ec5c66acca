"""AQL ``$parameters`` as the query service sees them: which are missing, and the query with their values in.

The executor binds parameter values as SQL bind parameters; this module only serves what a client is told:
a 400 naming every parameter without a value, and the RESULT_SET's ``meta._executed_aql``, which EHRbase
fills with the query as run (parameters substituted, ``fetch``/``offset`` as ``LIMIT``/``OFFSET``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from aql import ast
from aql.literals import string_type


def missing(query: ast.Query, parameters: Mapping[str, Any]) -> list[str]:
    """The names of the parameters ``query`` uses that ``parameters`` gives no value for, in query order."""
    return [name for name in query.parameters if name not in parameters]


def literal(value: Any) -> ast.Literal:
    """A parameter value as the AQL literal it stands for (a string is typed by its ISO 8601 form).

    >>> literal(38.5)
    Literal(value=Decimal('38.5'), type=<AqlType.REAL: 'REAL'>)
    >>> literal("2024-01-02").type
    <AqlType.DATE: 'DATE'>
    """
    if value is None:
        return ast.Literal(None, ast.AqlType.NULL)
    if isinstance(value, bool):
        return ast.Literal(value, ast.AqlType.BOOLEAN)
    if isinstance(value, int):
        return ast.Literal(value, ast.AqlType.INTEGER)
    if isinstance(value, float | Decimal):
        return ast.Literal(Decimal(str(value)), ast.AqlType.REAL)
    text = str(value)
    return ast.Literal(text, string_type(text))


def substitute(query: ast.Query, parameters: Mapping[str, Any]) -> ast.Query:
    """``query`` with every parameter that has a value replaced by it.

    A list value stands for several items where the grammar allows a list (``MATCHES {$codes}``); an
    archetype or node id parameter becomes that id. Parameters without a value, and list values where no
    list may stand, are left as they are.
    """
    result = _substitute(query, parameters)
    assert isinstance(result, ast.Query)
    return result


def _substitute(node: Any, parameters: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Parameter):
        value = parameters.get(node.name)
        if node.name not in parameters or isinstance(value, list | tuple | dict):
            return node
        return literal(value)
    if isinstance(node, tuple):
        return tuple(_substitute(item, parameters) for item in node)
    if isinstance(node, ast.Matches):
        return ast.Matches(_substitute(node.operand, parameters), tuple(_items(node.items, parameters)))
    if isinstance(node, ast.ArchetypePredicate | ast.NodePredicate):
        node = _with_id(node, parameters)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        changes = {}
        for f in dataclasses.fields(node):
            child = getattr(node, f.name)
            if isinstance(child, tuple | ast.Parameter) or dataclasses.is_dataclass(child):
                changes[f.name] = _substitute(child, parameters)
        return dataclasses.replace(node, **changes) if changes else node
    return node


def _items(items: tuple[Any, ...], parameters: Mapping[str, Any]) -> list[Any]:
    """The items of a MATCHES list; a list-valued parameter expands to one literal per element."""
    out: list[Any] = []
    for item in items:
        value = parameters.get(item.name) if isinstance(item, ast.Parameter) else None
        if isinstance(value, list | tuple):
            out += [literal(v) for v in value]
        else:
            out.append(_substitute(item, parameters))
    return out


def _with_id(
    node: ast.ArchetypePredicate | ast.NodePredicate, parameters: Mapping[str, Any]
) -> ast.ArchetypePredicate | ast.NodePredicate:
    """An archetype or node id given as a parameter is an id, not a quoted string."""
    if isinstance(node, ast.ArchetypePredicate):
        ident = node.archetype_id
        if isinstance(ident, ast.Parameter) and isinstance(parameters.get(ident.name), str):
            return dataclasses.replace(node, archetype_id=parameters[ident.name])
        return node
    node_id = node.node_id
    if isinstance(node_id, ast.Parameter) and isinstance(parameters.get(node_id.name), str):
        return dataclasses.replace(node, node_id=parameters[node_id.name])
    return node
