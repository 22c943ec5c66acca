"""FROM: class expressions become aliases of ``ehr``, ``object_version`` and ``node``; CONTAINS becomes joins.

* ``EHR e CONTAINS X``: ``X.ehr_id = e.ehr_id``.
* ``VERSION v CONTAINS X``: X is in the version row ``v`` (which is the latest version unless ALL_VERSIONS).
* A LOCATABLE inside another of the same version: the nested set, ``a.num < b.num <= a.last_num``.
* ``FOLDER f CONTAINS COMPOSITION c`` (or anything inside one): a ``folder_item`` of ``f`` or of a sub-folder
  names ``c``'s versioned object.
* Every other node binding joins its own version row, ``latest`` unless a VERSION says otherwise.

``AND`` joins every operand; ``OR`` left-joins each class of its operands on its own (its link and predicate
in the ON, as EHRbase does) and requires one operand to be there (with NOT CONTAINS or an EHR inside, each
operand is one left-joined group instead); ``NOT CONTAINS`` is a correlated ``NOT EXISTS``.
"""

# mypy: disable-error-code="misc"
# (the mixins annotate ``self`` as the Compiler they are mixed into)
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from aql import ast
from aql.compiler import leaf as leaf_mod
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
            if self._ehr_by_contents(expr, parent, scope):
                self._bind_ehr_by_contents(expr, scope)
                return
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
        elif isinstance(expr, ast.ContainsOr) and _separable(expr):
            scope.where.append(self._optional(expr, parent, scope))
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

    def _optional(self: Compiler, expr: ast.FromExpression, parent: Binding | None, scope: Scope) -> Cond:
        """An OR operand with each of its classes left-joined on its own (see :func:`_separable`); returns
        the condition that the operand is there: its classes, as its CONTAINS, AND and OR combine them."""
        if isinstance(expr, ast.ClassExpression):
            return self._optional_class(expr, parent, scope)[1]
        if isinstance(expr, ast.Contains):
            outer, present = self._optional_class(expr.outer, parent, scope)
            return sa.and_(present, self._optional(expr.inner, outer, scope))
        if isinstance(expr, ast.ContainsAnd):
            return sa.and_(*(self._optional(operand, parent, scope) for operand in expr.operands))
        assert isinstance(expr, ast.ContainsOr)
        return sa.or_(*(self._optional(operand, parent, scope) for operand in expr.operands))

    def _optional_class(
        self: Compiler, expr: ast.ClassExpression, parent: Binding | None, scope: Scope
    ) -> tuple[Binding, Cond]:
        """One class of an OR operand, left-joined to ``scope`` with its link and predicate in the ON."""
        sub = Scope(defer_on=True)
        binding = self._bind_class(expr, parent, sub)
        if sub.clause is None:  # no row of its own (a variable declared twice): its conditions say it all
            return binding, sa.and_(sa.true(), *sub.where)
        scope.add(sub.clause, sa.and_(sa.true(), *sub.where), outer=True)
        return binding, binding.table.c.ehr_id.is_not(None)

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

    def _ehr_by_contents(self: Compiler, expr: ast.Contains, parent: Binding | None, scope: Scope) -> bool:
        """Whether ``EHR e CONTAINS X`` can do without the ``ehr`` row: every row of X carries ``ehr_id`` and
        a foreign key guarantees the EHR, so ``e`` is X's ``ehr_id`` unless a path needs more of the EHR.
        Only where X is inner-joined first (not an OR alternative, not NOT CONTAINS)."""
        return (
            parent is None
            and not expr.negated
            and not scope.defer_on
            and expr.outer.rm_type.upper() == "EHR"
            and self._variable_of(expr.outer) not in self.bindings
            and _first_link_inner(expr.inner)
        )

    def _bind_ehr_by_contents(self: Compiler, expr: ast.Contains, scope: Scope) -> None:
        """``EHR e CONTAINS X`` with ``e`` known by X's ``ehr_id`` (see :meth:`_ehr_by_contents`); the EHR's
        restriction and predicate apply to that column once X is bound."""
        variable = self._variable_of(expr.outer)
        binding = Binding(variable, "EHR", "ehr", t.ehr.alias(self.alias_name("ehr")), row_joined=False)
        binding.home = scope
        self.bindings[variable] = binding
        self.compile_from(expr.inner, binding, scope)
        assert binding.ehr_id is not None  # set by the first contained class's link
        if id(binding.ehr_id) not in self.restricted:
            self._restrict_ehr(binding.ehr_id, scope)
        self._class_predicate(binding, expr.outer.predicate, scope)

    def ehr_row(self: Compiler, binding: Binding) -> None:
        """Join the ``ehr`` row of an EHR known only by its id, into the scope it was bound in (an inner join:
        the foreign keys guarantee the row)."""
        if binding.row_joined:
            return
        assert binding.home is not None
        binding.home.add(binding.table, binding.table.c.ehr_id == binding.ehr_id)
        binding.row_joined = True

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
            binding.ehr_id, binding.home = binding.table.c.ehr_id, scope
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
        if variable in self.version_roots and (parent is None or parent.kind == "ehr"):
            return self._bind_version_root(variable, rm_type, parent, scope)
        n = t.node.alias(self.alias_name("n"))
        root = host in ("COMPOSITION", "EHR_STATUS")
        binding = Binding(variable, rm_type, "node", n, walk_type=host, prefix=prefix, root=root)
        inside_parent = (
            parent is not None
            and parent.kind == "node"
            and not (root and not parent.prefix and parent.walk_type == "FOLDER")
            and not (parent.walk_type == "FOLDER" and host != "FOLDER")
        )
        if inside_parent and variable in self.stand_ins:
            assert parent is not None
            binding.ov, binding.container = parent.ov, parent  # no row of its own: see stand_ins
            return binding
        conds: list[Cond] = []
        if host != rm_model.LOCATABLE:
            types = rm_model.concrete_subtypes(host)
            conds.append(leaf_mod.one_of(n.c.rm_type, types))
        if root:
            conds.append(n.c.num == 0)
        if prefix:
            conds.append(self.json_get(n.c.data, list(prefix)).is_not(None))
        if parent is not None and parent.kind == "version":
            binding.ov = parent.ov
            conds.append(_same_version(n, parent.ov))
            scope.add(n, sa.and_(*conds))
        elif inside_parent:
            assert parent is not None
            binding.ov = parent.ov
            conds.append(_same_version(n, parent.table))
            if _at_code(expr.predicate) and parent.node_named and not (prefix or parent.prefix):
                # an at-code names a node of the archetype its container is in (EHRbase: the parent's
                # archetype, or the parent's own archetype when the parent is itself an at-coded node)
                conds.append(n.c.archetype_id == parent.table.c.archetype_id)
            if parent.root and not (root or prefix or parent.prefix):
                # inside the version's root (num 0): every other node of the version is
                conds.append(n.c.num > 0)
            else:
                low = (
                    parent.table.c.num <= n.c.num if prefix or parent.prefix else parent.table.c.num < n.c.num
                )
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

    def _bind_version_root(
        self: Compiler, variable: str, rm_type: str, parent: Binding | None, scope: Scope
    ) -> Binding:
        """A COMPOSITION bound to its latest version row alone (see :func:`version_roots`)."""
        ov = t.object_version.alias(self.alias_name("v"))
        binding = Binding(
            variable,
            rm_type,
            "node",
            ov,
            ov=ov,
            walk_type=rm_type,
            root=True,
            own_version=True,
            row_is_version=True,
        )
        link = self._link(parent, binding)
        conds = [ov.c.latest == sa.true(), ov.c.kind == rm_type, ov.c.data.is_not(None)]
        scope.add(ov, sa.and_(*conds, *([link] if link is not None else [])))
        self._restrict_ehr(ov.c.ehr_id, scope, ov)
        return binding

    def _link(self: Compiler, parent: Binding | None, child: Binding) -> Cond | None:
        """The containment condition of ``child`` in ``parent`` across versions (None at the top)."""
        if parent is None:
            return None
        table = child.table if child.kind != "version" else child.ov
        if parent.kind == "ehr":
            if parent.ehr_id is None:  # the EHR is known by its first contained class (no ehr row)
                parent.ehr_id = table.c.ehr_id
                return None
            return table.c.ehr_id == parent.ehr_id
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
        self.restricted.add(id(column))
        if self.ehr_id_bind is not None:
            scope.where.append(column == self.ehr_id_bind)
        if self.query_scope is not None:
            if ov is None:
                scope.where.append(self.query_scope.where(column))
            else:
                scope.where.append(self.query_scope.where(column, ov.c.vo_id, ov.c.template_id))
                # a row of the main statement (not of NOT CONTAINS or an EXISTS subquery) shown only by
                # consent or emergency access: the hidden column naming such EHRs for the audit record
                shown = self.query_scope.overridden(column, ov.c.vo_id, ov.c.template_id)
                if shown is not None and scope.outer_paths and not self.negated_depth:
                    self.overridden_rows.append(shown)

    def _class_predicate(
        self: Compiler, binding: Binding, predicate: ast.Predicate | None, scope: Scope
    ) -> None:
        if predicate is None or isinstance(predicate, ast.VersionPredicate):
            return
        if isinstance(predicate, ast.ArchetypePredicate):
            predicate = ast.NodePredicate(node_id=predicate.archetype_id)
        if binding.kind == "node" and not binding.prefix:
            if binding.row_is_version:  # the version row says the root's archetype node id
                scope.where.append(binding.table.c.archetype_id == predicate.node_id)
            elif binding.container is None:  # a stand-in's leaves carry its archetype id
                scope.where.extend(self.node_predicate(binding.table, predicate))
            binding.node_named = isinstance(predicate.node_id, str)
            if isinstance(predicate.node_id, str) and rm_model_is_archetype(predicate.node_id):
                binding.archetype_id = predicate.node_id
            conditions = predicate.conditions
        else:
            if predicate.node_id is not None or predicate.name is not None:
                raise AqlSemanticError(  # only LOCATABLEs have them: not AQL
                    f"{binding.rm_type} is not LOCATABLE: it has no archetype node id or name to match"
                )
            conditions = predicate.conditions
        for cond in conditions:
            scope.where.append(self.predicate_condition(binding, cond, scope))


