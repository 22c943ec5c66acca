"""EHR resource: create (POST, PUT with id), get by id and by subject; EHRbase's data sets for EHR_STATUS."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import EHR_STATUS_NB, Api, assert_error
from tests.corpus import CORPUS, require_corpus

EHR_DATA = "ehrbase-integration-tests/test_data_sets/ehr"


def corpus_statuses(kind: str) -> list[str]:
    folder = CORPUS / EHR_DATA / kind
    # *_ecis.json is the legacy EhrScape body (subjectId, queryable ...), not an openEHR EHR_STATUS
    names = sorted(p.name for p in folder.glob("*.json") if "ecis" not in p.name) if folder.is_dir() else []
    return names or ["<corpus absent>"]


def status_file(kind: str, name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((require_corpus() / EHR_DATA / kind / name).read_text(encoding="utf-8"))
    ref = (doc.get("subject") or {}).get("external_ref") or {}
    if isinstance(ref.get("id"), dict) and ref["id"].get("value"):
        ref["id"]["value"] = str(uuid.uuid4())  # one EHR per subject: every test its own patient
    return doc


def test_post_without_body_is_minimal_by_default(api: Api) -> None:
    response = api.post("/ehr")
    assert response.status_code == 201
    assert response.data == b""
    ehr_id = response.headers["Location"].rsplit("/", 1)[1]
    assert response.headers["Location"].startswith("http://localhost/openehr/v1/ehr/")
    assert response.headers["ETag"] == f'"{ehr_id}"'
    assert "GMT" in response.headers["Last-Modified"]
    status = api.get(f"/ehr/{ehr_id}/ehr_status").json
    assert status["is_queryable"] is True and status["is_modifiable"] is True


def test_post_with_representation(api: Api) -> None:
    response = api.post("/ehr", headers={"Prefer": "return=representation"})
    assert response.status_code == 201
    body = response.json
    assert body["system_id"]["value"] == "test.cdr"
    assert body["ehr_status"]["type"] == "EHR_STATUS"
    assert body["ehr_status"]["id"]["value"].endswith("::test.cdr::1")
    assert uuid.UUID(body["ehr_id"]["value"])


def test_post_with_shipped_status_and_xml_answer(api: Api) -> None:
    status = json.loads(EHR_STATUS_NB.read_text(encoding="utf-8"))
    headers = {"Prefer": "return=representation", "Accept": "application/xml"}
    response = api.post("/ehr", json=status, headers=headers)
    assert response.status_code == 201
    assert response.mimetype == "application/xml"
    assert b"<ehr_id>" in response.data or b"ehr_id" in response.data
    ehr_id = response.headers["Location"].rsplit("/", 1)[1]
    ref = status["subject"]["external_ref"]
    query = {"subject_id": ref["id"]["value"], "subject_namespace": ref["namespace"]}
    found = api.get("/ehr", query_string=query)
    assert found.status_code == 200
    assert found.json["ehr_id"]["value"] == ehr_id
    again = api.post("/ehr", json=status)
    assert_error(again, 409)


@pytest.mark.parametrize("name", corpus_statuses("valid"))
def test_valid_corpus_statuses_create_and_echo_flags(api: Api, name: str) -> None:
    status = status_file("valid", name)
    response = api.post("/ehr", json=status)
    assert response.status_code == 201, response.json
    ehr_id = response.headers["Location"].rsplit("/", 1)[1]
    stored = api.get(f"/ehr/{ehr_id}/ehr_status").json
    assert stored["is_queryable"] == status["is_queryable"]
    assert stored["is_modifiable"] == status["is_modifiable"]
    if "_type" in status.get("other_details", {}):
        assert stored["other_details"]["_type"] == status["other_details"]["_type"]


@pytest.mark.parametrize("name", corpus_statuses("invalid"))
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_invalid_corpus_statuses_are_400_for_post_and_put(api: Api, name: str, method: str) -> None:
    text = (require_corpus() / EHR_DATA / "invalid" / name).read_text(encoding="utf-8")
    path = "/ehr" if method == "POST" else f"/ehr/{uuid.uuid4()}"
    body = assert_error(api.request(method, path, data=text, content_type="application/json"), 400)
    assert body["details"], "the 400 names the offending attributes"


def test_put_with_id_then_conflict(api: Api) -> None:
    ehr_id = str(uuid.uuid4())
    first = api.put(f"/ehr/{ehr_id}")
    assert first.status_code == 201
    assert first.headers["Location"].endswith(f"/ehr/{ehr_id}")
    assert_error(api.put(f"/ehr/{ehr_id}"), 409)
    assert api.get(f"/ehr/{ehr_id}").status_code == 200


def test_put_with_a_non_uuid_is_400(api: Api) -> None:
    assert_error(api.put("/ehr/abcdefghij"), 400)


def test_empty_object_is_400(api: Api) -> None:
    body = assert_error(api.post("/ehr", data="{}", content_type="application/json"), 400)
    assert [d["path"] for d in body["details"]] == ["/_type"]
    body = assert_error(api.post("/ehr", json={"_type": "EHR_STATUS"}), 400)
    paths = {d["path"] for d in body["details"]}
    assert paths >= {"/archetype_node_id", "/name", "/subject", "/is_modifiable", "/is_queryable"}


def test_unknown_ehr_and_subject(api: Api) -> None:
    assert_error(api.get(f"/ehr/{uuid.uuid4()}"), 404)
    missing = api.get("/ehr", query_string={"subject_id": "nobody", "subject_namespace": "patients"})
    assert_error(missing, 404)
    body = assert_error(api.get("/ehr", query_string={"subject_id": "x"}), 400)
    assert body["details"][0]["path"] == "?subject_namespace"


def test_ehr_status_body_in_xml(api: Api, tmp_path: Path) -> None:
    from cdr.formats.canonical_json import parse_json
    from cdr.formats.canonical_xml import to_xml

    xml = to_xml(parse_json(json.loads(EHR_STATUS_NB.read_text(encoding="utf-8"))))
    response = api.post("/ehr", data=xml, content_type="application/xml")
    assert response.status_code == 201
    assert_error(api.post("/ehr", data="x", content_type="text/plain"), 415)


def test_get_ehr_shows_directory_once_created(api: Api) -> None:
    ehr_id = api.new_ehr()
    assert "directory" not in api.get(f"/ehr/{ehr_id}").json
    folder = {"_type": "FOLDER", "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1", "name": {"value": "r"}}
    assert api.post(f"/ehr/{ehr_id}/directory", json=folder).status_code == 201
    assert api.get(f"/ehr/{ehr_id}").json["directory"]["type"] == "FOLDER"


def test_ehr_access_is_an_object_ref_on_create_and_read(api: Api) -> None:
    """ITS-REST EHR: ``ehr_access`` references the EHR's one EHR_ACCESS, the same on every read; it is not a
    version (AQL over VERSION finds only the EHR_STATUS)."""
    body = api.post("/ehr", headers={"Prefer": "return=representation"}).json
    access = body["ehr_access"]
    assert access["type"] == "EHR_ACCESS" and access["namespace"] == "local"
    assert access["id"]["_type"] == "HIER_OBJECT_ID" and uuid.UUID(access["id"]["value"])
    ehr_id = body["ehr_id"]["value"]
    read = api.get(f"/ehr/{ehr_id}").json
    assert read is not None and read["ehr_access"] == access
    query = {"q": f"SELECT v/uid/value FROM EHR e[ehr_id/value='{ehr_id}'] CONTAINS VERSION v"}
    result = api.post("/query/aql", json=query).json
    assert result is not None
    rows = result["rows"]
    assert [row[0].split("::")[0] for row in rows] == [body["ehr_status"]["id"]["value"].split("::")[0]]
