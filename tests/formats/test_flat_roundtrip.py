"""canonical -> FLAT -> canonical over every corpus canonical JSON composition whose template we have.

The composition read back must equal the original, except where FLAT genuinely cannot carry something; each
such file is listed in :data:`LIMITS` with the reason and exactly what the comparison ignores for it:

* ``drop`` -- data that matches no web template node (a node the template does not have, another name or
  data type than the template allows). FLAT keys are web template ids, so the writer refuses the whole
  composition naming the first such object; the rest of the composition is then round-tripped without
  those objects.
* ``omitted`` -- valid content of an archetype slot the template leaves open (an archetype the template
  does not contain): no web template node either, but the writer leaves it out by itself, as EHRbase does,
  and names its data paths; the rest is round-tripped without it.
* ``unordered`` -- attributes whose siblings the original holds in another order than the template's; FLAT
  groups keys by web template node and the reader builds siblings in template order (as EHRbase does).
* ``filled`` -- attributes the original leaves out and the reader fills in by a documented default
  (:mod:`cdr.formats.flat_defaults`, the interval codec).
* ``ignored`` -- attributes of one object (by archetype path) that FLAT has no key for: those of an object
  the web template folds away (a single EVENT has no node, so neither has its INTERVAL_EVENT ``width``).
* ``relabelled`` -- coded texts (by data path, a regex) whose text is not the label the web template gives
  their code: the reader takes the label, as EHRbase does (:func:`cdr.formats.flat_reader.apply_code_label`).
* ``refused`` -- the composition cannot be written at all (a node repeated beyond its template maximum:
  FLAT indexes are per node, and the template allows one).

Besides, every file is checked to be a fixed point: the re-read composition, written and read again, is
unchanged.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cdr.errors import FormatError
from cdr.formats.canonical_json import parse_json, to_json
from cdr.formats.flat import composition_to_flat, flat_to_composition
from cdr.rm import Composition
from tests.corpus import index_rows, require_corpus
from tests.formats.test_flat_support import load, opt_at, opt_by_template_id

pytestmark = pytest.mark.corpus


@dataclass(frozen=True)
class Limit:
    """What FLAT cannot carry for one corpus file, and why."""

    reason: str
    drop: tuple[str, ...] = ()
    omitted: tuple[str, ...] = ()
    unordered: tuple[str, ...] = ()
    filled: tuple[str, ...] = ()
    ignored: tuple[tuple[str, tuple[str, ...]], ...] = ()
    relabelled: tuple[str, ...] = ()
    refused: str | None = None


_OBS_ITEMS = (
    "/content[openEHR-EHR-OBSERVATION.test_all_types.v1]/data[at0001]/events[at0002]/data[at0003]/items"
)
_INTERVAL_FLAGS = ("lower_included", "upper_included")
_NO_CONTEXT = "no EVENT_CONTEXT; the reader creates one with start_time = now (EHRbase: the commit time)"

LIMITS: dict[str, Limit] = {
    # ---------------------------------------------------------------- data outside the template
    "external/all_types_systematic_tests.json": Limit(
        # ELEMENT 'uri' holds a DV_TEXT where the template allows DV_URI only: FLAT carries it with |_type
        "interval flags the reader fills in",
        filled=_INTERVAL_FLAGS,
    ),
    "external/minimal_evaluation.json": Limit(
        "ELEMENTs at0003-at0005 are not in the template",
        drop=("/content[openEHR-EHR-EVALUATION.minimal.v1]/data[at0001]/items[at000[345]]",),
    ),
    "CANONICAL_JSON/clinical_content_validation__full.json": Limit(
        "entries named otherwise than the template fixes (the file tests name validation)",
        drop=("/content[openEHR-EHR-*]",),
    ),
    "CANONICAL_JSON/hc3_spirometry_test_result_v0.6__.json": Limit(
        "a CLUSTER named 'FEV1_non_existing_code' where the template fixes the names; sections and events "
        "in data order; tobacco_use's only EVENT is folded away by the web template, so its INTERVAL_EVENT "
        "width and math_function have no key",
        drop=(
            "/content[openEHR-EHR-SECTION.adhoc.v1]/items[openEHR-EHR-OBSERVATION.spirometry_result-CatSalut.v2]"
            "/data[at0001]/events[at0002]/data[at0003]/items[at0052]",
        ),
        unordered=("content", "items", "events"),
        ignored=(
            (
                "/content[openEHR-EHR-SECTION.adhoc.v1]/items[openEHR-EHR-OBSERVATION.tobacco_use.v0]"
                "/data[at0001]/events[at0002]",
                ("_type", "width", "math_function"),
            ),
        ),
    ),
    "CANONICAL_JSON/nodes_in_template_invalid__.json": Limit(
        "ELEMENTs of specialised node ids (at0010.1...) the template does not have",
        drop=(f"{_OBS_ITEMS}[at0010.*]", f"{_OBS_ITEMS}[at0012.*]", f"{_OBS_ITEMS}[at0014]"),
    ),
    "canonical_json/datetime_tests.json": Limit(
        "ELEMENTs of specialised node ids (at0010.1...) the template does not have",
        drop=(f"{_OBS_ITEMS}[at0010.*]", f"{_OBS_ITEMS}[at0012.*]", f"{_OBS_ITEMS}[at0014]"),
    ),
    "canonical_json/duration_tests.json": Limit(
        "ELEMENTs of specialised node ids (at0010.1...) the template does not have, and nothing else in "
        "their ITEM_TREE (read back, the RM-mandatory EVENT.data is rebuilt empty); " + _NO_CONTEXT,
        drop=(_OBS_ITEMS.removesuffix("/items"),),
        filled=("context", "data"),
    ),
    "canonical_json/compo_feeder_audit_details.json": Limit(
        "analyte ELEMENTs named otherwise than the template fixes",
        drop=(
            "/content[openEHR-EHR-OBSERVATION.laboratory_test_result.v1]/data[at0001]/events[at0002]"
            "/data[at0003]/items[openEHR-EHR-CLUSTER.laboratory_test_analyte.v1]/items[at00*]",
        ),
    ),
    "canonical_json/compo_with_nested_party_identified.json": Limit(
        "SECTION allgemeine_angaben is not in the template; " + _NO_CONTEXT,
        drop=("/content[openEHR-EHR-SECTION.allgemeine_angaben.v1]",),
        filled=("context",),
    ),
    "canonical_json/compo_with_nested_party_related.json": Limit(
        "SECTION allgemeine_angaben is not in the template; " + _NO_CONTEXT,
        drop=("/content[openEHR-EHR-SECTION.allgemeine_angaben.v1]",),
        filled=("context",),
    ),
    "canonical_json/compo_with_nested_party_self.json": Limit(
        "SECTION allgemeine_angaben is not in the template; " + _NO_CONTEXT,
        drop=("/content[openEHR-EHR-SECTION.allgemeine_angaben.v1]",),
        filled=("context",),
    ),
    "canonical_json/compo_with_nested_provider.json": Limit(
        "SECTION allgemeine_angaben is not in the template; " + _NO_CONTEXT,
        drop=("/content[openEHR-EHR-SECTION.allgemeine_angaben.v1]",),
        filled=("context",),
    ),
    "canonical_json/simple_composition_dvinterval.json": Limit(
        # ELEMENT at0002 holds a DV_QUANTITY where the template allows another type: FLAT carries it with
        # |_type, in the template's order of nodes
        "items in data order, not the template's",
        unordered=("items",),
    ),
    "canonical_json/virology_finding_with_specimen.json": Limit(
        "other_context and the test panel CLUSTER do not match the template's nodes; specimen items in "
        "data order",
        drop=(
            "/context/other_context[[at0001]]",
            "/content[openEHR-EHR-OBSERVATION.laboratory_test_result.v1]/data[at0001]/events[at0002]"
            "/data[at0003]/items[openEHR-EHR-CLUSTER.laboratory_test_panel.v0]",
        ),
        unordered=("items",),
    ),
    "composition/cluster-slot.ehrbase.or.v0.json": Limit(
        "a CLUSTER in an archetype slot the template leaves unfilled: the web template has no node for it "
        "(the ITEM_TREE left empty is the one the reader rebuilds for the RM-mandatory EVENT.data)",
        omitted=(
            "/content[openEHR-EHR-OBSERVATION.cluster_slot.v0]/data[at0001]/events[at0002]/data[at0003]"
            "/items[openEHR-EHR-CLUSTER.name_restricted.v0]",
        ),
    ),
    # ---------------------------------------------------------------- order and defaults only
    "aql-engine-testdata/composition.json": Limit(
        "sections and their entries in data order", unordered=("content", "items")
    ),
    "canonical_json/alternative_events.json": Limit("events in data order", unordered=("events",)),
    "canonical_json/dvquantity_choice.json": Limit("analyte items in data order", unordered=("items",)),
    "canonical_json/choice_validation_test.json": Limit(_NO_CONTEXT, filled=("context",)),
    "canonical_json/all_types_no_multimedia.json": Limit(
        "interval bounds without 'included' flags: the reader sets included = bound given",
        filled=_INTERVAL_FLAGS,
    ),
    "canonical_json/all_types_systematic_tests.json": Limit(
        "interval bounds without 'included' flags: the reader sets included = bound given",
        filled=_INTERVAL_FLAGS,
    ),
    # ---------------------------------------------------------------- texts of listed codes
    "CANONICAL_JSON/my_spanish_template_v0__.json": Limit(
        "category 'event' in an 'es' template whose label for 433 is 'evento'",
        relabelled=(r"^/category/value$",),
    ),
    "canonical_json/minimal_action2_1.json": Limit(
        "category 'event' in an 'es' template whose label for 433 is 'evento'",
        relabelled=(r"^/category/value$",),
    ),
    # ---------------------------------------------------------------- refused
    "canonical_json/cardinality_of_section__full.json": Limit(
        "SECTION 'Validation section test #1' twice where the template allows one",
        refused="'validation_section_test_1' occurs at most once but the composition has 2",
    ),
}

_LOSSY_BELOW_ROOT = ("template_id", "archetype_details")
_FOLDED = ("ITEM_TREE", "ITEM_LIST", "ITEM_SINGLE", "ITEM_TABLE", "HISTORY")


def normalised(data: Any, root: bool = True) -> Any:
    """Canonical JSON minus what FLAT has no key for anywhere: ``rm_version``, ``archetype_details`` below
    the root, and ``uid`` / ``name`` / ``period`` / ``duration`` of the objects the web template folds away
    (HISTORY and the ITEM_STRUCTUREs, which have no web template node to hang an ``_uid`` on)."""
    if isinstance(data, dict):
        folded = data.get("_type") in _FOLDED
        return {
            key: normalised(value, False)
            for key, value in data.items()
            if key != "rm_version"
            and not (key in _LOSSY_BELOW_ROOT and not root)
            and not (folded and key in ("uid", "period", "duration", "name"))
        }
    if isinstance(data, list):
        return [normalised(v, False) for v in data]
    return data


_SEGMENT = re.compile(r"/([a-z_]+)(?:\[(.*?)\])?(?=/|$)")


def _matches(pattern: str, node_id: str | None) -> bool:
    """Node id patterns: exact, ``prefix*``, or one ``[abc]`` character class (``at000[345]``)."""
    if pattern.endswith("*"):
        return node_id is not None and node_id.startswith(pattern[:-1])
    if pattern.count("[") == 1 and pattern.endswith("]") and not pattern.startswith("["):
        head, _, chars = pattern[:-1].partition("[")
        return (
            node_id is not None
            and len(node_id) == len(head) + 1
            and node_id[:-1] == head
            and node_id[-1] in chars
        )
    return node_id == pattern


def selected(data: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """The objects an archetype path (with node id patterns) selects."""
    found = [data]
    for attribute, node_id in _SEGMENT.findall(path):
        step: list[dict[str, Any]] = []
        for obj in found:
            value = obj.get(attribute)
            items = value if isinstance(value, list) else [] if value is None else [value]
            step.extend(v for v in items if not node_id or _matches(node_id, v.get("archetype_node_id")))
        found = step
    return found


def dropped(data: dict[str, Any], path: str) -> int:
    """Remove the objects an archetype path (with node id patterns) selects; how many were removed."""
    segments = _SEGMENT.findall(path)

    def walk(obj: dict[str, Any], i: int) -> int:
        attribute, node_id = segments[i]
        value = obj.get(attribute)
        items = value if isinstance(value, list) else [] if value is None else [value]
        selected = [v for v in items if not node_id or _matches(node_id, v.get("archetype_node_id"))]
        if i < len(segments) - 1:
            return sum(walk(v, i + 1) for v in selected)
        if isinstance(value, list):
            obj[attribute] = [v for v in value if v not in selected]
            if not obj[attribute]:
                del obj[attribute]
        elif selected:
            del obj[attribute]
        return len(selected)

    return walk(data, 0)


def unordered(data: Any, attributes: tuple[str, ...]) -> Any:
    """Lists under ``attributes`` sorted (sibling order ignored there only)."""
    if isinstance(data, dict):
        return {
            k: sorted((unordered(v, attributes) for v in value), key=lambda x: json.dumps(x, sort_keys=True))
            if k in attributes and isinstance(value, list)
            else unordered(value, attributes)
            for k, value in data.items()
        }
    if isinstance(data, list):
        return [unordered(v, attributes) for v in data]
    return data


def without_filled(original: Any, back: Any, attributes: tuple[str, ...]) -> Any:
    """``back`` minus the ``attributes`` the original leaves out (filled in by reader defaults)."""
    if isinstance(original, dict) and isinstance(back, dict):
        return {
            k: without_filled(original.get(k), v, attributes)
            for k, v in back.items()
            if not (k in attributes and k not in original)
        }
    if isinstance(original, list) and isinstance(back, list) and len(original) == len(back):
        return [without_filled(o, b, attributes) for o, b in zip(original, back)]
    return back


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Paths where two JSON values differ, with both sides (for readable failures)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in differences(a.get(k), b.get(k), f"{path}/{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    if a != b:
        return [f"{path}: {json.dumps(a)[:200]} != {json.dumps(b)[:200]}"]
    return []


def _composition(data: Any) -> Composition:
    comp = parse_json(data)
    if not isinstance(comp, Composition):
        raise FormatError("/", f"{comp.rm_type} is not a COMPOSITION")
    return comp


def _short(path: str) -> str:
    return "/".join(Path(path).parts[-2:])


def _canonical_with_template() -> list[str]:
    rows = [r for r in index_rows() if r["kind"] == "composition/canonical_json"]
    known = opt_by_template_id()
    return [r["path"] for r in rows if r["template_id"] in known] or ["<corpus absent>"]


def test_limits_name_corpus_files() -> None:
    require_corpus()
    assert set(LIMITS) <= {_short(p) for p in _canonical_with_template()}


@pytest.mark.parametrize("path", _canonical_with_template())
def test_canonical_to_flat_to_canonical(path: str) -> None:
    require_corpus()
    row = next(r for r in index_rows() if r["path"] == path)
    opt = opt_at(opt_by_template_id()[row["template_id"]])
    data = load(path)
    try:
        comp = _composition(data)
    except FormatError:
        pytest.skip("not a canonical composition this reader takes (covered by the canonical JSON tests)")
    limit = LIMITS.get(_short(path), Limit("no limit"))
    if limit.refused is not None:
        with pytest.raises(FormatError, match=re.escape(limit.refused)):
            composition_to_flat(comp, opt)
        return
    if limit.drop:
        with pytest.raises(FormatError, match="matches no web template node"):
            composition_to_flat(comp, opt)
        data = copy.deepcopy(data)
        for pattern in limit.drop:
            assert dropped(data, pattern), f"{pattern} selects nothing"
        comp = _composition(data)
    omitted: list[str] = []
    flat = composition_to_flat(comp, opt, omitted)
    assert omitted == list(limit.omitted)
    if limit.omitted:
        data = copy.deepcopy(data)
        for path_ in limit.omitted:
            assert dropped(data, path_), f"{path_} selects nothing"
        comp = _composition(data)
    back = flat_to_composition(flat, opt)
    again = composition_to_flat(back, opt)
    assert to_json(flat_to_composition(again, opt)) == to_json(back)  # stable once defaults are filled
    if not limit.filled:
        changed = {k for k in flat.keys() | again.keys() if flat.get(k) != again.get(k)}
        assert all(limit.relabelled and k.endswith("|value") for k in changed), sorted(changed)
    original, result = normalised(to_json(comp)), normalised(to_json(back))
    for path_, attributes in limit.ignored:
        for side in (original, result):
            objects = selected(side, path_)
            assert objects, f"{path_} selects nothing"
            for obj in objects:
                for attribute in attributes:
                    obj.pop(attribute, None)
    if limit.filled:
        result = without_filled(original, result, limit.filled)
    if limit.unordered:
        original, result = unordered(original, limit.unordered), unordered(result, limit.unordered)
    found = [
        d
        for d in differences(original, result)
        if not any(re.search(p, d.split(": ")[0]) for p in limit.relabelled)
    ]
    assert not found
    for pattern in limit.relabelled:
        assert any(re.search(pattern, d.split(": ")[0]) for d in differences(original, result)), pattern
