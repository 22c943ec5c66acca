"""WHERE: comparisons, LIKE, MATCHES, EXISTS and the logical operators, plus predicates in FROM and paths.

A comparison with a literal or parameter picks the value's projection by the literal's type: numbers
compare as numbers, DATE/DATE_TIME strings as instants (the literal is parsed in Python for typed columns,
or both sides go through the dialect's text-to-instant function), other strings as text, booleans as
booleans. Two paths compare kind by kind (numbers with numbers, text with text, ...).
"""

# mypy: disable-error-code="misc"
# (the mixins annotate ``self`` as the Compiler they are mixed into)
from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from aql import ast
from aql.compiler import leaf as leaf_mod
from aql.compiler import rm_model
from aql.compiler.binds import Scalar
from aql.compiler.scope import Binding, Scope
from aql.compiler.values import JsonValue, Value
from aql.errors import AqlSemanticError, AqlUnsupported
from cdr.numerals import is_digits
from cdr.rm.data_types.iso8601 import seconds_if_duration
from cdr.storage.leaf_values import code_key, instant
from cdr.storage.types import UtcDateTime

if TYPE_CHECKING:
    from aql.compiler.base import Compiler

Cond = sa.ColumnElement[bool]

OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
FLIP = {"=": "=", "!=": "!=", ">": "<", ">=": "<=", "<": ">", "<=": ">="}
JSON_KIND_ORDER = {"text": 1, "number": 2, "bool": 3}
"""PostgreSQL's order of jsonb kinds (string < number < boolean), by which EHRbase compares across them."""
PRIMITIVE_KIND = {"str": "text", "int": "number", "float": "number", "bool": "bool"}


def _python_compare(op: str, a: Any, b: Any) -> bool:
    try:
        return bool(OPS[op](a, b))
    except TypeError:
        return False


def _code_key(value: Any) -> str:
    return code_key(str(value))


def _untyped_boolean(value: Any) -> bool:
    """A query-string ``true``/``false`` (any case) as the boolean it reads as."""
    return str(value).strip().lower() == "true"


def _to_instant(value: Any) -> Any:
    return instant(str(value)) if value is not None else None


def _full_date(value: Any) -> Any:
    """A partial ISO date padded to its start ('2021' -> '2021-01-01'), so partial dates compare sensibly."""
    text = str(value)
    if len(text) == 4 and is_digits(text):
        return text + "-01-01"
    if len(text) == 7 and text[4] == "-":
        return text + "-01"
    return text


