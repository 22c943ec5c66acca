"""Invariants of BASE identifiers and RM common (LOCATABLE, parties, audits, versions, folders)."""

from __future__ import annotations

import re

from cdr.memo import StringMemo
from cdr.rm import (
    Archetyped,
    ArchetypeId,
    Attestation,
    AuditDetails,
    Composition,
    Contribution,
    Entry,
    FeederAuditDetails,
    Folder,
    HierObjectId,
    Locatable,
    LocatableRef,
    ObjectId,
    ObjectRef,
    ObjectVersionId,
    OriginalVersion,
    PartyIdentified,
    PartyRef,
    RevisionHistoryItem,
    TerminologyId,
)
from cdr.rm.base import RM_TYPES
from cdr.rm.identification import ARCHETYPE_ID_PATTERN
from cdr.rm.invariants.core import Invariant, _empty_list, _empty_string, _invariants

# --- identification ------------------------------------------------------------------------------------

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ISO_OID = re.compile(r"^[0-2](\.(0|[1-9]\d*))+$", re.ASCII)
_INTERNET_ID = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]*(\.[a-zA-Z][a-zA-Z0-9-]*)*$")
_VERSION_TREE_ID = re.compile(r"^[1-9]\d*(\.[1-9]\d*\.[1-9]\d*)?$", re.ASCII)
_TERMINOLOGY_ID = re.compile(r"^[^()]+(\([^()]+\))?$")
_is_archetype_id = StringMemo(lambda text: ARCHETYPE_ID_PATTERN.match(text) is not None)
_is_terminology_id = StringMemo(lambda text: _TERMINOLOGY_ID.match(text) is not None)


def is_valid_uid(value: str) -> bool:
    """Whether ``value`` is a UID: a UUID, an ISO OID or a reverse-domain internet id."""
    return bool(_UUID.match(value) or _ISO_OID.match(value) or _INTERNET_ID.match(value))


@_invariants(ObjectId)
def _object_id(obj: ObjectId, out: list[Invariant]) -> None:
    _empty_string(obj, "value", "Value_exists", out)


@_invariants(HierObjectId)
def _hier_object_id(obj: HierObjectId, out: list[Invariant]) -> None:
    if obj.value and not is_valid_uid(obj.root):
        out.append(
            Invariant("Root_valid", f"{obj.value!r}: root is not a UUID, ISO OID or internet id", "value")
        )


@_invariants(ObjectVersionId)
def _object_version_id(obj: ObjectVersionId, out: list[Invariant]) -> None:
    if not obj.value:
        return
    parts = obj.value.split("::")
    if len(parts) != 3 or not parts[1] or not is_valid_uid(parts[0]) or not _VERSION_TREE_ID.match(parts[2]):
        out.append(
            Invariant(
                "Value_valid",
                f"{obj.value!r} is not 'object_id::creating_system_id::version_tree_id'"
                " (e.g. '<uuid>::sys::1')",
                "value",
            )
        )


@_invariants(ArchetypeId)
def _archetype_id(obj: ArchetypeId, out: list[Invariant]) -> None:
    if obj.value and not _is_archetype_id(obj.value):
        out.append(
            Invariant(
                "Value_valid", f"{obj.value!r} is not 'originator-rm_name-rm_entity.concept.vN'", "value"
            )
        )


@_invariants(TerminologyId)
def _terminology_id(obj: TerminologyId, out: list[Invariant]) -> None:
    if obj.value and not _is_terminology_id(obj.value):
        out.append(Invariant("Value_valid", f"{obj.value!r} is not 'name' or 'name(version)'", "value"))


@_invariants(ObjectRef)
def _object_ref(obj: ObjectRef, out: list[Invariant]) -> None:
    _empty_string(obj, "namespace", "Namespace_exists", out)
    _empty_string(obj, "type", "Type_exists", out)


PARTY_REF_TYPES = frozenset({"PERSON", "ORGANISATION", "GROUP", "AGENT", "ROLE", "PARTY", "ACTOR"})


