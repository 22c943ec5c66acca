"""Which RM attributes the openEHR terminology codes, and with which group or code set.

Taken from the RM 1.1.0 invariants (``terminology(Terminology_id_openehr).has_code_for_group_id(...)``
and ``code_set(Code_set_id_...).has(...)``) and the TERM "Used in" notes. Keys are the class that
declares the attribute; a validator walking an OBSERVATION asks for ``("ENTRY", "language")``.

>>> binding("COMPOSITION", "category")
Binding(kind='group', target='composition_category')
>>> binding("DV_MULTIMEDIA", "media_type").target
'media_types'
>>> bindings_for_attribute("setting")
(Binding(kind='group', target='setting'),)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Binding:
    """A coded attribute's value set: an openEHR vocabulary group or a code set, by id."""

    kind: Literal["group", "code_set"]
    target: str


def _group(target: str) -> Binding:
    return Binding("group", target)


def _code_set(target: str) -> Binding:
    return Binding("code_set", target)


RM_BINDINGS: Mapping[tuple[str, str], Binding] = {
    ("COMPOSITION", "category"): _group("composition_category"),
    ("COMPOSITION", "language"): _code_set("languages"),
    ("COMPOSITION", "territory"): _code_set("countries"),
    ("EVENT_CONTEXT", "setting"): _group("setting"),
    ("ENTRY", "language"): _code_set("languages"),
    ("ENTRY", "encoding"): _code_set("character_sets"),
    ("ISM_TRANSITION", "current_state"): _group("instruction_states"),
    ("ISM_TRANSITION", "transition"): _group("instruction_transitions"),
    ("INTERVAL_EVENT", "math_function"): _group("event_math_function"),
    ("ELEMENT", "null_flavour"): _group("null_flavours"),
    ("PARTICIPATION", "function"): _group("participation_function"),
    ("PARTICIPATION", "mode"): _group("participation_mode"),
    ("PARTY_RELATED", "relationship"): _group("subject_relationship"),
    ("AUDIT_DETAILS", "change_type"): _group("audit_change_type"),
    ("ATTESTATION", "reason"): _group("attestation_reason"),
    ("ORIGINAL_VERSION", "lifecycle_state"): _group("version_lifecycle_state"),
    ("IMPORTED_VERSION", "lifecycle_state"): _group("version_lifecycle_state"),
    ("TERM_MAPPING", "purpose"): _group("term_mapping_purpose"),
    ("DV_TEXT", "language"): _code_set("languages"),
    ("DV_TEXT", "encoding"): _code_set("character_sets"),
    ("DV_ORDERED", "normal_status"): _code_set("normal_statuses"),
    ("DV_ENCAPSULATED", "charset"): _code_set("character_sets"),
    ("DV_ENCAPSULATED", "language"): _code_set("languages"),
    ("DV_MULTIMEDIA", "media_type"): _code_set("media_types"),
    ("DV_MULTIMEDIA", "compression_algorithm"): _code_set("compression_algorithms"),
    ("DV_MULTIMEDIA", "integrity_check_algorithm"): _code_set("integrity_check_algorithms"),
    ("DV_PARSABLE", "charset"): _code_set("character_sets"),
    ("DV_PARSABLE", "language"): _code_set("languages"),
    # AM 1.4: C_DV_QUANTITY.property is coded in the "property" group.
    ("C_DV_QUANTITY", "property"): _group("property"),
}


def binding(rm_type: str, attribute: str) -> Binding | None:
    """The binding of ``attribute`` as declared on ``rm_type``; None when it is not openEHR-coded."""
    return RM_BINDINGS.get((rm_type.upper(), attribute))


def bindings_for_attribute(attribute: str) -> tuple[Binding, ...]:
    """Every distinct binding any class gives an attribute of this name (for walkers without types)."""
    return tuple(dict.fromkeys(b for (_, attr), b in RM_BINDINGS.items() if attr == attribute))
