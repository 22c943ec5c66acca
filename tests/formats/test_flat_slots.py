"""Open-slot content in FLAT and STRUCTURED: a CLUSTER filling a slot that admits any archetype, with an
archetype the template does not contain, has no web template node. The writers leave it out, as EHRbase's
FLAT marshaller does, and name it; data outside the template that no slot admits is still refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cdr.errors import FormatError
from cdr.formats.canonical_json import parse_json, to_json
from cdr.formats.flat import composition_to_flat, composition_to_structured, flat_to_composition
from cdr.formats.flat_slots import slot_fillers
from cdr.rm import Composition
from cdr.template.aom import OperationalTemplate
from cdr.template.validation import validate
from tests.corpus import require_corpus
from tests.formats.test_flat_support import load, opt_at

pytestmark = pytest.mark.corpus

SDK = "ehrbase-openEHR_SDK/validation-test-resources"
TREE = "/content[openEHR-EHR-OBSERVATION.cluster_slot.v0]/data[at0001]/events[at0002]/data[at0003]"
FILLER = f"{TREE}/items[openEHR-EHR-CLUSTER.name_restricted.v0]"


@pytest.fixture
def opt() -> OperationalTemplate:
    require_corpus()
    return opt_at(f"{SDK}/operational_templates/cluster-slot.ehrbase.org.v0.opt")


@pytest.fixture
def data() -> dict[str, Any]:
    require_corpus()
    doc: dict[str, Any] = load(f"{SDK}/composition/cluster-slot.ehrbase.or.v0.json")
    return doc


def _comp(doc: dict[str, Any]) -> Composition:
    comp = parse_json(doc)
    assert isinstance(comp, Composition)
    return comp


def _tree(doc: dict[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = doc["content"][0]["data"]["events"][0]["data"]
    return tree


def test_the_slot_filler_is_found_by_its_data_path(opt: OperationalTemplate, data: dict[str, Any]) -> None:
    comp = parse_json(data)
    assert validate(comp, opt) == []  # valid: the slot admits the archetype
    assert list(slot_fillers(comp, opt).values()) == [FILLER]


def test_flat_leaves_the_slot_content_out_and_names_it(
    opt: OperationalTemplate, data: dict[str, Any]
) -> None:
    omitted: list[str] = []
    flat = composition_to_flat(_comp(data), opt, omitted)
    assert omitted == [FILLER]
    assert flat["cluster-slot.ehrbase.org.v0/cluster_slot/time"] == "2022-02-03T04:05:06"
    assert not [k for k in flat if "name_restricted" in k or "value1" in str(flat[k])]

    without = copy.deepcopy(data)
    _tree(without).pop("items")
    back = flat_to_composition(flat, opt)
    assert (
        to_json(back)["content"]
        == to_json(flat_to_composition(composition_to_flat(_comp(without), opt), opt))["content"]
    )
    assert _tree(to_json(back)) == {
        "_type": "ITEM_TREE",
        "archetype_node_id": "at0003",
        "name": _tree(data)["name"],
    }


def test_structured_leaves_it_out_too(opt: OperationalTemplate, data: dict[str, Any]) -> None:
    structured = composition_to_structured(_comp(data), opt)
    assert "name_restricted" not in str(structured) and "value1" not in str(structured)


def test_content_no_slot_admits_is_still_refused(opt: OperationalTemplate, data: dict[str, Any]) -> None:
    """An ELEMENT where the template has only a CLUSTER slot is outside the template, not slot content: the
    writer refuses, naming the tree that holds it."""
    foreign = copy.deepcopy(data)
    element = {
        "_type": "ELEMENT",
        "archetype_node_id": "at0099",
        "name": {"_type": "DV_TEXT", "value": "stray"},
        "value": {"_type": "DV_TEXT", "value": "x"},
    }
    _tree(foreign)["items"].append(element)
    with pytest.raises(FormatError, match=r"ITEM_TREE 'at0003' matches no web template node"):
        composition_to_flat(_comp(foreign), opt)
