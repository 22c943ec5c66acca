"""CONTRIBUTION: EHRbase's contribution data sets, all-or-nothing commits, reading back."""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa

from cdr.storage import schema as t
from tests.api.conftest import Api, assert_error, etag
from tests.corpus import require_corpus

IT = "ehrbase-integration-tests/test_data_sets"


def _setup(api: Api) -> str:
    root = require_corpus() / IT / "valid_templates" / "minimal"
    for name in ("minimal_evaluation", "minimal_instruction", "minimal_observation", "minimal_admin"):
        api.upload(root / f"{name}.opt")
    return api.new_ehr()


def _file(*parts: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        (require_corpus() / IT / "contributions").joinpath(*parts).read_text("utf-8")
    )
    return doc


def _post(api: Api, ehr_id: str, doc: dict[str, Any]) -> Any:
    return api.post(f"/ehr/{ehr_id}/contribution", json=doc, headers={"Prefer": "return=representation"})


def _versions(api: Api) -> int:
    engine = api.app.extensions["cdr"].storage.engine
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(t.object_version)).scalar_one())


def test_commit_and_read_back(api: Api) -> None:
    ehr_id = _setup(api)
    for name in ("minimal_evaluation", "minimal_instruction", "minimal_observation", "minimal_admin"):
        response = _post(api, ehr_id, _file("valid", "minimal", f"{name}.contribution.json"))
        assert response.status_code == 201, response.json
        assert len(response.json["versions"]) == 1
        uid = response.json["uid"]["value"]
        assert etag(response) == uid
        assert response.headers["Location"].endswith(f"/ehr/{ehr_id}/contribution/{uid}")
        back = api.get(f"/ehr/{ehr_id}/contribution/{uid}")
        assert back.status_code == 200 and back.json["versions"] == response.json["versions"]
        version_uid = back.json["versions"][0]["id"]["value"]
        assert api.get(f"/ehr/{ehr_id}/composition/{version_uid}").status_code == 200
    audit = back.json["audit"]
    assert audit["change_type"]["value"] == "creation"


def test_modification_deletion_and_status_in_one(api: Api) -> None:
    ehr_id = _setup(api)
    first = _post(api, ehr_id, _file("valid", "minimal", "minimal_evaluation.contribution.json")).json
    v1 = first["versions"][0]["id"]["value"]
    doc = _file("valid", "minimal", "minimal_evaluation.contribution.json")
    doc["versions"][0]["preceding_version_uid"] = {"_type": "OBJECT_VERSION_ID", "value": v1}
    doc["versions"][0]["commit_audit"]["change_type"] = {
        "value": "modification",
        "defining_code": {"terminology_id": {"value": "openehr"}, "code_string": "251"},
    }
    status = api.get(f"/ehr/{ehr_id}/ehr_status")
    doc["versions"].append(
        {
            "_type": "ORIGINAL_VERSION",
            "preceding_version_uid": {"_type": "OBJECT_VERSION_ID", "value": etag(status)},
            "commit_audit": {**doc["versions"][0]["commit_audit"]},
            "lifecycle_state": {
                "value": "complete",
                "defining_code": {"terminology_id": {"value": "openehr"}, "code_string": "532"},
            },
            "data": {**status.json, "is_queryable": False},
        }
    )
    response = _post(api, ehr_id, doc)
    assert response.status_code == 201, response.json
    uids = [v["id"]["value"] for v in response.json["versions"]]
    assert any(u.endswith("::2") and u.startswith(v1.split("::")[0]) for u in uids)
    assert api.get(f"/ehr/{ehr_id}/ehr_status").json["is_queryable"] is False

    v2 = next(u for u in uids if u.startswith(v1.split("::")[0]))
    deletion = {
        "_type": "CONTRIBUTION",
        "audit": doc["versions"][0]["commit_audit"],
        "versions": [
            {
                "_type": "ORIGINAL_VERSION",
                "preceding_version_uid": {"_type": "OBJECT_VERSION_ID", "value": v2},
                "commit_audit": {
                    **doc["versions"][0]["commit_audit"],
                    "change_type": {
                        "value": "deleted",
                        "defining_code": {"terminology_id": {"value": "openehr"}, "code_string": "523"},
                    },
                },
                "lifecycle_state": {
                    "value": "deleted",
                    "defining_code": {"terminology_id": {"value": "openehr"}, "code_string": "523"},
                },
            }
        ],
    }
    deleted = _post(api, ehr_id, deletion)
    assert deleted.status_code == 201, deleted.json
    assert api.get(f"/ehr/{ehr_id}/composition/{v1.split('::')[0]}").status_code == 204