class ConditionMixin:
    """Compiles conditions to SQL boolean expressions."""

    def condition(self: Compiler, cond: ast.Condition, scope: Scope) -> Cond:
        if isinstance(cond, ast.And):
            return sa.and_(*(self.condition(c, scope) for c in cond.operands))
        if isinstance(cond, ast.Or):
            return sa.or_(*(self.condition(c, scope) for c in cond.operands))
        if isinstance(cond, ast.Not):
            return sa.not_(self.condition(cond.operand, scope))
        if isinstance(cond, ast.Comparison):
            return self.comparison(cond.left, cond.operator.value, cond.right, scope)
        if isinstance(cond, ast.Like):
            return self.like(cond, scope)
        if isinstance(cond, ast.Matches):
            return self.matches(cond, scope)
        if isinstance(cond, ast.Exists):
            return self.exists(cond, scope)
        if isinstance(cond, ast.FunctionCall):
            value = self.function_value(cond, scope)
            expr = value.projection("bool")
            if expr is None:
                raise AqlSemanticError(f"{cond.name}() is not a condition")
            return expr == sa.true()
        raise AqlUnsupported(f"condition {type(cond).__name__}")  # pragma: no cover

    # ---------------------------------------------------------------------------------- comparisons

    def operand(self: Compiler, expr: ast.Expression, scope: Scope) -> Value | Scalar:
        if isinstance(expr, ast.Literal | ast.Parameter):
            return self.binds.scalar(expr)
        if isinstance(expr, ast.Terminology):
            return self.terminology_scalar(expr)
        return self.expression_value(expr, scope)

    def comparison(
        self: Compiler, left: ast.Expression, op: str, right: ast.Expression, scope: Scope
    ) -> Cond:
        a, b = self.operand(left, scope), self.operand(right, scope)
        if isinstance(a, Scalar) and isinstance(b, Scalar):
            if a.parameter is None and b.parameter is None:
                return sa.true() if _python_compare(op, a.value, b.value) else sa.false()
            a_value = self.scalar_value(a)
            return self.compare_scalar(a_value, op, b) if True else sa.false()
        if isinstance(a, Scalar):
            a, b, op = b, a, FLIP[op]
        assert isinstance(a, Value)
        if isinstance(b, Scalar):
            return self.compare_scalar(a, op, b)
        return self.compare_values(a, op, b)

    def compare_scalar(self: Compiler, value: Value, op: str, scalar: Scalar) -> Cond:
        hook = getattr(value, "compare_hook", None)
        if hook is not None:
            result = hook(op, scalar)
            if result is not None:
                return result
        if scalar.type == ast.AqlType.NULL:
            expr = value.outputs()[0]
            return expr.is_(None) if op == "=" else expr.is_not(None)
        fn = OPS[op]
        if scalar.untyped:
            return self.compare_untyped(value, fn, scalar)
        if isinstance(value, JsonValue) and "whole_type" in value.leaf:
            return self.compare_whole(value, fn, scalar)
        same = self._compare_kind(value, op, scalar)
        return self._across_kinds(value, op, scalar, same) if isinstance(value, JsonValue) else same

    def _compare_kind(self: Compiler, value: Value, op: str, scalar: Scalar) -> Cond:
        """The comparison with a value of the literal's own kind (number, boolean, instant, code, text)."""
        fn = OPS[op]
        if scalar.is_number:
            return self._typed(value, "number", fn, self.binds.bind(scalar, float, sa.Float()))
        if scalar.type == ast.AqlType.BOOLEAN:
            return self._typed(value, "bool", fn, self.binds.bind(scalar, bool, sa.Boolean()))
        if scalar.is_temporal and value.projection("instant") is not None:
            if value.instant_is_column():
                bound = self.binds.bind(scalar, _to_instant, UtcDateTime())
                return self._typed(value, "instant", fn, bound)
            if scalar.type == ast.AqlType.DATE_TIME or op not in ("=", "!="):
                text = self.binds.bind(scalar, _full_date, sa.String())
                return self._typed(value, "instant", fn, self.text_instant(text))
        if isinstance(value, JsonValue) and "code" in value.leaf and op in ("=", "!="):
            # the column holds a long code as its key: compare the literal's key
            return self._typed(value, "code", fn, self.binds.bind(scalar, _code_key, sa.String()))
        text = self._typed(value, "text", fn, self.binds.bind(scalar, str, sa.String()))
        if scalar.type == ast.AqlType.STRING and isinstance(value, JsonValue) and "duration" in value.leaf:
            # a DV_DURATION's ISO 8601 text against a duration: by length, as the whole DV_DURATION compares
            # (``value/value BETWEEN 'P50Y' AND 'P100Y'`` holds for P65Y5M2D, which text order denies); a
            # literal that is no duration compares as text, so 'PT10S' != 'x' holds
            column, guard = value.leaf["duration"]
            length = self.binds.bind(scalar, seconds_if_duration, sa.Float())
            by_length = sa.and_(sa.func.coalesce(guard, sa.false()), sa.cast(length, sa.Float()).is_not(None))
            return sa.or_(sa.and_(by_length, fn(column, length)), sa.and_(sa.not_(by_length), text))
        return text

    def _across_kinds(self: Compiler, value: JsonValue, op: str, scalar: Scalar, same: Cond) -> Cond:
        """A path's JSON value of another kind than the literal, compared as EHRbase compares them: by
        PostgreSQL's jsonb order of kinds, every string before every number before every boolean. So
        ``value/value < 10`` holds for each text value, ``magnitude < false`` for each number and
        ``!= 2`` for each value that is not a number; ``=`` never holds across kinds. The spec leaves such
        comparisons open. Only kinds the path's RM attribute can have are tried (``magnitude`` is always a
        number), so a comparison of one kind keeps its plain, indexable SQL."""
        mine = "number" if scalar.is_number else "bool" if scalar.type == ast.AqlType.BOOLEAN else "text"
        if op == "=":
            return same
        if op == "!=":
            others = [kind for kind in JSON_KIND_ORDER if kind != mine]
        elif op in ("<", "<="):
            others = [kind for kind in JSON_KIND_ORDER if JSON_KIND_ORDER[kind] < JSON_KIND_ORDER[mine]]
        else:
            others = [kind for kind in JSON_KIND_ORDER if JSON_KIND_ORDER[kind] > JSON_KIND_ORDER[mine]]
        if value.primitives is not None:
            possible = {PRIMITIVE_KIND.get(p, "text") for p in value.primitives}
            others = [kind for kind in others if kind in possible]
        projected = [value.projection(kind) for kind in others]
        branches = [expr.is_not(None) for expr in projected if expr is not None]
        return sa.or_(same, *branches) if branches else same

    def compare_untyped(self: Compiler, value: Value, fn: Callable[[Any, Any], Any], scalar: Scalar) -> Cond:
        """A query-string value that reads as a number (``?x=36``) or a boolean (``?x=true``) against a
        path: as that kind where the value is of it, as text where it is text (each projection is NULL for
        the other kind). A typed leaf column keeps its own guard (and its index); a projection's NULL
        becomes false, so that a value of the one kind is never left unknown by the other's branch (``NOT``
        stays exact)."""
        number = scalar.untyped == "number"
        if isinstance(value, JsonValue) and "whole_type" in value.leaf:
            return self.compare_whole(value, fn, replace(scalar, type=ast.AqlType.REAL) if number else scalar)
        typed = ("number", float, sa.Float()) if number else ("bool", _untyped_boolean, sa.Boolean())
        branches = []
        for kind, transform, type_ in (typed, ("text", str, sa.String())):
            cond = self._typed(value, kind, fn, self.binds.bind(scalar, transform, type_))
            typed_leaf = isinstance(value, JsonValue) and kind in value.leaf
            branches.append(cond if typed_leaf else sa.func.coalesce(cond, sa.false()))
        return sa.or_(*branches)

    def compare_whole(
        self: Compiler, value: JsonValue, fn: Callable[[Any, Any], Any], scalar: Scalar
    ) -> Cond:
        """A whole DV_ORDERED (``.../value = 82.0``) against a literal, as EHRbase compares it: a number with
        the magnitude (ordinal value, proportion quotient), a date-time or date with DV_DATE_TIME or DV_DATE
        as instants (equal instants in other zones are equal), a time with DV_TIME, a duration with
        DV_DURATION by length; nothing else matches."""
        column, guard = value.leaf["whole"]
        value_type = value.leaf["whole_type"][0]
        if scalar.is_number:
            rhs = self.binds.bind(scalar, float, sa.Float())
            return sa.and_(guard, value_type.in_(leaf_mod.ORDERED_NUMERIC), fn(column, rhs))
        if scalar.type in (ast.AqlType.DATE_TIME, ast.AqlType.DATE):
            rm_type = "DV_DATE_TIME" if scalar.type == ast.AqlType.DATE_TIME else "DV_DATE"
            rhs = self.binds.bind(scalar, _to_instant, UtcDateTime())
            return sa.and_(guard, value_type == rm_type, fn(value.leaf["whole_instant"][0], rhs))
        if scalar.type == ast.AqlType.TIME:
            rhs = self.binds.bind(scalar, str, sa.String())
            return sa.and_(guard, value_type == "DV_TIME", fn(value.leaf["whole_text"][0], rhs))
        if scalar.type == ast.AqlType.STRING:
            # an ISO 8601 duration against a DV_DURATION: by length (``= 'PT1800S'`` matches PT30M)
            rhs = self.binds.bind(scalar, seconds_if_duration, sa.Float())  # as node.num_value holds it
            return sa.and_(guard, value_type == "DV_DURATION", fn(column, rhs))
        return sa.false()

    def _typed(self: Compiler, value: Value, kind: str, fn: Callable[[Any, Any], Any], rhs: Any) -> Cond:
        if isinstance(value, JsonValue) and kind in value.leaf:
            column, guard = value.leaf[kind]
            return sa.and_(guard, fn(column, rhs))
        expr = value.projection(kind)
        if expr is None:
            return sa.false()
        return fn(expr, rhs)

    def compare_values(self: Compiler, a: Value, op: str, b: Value) -> Cond:
        fn = OPS[op]
        options = []
        for kind in ("number", "text", "bool"):
            x, y = a.projection(kind), b.projection(kind)
            if x is not None and y is not None:
                options.append(sa.and_(x.is_not(None), y.is_not(None), fn(x, y)))
        if a.instant_is_column() and b.instant_is_column():
            options.append(fn(a.require("instant"), b.require("instant")))
        if not options:
            x, y = a.projection("uuid"), b.projection("uuid")
            if x is not None and y is not None:
                options.append(fn(x, y))
        if not options:
            raise AqlUnsupported(f"comparing {a.description} with {b.description}")
        return sa.or_(*options)

    def scalar_value(self: Compiler, scalar: Scalar) -> Value:
        from aql.compiler.values import ScalarValue

        if scalar.is_number:
            return ScalarValue({"number": self.binds.bind(scalar, float, sa.Float())}, "number")
        if scalar.type == ast.AqlType.BOOLEAN:
            return ScalarValue({"bool": self.binds.bind(scalar, bool, sa.Boolean())}, "bool")
        if scalar.type == ast.AqlType.NULL:
            return ScalarValue({"json": sa.null()}, "json")
        return ScalarValue({"text": self.binds.bind(scalar, str, sa.String())}, "text")

    # ------------------------------------------------------------------------------- LIKE, MATCHES

    def like(self: Compiler, cond: ast.Like, scope: Scope) -> Cond:
        value = self.expression_value(cond.operand, scope)
        scalar = self.binds.scalar(cond.pattern)
        text = value.projection("text")
        if text is None:
            return sa.false()
        return self.like_pattern(text, self.binds.bind(scalar, self.convert_like_pattern, sa.String()))

    def matches(self: Compiler, cond: ast.Matches, scope: Scope) -> Cond:
        value = self.expression_value(cond.operand, scope)
        options: list[Cond] = []
        plain: dict[str, list[Scalar]] = {}
        for item in cond.items:
            if isinstance(item, ast.Terminology | ast.TerminologyUri):
                options.append(self.terminology_match(value, item))
                continue
            scalar = self.binds.scalar(item)
            if scalar.is_list:
                kind = "number" if scalar.is_number else "text"
                transform: Callable[[Any], Any] = float if kind == "number" else str
                hook = getattr(value, "compare_hook", None)
                if hook is not None and value.projection("uuid") is not None:
                    kind, transform = "text", str
                    expr = value.projection("text")
                else:
                    expr = value.projection(kind)
                if expr is None:
                    continue
                options.append(expr.in_(self.binds.bind(scalar, transform)))
            elif (plain_kind := self._plain_kind(value, scalar)) is not None:
                plain.setdefault(plain_kind, []).append(scalar)
            else:
                options.append(self.compare_scalar(value, "=", scalar))
        for plain_kind, scalars in plain.items():
            if len(scalars) == 1:
                options.append(self.compare_scalar(value, "=", scalars[0]))
                continue
            # one IN for the literals: the same rows as their OR of equalities, which SQLite parses as a
            # chain as deep as the list is long (its depth limit of 1,000 refused longer lists)
            number = plain_kind == "number"
            values = [float(s.value) if number else str(s.value) for s in scalars]
            listed = self.binds.bind_list(values, sa.Float() if number else sa.String())
            options.append(self._typed(value, plain_kind, lambda column, bound: column.in_(bound), listed))
        return sa.or_(*options) if options else sa.false()

    @staticmethod
    def _plain_kind(value: Value, scalar: Scalar) -> str | None:
        """``number`` or ``text`` when ``value = scalar`` is a plain equality on that projection (what
        :meth:`compare_scalar` builds for it), so several such literals can share one ``IN``; else None."""
        if scalar.parameter is not None or scalar.untyped or getattr(value, "compare_hook", None):
            return None
        if isinstance(value, JsonValue) and {"whole_type", "code", "duration"} & value.leaf.keys():
            return None
        if scalar.is_number:
            return "number"
        return "text" if scalar.type == ast.AqlType.STRING else None

    # --------------------------------------------------------------------------------------- EXISTS

    def exists(self: Compiler, cond: ast.Exists, scope: Scope) -> Cond:
        """``EXISTS path``: in the main query the path is joined like a selected one (outer), so it is
        judged per result row (per event when SELECT reaches into events, as EHRbase answers); inside a
        subquery (NOT CONTAINS, another EXISTS) it becomes a correlated EXISTS."""
        if scope.outer_paths:
            return self._present(self.path_value(cond.path, scope))
        sub = Scope(outer_paths=False)
        value = self.path_value(cond.path, sub)
        present = self._present(value)
        if sub.clause is None:
            return present
        query = sa.select(sa.literal(1)).select_from(sub.clause).where(*sub.where, present)
        return query.exists()

    def _present(self: Compiler, value: Value) -> Cond:
        if isinstance(value, JsonValue):
            return self.json_count_key(value.json).is_not(None)
        return sa.and_(*(o.is_not(None) for o in value.outputs()))

    # ----------------------------------------------------------------------------------- predicates

    def node_predicate(self: Compiler, node: Any, predicate: ast.Predicate) -> list[Cond]:
        """Conditions of a node id / name predicate on a ``node`` alias."""
        if isinstance(predicate, ast.ArchetypePredicate):
            predicate = ast.NodePredicate(node_id=predicate.archetype_id)
        if not isinstance(predicate, ast.NodePredicate):
            return []
        out: list[Cond] = []
        if isinstance(predicate.node_id, str):
            out.append(node.c.archetype_node_id == predicate.node_id)
        elif isinstance(predicate.node_id, ast.Parameter):
            scalar = self.binds.scalar(predicate.node_id)
            out.append(node.c.archetype_node_id == self.binds.bind(scalar, str, sa.String()))
        name = predicate.name
        if isinstance(name, ast.Literal | ast.Parameter):
            out.append(node.c.name == self.binds.bind(self.binds.scalar(name), str, sa.String()))
        elif isinstance(name, ast.TermCode):
            code = self.json_text(self.json_get(node.c.data, ["name", "defining_code", "code_string"]))
            term = self.json_text(
                self.json_get(node.c.data, ["name", "defining_code", "terminology_id", "value"])
            )
            out.append(code == name.code_string)
            out.append(term == name.terminology_id)
        return out

    def predicate_condition(
        self: Compiler, binding: Binding, cond: ast.PredicateCondition, scope: Scope
    ) -> Cond:
        """``[path op value]`` in FROM or in a path step, relative to ``binding``."""
        left = self._relative_value(binding, cond.path, scope)
        if isinstance(cond.value, tuple):
            right = self._relative_value(binding, cond.value, scope)
            return self.compare_values(left, cond.operator.value, right)
        return self.compare_scalar(left, cond.operator.value, self.binds.scalar(cond.value))

    def variable_condition(self: Compiler, binding: Binding, predicate: ast.Predicate, scope: Scope) -> Cond:
        """``o[...]`` inside an identified path: whether the variable's object satisfies the predicate (its
        archetype node id, name, and criteria relative to it)."""
        if isinstance(predicate, ast.VersionPredicate):
            raise AqlSemanticError(f"[{predicate.selector.value}] selects versions in FROM, not in a path")
        if isinstance(predicate, ast.ArchetypePredicate):
            predicate = ast.NodePredicate(node_id=predicate.archetype_id)
        out: list[Cond] = []
        if predicate.node_id is not None or predicate.name is not None:
            if binding.kind != "node" or binding.prefix:
                raise AqlSemanticError(
                    f"{binding.rm_type} is not LOCATABLE: it has no archetype node id or name to match"
                )
            out.extend(self.node_predicate(binding.table, predicate))
        out.extend(self.predicate_condition(binding, c, scope) for c in predicate.conditions)
        return sa.and_(*out) if out else sa.true()

    def json_predicate(self: Compiler, json: Any, predicate: ast.Predicate, owner: str | None) -> Cond:
        """A predicate on a step inside a node's JSON (a non-LOCATABLE object: ``category[...]``,
        ``other_participations[function/value='x']``): its criteria relative to the object at the step.
        An archetype node id or name is not AQL there: only LOCATABLEs have them."""
        if not isinstance(predicate, ast.NodePredicate) or predicate.node_id is not None or predicate.name:
            what = owner or "this attribute"
            raise AqlSemanticError(f"{what} is not LOCATABLE: it has no archetype node id or name to match")
        out: list[Cond] = []
        for cond in predicate.conditions:
            left = self._json_relative(json, cond.path, owner)
            if isinstance(cond.value, tuple):
                right = self._json_relative(json, cond.value, owner)
                out.append(self.compare_values(left, cond.operator.value, right))
            else:
                out.append(self.compare_scalar(left, cond.operator.value, self.binds.scalar(cond.value)))
        return sa.and_(*out)

    def object_step_predicates(
        self: Compiler, binding: Binding, steps: tuple[ast.PathStep, ...]
    ) -> tuple[tuple[ast.PathStep, ...], list[tuple[int, ast.Predicate]]]:
        """Predicates on the steps of an EHR or VERSION path that its row answers, not node rows
        (``e/ehr_status[...]``, ``v/commit_audit[change_type/value='creation']/...``, ``v/data[...]``):
        the steps without them, and each with its step's index, for :meth:`object_step_condition`."""
        own = 1 if binding.kind == "ehr" or (steps and steps[0].attribute == "data") else len(steps)
        found = [(i, s.predicate) for i, s in enumerate(steps[:own]) if s.predicate is not None]
        if not found:
            return steps, []
        plain = tuple(ast.PathStep(s.attribute) if i < own else s for i, s in enumerate(steps))
        return plain, found

    def object_step_condition(
        self: Compiler,
        binding: Binding,
        steps: tuple[ast.PathStep, ...],
        found: list[tuple[int, ast.Predicate]],
        scope: Scope,
    ) -> Cond:
        """The predicates :meth:`object_step_predicates` took off, as standard conditions relative to the
        variable (``archetype_node_id`` and ``name`` only where the step reaches a LOCATABLE)."""
        out: list[Cond] = []
        for i, predicate in found:
            prefix = steps[: i + 1]
            locatable = prefix[-1].attribute in ("ehr_status", "directory", "data")
            for cond in standard_conditions(predicate, locatable, prefix[-1].attribute):
                out.append(self.predicate_condition(binding, replace(cond, path=prefix + cond.path), scope))
        return sa.and_(*out)

    def leading_step_predicates(
        self: Compiler, binding: Binding, steps: tuple[ast.PathStep, ...], scope: Scope
    ) -> tuple[tuple[ast.PathStep, ...], Cond | None]:
        """Predicates on the non-LOCATABLE steps before a path's first LOCATABLE
        (``c/context[start_time/value > x]/other_context[at0001]/...``): the steps without them, and one
        condition on the objects at those steps, read from the variable's own JSON (no row is joined)."""
        ends = rm_model.locatable_ends(binding.walk_type, tuple(s.attribute for s in steps))
        if not ends or all(s.predicate is None for s in steps[: ends[0]]):
            return steps, None
        plain = list(steps)
        out: list[Cond] = []
        owner: str | None = binding.walk_type
        for i in range(ends[0]):
            attr = rm_model.attribute(owner, steps[i].attribute) if owner else None
            target = rm_model.common_owner(attr.targets) if attr is not None and attr.targets else None
            if attr is not None and attr.is_list:
                raise AqlUnsupported("a predicate on a list attribute's element that a LOCATABLE follows")
            predicate = steps[i].predicate
            if predicate is not None:
                plain[i] = ast.PathStep(steps[i].attribute)
                found = self.node_path(binding, tuple(plain[: i + 1]), scope)
                assert isinstance(found, JsonValue)
                out.append(self.json_predicate(found.json, predicate, target))
            owner = target
        return tuple(plain), sa.and_(*out)

    def json_unnest_where(
        self: Compiler,
        doc: Any,
        keys: list[str],
        predicate: ast.Predicate | None,
        owner: str | None,
        scope: Scope,
    ) -> Any:
        """One row per element of a JSON list, only of the elements satisfying ``predicate``: the predicate
        is the join's ON, so a node without any such element still gives one row, NULL, as a path that
        reaches nothing."""
        if predicate is None:
            return self.json_unnest(doc, keys, scope)
        inner = Scope(outer_paths=scope.outer_paths)
        element = self.json_unnest(doc, keys, inner)
        assert inner.clause is not None
        scope.add_path(inner.clause, sa.and_(*inner.where, self.json_predicate(element, predicate, owner)))
        return element

    def _json_relative(
        self: Compiler, json: Any, path: tuple[ast.PathStep, ...], owner: str | None
    ) -> JsonValue:
        current, attr = owner, None
        for step in path:
            if step.predicate is not None:
                raise AqlUnsupported("a predicate inside a predicate on a non-LOCATABLE attribute")
            attr = rm_model.attribute(current, step.attribute) if current else None
            current = rm_model.common_owner(attr.targets) if attr is not None and attr.targets else None
        return JsonValue(
            self,
            self.json_get(json, [s.attribute for s in path]),
            primitive=attr.primitive if attr is not None else None,
            primitives=attr.primitives if attr is not None else None,
        )

    def _relative_value(
        self: Compiler, binding: Binding, path: tuple[ast.PathStep, ...], scope: Scope
    ) -> Value:
        if binding.kind == "ehr":
            return self.ehr_path(binding, path, scope)
        if binding.kind == "version":
            return self.version_path(binding, path, scope)
        steps = tuple(ast.PathStep(a) for a in binding.prefix) + path
        return self.node_path(binding, steps, scope)


