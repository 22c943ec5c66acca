"""Identified paths: from a FROM variable through LOCATABLE ``node`` rows into one node's JSON.

A path is split by the RM: every step whose attribute leads to a LOCATABLE reaches another ``node`` row, the
steps after the last such one are read from that node's JSON. The node steps become one join when each names
its node (``/data[at0001]/events[at0002]/...``: the target's ``path`` is the variable's path plus that text,
within the variable's nested-set range), or one join per step otherwise (``parent_num`` chains). A list
attribute inside the JSON (``other_participations``) is unnested into one row per element, as EHRbase does.
"""

# mypy: disable-error-code="misc"
# (the mixins annotate ``self`` as the Compiler they are mixed into)
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from aql import ast
from aql.compiler import leaf as leaf_mod
from aql.compiler import rm_model
from aql.compiler.binds import LenientUuid
from aql.compiler.from_clause import rm_model_is_archetype
from aql.compiler.guard import guarded, guarded_json
from aql.compiler.objects import ObjectPathMixin, uid_part
from aql.compiler.scope import Binding, Scope
from aql.compiler.values import ColumnValue, JsonValue, ScalarValue, Value
from aql.errors import AqlSemanticError, AqlUnsupported
from cdr.storage import schema as t

if TYPE_CHECKING:
    from aql.compiler.base import Compiler

Cond = sa.ColumnElement[bool]
Group = tuple[tuple[str, ...], ast.Predicate | None, tuple[str, ...]]
"""A path's steps up to one LOCATABLE: the attributes, that node's predicate, its possible RM types."""


def _node_id(predicate: ast.Predicate | None) -> str | ast.Parameter | None:
    if isinstance(predicate, ast.ArchetypePredicate):
        return predicate.archetype_id
    if isinstance(predicate, ast.NodePredicate):
        return predicate.node_id
    return None


def _plain(predicate: ast.Predicate | None) -> bool:
    """A predicate that is just a literal node id (``[at0001]``, ``[openEHR-EHR-...]``)."""
    if isinstance(predicate, ast.ArchetypePredicate):
        return isinstance(predicate.archetype_id, str)
    return (
        isinstance(predicate, ast.NodePredicate)
        and isinstance(predicate.node_id, str)
        and predicate.name is None
        and not predicate.conditions
    )


