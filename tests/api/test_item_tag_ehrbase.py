"""EHRbase's experimental ITEM_TAG API (``.../composition|ehr_status/{versioned_object_uid}/item_tag``) on
SQLite and PostgreSQL: tags with ids of their own on the versioned object, added or changed one by one by a
PUT (ids back, or the tags with ``Prefer: return=representation``), found by ``ids`` and ``keys``, deleted
by id; EHRbase's rules for keys, values and paths as 422s; the same store as ITS-REST's ``/tags``."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from cdr.storage import Storage
from tests.api.conftest import Api, assert_error

REPRESENTATION = {"Prefer": "return=representation"}


def _tags(answer: Any) -> list[tuple[str, str | None, str | None]]:
    assert answer.status_code == 200, answer.json
    return sorted((tag["key"], tag.get("value"), tag.get("target_path")) for tag in answer.json)


def test_composition_item_tags_are_added_found_changed_and_deleted_by_id(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    uid = nb_api.commit(ehr_id)
    vo_id = uid.split("::")[0]
    url = f"/ehr/{ehr_id}/composition/{vo_id}/item_tag"
    tags = [
        {"key": "priority", "value": "high"},
        {"key": "review/status", "value": "open", "target_path": "/context/start_time"},
    ]
    put = nb_api.put(url, json=tags)
    assert put.status_code == 200
    assert put.headers["Location"].endswith(url)
    ids = put.json
    assert len(ids) == 2 and all(uuid.UUID(i) for i in ids)

    # the tags, as EHRbase writes them: the ids bare uuids, the target the versioned object
    found = nb_api.get(url)
    assert _tags(found) == [("priority", "high", None), ("review/status", "open", "/context/start_time")]
    priority = next(tag for tag in found.json if tag["key"] == "priority")
    assert priority == {
        "id": ids[0],
        "owner_id": ehr_id,
        "target": vo_id,
        "target_type": "COMPOSITION",
        "key": "priority",
        "value": "high",
    }
    # a version uid in the path names its versioned object
    assert _tags(nb_api.get(f"/ehr/{ehr_id}/composition/{uid}/item_tag")) == _tags(found)
    assert _tags(nb_api.get(url, query_string={"keys": "priority"})) == [("priority", "high", None)]
    assert _tags(nb_api.get(url, query_string={"ids": ids[1]}))[0][0] == "review/status"
    assert len(nb_api.get(url, query_string={"ids": ",".join(ids)}).json) == 2
    assert nb_api.get(url, query_string={"ids": str(uuid.uuid4())}).json == []

    # a PUT leaves other tags: one with an id changes that tag, one without adds a tag (or replaces the one
    # with its key and path), and the answer under return=representation is the tags stored
    changed = nb_api.put(
        url,
        json=[{**priority, "value": "low"}, {"key": "source", "value": "app-x"}],
        headers=REPRESENTATION,
    )
    assert _tags(changed) == [("priority", "low", None), ("source", "app-x", None)]
    assert changed.json[0]["id"] == ids[0]
    again = nb_api.put(url, json=[{"key": "source", "value": "app-y"}])
    assert again.json == [changed.json[1]["id"]]  # the same tag, by key and path
    assert len(nb_api.get(url).json) == 3

    # DELETE takes ids or tags carrying their ids
    assert nb_api.delete(url, json=[ids[0], {"id": ids[1], "key": "review/status"}]).status_code == 204
    assert _tags(nb_api.get(url)) == [("source", "app-y", None)]
    # ITS-REST's /tags of the versioned object are the same tags
    listed = nb_api.get(f"/ehr/{ehr_id}/composition/{vo_id}/tags")
    assert [(tag["key"], tag.get("value")) for tag in listed.json] == [("source", "app-y")]


def test_ehr_status_item_tags(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    status = nb_api.get(f"/ehr/{ehr_id}/ehr_status").json
    vo_id = status["uid"]["value"].split("::")[0]
    url = f"/ehr/{ehr_id}/ehr_status/{vo_id}/item_tag"
    put = nb_api.put(url, json=[{"key": "consent", "value": "research"}], headers=REPRESENTATION)
    assert put.status_code == 200
    [tag] = put.json
    assert tag["target_type"] == "EHR_STATUS" and tag["target"] == vo_id and tag["owner_id"] == ehr_id
    wrong_type = nb_api.put(url, json=[{"key": "x", "target_type": "COMPOSITION"}])
    assert "does not match EHR_STATUS" in assert_error(wrong_type, 400)["message"]


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ({"value": "no key"}, "must have a key"),
        ({"key": " "}, "must have a key"),
        ({"key": "two words"}, "contains invalid characters"),
        ({"key": "k", "value": " "}, "value can not be empty or blank"),
        ({"key": "k", "target_path": "context/start_time"}, "does not start at root"),
        ({"key": "k", "target_path": "/content|value"}, "attributes are not supported"),
        ({"key": "k", "target_path": "/content[at0001 or at0002]"}, "is not a path of attributes"),
        ({"key": "k", "owner_id": str(uuid.uuid4())}, "can not change the owner"),
    ],
)
def test_ehrbase_rules_for_tags_are_422s_naming_the_tag(
    nb_api: Api, tag: dict[str, Any], message: str
) -> None:
    ehr_id = nb_api.new_ehr()
    vo_id = nb_api.commit(ehr_id).split("::")[0]
    url = f"/ehr/{ehr_id}/composition/{vo_id}/item_tag"
    body = assert_error(nb_api.put(url, json=[{"key": "fine"}, tag]), 422)
    assert message in body["message"]
    assert body["message"].startswith("/1/")
    assert nb_api.get(url).json == []  # nothing of the PUT was stored


def test_what_is_refused_before_anything_is_stored(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    vo_id = nb_api.commit(ehr_id).split("::")[0]
    url = f"/ehr/{ehr_id}/composition/{vo_id}/item_tag"
    assert "ItemTags are empty" in assert_error(nb_api.put(url, json=[]), 422)["message"]
    many = [{"key": f"k{i}"} for i in range(1001)]
    assert "at most 1000" in assert_error(nb_api.put(url, json=many), 422)["message"]
    assert "ItemTags are empty" in assert_error(nb_api.delete(url, json=[]), 422)["message"]
    assert "contain an 'id'" in assert_error(nb_api.delete(url, json=[{"key": "k"}]), 422)["message"]
    assert_error(nb_api.delete(url, json=["not-a-uuid"]), 400)
    assert_error(nb_api.put(url, json=[{"key": "k", "id": "not-a-uuid"}]), 400)
    assert_error(nb_api.put(url, json={"key": "k"}), 400)
    assert_error(nb_api.put(url, data="key=k", content_type="application/x-www-form-urlencoded"), 415)
    assert_error(nb_api.get(url, query_string={"ids": "nope"}), 400)
    # a tag id this target does not have
    assert_error(nb_api.put(url, json=[{"id": str(uuid.uuid4()), "key": "k"}]), 404)
    # unknown targets and EHRs
    assert_error(nb_api.get(f"/ehr/{ehr_id}/composition/{uuid.uuid4()}/item_tag"), 404)
    assert_error(nb_api.put(f"/ehr/{uuid.uuid4()}/composition/{vo_id}/item_tag", json=[{"key": "k"}]), 404)
    # changing a tag to another's key and path
    first, second = nb_api.put(url, json=[{"key": "a"}, {"key": "b"}]).json
    assert_error(nb_api.put(url, json=[{"id": second, "key": "a"}]), 409)
    assert sorted(tag["key"] for tag in nb_api.get(url).json) == ["a", "b"]
    assert first != second


def test_a_read_only_ehr_refuses_tag_changes(nb_api: Api, storage: Storage) -> None:
    ehr_id = nb_api.new_ehr()
    vo_id = nb_api.commit(ehr_id).split("::")[0]
    url = f"/ehr/{ehr_id}/composition/{vo_id}/item_tag"
    [tag_id] = nb_api.put(url, json=[{"key": "k"}]).json
    status = nb_api.get(f"/ehr/{ehr_id}/ehr_status")
    document = {**status.json, "is_modifiable": False}
    locked = nb_api.put(
        f"/ehr/{ehr_id}/ehr_status", json=document, headers={"If-Match": status.headers["ETag"]}
    )
    assert locked.status_code in (200, 204), locked.json
    assert_error(nb_api.put(url, json=[{"key": "other"}]), 409)
    assert_error(nb_api.delete(url, json=[tag_id]), 409)
    assert [tag["id"] for tag in nb_api.get(url).json] == [tag_id]


def test_paths_of_attributes_and_node_ids_with_names_are_taken(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    vo_id = nb_api.commit(ehr_id).split("::")[0]
    paths = [
        "/",
        "/context/start_time",
        "/content[openEHR-EHR-OBSERVATION.blood_pressure.v2]/data[at0001]"
        "/events[at0006 and name/value='any event']/data[at0003]/items[at0004]/value",
        "/content[openEHR-EHR-SECTION.adhoc.v1, 'Vitals']",
    ]
    tags = [{"key": f"k{i}", "target_path": path} for i, path in enumerate(paths)]
    put = nb_api.put(f"/ehr/{ehr_id}/composition/{vo_id}/item_tag", json=tags, headers=REPRESENTATION)
    assert [tag["target_path"] for tag in put.json] == paths


def test_ehrbase_own_prefix_reaches_the_same_routes(nb_api: Api) -> None:
    """A client configured for EHRbase calls ``/rest/experimental/tags/ehr/...``: the same tags, the same
    answers; nothing else under that prefix is served."""
    ehr_id = nb_api.new_ehr()
    vo_id = nb_api.commit(ehr_id).split("::")[0]
    client = nb_api.client
    ehrbase = f"/rest/experimental/tags/ehr/{ehr_id}/composition/{vo_id}/item_tag"
    put = client.put(ehrbase, json=[{"key": "from-ehrbase-client"}])
    assert put.status_code == 200, put.json
    [tag_id] = put.json
    assert put.headers["Location"].endswith(f"/openehr/v1/ehr/{ehr_id}/composition/{vo_id}/item_tag")
    assert [tag["id"] for tag in nb_api.get(f"/ehr/{ehr_id}/composition/{vo_id}/item_tag").json] == [tag_id]
    assert client.get(ehrbase).json[0]["key"] == "from-ehrbase-client"
    assert client.delete(ehrbase, json=[tag_id]).status_code == 204
    assert client.get(ehrbase).json == []
    assert_error(client.get(f"/rest/experimental/tags/ehr/{ehr_id}"), 404)
    assert_error(client.get(f"/rest/experimental/tags/ehr/{ehr_id}/composition/{vo_id}/tags"), 404)