def identified_paths(query: ast.Query) -> list[ast.IdentifiedPath]:
    """Every identified path of SELECT, WHERE and ORDER BY (what the FROM variables are used for)."""
    parts = (query.select, query.where, query.order_by)
    return [n for part in parts for n in ast.walk(part) if isinstance(n, ast.IdentifiedPath)]


def stand_ins(
    query: ast.Query, paths: list[ast.IdentifiedPath], parameter_kinds: Mapping[str, str]
) -> set[str]:
    """FROM variables whose own ``node`` row the statement can leave out: each is reached through one leaf.

    ``... CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.x.v1] WHERE o/data[at0001]/.../value/magnitude > 1``
    asks for the leaf ELEMENT nodes whose nearest archetype root is such an OBSERVATION, which the leaf's own
    ``archetype_id`` and ``archetype_path`` say; o's row adds nothing when (1) o is an innermost class inside
    another node class (no OR, no NOT), (2) its archetype names an RM type of o's class whose roots never
    nest, so each leaf lies in exactly one o, (3) every path on o ends in the same leaf node through at-code
    steps, and (4) a WHERE conjunct compares that leaf with a value, so an o without the leaf yields no row
    either way.
    """
    found: set[str] = set()
    conjuncts = query.where.operands if isinstance(query.where, ast.And) else (query.where,)
    for variable, expr in _innermost(query.from_, None):
        archetype = _archetype_of(expr.predicate)
        rm_type = rm_model.archetype_rm_type(archetype) if archetype else None
        if archetype is None or rm_type is None or not rm_model.roots_never_nest(archetype):
            continue
        if rm_type not in rm_model.concrete_subtypes(expr.rm_type.upper()):
            continue
        mine = [p for p in paths if p.variable.lower() == variable]
        prefixes = {_leaf_prefix(expr.rm_type.upper(), p) for p in mine}
        if len(prefixes) != 1 or None in prefixes:
            continue
        if any(_rejects_null(c, mine, parameter_kinds) for c in conjuncts):
            found.add(variable)
    return found


