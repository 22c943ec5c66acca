"""Every write path stores the canonical form (:mod:`cdr.formats.canonical_form`): a date-time committed with
``+00:00`` in canonical JSON or XML is answered with ``Z`` by the commit's representation, by a read and by
AQL, on both databases."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cdr.formats.canonical_json import parse_json
from cdr.formats.canonical_xml import to_xml
from tests.api.conftest import Api, etag, shipped

SENT = "2024-05-14T08:30:00+00:00"
STORED = "2024-05-14T08:30:00Z"


def _composition() -> dict[str, Any]:
    doc = shipped("valid_normal.json")
    doc["context"]["start_time"]["value"] = SENT
    return doc


def _json(doc: dict[str, Any]) -> tuple[bytes | str, str]:
    return json.dumps(doc), "application/json"


def _xml(doc: dict[str, Any]) -> tuple[bytes | str, str]:
    return to_xml(parse_json(doc)), "application/xml"


@pytest.mark.parametrize("encode", [_json, _xml], ids=["canonical JSON", "canonical XML"])
def test_committed_date_time_is_read_back_canonical(nb_api: Api, encode: Any) -> None:
    ehr_id = nb_api.new_ehr()
    body, content_type = encode(_composition())
    response = nb_api.post(
        f"/ehr/{ehr_id}/composition",
        data=body,
        content_type=content_type,
        headers={"Accept": "application/json", "Prefer": "return=representation"},
    )
    assert response.status_code == 201, response.json
    assert response.json["context"]["start_time"]["value"] == STORED
    read = nb_api.get(f"/ehr/{ehr_id}/composition/{etag(response)}", headers={"Accept": "application/json"})
    assert read.json["context"]["start_time"]["value"] == STORED
    query = {
        "q": "SELECT c/context/start_time/value FROM EHR e CONTAINS COMPOSITION c "
        f"WHERE e/ehr_id/value = '{ehr_id}' AND c/context/start_time/value LIKE '*Z'"
    }
    result = nb_api.post("/query/aql", json=query)
    assert result.status_code == 200, result.json
    assert result.json["rows"] == [[STORED]]
