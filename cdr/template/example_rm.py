"""What the reference model adds to an example composition beyond the template.

A template constrains what is clinically specific; the RM still requires or expects the rest: a composer,
language and territory, the subject and encoding of every ENTRY, event times, a history origin, the
ISM state of an ACTION, ... :func:`fills_for` lists, per RM class, makers for mandatory attributes the
template leaves open; :func:`extras_for` the optional ones a real composition carries (the context of an
event composition, the ISM transition matching the state, the care facility); :func:`concrete_types` picks
instantiable classes where a template names an abstract one (EVENT, ITEM_STRUCTURE, ENTRY...).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from cdr.rm import (
    Element,
    EventContext,
    LocatableRef,
    ObjectVersionId,
    PartyIdentified,
    PartySelf,
    construct,
)
from cdr.rm.base import RM_TYPES, RMField, RMObject, rm_fields
from cdr.rm.identification import ARCHETYPE_ID_PATTERN
from cdr.template.example_codes import Code, openehr_text
from cdr.template.example_draw import Draw
from cdr.template.example_text import Maker, Site, coded_text, dv_text, free_text
from cdr.template.example_values import is_value_type, value_maker
from cdr.terminology import ism_transitions_into

__all__ = ["PostHook", "concrete_types", "extras_for", "fills_for", "post_hooks_for"]

Extra = Callable[[Draw, dict[str, Any]], Any]
PostHook = Callable[[Draw, dict[str, Any]], None]

PREFERRED_CONCRETE: dict[str, tuple[str, ...]] = {
    "EVENT": ("POINT_EVENT", "INTERVAL_EVENT"),
    "ITEM_STRUCTURE": ("ITEM_TREE", "ITEM_LIST", "ITEM_SINGLE", "ITEM_TABLE"),
    "DATA_STRUCTURE": ("ITEM_TREE", "ITEM_LIST", "ITEM_SINGLE", "ITEM_TABLE"),
    "ITEM": ("ELEMENT", "CLUSTER"),
    "PARTY_PROXY": ("PARTY_IDENTIFIED", "PARTY_SELF", "PARTY_RELATED"),
    "ENTRY": ("OBSERVATION", "EVALUATION", "INSTRUCTION", "ACTION", "ADMIN_ENTRY"),
    "CARE_ENTRY": ("OBSERVATION", "EVALUATION", "INSTRUCTION", "ACTION"),
    "CONTENT_ITEM": ("SECTION", "OBSERVATION", "EVALUATION", "INSTRUCTION", "ACTION", "ADMIN_ENTRY"),
    "OBJECT_ID": ("HIER_OBJECT_ID", "OBJECT_VERSION_ID", "GENERIC_ID"),
    "UID_BASED_ID": ("HIER_OBJECT_ID", "OBJECT_VERSION_ID"),
}
"""Which concrete classes stand for an abstract one, most usual first."""

PERSISTENT = "431"
ISM_PREFERRED_TRANSITION = {
    "526": "535",  # planned <- initiate
    "527": "537",  # postponed <- postpone
    "528": "166",  # cancelled <- cancel
    "529": "539",  # scheduled <- schedule
    "245": "540",  # active <- start
    "530": "544",  # suspended <- suspend
    "531": "547",  # aborted <- abort
    "532": "548",  # completed <- finish
    "533": "549",  # expired <- time_out
}
"""The transition that most naturally leads into each instruction state (canonical examples use it)."""


def _ancestors(cls: type[RMObject]) -> list[str]:
    return [c.rm_type for c in cls.__mro__ if isinstance(c, type) and issubclass(c, RMObject)]


def concrete_types(
    rm_type: str, constrained: set[str], archetype_id: str | None = None
) -> list[type[RMObject]]:
    """Instantiable classes for a constraint on ``rm_type`` having the ``constrained`` attributes."""
    base_name = rm_type.split("<", 1)[0].strip()
    base = RM_TYPES.get(base_name)
    if base is None:
        return []
    if not base.rm_abstract:
        return [base]
    if archetype_id and (m := ARCHETYPE_ID_PATTERN.match(archetype_id)):
        entity = RM_TYPES.get(m.group("rm_entity"))
        if entity is not None and issubclass(entity, base) and not entity.rm_abstract:
            return [entity]
    preferred = PREFERRED_CONCRETE.get(base_name, ())
    found = [
        cls
        for cls in RM_TYPES.values()
        if issubclass(cls, base) and not cls.rm_abstract and constrained <= {f.name for f in rm_fields(cls)}
    ]
    found.sort(
        key=lambda cls: (preferred.index(cls.rm_type) if cls.rm_type in preferred else 99, cls.rm_type)
    )
    ranked = [cls for cls in found if cls.rm_type in preferred]
    return ranked or found[:1]


# ------------------------------------------------------------------------------------- mandatory fills


def _party_identified(draw: Draw) -> PartyIdentified:
    return construct(PartyIdentified, {"name": draw.settings.composer_name})


def _party_self(draw: Draw) -> PartySelf:
    return construct(PartySelf, {})


def _generic_element(label: str) -> Maker:
    def make(draw: Draw) -> Element:
        return construct(
            Element,
            {
                "archetype_node_id": "at0000",
                "name": dv_text(label or "Element"),
                "value": dv_text(free_text(draw)),
            },
        )

    return make


def _instruction_ref(draw: Draw) -> LocatableRef:
    ident = uuid.UUID(int=draw.rng.getrandbits(128), version=4) if draw.rng else uuid.UUID(int=1, version=4)
    return construct(
        LocatableRef,
        {
            "id": construct(ObjectVersionId, {"value": f"{ident}::cdr.example::1"}),
            "namespace": "local",
            "type": "INSTRUCTION",
            "path": "/content[openEHR-EHR-INSTRUCTION.request.v0]",
        },
    )


def _special_fills(cls_name: str, attribute: str, label: str) -> Maker | None:
    key = (cls_name, attribute)
    if key in (("COMPOSITION", "composer"), ("PARTICIPATION", "performer")):
        return _party_identified
    if key == ("ENTRY", "subject"):
        return _party_self
    if key == ("ACTIVITY", "action_archetype_id"):
        return lambda draw: "/.*/"
    if key == ("INSTRUCTION_DETAILS", "activity_id"):
        return lambda draw: "activities[at0001]"
    if key == ("INSTRUCTION_DETAILS", "instruction_id"):
        return _instruction_ref
    if key == ("INSTRUCTION", "narrative"):
        return lambda draw: dv_text(label or "Instruction")
    if key == ("PARTICIPATION", "function"):
        return lambda draw: dv_text("performer")
    if key in (("CLUSTER", "items"), ("ITEM_SINGLE", "item")):
        element = _generic_element(label)
        return (lambda draw: [element(draw)]) if attribute == "items" else element
    if key == ("FEEDER_AUDIT_DETAILS", "system_id"):
        return lambda draw: "cdr.example"
    return None


def field_maker(cls: type[RMObject], f: RMField, label: str, language: str, depth: int = 0) -> Maker | None:
    """A maker for an attribute the template leaves open (``None`` where we know nothing sensible)."""
    for name in _ancestors(cls):
        special = _special_fills(name, f.name, label)
        if special is not None:
            return special
    site = Site(cls.rm_type, f.name, label, language)
    if not f.is_object:
        primitive = {str: "example", int: 0, float: 0.0, bool: False}.get(f.target)
        return None if primitive is None else (lambda draw: primitive)
    target: type[RMObject] = f.target
    if is_value_type(target.rm_type):
        maker = value_maker(None, target.rm_type, site)
    else:
        if depth > 3:
            return None
        classes = concrete_types(target.rm_type, set())
        if not classes:
            return None
        maker = object_maker(classes[0], label, language, depth + 1)
    return (lambda draw: [maker(draw)]) if f.is_list else maker


def object_maker(cls: type[RMObject], label: str, language: str, depth: int = 0) -> Maker:
    """An instance of ``cls`` with only its RM-mandatory attributes, for places no template reaches."""
    fills = [
        (f.name, m)
        for f in rm_fields(cls)
        if f.required and (m := field_maker(cls, f, label, language, depth))
    ]
    locatable = "archetype_node_id" in {f.name for f in rm_fields(cls)}

    def make(draw: Draw) -> RMObject:
        values = {name: m(draw) for name, m in fills}
        if locatable:
            values["archetype_node_id"] = "at0000"
            values["name"] = dv_text(label or cls.rm_type.lower())
        return construct(cls, values)

    return make


def fills_for(cls: type[RMObject], covered: set[str], label: str, language: str) -> list[tuple[str, Maker]]:
    """Makers for the RM-mandatory attributes of ``cls`` outside ``covered`` (name and node id excepted)."""
    out = []
    for f in rm_fields(cls):
        if f.name in covered or f.name in ("archetype_node_id", "name") or not f.required:
            continue
        maker = field_maker(cls, f, label, language)
        if maker is not None:
            out.append((f.name, maker))
    if issubclass(cls, Element) and "value" not in covered:
        out.append(("value", value_maker(None, "DV_TEXT", Site("ELEMENT", "value", label, language))))
    return out


# ------------------------------------------------------------------------------------------------ extras


def _context_extra(label: str, language: str) -> Extra:
    start = value_maker(None, "DV_DATE_TIME", Site("EVENT_CONTEXT", "start_time", label, language))
    setting = value_maker(None, "DV_CODED_TEXT", Site("EVENT_CONTEXT", "setting", label, language))

    def make(draw: Draw, values: dict[str, Any]) -> EventContext | None:
        category = values.get("category")
        code = category.defining_code.code_string if category is not None and category.defining_code else None
        if code == PERSISTENT:
            return None
        context: dict[str, Any] = {"start_time": start(draw), "setting": setting(draw)}
        if draw.rich:
            context["health_care_facility"] = construct(
                PartyIdentified, {"name": draw.settings.health_care_facility}
            )
        return construct(EventContext, context)

    return make


def _transition_extra(language: str) -> Extra:
    def make(draw: Draw, values: dict[str, Any]) -> Any:
        if draw.rng is None and not draw.rich:
            return None
        return _transition_into(draw, values, language, allowed=None)

    return make


def _transition_into(draw: Draw, values: dict[str, Any], language: str, allowed: list[str] | None) -> Any:
    state = values.get("current_state")
    code = state.defining_code.code_string if state is not None and state.defining_code else None
    if code is None:
        return None
    into = sorted(ism_transitions_into(code))
    if allowed is not None:
        into = [t for t in into if t in allowed]
    if not into:
        return None
    preferred = ISM_PREFERRED_TRANSITION.get(code)
    if draw.rng is not None:
        return coded_text(_transition_code(draw.rng.choice(into), language))
    return coded_text(_transition_code(preferred if preferred in into else into[0], language))


def _transition_code(chosen: str, language: str) -> Code:
    return Code("openehr", chosen, openehr_text(chosen, language, "instruction_transitions"))


def _facility_extra(draw: Draw, values: dict[str, Any]) -> Any:
    if draw.rich or (draw.rng is not None and draw.rng.random() < 0.5):
        return construct(PartyIdentified, {"name": draw.settings.health_care_facility})
    return None


def extras_for(cls: type[RMObject], covered: set[str], label: str, language: str) -> list[tuple[str, Extra]]:
    """Makers for RM-optional attributes real compositions carry, where the template leaves them open."""
    names = _ancestors(cls)
    out: list[tuple[str, Extra]] = []
    if "COMPOSITION" in names and "context" not in covered:
        out.append(("context", _context_extra(label, language)))
    if "EVENT_CONTEXT" in names and "health_care_facility" not in covered:
        out.append(("health_care_facility", _facility_extra))
    if "ISM_TRANSITION" in names and "transition" not in covered:
        out.append(("transition", _transition_extra(language)))
    return out


NULL_FLAVOUR_RATE = 0.2
"""How often RANDOM records a null flavour instead of a value where the template constrains null flavours."""


def post_hooks_for(cls: type[RMObject], language: str, value_required: bool = False) -> list[PostHook]:
    """Repairs after a node is made.

    * ELEMENT: a value and a null flavour exclude each other (``Inv_is_null_valid``); the value is kept,
      except that RANDOM sometimes keeps the template's null flavour instead (when the value is optional).
    * ISM_TRANSITION: a template-constrained transition that cannot lead into the drawn state is replaced
      by one that can (or dropped, the attribute being optional).
    """
    names = _ancestors(cls)
    if "ELEMENT" in names:

        def element(draw: Draw, values: dict[str, Any]) -> None:
            if values.get("value") is None or values.get("null_flavour") is None:
                values.pop("null_reason", None) if values.get("value") is not None else None
                return
            if not value_required and draw.rng is not None and draw.rng.random() < NULL_FLAVOUR_RATE:
                values.pop("value")
            else:
                values.pop("null_flavour")
                values.pop("null_reason", None)

        return [element]
    if "ISM_TRANSITION" not in names:
        return []

    def ism(draw: Draw, values: dict[str, Any]) -> None:
        move, state = values.get("transition"), values.get("current_state")
        if move is None or state is None or move.defining_code is None or state.defining_code is None:
            return
        into = ism_transitions_into(state.defining_code.code_string or "")
        if move.defining_code.code_string not in into:
            values["transition"] = _transition_into(draw, values, language, allowed=None)

    return [ism]