def version_roots(query: ast.Query, paths: list[ast.IdentifiedPath]) -> set[str]:
    """COMPOSITION variables the statement can take from their version row alone, without the root node.

    Every stored version's data carries ``uid`` = ``vo_id::system_id::version`` of its row (the write path
    sets it), so ``c/uid/value`` needs no node; the row's ``archetype_id`` is the root's archetype node id;
    and classes inside ``c`` are in its version (every node but the root is inside it). So a top-level
    COMPOSITION (alone or in an EHR) that the query uses only as ``c/uid/value``, with no predicate but an
    archetype id and only non-root LOCATABLEs directly inside, is its ``object_version`` row (with data:
    a deleted version has no nodes).
    """
    found: set[str] = set()
    top = query.from_
    if isinstance(top, ast.Contains) and not top.negated and top.outer.rm_type.upper() == "EHR":
        top = top.inner
    expr, inner = (top.outer, top.inner) if isinstance(top, ast.Contains) else (top, None)
    if (
        not isinstance(expr, ast.ClassExpression)
        or expr.rm_type.upper() != "COMPOSITION"
        or not expr.variable
    ):
        return found
    if expr.predicate is not None and _archetype_of(expr.predicate) is None:
        return found
    if inner is not None and not all(_in_version(c) for c in _direct_classes(inner)):
        return found
    variable = expr.variable.lower()
    if all(
        p.predicate is None and p.path == (ast.PathStep("uid"), ast.PathStep("value"))
        for p in paths
        if p.variable.lower() == variable
    ):
        found.add(variable)
    return found


