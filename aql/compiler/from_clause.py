"""FROM: class expressions become aliases of ``ehr``, ``object_version`` and ``node``; CONTAINS becomes joins.

* ``EHR e CONTAINS X``: ``X.ehr_id = e.ehr_id``.
* ``VERSION v CONTAINS X``: X is in the version row ``v`` (which is the latest version unless ALL_VERSIONS).
* A LOCATABLE inside another of the same version: the nested set, ``a.num < b.num <= a.last_num``.
* ``FOLDER f CONTAINS COMPOSITION c`` (or anything inside one): a ``folder_item`` of ``f`` or of a sub-folder
  names ``c``'s versioned object.
* Every other node binding joins its own version row, ``latest`` unless a VERSION says otherwise.

``AND`` joins every operand; ``OR`` left-joins each alternative (its conditions in the ON) and requires one to
be there; ``NOT CONTAINS`` is a correlated ``NOT EXISTS``.
"""

# mypy: disable-error-code="misc"
# (the mixins annotate ``self`` as the Compiler they are mixed into)
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from aql import ast
from aql.compiler import rm_model
from aql.compiler.scope import Binding, Scope
from aql.errors import AqlSemanticError, AqlUnsupported
from cdr.storage import schema as t

if TYPE_CHECKING:
    from aql.compiler.base import Compiler

Cond = sa.ColumnElement[bool]

VERSION_TYPES = frozenset({"VERSION", "ORIGINAL_VERSION"})


def _same_version(a: Any, b: Any) -> Cond:
    return sa.and_(a.c.ehr_id == b.c.ehr_id, a.c.vo_id == b.c.vo_id, a.c.version == b.c.version)


