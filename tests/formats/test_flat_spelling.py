"""The FLAT writer spells a composition the way EHRbase's own FLAT documents do.

Two kinds of document are EHRbase's spelling: its FLAT output (``compositions/FLAT/*.xml.flat.json``, the
canonical XML of its suites converted by EHRbase) and the openEHR_SDK's conformance documents
(``flat/simSDT/conformance/``, one per RM feature: parties, participations, feeder audits, instruction
details, every data type). Each is read (FLAT -> canonical) and written again (canonical -> FLAT): the keys
and values must be the document's. An application that reads a composition as FLAT, changes a value and
sends it back then finds the keys it knows. Every difference left is listed for its document with the
reason; a listed pattern that matches nothing fails, so the lists cannot go stale.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from cdr.formats.canonical_json import to_json
from cdr.formats.flat import (
    composition_to_flat,
    composition_to_structured,
    flat_to_composition,
    structured_to_composition,
)
from tests.corpus import require_corpus
from tests.formats.test_flat_pairs import instants
from tests.formats.test_flat_support import candidates, load, opt_at

pytestmark = pytest.mark.corpus

_OUTPUT = "ehrbase-integration-tests/test_data_sets/compositions/FLAT/"
_SDK = "ehrbase-openEHR_SDK/test-data/composition/flat/simSDT/conformance/ehrbase_conformance_"

# reasons shared by several documents
_FLAGS = (
    r"^\+.*\|(lower|upper)_(included|unbounded)$",
    "we write all four flags of an interval, as EHRbase's own output does (*.xml.flat.json); "
    "this hand-written document leaves the defaults out",
)
_ACTIVITY = (
    r"^\+.*/current_activity/action_archetype_id$",
    "we write ACTIVITY.action_archetype_id (mandatory in the RM), as the SDK's newer documents do "
    "(simSDT/nested.en.v1.json); this 2021 output leaves it out",
)
_IDENTIFIER = (
    r"^[-+].*/identifier(\|id)?$",
    "a DV_IDENTIFIER's id is '|id' (the SDK's conformance document); this 2021 output gives it bare",
)

DOCUMENTS: dict[str, tuple[tuple[str, str], ...]] = {
    _OUTPUT + "Test_all_types_v2_20211020054038_000001_1.xml.flat.json": (_ACTIVITY, _IDENTIFIER),
    _OUTPUT + "alternative_types.en.v1_20211018102043_000001_1.xml.flat.json": (),
    _OUTPUT + "minimal_action.en.v1_20211018102623_000001_1.xml.flat.json": (),
    _OUTPUT + "minimal_action_2_20211018102553_000001_1.xml.flat.json": (),
    _OUTPUT + "minimal_admin.en.v1_20211018102636_000001_1.xml.flat.json": (),
    _OUTPUT + "minimal_evaluation.en.v1_20211018102718_000001_1.xml.flat.json": (),
    _OUTPUT + "minimal_observation.en.v1_20211018102756_000001_1.xml.flat.json": (),
    _OUTPUT + "nested.en.v1_20211018103338_000001_1.xml.flat.json": (_ACTIVITY,),
    _OUTPUT + "nested.en.v1__full.xml.flat.json": (_ACTIVITY,),
    _OUTPUT + "obs_act.en.v1_20211018103027_000001_1.xml.flat.json": (),
    _OUTPUT + "obs_admin.en.v1_20211018103037_000001_1.xml.flat.json": (),
    _OUTPUT + "obs_eva.en.v1_20211018103104_000001_1.xml.flat.json": (),
    _OUTPUT + "obs_inst.en.v1_20211018103116_000001_1.xml.flat.json": (_ACTIVITY,),
    _OUTPUT + "persistent_minimal.en.v1__full.xml.flat.json": (),
    _OUTPUT + "persistent_minimal_2.en.v1_20211018103229_000001_1.xml.flat.json": (),
    _OUTPUT + "persistent_minimal_all_entries.en.v1_20211018103243_000001_1.xml.flat.json": (_ACTIVITY,),
    _OUTPUT + "test_all_types.en.v1_20211018101804_000001_1.xml.flat.json": (_ACTIVITY, _IDENTIFIER),
    _OUTPUT + "time_series.en.v1_20211018103435_000001_1.xml.flat.json": (),
    _OUTPUT + "test-ism.vitagroup.de.v1__.json": (
        (r"^-.*/_instruction_details\|path$", "an empty path is no path (RM: Path_valid); read as none"),
        (
            r"^~.*/careflow_step\|value$",
            "the careflow step's text is the template's label for its code (apply_code_label, as EHRbase)",
        ),
    ),
    _SDK + "Element_feeder_audit.json": (),
    _SDK + "Element_null_flavor.json": (),
    _SDK + "action.json": (),
    _SDK + "admin_entry.json": (),
    _SDK + "cluster.json": (),
    _SDK + "composition.json": (),
    _SDK + "data_types_dv_boolean.json": (),
    _SDK + "data_types_dv_coded_text.json": (),
    _SDK + "data_types_dv_coded_text_as_dv_text.json": (),
    _SDK + "data_types_dv_count.json": (_FLAGS,),
    _SDK + "data_types_dv_date.json": (_FLAGS,),
    _SDK + "data_types_dv_date_time.json": (_FLAGS,),
    _SDK + "data_types_dv_duration.json": (_FLAGS,),
    _SDK + "data_types_dv_ehr_uri.json": (),
    _SDK + "data_types_dv_identifier.json": (),
    _SDK + "data_types_dv_multimedia.json": (),
    _SDK + "data_types_dv_ordinal.json": (_FLAGS,),
    _SDK + "data_types_dv_parsable.json": (),
    _SDK + "data_types_dv_proportion.json": (_FLAGS,),
    _SDK + "data_types_dv_quantity.json": (_FLAGS,),
    _SDK + "data_types_dv_text.json": (),
    _SDK + "data_types_dv_time.json": (_FLAGS,),
    _SDK + "data_types_dv_uri.json": (),
    _SDK + "data_types_interval_dv_quantity.json": (_FLAGS,),
    _SDK + "evaluation.json": (),
    _SDK + "feeder_audit_multimedia.json": (),
    _SDK + "instruction.json": (
        (
            r"^[-+].*/_wf_definition(\|value)?$",
            "a DV_PARSABLE's text is its bare value, as at every other node (timing, the feeder audit's "
            "original_content); this document alone spells it '|value' here",
        ),
    ),
    _SDK + "interval_event.json": (),
    _SDK + "observation.json": (),
    _SDK + "party_identified.json": (),
    _SDK + "party_related.json": (),
    _SDK + "party_self.json": (
        (r"^-ctx/composer_self$", "a ctx/ shortcut of input: written out as composer"),
    ),
    _SDK + "point_event.json": (),
    _SDK + "section.json": (),
}


def _same(a: Any, b: Any) -> bool:
    """Numbers to six digits: EHRbase prints a DV_PROPORTION's derived magnitude as a float."""
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-6)
    return bool(a == b)