def test_invalid_contributions_are_400_and_commit_nothing(api: Api) -> None:
    ehr_id = _setup(api)
    before = _versions(api)
    empty = assert_error(_post(api, ehr_id, _file("invalid", "no_versions.json")), 400)
    assert empty["message"] == "Versions must not be empty"
    mixed = assert_error(_post(api, ehr_id, _file("invalid", "multiple_valid_and_invalid_compos.json")), 400)
    assert all(d["path"].startswith("/versions/") for d in mixed["details"]) and mixed["details"]
    missing = assert_error(_post(api, ehr_id, _file("invalid", "ref_to_non_existent_OPT.json")), 400)
    assert "has not been uploaded" in missing["message"]
    assert _versions(api) == before  # all or nothing


def test_unknown_ehr_contribution_and_read_only_ehr(api: Api) -> None:
    ehr_id = _setup(api)
    assert_error(api.get(f"/ehr/{ehr_id}/contribution/{uuid.uuid4()}"), 404)
    assert_error(api.get(f"/ehr/{uuid.uuid4()}/contribution/{uuid.uuid4()}"), 404)
    assert_error(api.get(f"/ehr/{ehr_id}/contribution/not-a-uuid"), 404)
    doc = _file("valid", "minimal", "minimal_evaluation.contribution.json")
    assert_error(_post(api, str(uuid.uuid4()), doc), 404)
    status = api.get(f"/ehr/{ehr_id}/ehr_status")
    api.put(
        f"/ehr/{ehr_id}/ehr_status",
        json={**status.json, "is_modifiable": False},
        headers={"If-Match": etag(status)},
    )
    assert_error(_post(api, ehr_id, doc), 409)
    assert_error(api.post(f"/ehr/{ehr_id}/contribution", data="<x/>", content_type="application/xml"), 415)


def test_a_version_uid_is_not_an_input_so_one_file_commits_into_ehr_after_ehr(api: Api) -> None:
    """EHRbase's suites commit ``minimal_evaluation.contribution.json`` (its version carries
    ``d11739a8-...::EMR_APP::1``) into one EHR after another; ITS-REST's UPDATE_VERSION has no ``uid``, so
    each commit is a new composition with an id and system id of this server."""
    doc = _file("valid", "minimal", "minimal_evaluation.contribution.json")
    given = doc["versions"][0]["uid"]["value"]
    committed = []
    for _ in range(2):
        response = _post(api, _setup(api), doc)
        assert response.status_code == 201, response.json
        committed.append(response.json["versions"][0]["id"]["value"])
    assert committed[0] != committed[1]
    for uid in committed:
        assert uid.split("::")[0] != given.split("::")[0] and "::EMR_APP::" not in uid


def test_a_creation_keeps_the_uid_of_its_data_as_post_composition_does(api: Api) -> None:
    """A COMPOSITION that brings its own ``uid`` keeps its object id inside a contribution too; taken, it is
    a 409 and nothing of the contribution is committed."""
    doc = _file("valid", "minimal", "minimal_evaluation.contribution.json")
    object_id = str(uuid.uuid4())
    doc["versions"][0]["data"]["uid"] = {"_type": "OBJECT_VERSION_ID", "value": f"{object_id}::cdr.local::1"}
    ehr_id = _setup(api)
    response = _post(api, ehr_id, doc)
    assert response.status_code == 201, response.json
    assert response.json["versions"][0]["id"]["value"].split("::")[0] == object_id
    other = _setup(api)
    before = _versions(api)
    assert_error(_post(api, other, doc), 409)
    assert _versions(api) == before
