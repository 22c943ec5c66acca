"""Open-slot content: LOCATABLEs that fill an ARCHETYPE_SLOT with an archetype the template does not contain.

Such data is valid (the slot admits the archetype), but the web template has no node for it, so FLAT and
STRUCTURED have no key for it. EHRbase's FLAT marshaller walks the web template and leaves such objects out;
the writers here do the same, and name what they left out (:func:`slot_fillers`), rather than refuse the
whole composition.
"""

from __future__ import annotations

from typing import Any

from cdr.rm.base import RMObject, is_rm_subtype, rm_fields
from cdr.template.aom import (
    ArchetypeInternalRef,
    ArchetypeSlot,
    CArchetypeRoot,
    CAttribute,
    CComplexObject,
    CObject,
    OperationalTemplate,
)

__all__ = ["slot_fillers"]


def slot_fillers(comp: RMObject, opt: OperationalTemplate) -> dict[int, str]:
    """``id(object) -> data path`` of every object below ``comp`` that only an ARCHETYPE_SLOT admits (no
    archetype root of the template fits it); nothing below such an object is visited."""
    found: dict[int, str] = {}
    _walk(comp, opt.definition, "", found)
    return found


def _walk(obj: RMObject, constraint: CComplexObject, path: str, found: dict[int, str]) -> None:
    for f in rm_fields(type(obj)):
        if not f.is_object:
            continue
        attribute = constraint.attribute(f.name)
        value = getattr(obj, f.name, None)
        if attribute is None or value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, RMObject):
                continue
            node_id = getattr(item, "archetype_node_id", None)
            step = f"{path}/{f.name}" + (f"[{node_id}]" if node_id else "")
            child = _constraint_of(item, node_id, attribute)
            if child is not None:
                _walk(item, child, step, found)
            elif node_id and _slot_admits(item, node_id, attribute):
                found[id(item)] = step


def _resolved(child: CObject) -> CObject | None:
    return child.target if isinstance(child, ArchetypeInternalRef) else child


def _conforms(item: RMObject, child: CObject) -> bool:
    return is_rm_subtype(item.rm_type, child.rm_type_name.split("<", 1)[0])


def _constraint_of(item: RMObject, node_id: Any, attribute: CAttribute) -> CComplexObject | None:
    """The complex object of ``attribute`` that ``item`` is an instance of, by node id (archetype id at a
    root) and RM type."""
    for child in attribute.children:
        target = _resolved(child)
        if not isinstance(target, CComplexObject) or not _conforms(item, target):
            continue
        expected = target.archetype_id if isinstance(target, CArchetypeRoot) else target.node_id
        if node_id is None or not expected or expected == node_id:
            return target
    return None


def _slot_admits(item: RMObject, archetype_id: str, attribute: CAttribute) -> bool:
    return any(
        isinstance(child, ArchetypeSlot) and _conforms(item, child) and child.admits(archetype_id)
        for child in attribute.children
    )