def _direct_classes(expr: ast.FromExpression) -> list[ast.ClassExpression]:
    """The classes a CONTAINS links directly to its outer class."""
    if isinstance(expr, ast.ClassExpression):
        return [expr]
    if isinstance(expr, ast.Contains):
        return [expr.outer]
    return [c for operand in expr.operands for c in _direct_classes(operand)]


def _in_version(expr: ast.ClassExpression) -> bool:
    """Whether the class is a non-root LOCATABLE node (found inside a root by version key alone)."""
    rm_type = expr.rm_type.upper()
    excluded = (*VERSION_TYPES, "EHR", *rm_model.PSEUDO_TYPES, *rm_model.VERSIONED_ROOTS)
    return rm_type not in excluded and rm_model.is_known(rm_type) and rm_model.is_locatable(rm_type)


def _innermost(
    expr: ast.FromExpression, outer: ast.ClassExpression | None
) -> list[tuple[str, ast.ClassExpression]]:
    """Innermost classes directly inside a node class, along plain CONTAINS and AND (not OR, not NOT)."""
    if isinstance(expr, ast.ClassExpression):
        if (
            outer is None
            or expr.variable is None
            or outer.rm_type.upper() in ("EHR", "FOLDER", *VERSION_TYPES, *rm_model.PSEUDO_TYPES)
            or expr.rm_type.upper() in (*VERSION_TYPES, *rm_model.PSEUDO_TYPES, *rm_model.VERSIONED_ROOTS)
        ):
            return []
        return [(expr.variable.lower(), expr)]
    if isinstance(expr, ast.Contains):
        return [] if expr.negated else _innermost(expr.inner, expr.outer)
    if isinstance(expr, ast.ContainsAnd):
        return [found for operand in expr.operands for found in _innermost(operand, outer)]
    return []


