"""Dates, times and durations that cannot be read are malformed input (400): every format, both databases.

EHRbase reads DV_DATE, DV_TIME, DV_DATE_TIME and DV_DURATION values with Java's ISO 8601 parsers while it
deserialises the body, so a value they refuse is a 400, not a template violation; its COMPOSITION suite has a
table of such values (docs: ../shared/guide/ehrbase-suites.md, "ISO 8601 value tables"). Numbers written with
digits of other scripts are refused as Java's readers refuse them (``cdr/numerals.py``).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import pytest

from tests.api.conftest import (
    COMPOSITIONS,
    FLAT,
    NB_TEMPLATE_ID,
    ROOT_FOLDER,
    Api,
    assert_error,
    etag,
    shipped,
)
from tests.corpus import CORPUS, require_corpus

IT = "ehrbase-integration-tests/test_data_sets"
FLAT_QUERY = {"format": "FLAT", "templateId": NB_TEMPLATE_ID}
ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x0660 + d) for d in range(10)))
ALL_TYPES_OPT = CORPUS / IT / "valid_templates" / "all_types" / "Test_all_types_v2.opt"
ALL_TYPES_JSON = CORPUS / IT / "compositions" / "CANONICAL_JSON" / "Test_all_types_v2__.json"

# EHRbase's ISO 8601 value tables: the ELEMENT (index in the first event's items) and its values
VALID = {
    "DV_DATE": (5, ["2021", "2021-10", "2021-10-24"]),
    "DV_DATE_TIME": (
        6,
        [
            "2021-10-24T10",
            "2021-10-24T10:30",
            "2021-10-24T10:30:47",
            "2021-10-24T10:30:47.5",
            "2021-10-24T10:30:47.333",
            "2021-10-24T10:30:47.333333",
            "2021-10-24T10:30:47Z",
            "2021-10-24T10:30:47-03:00",
        ],
    ),
    "DV_TIME": (8, ["10", "10:30", "10:30:47", "10:30:47.5", "10:30:47.333333Z", "10:30:47-03:00"]),
    "DV_DURATION": (11, ["P1Y", "P1Y3M", "P1W", "P1Y3M4DT2H14M15.5S", "P3M1W", "-P2M"]),
}
INVALID = {
    "DV_DATE": (
        5,
        [
            None,
            "",
            "2021-00",
            "2021-13",
            "2021-10-00",
            "2021-10-32",
            "+001985-04",
            "\u0662\u0660\u0662\u0661-10-24",
        ],
    ),
    "DV_DATE_TIME": (
        6,
        [
            None,
            "",
            "2021-10-24T48",
            "2021-10-24T10:95",
            "2021-10-24T10:30:78",
            "2021-10-24T10:30:78Z",
            "2021-10-24T10:30:78-03:00",
            "2021-13",
            "2021-10-32",
            "\uff12\uff10\uff12\uff11-10-24T10:30:00Z",
        ],
    ),
    "DV_TIME": (8, [None, "", "48", "10:95", "10:30:78", "10.5", "10:05.5", "\u0661\u0660:30"]),
    "DV_DURATION": (11, [None, "", "1Y", "P1Y3M4DT2H14.5M", "P1Y3M4DT2.5H", "P\u0661Y"]),
}


@cache
def _all_types() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(ALL_TYPES_JSON.read_text(encoding="utf-8"))
    doc.pop("uid", None)
    return doc


def _with_value(index: int, rm_type: str, value: str | None) -> dict[str, Any]:
    doc = copy.deepcopy(_all_types())
    element = doc["content"][0]["data"]["events"][0]["data"]["items"][index]
    assert element["value"]["_type"] == rm_type
    element["value"]["value"] = value
    return doc


def _commit_each(api: Api, rm_type: str, table: dict[str, tuple[int, list[Any]]]) -> list[tuple[Any, Any]]:
    """Each value of ``table`` for ``rm_type`` committed in its place: (value, response) pairs."""
    require_corpus()
    api.upload(ALL_TYPES_OPT)
    ehr_id = api.new_ehr()
    index, values = table[rm_type]
    return [(v, api.post(f"/ehr/{ehr_id}/composition", json=_with_value(index, rm_type, v))) for v in values]


@pytest.mark.parametrize("rm_type", sorted(VALID))
def test_ehrbase_iso8601_table_valid_values_are_created(api: Api, rm_type: str) -> None:
    for value, response in _commit_each(api, rm_type, VALID):
        assert response.status_code == 201, (value, response.json)


@pytest.mark.parametrize("rm_type", sorted(INVALID))
def test_ehrbase_iso8601_table_invalid_values_are_400_naming_the_value(api: Api, rm_type: str) -> None:
    """Missing, malformed, out of range, a fraction on a unit other than seconds, other scripts' digits."""
    for value, response in _commit_each(api, rm_type, INVALID):
        body = assert_error(response, 400)
        issue = next(d for d in body["details"] if d["code"] == "INVALID_DATE_TIME")
        assert issue["path"].endswith("/value/value") and issue["path"] in body["message"], value
        if value:
            assert repr(value) in issue["message"], (value, issue)
    history = api.post("/query/aql", json={"q": "SELECT c/uid/value FROM COMPOSITION c"})
    assert history.status_code == 200 and history.json["rows"] == []


