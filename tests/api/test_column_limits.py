"""Values longer than the column that indexes them: stored whole and found by AQL, or refused with a 400 that
names the spot; never a 500 (PostgreSQL refuses an overlong varchar where SQLite takes it)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.api.conftest import EHR_STATUS_NB, NB_TEMPLATE, NB_TEMPLATE_ID, Api, assert_error, etag
from tests.storage.conftest import row_counts

# a post-coordinated SNOMED CT expression (excision of both ovaries), longer than node.code_string's 255
EXPRESSION = (
    "71388002 |Procedure| : { 260686004 |Method| = 129304002 |Excision - action|, "
    "405813007 |Procedure site - direct| = 15497006 |Ovarian structure|, "
    "272741003 |Laterality| = 51440002 |Right and left| }, "
    "{ 260686004 |Method| = 129304002 |Excision - action|, "
    "405813007 |Procedure site - direct| = 31435000 |Fallopian tube structure|, "
    "272741003 |Laterality| = 51440002 |Right and left| }"
)
TERMINOLOGY = "http://snomed.info/sct/45991000052106/version/20260915?" + "edition=no&" * 30
COMMENT = "at0033"  # the NEWS2 observation's free-text comment: DV_TEXT, so any DV_CODED_TEXT goes


def _data_rows(engine: Engine) -> dict[str, int]:
    return {name: n for name, n in row_counts(engine).items() if not name.startswith("audit")}


def _example(api: Api) -> dict[str, Any]:
    found = api.get(
        f"/definition/template/adl1.4/{NB_TEMPLATE_ID}/example", headers={"Accept": "application/json"}
    )
    assert found.status_code == 200, found.json
    return dict(found.json)


def _elements(node: Any, node_id: str) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [e for item in node for e in _elements(item, node_id)]
    if not isinstance(node, dict):
        return []
    own = [node] if node.get("_type") == "ELEMENT" and node.get("archetype_node_id") == node_id else []
    return own + [e for value in node.values() for e in _elements(value, node_id)]


def _query(api: Api, ehr_id: str, where: str, parameters: dict[str, Any] | None = None) -> list[Any]:
    q = (
        f"SELECT el/value/defining_code/code_string FROM EHR e[ehr_id/value='{ehr_id}'] "
        f"CONTAINS COMPOSITION c CONTAINS ELEMENT el[{COMMENT}] WHERE {where}"
    )
    answer = api.post("/query/aql", json={"q": q, "query_parameters": parameters or {}})
    assert answer.status_code == 200, answer.json
    return list(answer.json["rows"])


def test_a_code_longer_than_its_column_is_stored_whole_and_found(nb_api: Api) -> None:
    """A coded comment whose code is a post-coordinated SNOMED CT expression (over 255 characters) and whose
    terminology id is a long edition URI: a 500 on PostgreSQL before. Now stored, read back whole, and AQL
    equality on the code finds it exactly: the whole expression matches (literal, parameter, MATCHES), its
    first 255 characters do not."""
    assert len(EXPRESSION) > 255 and len(TERMINOLOGY) > 255
    composition = _example(nb_api)
    (comment,) = _elements(composition, COMMENT)
    comment["value"] = {
        "_type": "DV_CODED_TEXT",
        "value": "Bilateral salpingo-oophorectomy",
        "defining_code": {
            "_type": "CODE_PHRASE",
            "terminology_id": {"_type": "TERMINOLOGY_ID", "value": TERMINOLOGY},
            "code_string": EXPRESSION,
        },
    }
    ehr_id = nb_api.new_ehr()
    created = nb_api.post(f"/ehr/{ehr_id}/composition", json=composition)
    assert created.status_code == 201, created.json
    read = nb_api.get(f"/ehr/{ehr_id}/composition/{etag(created)}")
    (stored,) = _elements(read.json, COMMENT)
    assert stored["value"]["defining_code"]["code_string"] == EXPRESSION
    assert stored["value"]["defining_code"]["terminology_id"]["value"] == TERMINOLOGY

    where_code = "el/value/defining_code/code_string"
    assert _query(nb_api, ehr_id, f"{where_code} = {json.dumps(EXPRESSION)}") == [[EXPRESSION]]
    assert _query(nb_api, ehr_id, f"{where_code} = $code", {"code": EXPRESSION}) == [[EXPRESSION]]
    assert _query(nb_api, ehr_id, f"{where_code} matches {{'x', {json.dumps(EXPRESSION)}}}") == [[EXPRESSION]]
    assert _query(nb_api, ehr_id, f"{where_code} != 'x'") == [[EXPRESSION]]
    assert _query(nb_api, ehr_id, f"{where_code} = $code", {"code": EXPRESSION[:255]}) == []
    assert _query(nb_api, ehr_id, f"{where_code} != $code", {"code": EXPRESSION}) == []


def _folder(**changes: Any) -> dict[str, Any]:
    folder: dict[str, Any] = {
        "_type": "FOLDER",
        "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1",
        "name": {"_type": "DV_TEXT", "value": "root"},
        "items": [
            {
                "_type": "OBJECT_REF",
                "namespace": "local",
                "type": "VERSIONED_COMPOSITION",
                "id": {"_type": "HIER_OBJECT_ID", "value": "8849182c-82ad-4088-a07f-48ead4180515"},
            }
        ],
    }
    folder.update(changes)
    return folder


def _item(**changes: Any) -> list[dict[str, Any]]:
    item = copy.deepcopy(_folder()["items"][0])
    item.update(changes)
    return [item]


@pytest.mark.parametrize(
    ("folder", "named"),
    [
        (_folder(archetype_node_id="openEHR-EHR-FOLDER." + "x" * 250 + ".v1"), "/archetype_node_id"),
        (
            _folder(folders=[_folder(archetype_node_id="at" + "0" * 300)]),
            "/folders/0/archetype_node_id",
        ),
        (_folder(items=_item(namespace="local" + ".x" * 150)), "namespace"),
        (_folder(items=_item(type="VERSIONED_COMPOSITION" + "X" * 50)), "type"),
        (_folder(items=_item(id={"_type": "GENERIC_ID", "value": "x" * 600, "scheme": "s"})), "id/value"),
    ],
    ids=["node id", "sub-folder node id", "item namespace", "item type", "item id"],
)
def test_a_directory_with_an_overlong_id_is_400_naming_it(
    api: Api, engine: Engine, folder: dict[str, Any], named: str
) -> None:
    """No template bounds a FOLDER's ids: one longer than its column was a 500 on PostgreSQL."""
    ehr_id = api.new_ehr()
    before = _data_rows(engine)
    refused = assert_error(api.post(f"/ehr/{ehr_id}/directory", json=folder), 400)
    assert named in refused["message"] and "at most" in refused["message"]
    assert _data_rows(engine) == before
    assert_error(api.get(f"/ehr/{ehr_id}/directory"), 404)


