"""AST back to canonical AQL text.

Canonical means one line, upper-case keywords, single-quoted strings, ``!=`` for inequality, explicit ``ASC``,
and parentheses only where precedence needs them (plus around AND/OR under CONTAINS, for the reader). Printing
and parsing again gives an equal AST, which the tests check for every query in the corpus. Dispatch is by node
class name (``_print_<ClassName>``), so a new node type needs one new method and no switch.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aql import ast
from aql.literals import quote

_NODE_ID = re.compile(r"(?:at|id)\d+(?:\.\d+)*", re.ASCII)


def to_aql(node: Any) -> str:
    """Canonical AQL for a :class:`aql.ast.Query` or any node inside one."""
    printer: Callable[[Any], str] | None = getattr(_Printer, f"_print_{type(node).__name__}", None)
    if printer is None:
        raise TypeError(f"not an AQL AST node: {node!r}")
    return printer(node)


class _Printer:
    """One static method per node class; each returns that node's text."""

    # ---- query and clauses

    @staticmethod
    def _print_Query(q: ast.Query) -> str:
        parts = [to_aql(q.select), "FROM", to_aql(q.from_)]
        if q.where is not None:
            parts += ["WHERE", to_aql(q.where)]
        if q.order_by:
            parts += ["ORDER BY", ", ".join(to_aql(o) for o in q.order_by)]
        if q.limit is not None:
            parts += ["LIMIT", str(q.limit)]
            if q.offset is not None:
                parts += ["OFFSET", str(q.offset)]
        return " ".join(parts)

    @staticmethod
    def _print_SelectClause(s: ast.SelectClause) -> str:
        parts = ["SELECT"]
        if s.distinct:
            parts.append("DISTINCT")
        if s.top is not None:
            parts.append(to_aql(s.top))
        parts.append(", ".join(to_aql(i) for i in s.items))
        return " ".join(parts)

    @staticmethod
    def _print_Top(t: ast.Top) -> str:
        return f"TOP {t.count}" + (f" {t.direction}" if t.direction else "")

    @staticmethod
    def _print_SelectItem(i: ast.SelectItem) -> str:
        return to_aql(i.expression) + (f" AS {i.alias}" if i.alias else "")

    @staticmethod
    def _print_OrderBy(o: ast.OrderBy) -> str:
        what = o.alias if o.path is None else to_aql(o.path)
        return f"{what} {'DESC' if o.descending else 'ASC'}"

    # ---- FROM

    @staticmethod
    def _print_ClassExpression(c: ast.ClassExpression) -> str:
        text = c.rm_type + (f" {c.variable}" if c.variable else "")
        return text + (to_aql(c.predicate) if c.predicate is not None else "")

    @staticmethod
    def _print_Contains(c: ast.Contains) -> str:
        inner = to_aql(c.inner)
        if isinstance(c.inner, ast.ContainsAnd | ast.ContainsOr):
            inner = f"({inner})"
        return f"{to_aql(c.outer)} {'NOT CONTAINS' if c.negated else 'CONTAINS'} {inner}"

    @staticmethod
    def _print_ContainsAnd(c: ast.ContainsAnd) -> str:
        return " AND ".join(_wrap(o, ast.Contains | ast.ContainsOr) for o in c.operands)

    @staticmethod
    def _print_ContainsOr(c: ast.ContainsOr) -> str:
        return " OR ".join(_wrap(o, ast.Contains) for o in c.operands)

    # ---- predicates and paths

    @staticmethod
    def _print_ArchetypePredicate(p: ast.ArchetypePredicate) -> str:
        return f"[{_value(p.archetype_id)}]"

    @staticmethod
    def _print_VersionPredicate(p: ast.VersionPredicate) -> str:
        return f"[{p.selector.value}]"

    @staticmethod
    def _print_NodePredicate(p: ast.NodePredicate) -> str:
        head: list[str] = []
        if p.node_id is not None:
            head.append(_value(p.node_id))
            if p.name is not None:
                head[0] += ", " + to_aql(p.name)
        head += [to_aql(c) for c in p.conditions]
        return "[" + " and ".join(head) + "]"

    @staticmethod
    def _print_PredicateCondition(c: ast.PredicateCondition) -> str:
        value = _path(c.value) if isinstance(c.value, tuple) else to_aql(c.value)
        return f"{_path(c.path)}{c.operator.value}{value}"

    @staticmethod
    def _print_TermCode(t: ast.TermCode) -> str:
        if t.terminology_id == "local" and t.value is None and _NODE_ID.fullmatch(t.code_string):
            return t.code_string
        return f"{t.terminology_id}::{t.code_string}" + (f"|{t.value}|" if t.value is not None else "")

    @staticmethod
    def _print_PathStep(s: ast.PathStep) -> str:
        return s.attribute + (to_aql(s.predicate) if s.predicate is not None else "")

    @staticmethod
    def _print_IdentifiedPath(p: ast.IdentifiedPath) -> str:
        text = p.variable + (to_aql(p.predicate) if p.predicate is not None else "")
        return text + ("/" + _path(p.path) if p.path else "")

    # ---- values and functions

    @staticmethod
    def _print_Literal(lit: ast.Literal) -> str:
        if lit.type is ast.AqlType.NULL:
            return "NULL"
        if lit.type is ast.AqlType.BOOLEAN:
            return "true" if lit.value else "false"
        if isinstance(lit.value, str):
            return quote(lit.value)
        return str(lit.value)

    @staticmethod
    def _print_Parameter(p: ast.Parameter) -> str:
        return f"${p.name}"

    @staticmethod
    def _print_FunctionCall(f: ast.FunctionCall) -> str:
        return f"{f.name}({', '.join(to_aql(a) for a in f.arguments)})"

    @staticmethod
    def _print_Aggregate(a: ast.Aggregate) -> str:
        if a.argument is None:
            return f"{a.function}(*)"
        return f"{a.function}({'DISTINCT ' if a.distinct else ''}{to_aql(a.argument)})"

    @staticmethod
    def _print_Terminology(t: ast.Terminology) -> str:
        return f"TERMINOLOGY({quote(t.operation)}, {quote(t.service_api)}, {quote(t.params)})"

    @staticmethod
    def _print_TerminologyUri(u: ast.TerminologyUri) -> str:
        return u.uri

    # ---- WHERE

    @staticmethod
    def _print_Comparison(c: ast.Comparison) -> str:
        return f"{to_aql(c.left)} {c.operator.value} {to_aql(c.right)}"

    @staticmethod
    def _print_Like(lk: ast.Like) -> str:
        return f"{to_aql(lk.operand)} LIKE {to_aql(lk.pattern)}"

    @staticmethod
    def _print_Matches(m: ast.Matches) -> str:
        return f"{to_aql(m.operand)} MATCHES {{{', '.join(to_aql(i) for i in m.items)}}}"

    @staticmethod
    def _print_Exists(e: ast.Exists) -> str:
        return f"EXISTS {to_aql(e.path)}"

    @staticmethod
    def _print_Not(n: ast.Not) -> str:
        return "NOT " + _wrap(n.operand, ast.And | ast.Or)

    @staticmethod
    def _print_And(a: ast.And) -> str:
        return " AND ".join(_wrap(o, ast.Or) for o in a.operands)

    @staticmethod
    def _print_Or(o: ast.Or) -> str:
        return " OR ".join(to_aql(x) for x in o.operands)


def _wrap(node: Any, needs_parens: Any) -> str:
    text = to_aql(node)
    return f"({text})" if isinstance(node, needs_parens) else text


def _path(steps: tuple[ast.PathStep, ...]) -> str:
    return "/".join(to_aql(s) for s in steps)


def _value(v: str | ast.Parameter) -> str:
    return to_aql(v) if isinstance(v, ast.Parameter) else v
