"""What the compiler needs to know about the RM: which attribute leads to a LOCATABLE (a ``node`` row of its
own), which is a list (unnested into rows), and which concrete types an abstract FROM type stands for.

Paths in AQL name attributes only; whether a step crosses into another ``node`` row or stays inside one
node's JSON is decided here from the attribute's declared RM type (``cdr.rm.base.rm_fields``). Attributes that
the declared type lacks are looked up on its subtypes (``ITEM_STRUCTURE/items`` is ``ITEM_TREE.items``), as a
path in an archetype may use the attributes of the concrete type.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cdr.rm  # noqa: F401  (registers every RM class in RM_TYPES)
from cdr.rm.base import RM_TYPES, RMObject, is_rm_subtype, rm_field_map

LOCATABLE = "LOCATABLE"

VERSIONED_ROOTS = frozenset({"COMPOSITION", "EHR_STATUS", "FOLDER"})
"""Types whose instances are (or, for FOLDER, live in) the data of a version."""

PSEUDO_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "EVENT_CONTEXT": ("COMPOSITION", ("context",)),
    "FEEDER_AUDIT": (LOCATABLE, ("feeder_audit",)),
    "ISM_TRANSITION": ("ACTION", ("ism_transition",)),
    "INSTRUCTION_DETAILS": ("ACTION", ("instruction_details",)),
}
"""Non-LOCATABLE classes usable in FROM: (host LOCATABLE type, attribute path from the host)."""


@cache
def _type_names() -> dict[type[RMObject], str]:
    return {cls: name for name, cls in RM_TYPES.items()}


def type_name(cls: type) -> str | None:
    """The spec name of an RM class (``DvQuantity`` -> ``DV_QUANTITY``); ``None`` for primitives."""
    return _type_names().get(cls)


def is_known(rm_type: str) -> bool:
    return rm_type in RM_TYPES


def is_locatable(rm_type: str) -> bool:
    return is_rm_subtype(rm_type, LOCATABLE)


@cache
def concrete_subtypes(rm_type: str) -> tuple[str, ...]:
    """``rm_type`` and every RM type conforming to it, sorted (the ``node.rm_type`` values it matches)."""
    return tuple(sorted(name for name in RM_TYPES if is_rm_subtype(name, rm_type)))


@dataclass(frozen=True, slots=True)
class Attribute:
    """What an attribute step leads to: its possible target types, and whether it is a list."""

    targets: tuple[str, ...]  # RM type names; empty for primitives
    is_list: bool
    primitive: str | None  # "str", "int", "float", "bool" for primitive attributes
    primitives: tuple[str, ...] = ()  # every primitive type the attribute has in the owner or its subtypes

    @property
    def locatable(self) -> bool:
        """True when every target is a LOCATABLE (the step reaches another node row)."""
        return bool(self.targets) and all(is_locatable(t) for t in self.targets)


@cache
def attribute(owner: str, name: str) -> Attribute | None:
    """The attribute ``name`` of ``owner`` or, failing that, of its subtypes; ``None`` if none has it."""
    targets: list[str] = []
    is_list = False
    primitive: str | None = None
    primitives: list[str] = []
    for sub in (owner, *concrete_subtypes(owner)):
        cls = RM_TYPES.get(sub)
        if cls is None:
            continue
        field = rm_field_map(cls).get(name)
        if field is None:
            continue
        is_list = is_list or field.is_list
        if field.is_object:
            target = type_name(field.target)
            if target is not None and target not in targets:
                targets.append(target)
        else:
            name_of = getattr(field.target, "__name__", "str")
            primitive = primitive or name_of
            if name_of not in primitives:
                primitives.append(name_of)
        if sub == owner:
            break
    if not targets and primitive is None:
        return None
    return Attribute(tuple(targets), is_list, primitive, tuple(primitives))


def common_owner(targets: tuple[str, ...]) -> str:
    """One type to continue a path from: the single target, else the most general one (for lookups)."""
    if len(targets) == 1:
        return targets[0]
    for candidate in targets:
        if all(is_rm_subtype(t, candidate) for t in targets):
            return candidate
    return targets[0] if targets else "ANY"


@cache
def may_contain_locatable(rm_type: str) -> bool:
    """Whether an object of ``rm_type`` (not itself LOCATABLE) can hold a LOCATABLE somewhere below it.

    Such an object's JSON is split over several ``node`` rows (EVENT_CONTEXT holds ``other_context``), so it
    is read from the version's data rather than from one node's.
    """
    return _reaches_locatable(rm_type, frozenset())


def _reaches_locatable(rm_type: str, seen: frozenset[str]) -> bool:
    if rm_type in seen or rm_type not in RM_TYPES:
        return False
    if is_locatable(rm_type):
        return True
    seen = seen | {rm_type}
    for sub in concrete_subtypes(rm_type):
        for field in rm_field_map(RM_TYPES[sub]).values():
            if field.is_object:
                target = type_name(field.target)
                if target is not None and _reaches_locatable(target, seen):
                    return True
    return False


def archetype_rm_type(archetype_id: str) -> str | None:
    """The RM type an archetype id names (``openEHR-EHR-OBSERVATION.blood_pressure.v2``: OBSERVATION)."""
    head = archetype_id.split(".", 1)[0].split("-")
    return head[2].upper() if len(head) == 3 and head[2] else None


_UNNESTED_ROOTS = ("ENTRY", "COMPOSITION", "EHR_STATUS")


def roots_never_nest(archetype_id: str) -> bool:
    """Whether a root of this archetype can never lie inside another root of its RM type (an ENTRY holds no
    ENTRY, a COMPOSITION no COMPOSITION), so a node whose nearest archetype root is of this archetype lies in
    exactly one such root: the one a containment range names."""
    rm_type = archetype_rm_type(archetype_id)
    return (
        rm_type is not None and is_known(rm_type) and any(is_rm_subtype(rm_type, t) for t in _UNNESTED_ROOTS)
    )


@cache
def locatable_ends(walk_type: str, attributes: tuple[str, ...]) -> tuple[int, ...]:
    """Indexes of the steps of a path from a ``walk_type`` node that reach another LOCATABLE (a ``node`` row
    of its own); the steps after the last of them are read from that node's JSON. Stops at an attribute the
    RM does not know."""
    ends: list[int] = []
    owner: str | None = walk_type
    for i, name in enumerate(attributes):
        attr = attribute(owner, name) if owner else None
        if attr is None:
            break
        if attr.locatable:
            ends.append(i)
        owner = common_owner(attr.targets) if attr.targets else None
    return tuple(ends)
