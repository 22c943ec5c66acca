"""The structural walk: RM objects against constraint objects, attribute by attribute.

Covers RM type conformance, attribute existence, container cardinality, node occurrences, archetype ids at
slots and roots, template-constrained names and nodes the template does not have. Value constraints
(:mod:`.values`, :mod:`.coded`, :mod:`.primitives`) and RM rules (:mod:`.rm_rules`) are called from here.

How data members are matched to the children of a container constraint (what EHRbase does too): by node id
(archetype id at archetype roots) and RM type, then, where several children share the node id, by the name
constraint each child puts on ``name``. A member no child accepts is NODE_NOT_IN_TEMPLATE (or
ARCHETYPE_NOT_ALLOWED when a slot for its type exists but refuses it); a member admitted by a slot that the
template did not fill is checked against the RM only.
"""

from __future__ import annotations

from typing import Any

from cdr.rm.base import RMObject, is_rm_subtype
from cdr.rm.instances import is_rm, rm_type_of
from cdr.template.aom import (
    ArchetypeInternalRef,
    ArchetypeSlot,
    CComplexObject,
    CDvOrdinal,
    CDvQuantity,
    CDvState,
    CObject,
    ConstraintRef,
    CPrimitiveObject,
)
from cdr.template.aom import CCodePhrase as CCodePhraseConstraint
from cdr.template.issues import IssueCode
from cdr.template.validation import coded, ism, rm_rules, state, values
from cdr.template.validation.context import Context, interval_text
from cdr.template.validation.datapath import DataPath, child, missing_node_path, render
from cdr.template.validation.plans import (
    AttributePlan,
    TemplatePlans,
    base_type,
    conforms,
    match_id,
    resolve,
)
from cdr.template.validation.primitives import check_primitive

_NAME_CODES = {IssueCode.STRING_NOT_IN_LIST, IssueCode.STRING_PATTERN_MISMATCH}
# ACTIVITY.action_archetype_id holds a regular expression itself ('/.*/'); matching it against the
# template's pattern says nothing, and EHRbase does not do it either
_UNCHECKED_PRIMITIVES = frozenset({"action_archetype_id"})
_NOTHING: frozenset[str] = frozenset()


