"""Invariants of data structures, compositions, entries and the EHR."""

from __future__ import annotations

from cdr.rm import (
    Activity,
    Cluster,
    Composition,
    Ehr,
    Element,
    Entry,
    EventContext,
    History,
    Instruction,
    InstructionDetails,
    Section,
)
from cdr.rm.invariants.core import Invariant, _empty_list, _empty_string, _invariants

# --- data structures, composition, entries, EHR ---------------------------------------------------------


@_invariants(Element)
def _element(obj: Element, out: list[Invariant]) -> None:
    value, null_flavour = obj.value, obj.null_flavour
    if value is None and null_flavour is None:
        out.append(
            Invariant(
                "Inv_null_flavour_indicated", "an ELEMENT without value needs a null_flavour", "null_flavour"
            )
        )
    if value is not None and null_flavour is not None:
        out.append(
            Invariant(
                "Inv_is_null_valid", "an ELEMENT with a value cannot have a null_flavour", "null_flavour"
            )
        )
    if obj.null_reason is not None and value is not None:
        out.append(
            Invariant(
                "Inv_null_reason_valid", "null_reason is only allowed when value is absent", "null_reason"
            )
        )


@_invariants(Cluster)
def _cluster(obj: Cluster, out: list[Invariant]) -> None:
    if obj.items == []:
        out.append(Invariant("Items_valid", "a CLUSTER needs at least one item", "items"))


@_invariants(History)
def _history(obj: History, out: list[Invariant]) -> None:
    if not obj.events and obj.summary is None:
        out.append(Invariant("Events_valid", "a HISTORY needs events or a summary", "events"))


@_invariants(Composition)
def _composition(obj: Composition, out: list[Invariant]) -> None:
    _empty_list(obj, "content", "Content_valid", out)


@_invariants(EventContext)
def _event_context(obj: EventContext, out: list[Invariant]) -> None:
    _empty_list(obj, "participations", "Participations_validity", out)
    _empty_string(obj, "location", "Location_valid", out)


@_invariants(Section)
def _section(obj: Section, out: list[Invariant]) -> None:
    _empty_list(obj, "items", "Items_valid", out)


@_invariants(Entry)
def _entry(obj: Entry, out: list[Invariant]) -> None:
    _empty_list(obj, "other_participations", "Other_participations_valid", out)


@_invariants(Instruction)
def _instruction(obj: Instruction, out: list[Invariant]) -> None:
    _empty_list(obj, "activities", "Activities_valid", out)


@_invariants(Activity)
def _activity(obj: Activity, out: list[Invariant]) -> None:
    _empty_string(obj, "action_archetype_id", "Action_archetype_id_valid", out)


@_invariants(InstructionDetails)
def _instruction_details(obj: InstructionDetails, out: list[Invariant]) -> None:
    _empty_string(obj, "activity_id", "Activity_path_valid", out)


_EHR_REF_TYPES = {
    "ehr_access": ("Ehr_access_valid", "VERSIONED_EHR_ACCESS"),
    "ehr_status": ("Ehr_status_valid", "VERSIONED_EHR_STATUS"),
    "directory": ("Directory_valid", "VERSIONED_FOLDER"),
}
_EHR_REF_LIST_TYPES = {
    "contributions": ("Contributions_valid", "CONTRIBUTION"),
    "compositions": ("Compositions_valid", "VERSIONED_COMPOSITION"),
    "folders": ("Folders_valid", "VERSIONED_FOLDER"),
}


@_invariants(Ehr)
def _ehr(obj: Ehr, out: list[Invariant]) -> None:
    for attribute, (name, expected) in _EHR_REF_TYPES.items():
        ref = getattr(obj, attribute)
        if ref is not None and ref.type is not None and ref.type != expected:
            out.append(Invariant(name, f"{attribute} must refer to a {expected}, not {ref.type}", attribute))
    for attribute, (name, expected) in _EHR_REF_LIST_TYPES.items():
        for ref in getattr(obj, attribute) or ():
            if ref.type is not None and ref.type != expected:
                out.append(
                    Invariant(name, f"{attribute} must refer to {expected}s, not {ref.type}", attribute)
                )
