"""FLAT and STRUCTURED over the whole corpus: every document converts (or is refused for a stated reason),
validates against its template except for listed data defects, and FLAT -> canonical -> FLAT is stable.
canonical -> FLAT -> canonical is in :mod:`tests.formats.test_flat_roundtrip`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cdr.errors import FormatError
from cdr.formats.canonical_json import to_json
from cdr.formats.flat import (
    composition_to_flat,
    composition_to_structured,
    flat_format_of,
    flat_to_composition,
    structured_to_composition,
)
from cdr.template.validation import validate
from tests.corpus import corpus_files, require_corpus
from tests.formats.test_flat_support import candidates, load, opt_at, opt_by_template_id

pytestmark = pytest.mark.corpus

# Documents whose data break their template or the RM (the validator is right), with the issue codes.
KNOWN_DATA_ISSUES: dict[str, set[str]] = {
    "family_history__with_uid.json": {"RM_INVARIANT"},  # uid placeholder '__TO_BE_REPLACED_BY_TEST__'
    "nested.en.v1__full.json": {"RM_INVARIANT"},  # link targets without the ehr: scheme
    "persistent_minimal.en.v1__full.json": {"RM_INVARIANT"},
    "NCD.json": {"TERMINOLOGY_MISMATCH"},  # ordinal terminology 'undefined'
    "Test_all_types_v2_20211020054038_000001_1.xml.flat.json": {
        "RM_INVARIANT"
    },  # multimedia without uri/data
    "minimal_action.en.v1_20211018102623_000001_1.xml.flat.json": {"RM_INVARIANT"},
    "obs_act.en.v1_20211018103027_000001_1.xml.flat.json": {"RM_INVARIANT"},
    "persistent_minimal_all_entries.en.v1_20211018103243_000001_1.xml.flat.json": {"RM_INVARIANT"},
    "test_all_types.en.v1_20211018101804_000001_1.xml.flat.json": {"RM_INVARIANT", "DATE_TIME_PATTERN"},
    "test_all_types.json": {"DATE_TIME_PATTERN"},  # day given where the pattern forbids it
    "minimal_admin.en.v1.instance_flat_input_1.json": {"VALUE_NOT_ALLOWED"},  # ordinal 0 with code at0004
    "minimal_admin.en.v1.instance_flat_input_2.json": {"VALUE_NOT_ALLOWED"},
    "minimal_observation.en.v1.instance_flat_output_1.json": {"REQUIRED"},  # no composer
    "minimal_observation.en.v1.instance_flat_output_2.json": {"REQUIRED"},
    # no setting, event width, ...; read with the closest corpus template (external/test_all_types.opt)
    "test_all_types.en.v1.instance_flat_output_1.json": {"REQUIRED", "CODE_NOT_ALLOWED", "RM_INVARIANT"},
    "test_all_types.en.v1.instance_flat_output_2.json": {"REQUIRED", "CODE_NOT_ALLOWED", "RM_INVARIANT"},
    "corona_with_context.json": {"REQUIRED"},  # no setting; interval event without width / math function
    "minimal_action_2_20211018102553_000001_1.xml.flat.json": {"REQUIRED"},  # ACTION without ism_transition
    # the ISM test set: invalid on purpose. Since the validator checks a transition against the union of the
    # ACTION's alternatives (commit 9125678), a missing transition is no issue and a wrong current state is
    # one ISM_TRANSITION_INVALID. (A careflow step text that is not the template's is replaced on reading.)
    "ism_invalid_current_state.json": {"ISM_TRANSITION_INVALID"},
    "test-ism.vitagroup.de.v1__ism_invalid_current_state.json": {"ISM_TRANSITION_INVALID"},
    "test-ism.vitagroup.de.v1__ism_wrong_current_state.json": {"ISM_TRANSITION_INVALID"},
}

# Documents refused on purpose, with a fragment of the error.
KNOWN_REFUSALS: dict[str, str] = {
    # one ELEMENT given two values (time_value and interval<dv_time>_value) under the same index
    "dv_duration_max__.json": "given twice",
}


def _convert(path: str, doc: dict[str, Any]) -> tuple[Any, str]:
    """Convert with the best matching template; the first conversion error if none fits."""
    name = Path(path).name
    fmt = flat_format_of(doc)
    convert = structured_to_composition if fmt == "STRUCTURED" else flat_to_composition
    errors: list[FormatError] = []
    best: tuple[int, Any, str] | None = None
    for opt_path in candidates(doc, name):
        try:
            comp = convert(doc, opt_at(opt_path))
        except FormatError as exc:
            errors.append(exc)
            continue
        issues = validate(comp, opt_at(opt_path))
        if not issues:
            return comp, opt_path
        if best is None or len(issues) < best[0]:
            best = len(issues), comp, opt_path
    if best is not None:
        return best[1], best[2]
    if errors:
        raise errors[0]
    pytest.fail(f"no corpus template has the root id of {name}")


@pytest.mark.parametrize("path", corpus_files("composition/flat") + corpus_files("composition/structured"))
def test_simplified_document_converts_and_validates(path: str) -> None:
    require_corpus()
    doc = load(path)
    name = Path(path).name
    fmt = flat_format_of(doc)
    if fmt == "ECISFLAT":
        with pytest.raises(FormatError, match="ECISFLAT"):
            flat_to_composition(doc, opt_at(next(iter(opt_by_template_id().values()))))
        return
    if name in KNOWN_REFUSALS:
        with pytest.raises(FormatError, match=KNOWN_REFUSALS[name]):
            _convert(path, doc)
        return
    comp, opt_path = _convert(path, doc)
    codes = {i.code.value for i in validate(comp, opt_at(opt_path))}
    assert codes == KNOWN_DATA_ISSUES.get(name, set()), (name, opt_path)
    # and back: the written document reads to the same composition
    opt = opt_at(opt_path)
    if fmt == "STRUCTURED":
        again = structured_to_composition(composition_to_structured(comp, opt), opt)
    else:
        again = flat_to_composition(composition_to_flat(comp, opt), opt)
    assert to_json(again) == to_json(comp)