class PathMixin:
    """Resolves identified paths to :class:`~aql.compiler.values.Value` objects, joining what they need."""

    def binding_of(self: Compiler, variable: str) -> Binding:
        key = variable.lower()
        binding = self.bindings.get(key)
        if binding is None:
            raise AqlSemanticError(f"undefined variable '{variable}'")
        if key in self.negated:
            raise AqlSemanticError(f"variable '{variable}' is inside NOT CONTAINS and has no value")
        return binding

    def path_value(self: Compiler, path: ast.IdentifiedPath, scope: Scope) -> Value:
        binding = self.binding_of(path.variable)
        if path.predicate is not None:  # the item where the variable's object satisfies it (guard.py)
            value = self.path_value(ast.IdentifiedPath(path.variable, path.path), scope)
            return guarded(value, self.variable_condition(binding, path.predicate, scope))
        if binding.kind in ("ehr", "version"):
            steps, found = self.object_step_predicates(binding, path.path)
            if binding.kind == "ehr":
                value = self.ehr_path(binding, steps, scope)
            else:
                value = self.version_path(binding, steps, scope)
            if not found:
                return value
            return guarded(value, self.object_step_condition(binding, steps, found, scope))
        steps = tuple(ast.PathStep(a) for a in binding.prefix) + path.path
        steps, leading = self.leading_step_predicates(binding, steps, scope)
        value = self.node_path(binding, steps, scope)
        return guarded(value, leading) if leading is not None else value

    def ehr_path(self: Compiler, binding: Binding, steps: tuple[ast.PathStep, ...], scope: Scope) -> Value:
        """An EHR path: ``ehr_id/value`` is the id column the EHR is known by (its row may be absent from
        the FROM, see ``FromMixin._ehr_by_contents``); any other path joins the row first."""
        if tuple(s.attribute for s in steps) == ("ehr_id", "value") and all(
            s.predicate is None for s in steps
        ):
            return self.uuid_value(binding.ehr_id, "an EHR id")
        self.ehr_row(binding)
        return ObjectPathMixin.ehr_path(self, binding, steps, scope)

    def null_value(self: Compiler) -> Value:
        return ScalarValue({"json": sa.null()}, "json", description="an absent value")

    # ------------------------------------------------------------------------------------ node paths

    def node_path(self: Compiler, binding: Binding, steps: tuple[ast.PathStep, ...], scope: Scope) -> Value:
        if binding.root and not binding.prefix and steps == (ast.PathStep("uid"), ast.PathStep("value")):
            return self._version_uid(binding)
        groups, data_owner, rest_start = self._node_groups(binding, steps)
        data_steps = steps[rest_start:]
        node, node_types, root = binding.table, rm_model.concrete_subtypes(binding.walk_type), binding.root
        if groups:
            node = self._shared_node(
                binding, groups, scope, self._required_object(binding, groups, data_steps, data_owner)
            )
            node_types = tuple(sorted({s for g in groups[-1][2] for s in rm_model.concrete_subtypes(g)}))
            root = False
        if not data_steps:
            whole = binding.ov.c.data if root else self.json_at(binding.ov.c.data, node.c.json_path)
            value = JsonValue(self, whole, description="a whole object")
            value.leaf_sort = self.json_sort_keys(whole)
            return value
        return self._data_value(binding, node, root, node_types, data_owner, data_steps, scope)

    def _node_groups(
        self: Compiler, binding: Binding, steps: tuple[ast.PathStep, ...]
    ) -> tuple[list[Group], str | None, int]:
        """The node steps of a path (attributes up to each LOCATABLE, its predicate, its target types), the
        RM type owning the data steps after them, and where those start."""
        groups: list[Group] = []
        owner: str = binding.walk_type
        data_owner: str | None = owner
        rest_start = 0
        for end in rm_model.locatable_ends(owner, tuple(s.attribute for s in steps)):
            pending, step = steps[rest_start:end], steps[end]
            if any(p.predicate is not None for p in pending):
                raise AqlUnsupported("a predicate on a non-LOCATABLE attribute")
            for p in pending:
                attr = rm_model.attribute(owner, p.attribute)
                assert attr is not None
                owner = rm_model.common_owner(attr.targets)
            attr = rm_model.attribute(owner, step.attribute)
            assert attr is not None
            groups.append(((*(p.attribute for p in pending), step.attribute), step.predicate, attr.targets))
            rest_start = end + 1
            owner = data_owner = rm_model.common_owner(attr.targets)
        return groups, data_owner, rest_start

    def _required_object(
        self: Compiler,
        binding: Binding,
        groups: list[Group],
        data_steps: tuple[ast.PathStep, ...],
        owner: str | None,
    ) -> str | None:
        """The attribute a node reached by ``groups`` must have for the path to give it a row, or None.

        EHRbase keeps a FEEDER_AUDIT as an object of its own, joined inside the path's chain of steps: in
        ``o/.../items[CLUSTER]/feeder_audit/originating_system_item_ids`` a CLUSTER without a feeder_audit
        gives no row (while a missing list in an object that is there gives a row of NULL, and so does a
        missing feeder_audit on the FROM variable itself). Only where no other path of the query goes
        through the same node, which the requirement would narrow too."""
        if not data_steps or owner is None:
            return None
        attr = rm_model.attribute(owner, data_steps[0].attribute)
        if attr is None or rm_model.common_owner(attr.targets) != "FEEDER_AUDIT":
            return None
        mine = tuple((g[0], g[1]) for g in groups)
        if self._paths_through(binding, mine) != 1:
            return None
        return data_steps[0].attribute

    def _paths_through(self: Compiler, binding: Binding, mine: tuple[Any, ...]) -> int:
        """How many paths of the query on ``binding``'s variable go through the node steps ``mine``."""
        return sum(1 for key in self._path_key_list(binding) if key[: len(mine)] == mine)

    def _shared_node(
        self: Compiler, binding: Binding, groups: list[Group], scope: Scope, required: str | None = None
    ) -> Any:
        """The node at the end of ``groups``, joined inside the deepest node it shares with the query's other
        paths on the same variable (a junction), which is joined once for all of them.

        The paths of a variable form a tree (EHRbase's reading): ``o/.../events[at0006]/time/value`` and
        ``o/.../events[at0006]/data[at0003]/items[at0004]/value/magnitude`` pair each event's time with the
        magnitude in that same event, not with every event's of the observation; and the event row is
        joined once, the element inside its nested-set range. A junction is a node step sequence where a
        path ends or two paths part; a chain of steps below it stays one join."""
        k = self._junction(binding, groups)
        if k == 0:
            return self._node_steps(binding, groups, scope, required=required)
        anchor = self._shared_node(binding, groups[:k], scope)
        return self._node_steps(binding, groups, scope, anchor=(anchor, groups[:k]), required=required)

    def _junction(self: Compiler, binding: Binding, groups: list[Group]) -> int:
        """The length of the longest proper prefix of ``groups`` that is a junction of the variable's paths
        (0: none, or the path is not one the junction logic handles: every node step a plain node id)."""
        if (
            len(groups) < 2
            or binding.kind != "node"
            or binding.container is not None
            or not all(_plain(g[1]) for g in groups)
        ):
            return 0
        keys = self._path_keys(binding)
        mine = tuple((g[0], g[1]) for g in groups)
        for k in range(len(mine) - 1, 0, -1):
            prefix = mine[:k]
            below = {key[k] for key in keys if len(key) > k and key[:k] == prefix}
            if prefix in keys or len(below) > 1:
                return k
        return 0

    def _path_keys(self: Compiler, binding: Binding) -> set[tuple[tuple[tuple[str, ...], Any], ...]]:
        """The node step sequences of every path of the query on ``binding``'s variable."""
        return set(self._path_key_list(binding))

    def _path_key_list(self: Compiler, binding: Binding) -> list[tuple[tuple[tuple[str, ...], Any], ...]]:
        """The node step sequence of each path of the query on ``binding``'s variable, one per path."""
        key = binding.variable
        found = self.path_keys.get(key)
        if found is None:
            found = []
            for path in self.query_paths:
                if path.variable.lower() != key or path.predicate is not None:
                    continue
                steps = tuple(ast.PathStep(a) for a in binding.prefix) + path.path
                try:
                    groups = self._node_groups(binding, steps)[0]
                except AqlUnsupported:
                    continue
                found.append(tuple((g[0], g[1]) for g in groups))
            self.path_keys[key] = found
        return found

    def _version_uid(self: Compiler, binding: Binding) -> Value:
        """``uid/value`` of a version's root: the version row's ``vo_id::system_id::version``, which the write
        path (``cdr.storage.versioning.commit_version``) stores as the data's uid, so no node row is read."""
        ov = binding.ov
        text = self.uuid_text(ov.c.vo_id) + "::" + ov.c.system_id + "::" + sa.cast(ov.c.version, sa.String)
        return ColumnValue(
            text,
            "text",
            render=str,
            text=text,
            description="a version uid",
            compare_hook=self._root_uid_compare(binding),
            count_key=ov.c.vo_id,  # the uid's parts are NOT NULL: it is NULL only where the row is
        )

    def _root_uid_compare(self: Compiler, binding: Binding) -> Any:
        """``c/uid/value = 'x'`` on a version's root: the key columns, not the JSON (as EHRbase: an object
        id alone, or ``id::::n`` without system, matches the latest version of that object)."""
        node, ov = binding.table, binding.ov

        def compare(op: str, scalar: Any) -> Any:
            if op not in ("=", "!=") or scalar.is_list or scalar.type.value not in ("STRING",):
                return None
            vo = self.binds.bind(scalar, lambda s: uid_part(s, 0), LenientUuid())
            system = self.binds.bind(scalar, lambda s: uid_part(s, 1), sa.String())
            version = self.binds.bind(scalar, lambda s: uid_part(s, 2), sa.Integer())
            same = sa.and_(
                node.c.vo_id == vo,
                sa.or_(system.is_(None), ov.c.system_id == system),
                sa.or_(version.is_(None), ov.c.version == version),
            )
            # != is the negation on the same key columns (the JSON uid may name another system id)
            return same if op == "=" else sa.not_(sa.and_(vo.is_not(None), same))

        return compare

    def _node_steps(
        self: Compiler,
        binding: Binding,
        groups: list[Group],
        scope: Scope,
        anchor: tuple[Any, list[Group]] | None = None,
        required: str | None = None,
    ) -> Any:
        """Join the node at the end of ``groups`` (once per scope); with an ``anchor`` (a joined node and
        the leading groups that reach it, see :meth:`_shared_node`) inside that node's range; with
        ``required``, only a node whose data has that attribute (see :meth:`_required_object`)."""
        key = ("nodes", binding.variable, tuple((g[0], g[1]) for g in groups), required)
        if key in scope.cache:
            return scope.cache[key]
        parent = binding.table
        if all(_plain(g[1]) for g in groups[:-1]) and isinstance(_node_id(groups[-1][1]), str):
            leaf = t.node.alias(self.alias_name("p"))
            steps = ["/" + "/".join(attrs) + f"[{_node_id(pred)}]" for attrs, pred, _ in groups]
            suffix = "".join(steps)
            # the leaf's nearest archetype root and its path from there: the stored archetype_id and
            # archetype_path columns, which the leaf-value indexes lead with
            archetype, archetype_path, own_root = (
                binding.archetype_id,
                suffix,
                binding.archetype_id is not None,
            )
            for i, (_, pred, _) in enumerate(groups):
                node_id = _node_id(pred)
                if isinstance(node_id, str) and rm_model_is_archetype(node_id):
                    archetype, archetype_path, own_root = node_id, "".join(steps[i + 1 :]) or "/", False
            container = binding.container
            if container is not None:  # the binding has no row: the leaf stands in for it (see stand_ins)
                parent = container.table
            conds: list[Cond] = [
                leaf.c.ehr_id == parent.c.ehr_id,
                leaf.c.vo_id == parent.c.vo_id,
                leaf.c.version == parent.c.version,
            ]
            if anchor is not None:
                parent = anchor[0]
                conds = [
                    leaf.c.ehr_id == parent.c.ehr_id,
                    leaf.c.vo_id == parent.c.vo_id,
                    leaf.c.version == parent.c.version,
                    leaf.c.num > parent.c.num,
                    leaf.c.num <= parent.c.last_num,
                ]
                if binding.root:
                    conds.append(leaf.c.path == suffix)
                elif not (own_root and archetype is not None and rm_model.roots_never_nest(archetype)):
                    conds.append(leaf.c.path == self._base_path(parent) + "".join(steps[len(anchor[1]) :]))
            elif binding.root:
                conds += [leaf.c.num > 0, leaf.c.path == suffix]
            elif container is not None and container.root:
                conds.append(leaf.c.num > 0)
            elif container is not None:
                conds += [leaf.c.num > parent.c.num, leaf.c.num <= parent.c.last_num]
            else:
                conds += [leaf.c.num > parent.c.num, leaf.c.num <= parent.c.last_num]
                if not (own_root and archetype is not None and rm_model.roots_never_nest(archetype)):
                    # the leaf's nearest root may be another one inside this node: say where it is
                    conds.append(leaf.c.path == self._base_path(parent) + suffix)
            if archetype is not None:
                conds += [leaf.c.archetype_id == archetype, leaf.c.archetype_path == archetype_path]
            last = groups[-1][1]
            assert last is not None
            conds.extend(self.node_predicate(leaf, last))
            conds.extend(self._step_conditions(binding, leaf, last, groups[-1][2], scope))
            if required is not None:
                conds.append(self.json_get(leaf.c.data, [required]).is_not(None))
        else:
            leaf, conds = parent, []
            chain: list[tuple[Any, Cond]] = []
            for attrs, pred, targets in groups:
                child = t.node.alias(self.alias_name("p"))
                node_id = _node_id(pred)
                anid = child.c.archetype_node_id
                bracket = sa.case((anid == "", sa.literal("")), else_="[" + anid + "]")
                step_conds = [
                    child.c.ehr_id == leaf.c.ehr_id,
                    child.c.vo_id == leaf.c.vo_id,
                    child.c.version == leaf.c.version,
                    child.c.parent_num == leaf.c.num,
                    child.c.path == self._base_path(leaf) + ("/" + "/".join(attrs)) + bracket,
                ]
                if pred is not None:
                    step_conds.extend(self.node_predicate(child, pred))
                    step_conds.extend(self._step_conditions(binding, child, pred, targets, scope))
                if required is not None and len(chain) == len(groups) - 1:
                    step_conds.append(self.json_get(child.c.data, [required]).is_not(None))
                chain.append((child, sa.and_(*step_conds)))
                leaf = child
            first, first_cond = chain[0]
            unit: Any = first
            inner: list[Cond] = []
            for child, cond in chain[1:]:
                unit = unit.join(child, cond)
            inner.append(first_cond)
            scope.add_path(unit, sa.and_(*inner))
            scope.cache[key] = leaf
            return leaf
        if binding.container is not None:
            scope.add(leaf, sa.and_(*conds))  # inner: it is the FROM row
        else:
            scope.add_path(leaf, sa.and_(*conds))
        scope.cache[key] = leaf
        return leaf

    def _base_path(self: Compiler, node: Any) -> Any:
        return sa.case((node.c.path == "/", sa.literal("")), else_=node.c.path)

    def _step_conditions(
        self: Compiler,
        binding: Binding,
        node: Any,
        predicate: ast.Predicate,
        targets: tuple[str, ...],
        scope: Scope,
    ) -> list[Cond]:
        if not isinstance(predicate, ast.NodePredicate) or not predicate.conditions:
            return []
        owner = rm_model.common_owner(targets)
        step_binding = Binding(
            f"{binding.variable}#step", owner, "node", node, ov=binding.ov, walk_type=owner
        )
        return [self.predicate_condition(step_binding, c, scope) for c in predicate.conditions]

    def _data_value(
        self: Compiler,
        binding: Binding,
        node: Any,
        root: bool,
        node_types: tuple[str, ...],
        owner: str | None,
        data_steps: tuple[ast.PathStep, ...],
        scope: Scope,
    ) -> JsonValue:
        keys: list[str] = []
        attr = None
        final_type: str | None = owner
        for step in data_steps:
            attr = rm_model.attribute(final_type, step.attribute) if final_type else None
            final_type = rm_model.common_owner(attr.targets) if attr is not None and attr.targets else None
        needs_version = final_type is not None and rm_model.may_contain_locatable(final_type)
        if needs_version:
            doc: Any = binding.ov.c.data if root else self.json_at(binding.ov.c.data, node.c.json_path)
        else:
            doc = node.c.data
        current: str | None = owner
        walked: list[Any] = []
        unnested = False
        guards: list[Cond] = []  # predicates on single objects inside the JSON (conditions.json_predicate)
        for step in data_steps:
            attr = rm_model.attribute(current, step.attribute) if current else None
            target = rm_model.common_owner(attr.targets) if attr is not None and attr.targets else None
            keys.append(step.attribute)
            walked.append(step.attribute if step.predicate is None else (step.attribute, step.predicate))
            if attr is not None and attr.is_list:
                cache_key = ("unnest", id(node), binding.variable, tuple(walked))
                if cache_key not in scope.cache:
                    scope.cache[cache_key] = self.json_unnest_where(doc, keys, step.predicate, target, scope)
                doc, keys, unnested = scope.cache[cache_key], [], True
            elif step.predicate is not None:
                guards.append(self.json_predicate(self.json_get(doc, keys), step.predicate, target))
            current = target
        json = self.json_get(doc, keys) if keys else doc
        value = JsonValue(
            self,
            json,
            primitive=attr.primitive if attr is not None else None,
            primitives=attr.primitives if attr is not None else None,
        )
        if not unnested:
            names = tuple(s.attribute for s in data_steps)
            value.leaf = leaf_mod.leaf_columns(node, node_types, names)
            if "whole" in value.leaf:
                value.leaf_sort = leaf_mod.whole_value_sort(node)
            elif "instant" in value.leaf:
                # a date/time sorts by its instant (the text order is wrong across UTC offsets); values of
                # other types and unreadable ones after that by their JSON
                column, guard = value.leaf["instant"]
                value.leaf_sort = [sa.case((guard, column)), *self.json_sort_keys(json)]
        return guarded_json(value, sa.and_(*guards)) if guards else value