def _archetype_of(predicate: ast.Predicate | None) -> str | None:
    """The archetype id a class predicate is exactly (``[openEHR-EHR-...]``, nothing more)."""
    if isinstance(predicate, ast.ArchetypePredicate):
        node_id: Any = predicate.archetype_id
    elif isinstance(predicate, ast.NodePredicate) and predicate.name is None and not predicate.conditions:
        node_id = predicate.node_id
    else:
        return None
    return node_id if isinstance(node_id, str) and rm_model_is_archetype(node_id) else None


def _leaf_prefix(walk_type: str, path: ast.IdentifiedPath) -> tuple[ast.PathStep, ...] | None:
    """The steps of ``path`` up to its last node, if they are at-code node steps and data steps follow."""
    if path.predicate is not None:
        return None
    ends = rm_model.locatable_ends(walk_type, tuple(s.attribute for s in path.path))
    if not ends or ends[-1] == len(path.path) - 1:
        return None
    prefix = path.path[: ends[-1] + 1]
    for i, step in enumerate(prefix):
        if i not in ends:
            if step.predicate is not None:
                return None
            continue
        pred = step.predicate
        if not (
            isinstance(pred, ast.NodePredicate)
            and isinstance(pred.node_id, str)
            and not rm_model_is_archetype(pred.node_id)
            and pred.name is None
            and not pred.conditions
        ):
            return None
    return prefix


def _rejects_null(
    cond: ast.Condition | None, paths: list[ast.IdentifiedPath], kinds: Mapping[str, str]
) -> bool:
    """Whether ``cond`` is false or unknown wherever one of ``paths`` has no node: a comparison of it with a
    non-null value."""
    if not isinstance(cond, ast.Comparison):
        return False
    sides = (cond.left, cond.right)
    if not any(any(side is p for p in paths) for side in sides):
        return False
    other = cond.right if any(cond.left is p for p in paths) else cond.left
    if isinstance(other, ast.Literal):
        return other.type != ast.AqlType.NULL
    if isinstance(other, ast.Parameter):
        kind = kinds.get(other.name, "NULL")
        return kind != "NULL" and not kind.startswith("LIST:")
    return False


def _at_code(predicate: ast.Predicate | None) -> bool:
    """Whether a class's predicate names a node of an archetype by its at-code (not an archetype id)."""
    node_id = getattr(predicate, "node_id", None)
    return isinstance(node_id, str) and node_id.startswith("at") and not rm_model_is_archetype(node_id)


def _separable(expr: ast.FromExpression) -> bool:
    """Whether the classes of an OR can each be left-joined on their own, as EHRbase joins them: then an
    operand that is only partly there still shows the classes that are (``(OBSERVATION o1 CONTAINS CLUSTER
    c) AND OBSERVATION o2 OR OBSERVATION o3`` gives rows with ``o1`` and no ``c`` or ``o2`` where ``o3`` is
    there). Not with NOT CONTAINS or an EHR inside (those keep each operand one join group)."""
    if isinstance(expr, ast.ClassExpression):
        return expr.rm_type.upper() != "EHR"
    if isinstance(expr, ast.Contains):
        return not expr.negated and _separable(expr.outer) and _separable(expr.inner)
    if isinstance(expr, ast.ContainsAnd | ast.ContainsOr):
        return all(_separable(operand) for operand in expr.operands)
    return False


def _first_link_inner(expr: ast.FromExpression) -> bool:
    """Whether the first class linked to an enclosing FROM class is inner-joined (no OR on the way)."""
    while isinstance(expr, ast.ContainsAnd):
        expr = expr.operands[0]
    return isinstance(expr, ast.ClassExpression | ast.Contains)


def rm_model_is_archetype(node_id: str) -> bool:
    """Whether a node id is an archetype id (the node is an archetype root) rather than an at-code."""
    return "." in node_id and "-" in node_id
