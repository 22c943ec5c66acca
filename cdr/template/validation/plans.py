"""Per-template precomputation: for each constraint object, what the walker needs in ready-to-use form.

Building a plan touches the AOM once; validating many compositions against one template then costs dictionary
look-ups only. Plans are made lazily (only for the parts of a template data actually reaches) and kept per
template in a small LRU keyed by identity: AOM objects are slotted and cannot be weakly referenced, so the
cache holds the template alive until it is evicted.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cdr.rm.base import RM_TYPES
from cdr.rm.instances import is_rm
from cdr.template.aom import (
    ArchetypeInternalRef,
    ArchetypeSlot,
    CArchetypeRoot,
    CAttribute,
    CCodePhrase,
    CComplexObject,
    CMultipleAttribute,
    CObject,
    CPrimitive,
    CPrimitiveObject,
    CString,
    Interval,
    OperationalTemplate,
)

CACHE_SIZE = 64


def base_type(rm_type_name: str) -> str:
    """``DV_INTERVAL<DV_COUNT>`` -> ``DV_INTERVAL``."""
    return rm_type_name.split("<", 1)[0].strip()


def generic_parameter(rm_type_name: str) -> str | None:
    """``DV_INTERVAL<DV_COUNT>`` -> ``DV_COUNT`` (``None`` for a non-generic name)."""
    if "<" not in rm_type_name:
        return None
    return rm_type_name.split("<", 1)[1].rstrip(">").strip() or None


@lru_cache(maxsize=4096)
def conforms(data_type: type, constraint_type: str) -> bool:
    """Whether instances of ``data_type`` satisfy a constraint on ``constraint_type`` (generics ignored)."""
    target = RM_TYPES.get(base_type(constraint_type))
    if target is None:  # a type the RM does not know: let the name decide
        return getattr(data_type, "rm_type", None) == base_type(constraint_type)
    return issubclass(data_type, target)


def resolve(node: CObject) -> CObject:
    """The constraint an ARCHETYPE_INTERNAL_REF stands for (the node itself otherwise or if unresolvable)."""
    if isinstance(node, ArchetypeInternalRef):
        target = node.target
        return target if target is not None else node
    return node


def match_id(node: CObject) -> str:
    """The archetype_node_id data must carry to match ``node`` ('' when the node does not constrain it)."""
    if isinstance(node, CArchetypeRoot):
        return node.archetype_id
    if isinstance(node, ArchetypeInternalRef):
        target = node.target
        return node.node_id or (target.node_id if target is not None else "")
    return node.node_id


# --------------------------------------------------------------------------------------------- names


@dataclass(slots=True, frozen=True)
class NameConstraint:
    """What a template allows as the ``name`` of a node: literal strings, a pattern, or coded terms."""

    strings: frozenset[str] = frozenset()
    pattern: str | None = None
    codes: frozenset[str] = frozenset()
    terminology: str | None = None
    texts: frozenset[str] = frozenset()  # every text of the allowed codes, in every language
    display: str | None = None  # the name to show in paths for this constraint

    def accepts(self, name: Any) -> bool:
        if name is None:
            return False
        d = name.__dict__
        value = d.get("value")
        code = d.get("defining_code")
        if self.codes:
            if code is not None:
                cd = code.__dict__
                return cd.get("code_string") in self.codes
            return value in self.texts
        if self.strings and value in self.strings:
            return True
        if self.pattern is not None:
            from cdr.template.validation.primitives import compiled_pattern

            rx = compiled_pattern(self.pattern)
            return rx is None or (isinstance(value, str) and rx.fullmatch(value) is not None)
        return False


def name_constraint(node: CObject) -> NameConstraint | None:
    """The template's constraint on the node's name, ``None`` when the name is free."""
    if not isinstance(node, CComplexObject):
        return None
    attr = node.attribute("name")
    if attr is None or not attr.children:
        return None
    strings: set[str] = set()
    pattern: str | None = None
    codes: set[str] = set()
    texts: set[str] = set()
    terminology: str | None = None
    constrained = False
    for child in attr.children:
        if not isinstance(child, CComplexObject):
            continue
        value_attr = child.attribute("value")
        for prim in value_attr.children if value_attr is not None else []:
            if isinstance(prim, CPrimitiveObject) and isinstance(prim.item, CString):
                item = prim.item
                if item.list and not item.list_open:
                    strings.update(item.list)
                    constrained = True
                elif item.pattern and item.pattern != ".*":
                    pattern = item.pattern
                    constrained = True
        code_attr = child.attribute("defining_code")
        for cp in code_attr.children if code_attr is not None else []:
            if isinstance(cp, CCodePhrase) and cp.code_list:
                codes.update(cp.code_list)
                terminology = cp.terminology_id
                constrained = True
                root = cp.archetype_root
                if root is not None:
                    for terms in root.term_definitions.values():
                        texts.update(t.text for c, t in terms.items() if c in cp.code_list and t.text)
    if not constrained:
        return None
    display = sorted(strings)[0] if len(strings) == 1 else None
    if display is None and len(codes) == 1:
        only = next(iter(codes))
        display = node.archetype_root.term_text(only) if node.archetype_root is not None else None
    return NameConstraint(
        frozenset(strings), pattern, frozenset(codes), terminology, frozenset(texts), display
    )


# -------------------------------------------------------------------------------------------- plans


@dataclass(slots=True)
class AttributePlan:
    """One constrained attribute of a complex object, indexed for matching data members to children."""

    name: str
    attribute: CAttribute
    multiple: bool
    existence: Interval[int] | None
    cardinality: Interval[int] | None
    children: list[CObject]  # as written (internal refs unresolved, for occurrences and paths)
    targets: list[CObject]  # internal refs resolved
    by_id: dict[str, list[int]]
    slots: list[int]
    anonymous: list[int]  # children that do not constrain archetype_node_id
    names: list[NameConstraint | None]
    primitive: CPrimitive | None  # the item when the attribute holds a primitive value
    ambiguous_ids: frozenset[str]  # node ids shared by several children (paths then need names)

    @property
    def path(self) -> str:
        return self.attribute.path


@dataclass(slots=True)
class NodePlan:
    """A complex object's constrained attributes, and the names of those attributes."""

    attributes: list[AttributePlan]
    constrained: frozenset[str]
    hooks: list[Callable[..., None]] = field(default_factory=list)


