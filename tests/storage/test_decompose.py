"""decompose(): a row per LOCATABLE, right paths and nested-set ranges, nothing lost (assemble inverts it)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from cdr.formats.canonical_json import parse_json
from cdr.storage.decompose import LOCATABLE_TYPES, NodeRow, assemble, decompose, is_archetype_root
from tests.storage.data import (
    CORONA,
    CORPUS_COMPOSITIONS,
    IT,
    SDK,
    corpus_document,
    corpus_glob,
    corpus_json,
    shipped,
)

BP = "openEHR-EHR-OBSERVATION.blood_pressure.v2"


def resolve(doc: Any, json_path: str) -> Any:
    """Evaluate our SQL/JSON path subset (``$.a[0].b``) in Python."""
    assert json_path.startswith("$")
    for key, index in re.findall(r"\.(\w+)|\[(\d+)\]", json_path[1:]):
        doc = doc[key] if key else doc[int(index)]
    return doc


def locatables(value: Any) -> int:
    if isinstance(value, dict):
        return (value.get("_type") in LOCATABLE_TYPES) + sum(locatables(v) for v in value.values())
    if isinstance(value, list):
        return sum(locatables(v) for v in value)
    return 0


def assert_tree(doc: dict[str, Any], rows: list[NodeRow]) -> None:
    """Every invariant the AQL compiler relies on."""
    assert len(rows) == locatables(doc)
    assert [r.num for r in rows] == list(range(len(rows)))
    for row in rows:
        node = resolve(doc, row.json_path)
        assert node["_type"] == row.rm_type
        assert row.archetype_node_id == node.get("archetype_node_id", "")
        assert row.num <= row.last_num < len(rows)
        # the nested set: my descendants are exactly the rows inside my JSON
        inside = {
            r.num for r in rows if r is not row and re.match(re.escape(row.json_path) + r"[.\[]", r.json_path)
        }
        assert inside == set(range(row.num + 1, row.last_num + 1))
        if row.parent_num is None:
            assert (row.num, row.path, row.json_path) == (0, "/", "$")
            continue
        parent = rows[row.parent_num]
        assert parent.num < row.num <= parent.last_num
        step = row.path[len(parent.path.rstrip("/")) :]
        assert row.path.startswith(parent.path.rstrip("/")) and re.fullmatch(r"(/\w+)+\[.+\]", step), step
        assert step.endswith(f"[{row.archetype_node_id}]")
        # the nearest archetype root, and the path from it
        root = row if is_archetype_root(node) else parent
        while root.archetype_path != "/" and root.parent_num is not None:
            root = rows[root.parent_num]
        if is_archetype_root(resolve(doc, root.json_path)):
            assert row.archetype_id == root.archetype_node_id
            assert row.path == (root.path.rstrip("/") + row.archetype_path if row is not root else row.path)


@pytest.mark.corpus
@pytest.mark.parametrize("rel", CORPUS_COMPOSITIONS)
def test_every_corpus_composition_decomposes_and_assembles_back(rel: str) -> None:
    doc = corpus_document(rel)
    rows = decompose(doc)
    assert_tree(doc, rows)
    assert assemble(rows) == doc
    assert assemble([r.columns() for r in rows]) == doc


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("rel", "rm_type"),
    [(p, "EHR_STATUS") for p in corpus_glob(f"{IT}/aql/data_load/ehrs/*.json")]
    + [
        (p, "FOLDER")
        for p in corpus_glob(f"{SDK}/folder/canonical_json/*.json")
        if not p.endswith("folder_with_items.json")  # not ITS-JSON: an OBJECT_REF_ID type the RM lacks
    ],
)
def test_corpus_ehr_status_and_folders_decompose(rel: str, rm_type: str) -> None:
    doc = corpus_document(rel, rm_type)
    rows = decompose(doc)
    assert_tree(doc, rows)
    assert rows[0].rm_type == rm_type
    assert assemble(rows) == doc


@pytest.mark.corpus
def test_rm_objects_and_their_json_decompose_alike() -> None:
    doc = corpus_document(CORONA)
    assert decompose(parse_json(corpus_json(CORONA))) == decompose(doc)


@pytest.mark.corpus
def test_corona_paths_and_ranges() -> None:
    rows = decompose(corpus_document(CORONA))
    by_path: dict[str, NodeRow] = {}
    for r in rows:
        by_path.setdefault(r.path, r)  # the first of siblings with the same archetype node id
    section = by_path["/content[openEHR-EHR-SECTION.adhoc.v1]"]
    temperature = by_path[
        "/content[openEHR-EHR-SECTION.adhoc.v1]/items[openEHR-EHR-OBSERVATION.body_temperature.v2]"
    ]
    element = by_path[temperature.path + "/data[at0002]/events[at0003]/data[at0001]/items[at0004]"]
    assert section.num < temperature.num < element.num <= temperature.last_num <= section.last_num
    assert (element.archetype_id, element.archetype_path) == (
        "openEHR-EHR-OBSERVATION.body_temperature.v2",
        "/data[at0002]/events[at0003]/data[at0001]/items[at0004]",
    )
    assert element.value is not None
    assert (element.value.value_type, element.value.num_value, element.value.units) == (
        "DV_QUANTITY",
        39.0,
        "°C",
    )
    assert rows[0].value is not None and rows[0].value.time_value == dt.datetime(
        2021, 11, 24, 11, tzinfo=dt.UTC
    )


def test_shipped_composition_leaf_values() -> None:
    rows = decompose(shipped("valid_normal.json"))
    leaf = {(r.archetype_id, r.archetype_path): r for r in rows if r.value is not None}
    systolic = leaf[(BP, "/data[at0001]/events[at0006]/data[at0003]/items[at0004]")]
    assert systolic.path == f"/content[{BP}]/data[at0001]/events[at0006]/data[at0003]/items[at0004]"
    assert systolic.value is not None
    assert (systolic.value.num_value, systolic.value.units) == (128.0, "mm[Hg]")
    assert systolic.name == "Systolisk"
    position = leaf[(BP, "/data[at0001]/events[at0006]/state[at0007]/items[at0008]")].value
    assert position is not None
    assert (position.value_type, position.code_string, position.terminology) == (
        "DV_CODED_TEXT",
        "at1001",
        "local",
    )
    event = leaf[(BP, "/data[at0001]/events[at0006]")].value
    assert event is not None and event.time_value == dt.datetime(2024, 5, 14, 6, 30, tzinfo=dt.UTC)


@pytest.mark.corpus
def test_locatables_inside_non_locatables_are_nodes() -> None:
    """EVENT_CONTEXT is not LOCATABLE; its other_context is, and is found through it."""
    doc = corpus_document(f"{SDK}/composition/canonical_json/virology_finding_with_specimen.json")
    assert doc["context"]["other_context"]["_type"] == "ITEM_TREE"
    rows = decompose(doc)
    other = next(r for r in rows if r.json_path == "$.context.other_context")
    assert other.path == f"/context/other_context[{doc['context']['other_context']['archetype_node_id']}]"
    assert "other_context" not in rows[0].data["context"] and "content" not in rows[0].data


def test_data_without_locatable_type_is_refused() -> None:
    with pytest.raises(ValueError, match="LOCATABLE"):
        decompose({"_type": "DV_TEXT", "value": "x"})