def spelling_differences(doc: dict[str, Any], written: dict[str, Any]) -> list[str]:
    """``+key`` written but not in the document, ``-key`` the reverse, ``~key`` another value."""
    theirs, ours = instants(doc), instants(written)
    found = [f"+{k}" for k in ours if k not in theirs]
    found += [f"-{k}" for k in theirs if k not in ours]
    found += [f"~{k}" for k in theirs if k in ours and not _same(theirs[k], ours[k])]
    return found


@pytest.mark.parametrize("path", sorted(DOCUMENTS), ids=lambda p: p.rsplit("/", 1)[-1])
def test_flat_written_again_is_the_document(path: str) -> None:
    require_corpus()
    doc = load(path)
    opt = opt_at(candidates(doc, path.rsplit("/", 1)[-1])[0])
    found = spelling_differences(doc, composition_to_flat(flat_to_composition(doc, opt), opt))
    listed = DOCUMENTS[path]
    stale = [p for p, _ in listed if not any(re.search(p, f) for f in found)]
    assert not stale, f"listed differences that no longer occur: {stale}"
    assert [f for f in found if not any(re.search(p, f) for p, _ in listed)] == []


@pytest.mark.parametrize("path", sorted(DOCUMENTS), ids=lambda p: p.rsplit("/", 1)[-1])
def test_structured_of_the_same_composition_reads_back(path: str) -> None:
    """STRUCTURED nests the same keys: written and read again, the composition is unchanged."""
    require_corpus()
    doc = load(path)
    opt = opt_at(candidates(doc, path.rsplit("/", 1)[-1])[0])
    comp = flat_to_composition(doc, opt)
    assert to_json(structured_to_composition(composition_to_structured(comp, opt), opt)) == to_json(comp)