def _attribute_plan(attr: CAttribute) -> AttributePlan:
    children = list(attr.children)
    targets = [resolve(c) for c in children]
    by_id: dict[str, list[int]] = {}
    slots: list[int] = []
    anonymous: list[int] = []
    for i, c in enumerate(children):
        if isinstance(c, ArchetypeSlot):
            slots.append(i)
            continue
        mid = match_id(c)
        if mid:
            by_id.setdefault(mid, []).append(i)
        else:
            anonymous.append(i)
    primitive = None
    if len(targets) >= 1 and isinstance(targets[0], CPrimitiveObject):
        primitive = targets[0].item
    cardinality = (
        attr.cardinality.interval if isinstance(attr, CMultipleAttribute) and attr.cardinality else None
    )
    if cardinality is not None and not cardinality_consistent(cardinality, children):
        cardinality = None
    return AttributePlan(
        name=attr.rm_attribute_name,
        attribute=attr,
        multiple=attr.is_multiple,
        existence=attr.existence,
        cardinality=cardinality,
        children=children,
        targets=targets,
        by_id=by_id,
        slots=slots,
        anonymous=anonymous,
        names=[name_constraint(t) for t in targets],
        primitive=primitive,
        ambiguous_ids=frozenset(k for k, v in by_id.items() if len(v) > 1),
    )


def cardinality_consistent(cardinality: Interval[int], children: list[CObject]) -> bool:
    """Whether a container's cardinality leaves room for the members its children require (AOM VACMC).

    A template whose required children alone exceed the cardinality's upper bound contradicts itself; no
    data can satisfy both, and EHRbase holds data to the occurrences only. We then do the same.
    """
    if cardinality.upper is None:
        return True
    required = sum((c.occurrences.lower or 0) for c in children if c.occurrences is not None)
    return required <= cardinality.upper


class TemplatePlans:
    """Plans of one template's constraint objects, made on first use."""

    def __init__(self, opt: OperationalTemplate | None) -> None:
        self.opt = opt
        self._nodes: dict[int, NodePlan] = {}

    def node(self, cobj: CComplexObject) -> NodePlan:
        plan = self._nodes.get(id(cobj))
        if plan is None:
            attrs = [_attribute_plan(a) for a in cobj.attributes]
            plan = NodePlan(attrs, frozenset(a.name for a in attrs))
            self._nodes[id(cobj)] = plan
        return plan


_CACHE: OrderedDict[int, TemplatePlans] = OrderedDict()


def plans_for(opt: OperationalTemplate | None) -> TemplatePlans:
    """The (cached) plans of a template."""
    key = id(opt)
    found = _CACHE.get(key)
    if found is not None and found.opt is opt:
        _CACHE.move_to_end(key)
        return found
    plans = TemplatePlans(opt)
    _CACHE[key] = plans
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return plans


def is_rm_object(value: Any) -> bool:
    return is_rm(value)