class FromMixin:
    """Compiles the FROM clause into a :class:`Scope`."""

    def compile_from(self: Compiler, expr: ast.FromExpression, parent: Binding | None, scope: Scope) -> None:
        if isinstance(expr, ast.ClassExpression):
            self._bind_class(expr, parent, scope)
        elif isinstance(expr, ast.Contains):
            outer = self._bind_class(expr.outer, parent, scope)
            if expr.negated:
                sub = Scope(outer_paths=False)
                self.negated_depth += 1
                self.compile_from(expr.inner, outer, sub)
                self.negated_depth -= 1
                if sub.clause is None:
                    raise AqlSemanticError("NOT CONTAINS needs a class expression")
                query = sa.select(sa.literal(1)).select_from(sub.clause).where(*sub.where)
                scope.where.append(~query.exists())
            else:
                self.compile_from(expr.inner, outer, scope)
        elif isinstance(expr, ast.ContainsAnd):
            for operand in expr.operands:
                self.compile_from(operand, parent, scope)
        elif isinstance(expr, ast.ContainsOr):
            present: list[Cond] = []
            for operand in expr.operands:
                sub = Scope(defer_on=True)
                first = self._first_binding(operand)
                self.compile_from(operand, parent, sub)
                assert sub.clause is not None
                scope.add(sub.clause, sa.and_(sa.true(), *sub.where), outer=True)
                binding = self.bindings[first]
                present.append(binding.table.c.ehr_id.is_not(None))
            scope.where.append(sa.or_(*present))
        else:  # pragma: no cover - the AST has no other FROM node
            raise AqlUnsupported(f"FROM expression {type(expr).__name__}")

    def _first_binding(self: Compiler, expr: ast.FromExpression) -> str:
        while not isinstance(expr, ast.ClassExpression):
            expr = expr.outer if isinstance(expr, ast.Contains) else expr.operands[0]
        return self._variable_of(expr)

    def _variable_of(self: Compiler, expr: ast.ClassExpression) -> str:
        key = id(expr)
        if key not in self.anonymous:
            self.anonymous[key] = (expr.variable or f"_{expr.rm_type.lower()}{len(self.anonymous)}").lower()
        return self.anonymous[key]

    # ------------------------------------------------------------------------------------- bindings

    def _bind_class(
        self: Compiler, expr: ast.ClassExpression, parent: Binding | None, scope: Scope
    ) -> Binding:
        variable = self._variable_of(expr)
        rm_type = expr.rm_type.upper()
        if variable in self.bindings:
            # the same variable declared again (``EHR_STATUS s CONTAINS EHR_STATUS s``): no row matches
            scope.where.append(sa.false())
            return self.bindings[variable]
        if rm_type == "EHR":
            binding = Binding(variable, rm_type, "ehr", t.ehr.alias(self.alias_name("ehr")))
            scope.add(binding.table, self._link(parent, binding))
            self._restrict_ehr(binding.table.c.ehr_id, scope)
        elif rm_type in VERSION_TYPES:
            ov = t.object_version.alias(self.alias_name("v"))
            binding = Binding(variable, rm_type, "version", ov, ov=ov, walk_type="ORIGINAL_VERSION")
            scope.add(ov, self._link(parent, binding))
            selector = expr.predicate.selector if isinstance(expr.predicate, ast.VersionPredicate) else None
            if selector != ast.VersionSelector.ALL_VERSIONS:
                scope.where.append(ov.c.latest == sa.true())
            self._restrict_ehr(ov.c.ehr_id, scope, ov)
        else:
            binding = self._bind_node(variable, rm_type, expr, parent, scope)
        if self.negated_depth:
            self.negated.add(variable)
        self.bindings[variable] = binding
        self._class_predicate(binding, expr.predicate, scope)
        return binding

    def _bind_node(
        self: Compiler,
        variable: str,
        rm_type: str,
        expr: ast.ClassExpression,
        parent: Binding | None,
        scope: Scope,
    ) -> Binding:
        prefix: tuple[str, ...] = ()
        host = rm_type
        if rm_type in rm_model.PSEUDO_TYPES:
            host, prefix = rm_model.PSEUDO_TYPES[rm_type]
        elif not rm_model.is_known(rm_type) or not rm_model.is_locatable(rm_type):
            raise AqlUnsupported(f"FROM class {expr.rm_type}")
        n = t.node.alias(self.alias_name("n"))
        root = host in ("COMPOSITION", "EHR_STATUS")
        binding = Binding(variable, rm_type, "node", n, walk_type=host, prefix=prefix, root=root)
        conds: list[Cond] = []
        if host != rm_model.LOCATABLE:
            types = rm_model.concrete_subtypes(host)
            conds.append(n.c.rm_type == types[0] if len(types) == 1 else n.c.rm_type.in_(types))
        if root:
            conds.append(n.c.num == 0)
        if prefix:
            conds.append(self.json_get(n.c.data, list(prefix)).is_not(None))
        inside_parent = (
            parent is not None
            and parent.kind == "node"
            and not (root and not parent.prefix and parent.walk_type == "FOLDER")
            and not (parent.walk_type == "FOLDER" and host != "FOLDER")
        )
        if parent is not None and parent.kind == "version":
            binding.ov = parent.ov
            conds.append(_same_version(n, parent.ov))
            scope.add(n, sa.and_(*conds))
        elif inside_parent:
            assert parent is not None
            binding.ov = parent.ov
            conds.append(_same_version(n, parent.table))
            low = parent.table.c.num <= n.c.num if prefix or parent.prefix else parent.table.c.num < n.c.num
            conds.append(sa.and_(low, n.c.num <= parent.table.c.last_num))
            scope.add(n, sa.and_(*conds))
        else:
            ov = t.object_version.alias(self.alias_name("v"))
            binding.ov, binding.own_version = ov, True
            unit = n.join(ov, sa.and_(_same_version(ov, n), ov.c.latest == sa.true()))
            link = self._link(parent, binding)
            conds.append(link if link is not None else sa.true())
            scope.add(unit, sa.and_(*conds))
            self._restrict_ehr(n.c.ehr_id, scope, ov)
        return binding

    def _link(self: Compiler, parent: Binding | None, child: Binding) -> Cond | None:
        """The containment condition of ``child`` in ``parent`` across versions (None at the top)."""
        if parent is None:
            return None
        table = child.table if child.kind != "version" else child.ov
        if parent.kind == "ehr":
            return table.c.ehr_id == parent.table.c.ehr_id
        if parent.kind == "node" and parent.walk_type == "FOLDER":
            fi = t.folder_item.alias(self.alias_name("fi"))
            f = parent.table
            return (
                sa.select(sa.literal(1))
                .where(
                    fi.c.ehr_id == f.c.ehr_id,
                    fi.c.vo_id == f.c.vo_id,
                    fi.c.version == f.c.version,
                    fi.c.num >= f.c.num,
                    fi.c.num <= f.c.last_num,
                    fi.c.target_vo_id == table.c.vo_id,
                    table.c.ehr_id == f.c.ehr_id,
                )
                .exists()
            )
        return sa.false()

    def _restrict_ehr(self: Compiler, column: Any, scope: Scope, ov: Any = None) -> None:
        """Restrict a FROM class's rows to the requested EHR (``ehr_id`` of ``/query/{name}``) and to what
        the caller may read (:class:`cdr.security.query_scope.QueryScope`: readable EHRs, and for a version
        ``ov`` neither a hidden composition nor a hidden template). Every FROM class that ranges over EHRs or
        versions of its own comes here, also inside NOT CONTAINS, so hidden rows are absent everywhere:
        in rows, counts and aggregates alike, and as the thing NOT CONTAINS looks for."""
        if self.ehr_id_bind is not None:
            scope.where.append(column == self.ehr_id_bind)
        if self.query_scope is not None:
            if ov is None:
                scope.where.append(self.query_scope.where(column))
            else:
                scope.where.append(self.query_scope.where(column, ov.c.vo_id, ov.c.template_id))

    def _class_predicate(
        self: Compiler, binding: Binding, predicate: ast.Predicate | None, scope: Scope
    ) -> None:
        if predicate is None or isinstance(predicate, ast.VersionPredicate):
            return
        if isinstance(predicate, ast.ArchetypePredicate):
            predicate = ast.NodePredicate(node_id=predicate.archetype_id)
        if binding.kind == "node" and not binding.prefix:
            scope.where.extend(self.node_predicate(binding.table, predicate))
            if isinstance(predicate.node_id, str) and rm_model_is_archetype(predicate.node_id):
                binding.archetype_id = predicate.node_id
            conditions = predicate.conditions
        else:
            if predicate.node_id is not None or predicate.name is not None:
                raise AqlUnsupported(f"node predicate on {binding.rm_type}")
            conditions = predicate.conditions
        for cond in conditions:
            scope.where.append(self.predicate_condition(binding, cond, scope))


def rm_model_is_archetype(node_id: str) -> bool:
    """Whether a node id is an archetype id (the node is an archetype root) rather than an at-code."""
    return "." in node_id and "-" in node_id