class Walker:
    """Walks one RM tree against one template's constraints, adding issues to ``ctx``."""

    __slots__ = ("ctx", "plans")

    def __init__(self, ctx: Context, plans: TemplatePlans) -> None:
        self.ctx = ctx
        self.plans = plans

    # ------------------------------------------------------------------------------- objects

    def constrained(self, obj: RMObject, cobj: CObject, path: DataPath | None) -> None:
        """Check ``obj`` (already known to conform to ``cobj``'s RM type) against ``cobj`` and below."""
        cobj = resolve(cobj)
        ctx = self.ctx
        if isinstance(cobj, ArchetypeInternalRef):  # resolve() found no target: say so, check the RM only
            ctx.add(
                path,
                IssueCode.UNRESOLVED_REFERENCE,
                f"the template reuses the constraint at {cobj.target_path!r} here, but no node has that "
                "path; only RM rules were checked below this node",
                cobj.path,
            )
            self.free(obj, path)
            return
        d = obj.__dict__  # read once per object: an attribute read of an RM object costs a pydantic hook
        rm_rules.check_object(obj, path, ctx, d)
        if isinstance(cobj, CComplexObject):
            self._attributes(obj, d, cobj, path)
            if rm_type_of(obj) == "DV_CODED_TEXT":
                coded.check_coded_text(obj, cobj, path, ctx)
            return
        if isinstance(cobj, CDvQuantity):
            values.check_quantity(obj, cobj, path, ctx)
        elif isinstance(cobj, CDvOrdinal):
            values.check_ordinal(obj, cobj, path, ctx)
        elif isinstance(cobj, CCodePhraseConstraint):
            coded.check_code_phrase(obj, cobj, path, ctx)
        elif isinstance(cobj, ConstraintRef):
            coded.check_constraint_ref(obj, cobj, path, ctx)
        elif isinstance(cobj, CDvState):
            state.check_state(obj, cobj, path, ctx)
        self.free_attributes(obj, d, path, _NOTHING)

    def free(self, obj: RMObject, path: DataPath | None) -> None:
        """An object no template constraint covers: RM rules only, all the way down."""
        d = obj.__dict__
        rm_rules.check_object(obj, path, self.ctx, d)
        self.free_attributes(obj, d, path, _NOTHING)

    def free_attributes(
        self, obj: RMObject, d: dict[str, Any], path: DataPath | None, skip: frozenset[str]
    ) -> None:
        for name in rm_rules.object_fields(type(obj)):
            if name in skip:
                continue
            value = d.get(name)
            if value is None:
                continue
            if isinstance(value, list):
                for item in value:
                    if is_rm(item):
                        self.free(item, child(path, name, item, value))
            elif is_rm(value):
                self.free(value, child(path, name, value))

    # ---------------------------------------------------------------------------- attributes

    def _attributes(
        self, obj: RMObject, d: dict[str, Any], cobj: CComplexObject, path: DataPath | None
    ) -> None:
        plan = self.plans.node(cobj)
        fields = rm_rules.field_names(type(obj))
        for ap in plan.attributes:
            if ap.name in fields:  # else a functional property or an attribute of another RM release
                self.attribute(obj, d, ap, path)
        self.free_attributes(obj, d, path, plan.constrained)

    def attribute(self, obj: RMObject, d: dict[str, Any], ap: AttributePlan, path: DataPath | None) -> None:
        """One constrained attribute of ``obj`` (``d``: its ``__dict__``): existence, then its value(s)
        against the children."""
        name = ap.name
        value = d.get(name)
        if value is None or (isinstance(value, list) and not value):
            if not self._absent(ap, path) and ap.multiple and ap.children:
                self._occurrences([0] * len(ap.children), ap, path)
            return
        ex = ap.existence
        if ex is not None and ex.upper == 0:
            self.ctx.add(
                child(path, name),
                IssueCode.NOT_ALLOWED,
                f"attribute '{name}' is not allowed here (existence 0..0)",
                ap.path,
            )
            return
        if isinstance(value, list):
            self._multiple(value, ap, path)
        elif name == "name" and d.get("archetype_node_id") is not None:
            self._name(value, ap, path)
        else:
            self._single(value, ap, path, element_value=name == "value" and rm_type_of(obj) == "ELEMENT")

    def _absent(self, ap: AttributePlan, path: DataPath | None) -> bool:
        """Report a missing mandatory attribute; whether it was reported.

        When the attribute may be absent, a container's members are still counted (zero of each): the owning
        object exists, so children it requires are missing (AOM occurrences; EHRbase counts them the same
        way). Nothing is required below an *object* that is absent, whatever its children's occurrences.
        """
        ex = ap.existence
        if ex is not None and (ex.lower or 0) > 0:
            self.ctx.add(
                child(path, ap.name),
                IssueCode.REQUIRED,
                f"attribute '{ap.name}' is mandatory (existence {interval_text(ex.lower, ex.upper)})",
                ap.path,
            )
            return True
        return False

    def _name(self, value: Any, ap: AttributePlan, path: DataPath | None) -> None:
        """``name`` of a LOCATABLE: like any attribute, but literal and pattern failures are NAME_MISMATCH."""
        issues = self.ctx.issues
        before = len(issues)
        self._single(value, ap, path)
        for i in range(before, len(issues)):
            issue = issues[i]
            if issue.code in _NAME_CODES:
                issues[i] = issue.model_copy(
                    update={
                        "code": IssueCode.NAME_MISMATCH,
                        "path": render(child(path, "name")),
                        "message": f"name {issue.message}",
                    }
                )

    # -------------------------------------------------------------------------- single values

    def _single(
        self, value: Any, ap: AttributePlan, path: DataPath | None, element_value: bool = False
    ) -> None:
        ctx = self.ctx
        vpath = child(path, ap.name, value)
        if not is_rm(value):
            if ap.primitive is not None and ap.name not in _UNCHECKED_PRIMITIVES:
                cpath = ap.targets[0].path if ap.targets else ap.path
                for code, message in check_primitive(ap.primitive, value):
                    ctx.add(vpath, code, message, cpath)
            return
        if not ap.children:
            self.free(value, vpath)
            return
        candidates = self._candidates_single(value, ap)
        if not candidates:
            if not (element_value and self._foreign_value_accepted(value, ap)):
                self._type_mismatch(value, ap, vpath)
            self.free(value, vpath)
            return
        if len(candidates) == 1:
            self.constrained(value, ap.targets[candidates[0]], vpath)
            return
        alternatives = [ap.targets[i] for i in candidates]
        if rm_type_of(value) == "ISM_TRANSITION":
            ism.check_alternatives(self, value, alternatives, vpath)
            return
        self._best_alternative(value, alternatives, vpath)

    def _candidates_single(self, value: RMObject, ap: AttributePlan) -> list[int]:
        cls = type(value)
        rm_type = rm_type_of(value)
        node_id = value.__dict__.get("archetype_node_id")
        exact: list[int] = []
        sub: list[int] = []
        for i, target in enumerate(ap.targets):
            child_node = ap.children[i]
            if isinstance(child_node, ArchetypeSlot) or isinstance(target, CPrimitiveObject):
                continue
            if not conforms(cls, target.rm_type_name):
                continue
            mid = match_id(child_node)
            if mid and node_id is not None and mid != node_id:
                continue
            (exact if base_type(target.rm_type_name) == rm_type else sub).append(i)
        if not exact and not sub and node_id is not None:
            for i in ap.slots:
                slot = ap.children[i]
                if (
                    conforms(cls, slot.rm_type_name)
                    and isinstance(slot, ArchetypeSlot)
                    and slot.admits(node_id)
                ):
                    return [i]
        return exact + sub

    def _best_alternative(self, value: RMObject, alternatives: list[CObject], vpath: DataPath) -> None:
        """Several constraints fit the type: the value is valid if one of them accepts it.

        Otherwise the issues of the alternative with the fewest are kept (the nearest miss explains best).
        """
        ctx = self.ctx
        best: list[Any] | None = None
        saved = ctx.issues
        for target in alternatives:
            ctx.issues = []
            try:
                if isinstance(target, ArchetypeSlot):
                    self.free(value, vpath)
                else:
                    self.constrained(value, target, vpath)
                found = ctx.issues
            finally:
                ctx.issues = saved
            if not found:
                return
            if best is None or len(found) < len(best):
                best = found
        saved.extend(best or [])

    def _foreign_value_accepted(self, value: RMObject, ap: AttributePlan) -> bool:
        """Whether the profile accepts this ELEMENT.value of a type the template does not allow.

        Only where the template allows exactly one data value type, not DV_INTERVAL, and the value is not a
        DV_TEXT standing in for a DV_CODED_TEXT: the cases EHRbase accepts
        (:attr:`.profile.ValidationProfile.foreign_element_value` has the evidence). The caller still
        checks the value against the RM.
        """
        if not self.ctx.profile.foreign_element_value or len(ap.targets) != 1:
            return False
        wanted = base_type(ap.targets[0].rm_type_name)
        if wanted == "DV_INTERVAL" or not is_rm_subtype(wanted, "DATA_VALUE"):
            return False
        return not (rm_type_of(value) == "DV_TEXT" and is_rm_subtype(wanted, "DV_CODED_TEXT"))

    def _type_mismatch(self, value: RMObject, ap: AttributePlan, vpath: DataPath) -> None:
        rm_type = rm_type_of(value)
        allowed = sorted({t.rm_type_name for t in ap.targets if not isinstance(t, CPrimitiveObject)})
        node_id = value.__dict__.get("archetype_node_id")
        if rm_type == "DV_TEXT" and any(base_type(a) == "DV_CODED_TEXT" for a in allowed):
            self.ctx.add(
                vpath, IssueCode.CODED_TEXT_REQUIRED, "expected a DV_CODED_TEXT but got DV_TEXT", ap.path
            )
            return
        type_ok = [t for t in ap.targets if conforms(type(value), t.rm_type_name)]
        if node_id is not None and type_ok:
            ids = sorted({match_id(c) for c in ap.children if match_id(c)})
            self.ctx.add(
                vpath,
                IssueCode.NODE_NOT_IN_TEMPLATE,
                f"{rm_type} with node id {node_id} is not in the template here; allowed node ids: "
                f"{', '.join(ids)}",
                ap.path,
            )
            return
        self.ctx.add(
            vpath,
            IssueCode.WRONG_TYPE,
            f"RM type {rm_type} is not allowed here; allowed: {', '.join(allowed)}",
            ap.path,
        )

    # ----------------------------------------------------------------------- container members

    def _multiple(self, items: list[Any], ap: AttributePlan, path: DataPath | None) -> None:
        ctx = self.ctx
        card = ap.cardinality
        if card is not None and not card.contains(len(items)):
            too_few = card.lower is not None and len(items) < card.lower
            ctx.add(
                child(path, ap.name),
                IssueCode.CARDINALITY_TOO_FEW if too_few else IssueCode.CARDINALITY_TOO_MANY,
                f"attribute '{ap.name}' has {len(items)} members, allowed "
                f"{interval_text(card.lower, card.upper)}",
                ap.path,
            )
        if not ap.children:
            for item in items:
                if is_rm(item):
                    self.free(item, child(path, ap.name, item, items))
            return
        counts = [0] * len(ap.children)
        for item in items:
            ipath = child(path, ap.name, item, items)
            if not is_rm(item):
                if ap.primitive is not None:
                    for code, message in check_primitive(ap.primitive, item):
                        ctx.add(ipath, code, message, ap.path)
                continue
            index = self._match_member(item, ap, ipath)
            if index is None:
                self.free(item, ipath)
                continue
            counts[index] += 1
            target = ap.targets[index]
            if isinstance(target, ArchetypeSlot):
                self.free(item, ipath)
            else:
                self.constrained(item, target, ipath)
        self._occurrences(counts, ap, path)

    def _match_member(self, item: RMObject, ap: AttributePlan, ipath: DataPath) -> int | None:
        """The child constraint ``item`` belongs to; reports and returns ``None`` when there is none."""
        cls = type(item)
        node_id = item.__dict__.get("archetype_node_id")
        if node_id is None:
            pool = [i for i in ap.anonymous if conforms(cls, ap.targets[i].rm_type_name)]
            if pool:
                return self._by_name(item, pool, ap, ipath)
            if ap.anonymous:
                self._type_mismatch(item, ap, ipath)
                return None
            if ap.by_id and "archetype_node_id" in rm_rules.field_names(cls):
                return None  # a LOCATABLE without node id: the RM rules report the missing attribute
            self._type_mismatch(item, ap, ipath)
            return None
        same_id = ap.by_id.get(node_id)
        if same_id:
            typed = [i for i in same_id if conforms(cls, ap.targets[i].rm_type_name)]
            if typed:
                return self._by_name(item, typed, ap, ipath)
            allowed = sorted({ap.targets[i].rm_type_name for i in same_id})
            self.ctx.add(
                ipath,
                IssueCode.WRONG_TYPE,
                f"RM type {cls.rm_type} is not allowed for node {node_id}; allowed: {', '.join(allowed)}",
                ap.path,
            )
            return None
        slots = [i for i in ap.slots if conforms(cls, ap.children[i].rm_type_name)]
        for i in slots:
            slot = ap.children[i]
            if isinstance(slot, ArchetypeSlot) and slot.admits(node_id):
                return i
        anonymous = [i for i in ap.anonymous if conforms(cls, ap.targets[i].rm_type_name)]
        if anonymous:  # children that leave archetype_node_id open accept any node id
            return self._by_name(item, anonymous, ap, ipath)
        if slots:
            patterns = "; ".join(
                a.string_expression or "|".join(a.patterns)
                for i in slots
                for a in getattr(ap.children[i], "includes", [])
            )
            self.ctx.add(
                ipath,
                IssueCode.ARCHETYPE_NOT_ALLOWED,
                f"archetype {node_id} is not allowed in this slot; allowed: {patterns or 'none'}",
                ap.children[slots[0]].path,
            )
            return None
        ids = sorted(ap.by_id)
        self.ctx.add(
            ipath,
            IssueCode.NODE_NOT_IN_TEMPLATE,
            f"{cls.rm_type} with node id {node_id} is not in the template here; allowed node ids: "
            f"{', '.join(ids) or 'none'}",
            ap.path,
        )
        return None

    def _by_name(self, item: RMObject, pool: list[int], ap: AttributePlan, ipath: DataPath) -> int | None:
        """Pick among children with the node id (and type) of ``item`` by their name constraints."""
        if len(pool) == 1:
            return pool[0]
        name = item.__dict__.get("name")
        constrained = [i for i in pool if ap.names[i] is not None]
        for i in constrained:
            nc = ap.names[i]
            if nc is not None and nc.accepts(name):
                return i
        free = [i for i in pool if ap.names[i] is None]
        if free:
            return free[0]
        shown = name.__dict__.get("value") if is_rm(name) else None
        allowed = sorted(
            {n for i in constrained if (nc := ap.names[i]) is not None for n in (nc.strings or nc.texts)}
        )
        self.ctx.add(
            ipath,
            IssueCode.NODE_NOT_IN_TEMPLATE,
            f"{type(item).rm_type} named '{shown}' is not in the template here; allowed names: "
            f"{', '.join(repr(a) for a in allowed)}",
            ap.path,
        )
        return None

    def _occurrences(self, counts: list[int], ap: AttributePlan, path: DataPath | None) -> None:
        for i, count in enumerate(counts):
            node = ap.children[i]
            occ = node.occurrences
            if occ is None or occ.contains(count):
                continue
            nc = ap.names[i]
            mid = match_id(node)
            where = missing_node_path(path, ap.name, mid, nc.display if nc else None, mid in ap.ambiguous_ids)
            allowed = interval_text(occ.lower, occ.upper)
            label = f"{node.rm_type_name}[{mid}]" + (
                f" '{nc.display}'" if nc is not None and nc.display else ""
            )
            if occ.upper is not None and count > occ.upper:
                self.ctx.add(
                    where,
                    IssueCode.OCCURRENCES_TOO_MANY,
                    f"{label} occurs {count} times, allowed {allowed}",
                    node.path,
                )
            else:
                self.ctx.add(
                    where,
                    IssueCode.OCCURRENCES_TOO_FEW,
                    f"{label} occurs {count} times, required {allowed}",
                    node.path,
                )