def _normal_as_flat(nb_api: Api) -> tuple[str, dict[str, Any]]:
    """An EHR and the shipped normal composition as FLAT, without its uid (so that it commits again)."""
    ehr_id = nb_api.new_ehr()
    created = nb_api.post(f"/ehr/{ehr_id}/composition", json=shipped("valid_normal.json"))
    flat = nb_api.get(f"/ehr/{ehr_id}/composition/{etag(created)}", query_string=FLAT_QUERY).json
    del flat[next(k for k in flat if k.endswith("/_uid"))]
    return ehr_id, flat


def test_an_unreadable_date_time_is_400_in_flat_and_xml_too(nb_api: Api) -> None:
    ehr_id, flat = _normal_as_flat(nb_api)
    flat[next(k for k in flat if k.endswith("/context/start_time"))] = "2024-05-14T25:00:00+02:00"
    refused = nb_api.post(
        f"/ehr/{ehr_id}/composition", json=flat, query_string=FLAT_QUERY, headers={"Content-Type": FLAT}
    )
    assert "/context/start_time/value" in assert_error(refused, 400)["message"]
    xml = (COMPOSITIONS / "xml" / "valid_normal.xml").read_text(encoding="utf-8")
    assert "2024-05-14T08:30:00+02:00" in xml
    bad_xml = xml.replace("2024-05-14T08:30:00+02:00", "2024-05-14T08:30:00+02:00".translate(ARABIC_INDIC))
    refused = nb_api.post(f"/ehr/{ehr_id}/composition", data=bad_xml, content_type="application/xml")
    assert "/context/start_time/value" in assert_error(refused, 400)["message"]


def test_a_template_violation_beside_an_unreadable_value_is_still_listed(nb_api: Api) -> None:
    """The 400 lists every issue, the unreadable value named in the message."""
    doc = shipped("valid_normal.json")
    doc["context"]["start_time"]["value"] = "2024-05-14T08:30:99+02:00"
    doc["language"]["code_string"] = "xx"
    body = assert_error(nb_api.post(f"/ehr/{nb_api.new_ehr()}/composition", json=doc), 400)
    codes = {d["code"] for d in body["details"]}
    assert "INVALID_DATE_TIME" in codes and len(codes) > 1


@pytest.mark.parametrize("text", ["\u0661\u0662", "1_2", "12\u00b2", "\u00b2"])
def test_flat_numbers_in_other_digits_are_400(nb_api: Api, text: str) -> None:
    """Python's ``float('\u0661\u0662')`` is 12.0 and ``float('1_2')`` 12.0; Java's readers refuse both."""
    ehr_id, flat = _normal_as_flat(nb_api)
    flat[next(k for k in flat if k.endswith("|magnitude"))] = text
    refused = nb_api.post(
        f"/ehr/{ehr_id}/composition", json=flat, query_string=FLAT_QUERY, headers={"Content-Type": FLAT}
    )
    assert "expected a number" in assert_error(refused, 400)["message"]


