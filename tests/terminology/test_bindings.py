"""RM attribute bindings point at groups and code sets that exist."""

from __future__ import annotations

from cdr.terminology import binding, code_set, openehr_terms
from cdr.terminology.bindings import RM_BINDINGS


def test_every_binding_resolves() -> None:
    for (rm_type, attribute), bound in RM_BINDINGS.items():
        if bound.kind == "group":
            assert openehr_terms.codes(bound.target), (rm_type, attribute)
        else:
            assert len(code_set(bound.target)) > 0, (rm_type, attribute)


def test_bindings_the_validator_needs() -> None:
    expected = {
        ("COMPOSITION", "category"): "composition_category",
        ("EVENT_CONTEXT", "setting"): "setting",
        ("ELEMENT", "null_flavour"): "null_flavours",
        ("ISM_TRANSITION", "current_state"): "instruction_states",
        ("ISM_TRANSITION", "transition"): "instruction_transitions",
        ("PARTICIPATION", "mode"): "participation_mode",
        ("PARTICIPATION", "function"): "participation_function",
        ("AUDIT_DETAILS", "change_type"): "audit_change_type",
        ("ORIGINAL_VERSION", "lifecycle_state"): "version_lifecycle_state",
        ("ATTESTATION", "reason"): "attestation_reason",
        ("TERM_MAPPING", "purpose"): "term_mapping_purpose",
        ("PARTY_RELATED", "relationship"): "subject_relationship",
        ("COMPOSITION", "language"): "languages",
        ("COMPOSITION", "territory"): "countries",
        ("DV_MULTIMEDIA", "media_type"): "media_types",
    }
    for (rm_type, attribute), target in expected.items():
        found = binding(rm_type, attribute)
        assert found is not None and found.target == target, (rm_type, attribute)
    assert binding("COMPOSITION", "name") is None
    assert binding("ACTION", "ism_transition") is None
