"""DIRECTORY: create once, If-Match updates and deletes, versions, time and sub-folder paths."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from tests.api.conftest import Api, assert_error, etag
from tests.corpus import require_corpus

DIRECTORY = "ehrbase-integration-tests/test_data_sets/directory"


def folder_file(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((require_corpus() / DIRECTORY / name).read_text(encoding="utf-8"))
    return doc


def test_create_twice_unknown_ehr_and_read_only_ehr(api: Api) -> None:
    tree = folder_file("subfolders_in_directory.json")
    ehr_id = api.new_ehr()
    assert_error(api.get(f"/ehr/{ehr_id}/directory"), 404)
    created = api.post(f"/ehr/{ehr_id}/directory", json=tree, headers={"Prefer": "return=representation"})
    assert created.status_code == 201
    assert created.json["name"]["value"] == tree["name"]["value"]
    assert created.headers["Location"].endswith(f"/ehr/{ehr_id}/directory/{etag(created)}")
    assert_error(api.post(f"/ehr/{ehr_id}/directory", json=tree), 409)
    assert_error(api.post(f"/ehr/{uuid.uuid4()}/directory", json=tree), 404)

    status = api.get(f"/ehr/{(locked := api.new_ehr())}/ehr_status")
    api.put(
        f"/ehr/{locked}/ehr_status",
        json={**status.json, "is_modifiable": False},
        headers={"If-Match": etag(status)},
    )
    assert_error(api.post(f"/ehr/{locked}/directory", json=tree), 409)


def test_paths_versions_and_time(api: Api) -> None:
    ehr_id = api.new_ehr()
    v1 = etag(api.post(f"/ehr/{ehr_id}/directory", json=folder_file("subfolders_in_directory.json")))
    after_v1 = dt.datetime.now(dt.UTC).isoformat()
    for path, name in (("/emergency/episode_x", "episode_x"), ("emergency/episode_y/summary_compo_y", None)):
        found = api.get(f"/ehr/{ehr_id}/directory", query_string={"path": path})
        assert found.status_code == 200
        assert found.json["name"]["value"] == (name or path.rsplit("/", 1)[1])
    assert_error(api.get(f"/ehr/{ehr_id}/directory", query_string={"path": "/no/such/folder"}), 404)

    update = folder_file("update/2_add_subfolders.json")
    updated = api.put(
        f"/ehr/{ehr_id}/directory", json=update, headers={"If-Match": v1, "Prefer": "return=representation"}
    )
    assert updated.status_code == 200
    v2 = etag(updated)
    assert v2.endswith("::2")
    assert updated.json["folders"][0]["name"]["value"] == "history"
    assert updated.json["folders"][0]["folders"][0]["name"]["value"] == "family"
    assert_error(api.put(f"/ehr/{ehr_id}/directory", json=update, headers={"If-Match": v1}), 412)

    old = api.get(f"/ehr/{ehr_id}/directory/{v1}", query_string={"path": "/emergency/episode_x"})
    assert old.json["name"]["value"] == "episode_x"
    at = api.get(f"/ehr/{ehr_id}/directory", query_string={"version_at_time": after_v1})
    assert etag(at) == v1

    deleted = api.delete(f"/ehr/{ehr_id}/directory", headers={"If-Match": v2})
    assert deleted.status_code == 204
    assert etag(deleted).endswith("::3")
    assert api.get(f"/ehr/{ehr_id}/directory/{v2}").status_code == 200
    assert api.get(f"/ehr/{ehr_id}/directory").status_code == 204
    assert api.post(f"/ehr/{ehr_id}/directory", json=folder_file("empty_directory.json")).status_code == 201


def test_update_and_delete_without_a_directory_are_412(api: Api) -> None:
    ehr_id = api.new_ehr()
    fake = f"{uuid.uuid4()}::test.cdr::1"
    tree = folder_file("empty_directory.json")
    assert_error(api.put(f"/ehr/{ehr_id}/directory", json=tree, headers={"If-Match": fake}), 412)
    assert_error(api.delete(f"/ehr/{ehr_id}/directory", headers={"If-Match": fake}), 412)
    assert_error(api.delete(f"/ehr/{uuid.uuid4()}/directory", headers={"If-Match": fake}), 404)
    assert_error(api.delete(f"/ehr/{ehr_id}/directory"), 400)


def test_folder_needs_its_mandatory_attributes(api: Api) -> None:
    body = assert_error(api.post(f"/ehr/{api.new_ehr()}/directory", json={"_type": "FOLDER"}), 400)
    assert {d["path"] for d in body["details"]} == {"/archetype_node_id", "/name"}