def test_an_ehr_status_with_an_overlong_template_id_is_400(api: Api, engine: Engine) -> None:
    status = json.loads(EHR_STATUS_NB.read_text(encoding="utf-8"))
    status["archetype_details"] = {
        "_type": "ARCHETYPED",
        "archetype_id": {"_type": "ARCHETYPE_ID", "value": "openEHR-EHR-EHR_STATUS.generic.v1"},
        "template_id": {"_type": "TEMPLATE_ID", "value": "t" * 300},
        "rm_version": "1.1.0",
    }
    before = _data_rows(engine)
    refused = assert_error(api.post("/ehr", json=status), 400)
    assert refused["details"][0]["path"] == "/archetype_details/template_id/value"
    assert _data_rows(engine) == before


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        (NB_TEMPLATE_ID, NB_TEMPLATE_ID + ".x" * 130, "template_id"),
        (
            "openEHR-EHR-OBSERVATION.news2.v1",
            "openEHR-EHR-OBSERVATION.news2" + "_x" * 120 + ".v1",
            "node id of",
        ),
    ],
    ids=["template id", "archetype id"],
)
def test_a_template_with_an_overlong_id_is_refused_at_upload(
    api: Api, engine: Engine, old: str, new: str, named: str
) -> None:
    """The template id keys its row and each archetype id becomes the archetype_node_id of the data it
    admits: a template whose ids cannot be stored is a 400 at upload (a 500 on PostgreSQL before), not a
    template that no composition can use."""
    opt = NB_TEMPLATE.read_text(encoding="utf-8")
    assert old in opt
    before = _data_rows(engine)
    refused = api.post(
        "/definition/template/adl1.4", data=opt.replace(old, new).encode(), content_type="application/xml"
    )
    assert named in json.dumps(assert_error(refused, 400))
    assert _data_rows(engine) == before