@_invariants(PartyRef)
def _party_ref(obj: PartyRef, out: list[Invariant]) -> None:
    if obj.type and obj.type not in PARTY_REF_TYPES:
        allowed = ", ".join(sorted(PARTY_REF_TYPES))
        out.append(Invariant("Type_validity", f"type {obj.type!r} is not one of {allowed}", "type"))


@_invariants(LocatableRef)
def _locatable_ref(obj: LocatableRef, out: list[Invariant]) -> None:
    _empty_string(obj, "path", "Path_valid", out)


# --- common --------------------------------------------------------------------------------------------

ARCHETYPE_ROOT_TYPES = (Composition, Entry)
"""Classes whose instances are always archetype roots (their invariant ``Is_archetype_root``).

The RM states the same of EHR_STATUS and EHR_ACCESS, but EHRbase accepts an EHR_STATUS without
archetype_details (the corpus' valid EHR_STATUS bodies mostly have none), so it is not reported for them.
"""
# the exact classes: a set look-up per LOCATABLE instead of an ABC instance check
_ARCHETYPE_ROOT_CLASSES = frozenset(cls for cls in RM_TYPES.values() if issubclass(cls, ARCHETYPE_ROOT_TYPES))


@_invariants(Locatable)
def _locatable(obj: Locatable, out: list[Invariant]) -> None:
    if obj.archetype_node_id == "":
        out.append(
            Invariant("Archetype_node_id_valid", "archetype_node_id must not be empty", "archetype_node_id")
        )
    _empty_list(obj, "links", "Links_valid", out)
    if type(obj) in _ARCHETYPE_ROOT_CLASSES and obj.archetype_details is None:
        out.append(
            Invariant(
                "Is_archetype_root",
                f"{obj.rm_type} is an archetype root and must have archetype_details",
                "archetype_details",
            )
        )


@_invariants(Archetyped)
def _archetyped(obj: Archetyped, out: list[Invariant]) -> None:
    _empty_string(obj, "rm_version", "Rm_version_valid", out)


@_invariants(FeederAuditDetails)
def _feeder_audit_details(obj: FeederAuditDetails, out: list[Invariant]) -> None:
    _empty_string(obj, "system_id", "System_id_valid", out)


@_invariants(PartyIdentified)
def _party_identified(obj: PartyIdentified, out: list[Invariant]) -> None:
    if obj.name is None and obj.identifiers is None and obj.external_ref is None:
        out.append(Invariant("Basic_validity", "needs at least one of name, identifiers and external_ref"))
    _empty_string(obj, "name", "Name_valid", out)
    _empty_list(obj, "identifiers", "Identifiers_valid", out)


@_invariants(AuditDetails)
def _audit_details(obj: AuditDetails, out: list[Invariant]) -> None:
    _empty_string(obj, "system_id", "System_id_valid", out)


@_invariants(Attestation)
def _attestation(obj: Attestation, out: list[Invariant]) -> None:
    _empty_list(obj, "items", "Items_valid", out)


@_invariants(RevisionHistoryItem)
def _revision_history_item(obj: RevisionHistoryItem, out: list[Invariant]) -> None:
    if obj.audits == []:
        out.append(Invariant("Audits_valid", "audits must not be empty", "audits"))


@_invariants(Contribution)
def _contribution(obj: Contribution, out: list[Invariant]) -> None:
    if obj.versions == []:
        out.append(
            Invariant("Versions_valid", "a contribution must contain at least one version", "versions")
        )


@_invariants(OriginalVersion)
def _original_version(obj: OriginalVersion, out: list[Invariant]) -> None:
    _empty_list(obj, "attestations", "Attestations_valid", out)
    _empty_list(obj, "other_input_version_uids", "Other_input_version_uids_valid", out)
    if obj.uid is not None and obj.uid.value and _VERSION_TREE_ID.match(obj.uid.version_tree_id):
        is_first = obj.uid.version_tree_id == "1"
        if is_first == (obj.preceding_version_uid is not None):
            out.append(
                Invariant(
                    "Preceding_version_uid_validity",
                    "the first version has no preceding_version_uid and every later one has one",
                    "preceding_version_uid",
                )
            )


@_invariants(Folder)
def _folder(obj: Folder, out: list[Invariant]) -> None:
    _empty_list(obj, "folders", "Folders_valid", out)