def standard_conditions(
    predicate: ast.Predicate, locatable: bool, what: str
) -> tuple[ast.PredicateCondition, ...]:
    """A predicate as the standard predicate it is short for (AQL 1.1 "Node predicate"): the node id is
    ``archetype_node_id``, a name ``name/value`` or, as a term code, ``name/defining_code``."""
    if isinstance(predicate, ast.VersionPredicate):
        raise AqlSemanticError(f"[{predicate.selector.value}] selects versions in FROM, not in a path")
    if isinstance(predicate, ast.ArchetypePredicate):
        predicate = ast.NodePredicate(node_id=predicate.archetype_id)
    eq = ast.ComparisonOperator.EQ
    out: list[ast.PredicateCondition] = []
    if (predicate.node_id is not None or predicate.name is not None) and not locatable:
        raise AqlSemanticError(f"{what} is not LOCATABLE: it has no archetype node id or name to match")
    node_id = predicate.node_id
    if node_id is not None:
        value = node_id if isinstance(node_id, ast.Parameter) else ast.Literal(node_id, ast.AqlType.STRING)
        out.append(ast.PredicateCondition((ast.PathStep("archetype_node_id"),), eq, value))
    name = predicate.name
    if isinstance(name, ast.TermCode):
        code = (ast.PathStep("name"), ast.PathStep("defining_code"))
        out.append(
            ast.PredicateCondition(
                (*code, ast.PathStep("code_string")), eq, ast.Literal(name.code_string, ast.AqlType.STRING)
            )
        )
        out.append(
            ast.PredicateCondition(
                (*code, ast.PathStep("terminology_id"), ast.PathStep("value")),
                eq,
                ast.Literal(name.terminology_id, ast.AqlType.STRING),
            )
        )
    elif name is not None:
        out.append(ast.PredicateCondition((ast.PathStep("name"), ast.PathStep("value")), eq, name))
    return (*out, *predicate.conditions)