def test_xml_integers_in_other_digits_are_400(nb_api: Api) -> None:
    xml = (COMPOSITIONS / "xml" / "valid_normal.xml").read_text(encoding="utf-8")
    start = xml.index("<magnitude>")
    end = xml.index("</magnitude>", start)
    number = xml[start + len("<magnitude>") : end]
    bad = xml[:start] + "<magnitude>" + number.translate(ARABIC_INDIC) + xml[end:]
    assert bad != xml
    refused = nb_api.post(f"/ehr/{nb_api.new_ehr()}/composition", data=bad, content_type="application/xml")
    assert "magnitude" in assert_error(refused, 400)["message"]


@pytest.mark.parametrize("version", ["\u00b2", "\u0663", "1\u00b2", "abc", "-1", "99999999999999999999"])
def test_aql_version_uid_with_other_digits_matches_nothing(nb_api: Api, version: str) -> None:
    """``'\u00b2'.isdigit()`` is true and ``int('\u00b2')`` raises: a version uid with one was a 500; a
    version part that names no version matches nothing (it matched every version)."""
    ehr_id = nb_api.new_ehr()
    object_id = nb_api.commit(ehr_id).split("::")[0]
    for q in (
        f"SELECT v/uid/value FROM VERSION v WHERE v/uid/value = '{object_id}::test.cdr::{version}'",
        f"SELECT c/uid/value FROM COMPOSITION c WHERE c/uid/value = '{object_id}::test.cdr::{version}'",
    ):
        answer = nb_api.post("/query/aql", json={"q": q})
        assert answer.status_code == 200, answer.json
        assert answer.json["rows"] == []


def test_stored_query_version_with_other_digits_is_400(api: Api) -> None:
    for version in ("1.\u0662.3", "1\u0661.0.0"):
        refused = api.put(
            f"/definition/query/org.example::q/{version}",
            data="SELECT c/uid/value FROM COMPOSITION c",
            content_type="text/plain",
        )
        assert version in assert_error(refused, 400)["message"]


def _details(value: str) -> dict[str, object]:
    when = {"_type": "DV_DATE_TIME", "value": value}
    element = {
        "_type": "ELEMENT",
        "archetype_node_id": "at0002",
        "name": {"_type": "DV_TEXT", "value": "when"},
    }
    return {
        "_type": "ITEM_TREE",
        "archetype_node_id": "at0001",
        "name": {"_type": "DV_TEXT", "value": "details"},
        "items": [element | {"value": when}],
    }


def test_folder_and_ehr_status_with_an_unreadable_date_are_400(api: Api) -> None:
    """FOLDER and EHR_STATUS have no template, but their dates must still be ISO 8601 (they were stored)."""
    ehr_id = api.new_ehr()
    for value, status in (("2021-13-01T10:00:00Z", 400), ("2021-10-01T10:00:00Z", 201)):
        folder = ROOT_FOLDER | {"details": _details(value)}
        created = api.post(f"/ehr/{ehr_id}/directory", json=folder)
        if status == 400:
            assert "/details/items/0/value/value" in assert_error(created, 400)["message"]
        else:
            assert created.status_code == 201, created.json
    current = api.get(f"/ehr/{ehr_id}/ehr_status")
    body = current.json | {"other_details": _details("2021-10-01T25:00:00Z")}
    refused = api.put(f"/ehr/{ehr_id}/ehr_status", json=body, headers={"If-Match": etag(current)})
    assert "/other_details/items/0/value/value" in assert_error(refused, 400)["message"]
    assert api.get(f"/ehr/{ehr_id}/ehr_status").json == current.json
