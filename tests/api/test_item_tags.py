"""ITEM_TAGs (ITS-REST ``/tags``) on COMPOSITION and EHR_STATUS versions and versioned objects, SQLite and
PostgreSQL: replacing a target's list, reading it back, the EHR-wide listing and its filters, deleting by
key, the ITEM_TAG invariants as 400s, unknown targets as 404s, and a read-only EHR refusing changes."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from cdr.storage import Storage
from cdr.storage import schema as t
from tests.api.conftest import COMPOSITIONS, Api, assert_error, etag

REPRESENTATION = {"Prefer": "return=representation"}


def _keys(answer: Any) -> list[tuple[str, str | None, str | None]]:
    assert answer.status_code == 200, answer.json
    return [(tag["key"], tag.get("value"), tag.get("target_path")) for tag in answer.json]


def test_composition_tags_on_a_version_and_on_the_versioned_object(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    uid = nb_api.commit(ehr_id)
    vo_id = uid.split("::")[0]
    tags = [
        {"key": "flag", "value": "follow-up", "target_path": "/context/start_time/value"},
        {"key": "category"},
    ]
    put = nb_api.put(f"/ehr/{ehr_id}/composition/{uid}/tags", json=tags, headers=REPRESENTATION)
    assert _keys(put) == [("category", None, None), ("flag", "follow-up", "/context/start_time/value")]
    first = put.json[0]
    assert first["target"] == {
        "id": {"_type": "OBJECT_VERSION_ID", "value": uid},
        "namespace": "local",
        "type": "COMPOSITION",
    }
    assert first["owner_id"] == {
        "id": {"_type": "HIER_OBJECT_ID", "value": ehr_id},
        "namespace": "local",
        "type": "EHR",
    }
    minimal = nb_api.put(f"/ehr/{ehr_id}/composition/{vo_id}/tags", json=[{"key": "object"}])
    assert minimal.status_code == 204 and not minimal.data
    on_object = nb_api.get(f"/ehr/{ehr_id}/composition/{vo_id}/tags")
    assert _keys(on_object) == [("object", None, None)]
    assert on_object.json[0]["target"]["id"] == {"_type": "HIER_OBJECT_ID", "value": vo_id}
    assert _keys(nb_api.get(f"/ehr/{ehr_id}/composition/{uid}/tags"))[1][0] == "flag"  # the version's own

    # a PUT replaces the whole list; an empty one removes every tag
    nb_api.put(f"/ehr/{ehr_id}/composition/{uid}/tags", json=[{"key": "only"}])
    assert _keys(nb_api.get(f"/ehr/{ehr_id}/composition/{uid}/tags")) == [("only", None, None)]
    nb_api.put(f"/ehr/{ehr_id}/composition/{uid}/tags", json=[])
    assert _keys(nb_api.get(f"/ehr/{ehr_id}/composition/{uid}/tags")) == []
    assert _keys(nb_api.get(f"/ehr/{ehr_id}/composition/{vo_id}/tags")) == [("object", None, None)]


def test_tags_stay_on_the_version_they_were_put_on(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    v1 = nb_api.commit(ehr_id)
    nb_api.put(f"/ehr/{ehr_id}/composition/{v1}/tags", json=[{"key": "v1"}])
    updated = nb_api.put(
        f"/ehr/{ehr_id}/composition/{v1.split('::')[0]}",
        data=nb_api.get(f"/ehr/{ehr_id}/composition/{v1}").data,
        content_type="application/json",
        headers={"If-Match": v1},
    )
    v2 = etag(updated)
    assert v2.endswith("::2")
    assert _keys(nb_api.get(f"/ehr/{ehr_id}/composition/{v1}/tags")) == [("v1", None, None)]
    assert _keys(nb_api.get(f"/ehr/{ehr_id}/composition/{v2}/tags")) == []


def test_ehr_status_tags_and_the_ehr_listing(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    status_uid = etag(nb_api.get(f"/ehr/{ehr_id}/ehr_status"))
    uid = nb_api.commit(ehr_id)
    put = nb_api.put(
        f"/ehr/{ehr_id}/ehr_status/{status_uid}/tags",
        json=[{"key": "flag", "value": "reviewed"}],
        headers=REPRESENTATION,
    )
    assert put.json[0]["target"]["type"] == "EHR_STATUS"
    nb_api.put(
        f"/ehr/{ehr_id}/composition/{uid}/tags",
        json=[{"key": "flag", "value": "follow-up", "target_path": "/"}],
    )
    listing = nb_api.get(f"/ehr/{ehr_id}/tags")
    assert sorted(_keys(listing)) == [("flag", "follow-up", "/"), ("flag", "reviewed", None)]
    assert _keys(nb_api.get(f"/ehr/{ehr_id}/tags", query_string={"tag_value": "reviewed"})) == [
        ("flag", "reviewed", None)
    ]
    assert _keys(nb_api.get(f"/ehr/{ehr_id}/tags", query_string={"tag_target_path": "/"})) == [
        ("flag", "follow-up", "/")
    ]
    assert _keys(nb_api.get(f"/ehr/{ehr_id}/tags", query_string={"tag_key": "other"})) == []
    # the EHR_STATUS path takes only the EHR's status, the composition path only compositions
    assert_error(nb_api.get(f"/ehr/{ehr_id}/ehr_status/{uid}/tags"), 404)
    assert_error(nb_api.get(f"/ehr/{ehr_id}/composition/{status_uid}/tags"), 404)


def test_delete_by_key(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    uid = nb_api.commit(ehr_id)
    tags = [{"key": "flag", "target_path": "/a"}, {"key": "flag", "target_path": "/b"}, {"key": "keep"}]
    nb_api.put(f"/ehr/{ehr_id}/composition/{uid}/tags", json=tags)
    assert nb_api.delete(f"/ehr/{ehr_id}/composition/{uid}/tags/flag").status_code == 204
    assert _keys(nb_api.get(f"/ehr/{ehr_id}/composition/{uid}/tags")) == [("keep", None, None)]
    assert_error(nb_api.delete(f"/ehr/{ehr_id}/composition/{uid}/tags/flag"), 404)


def test_invalid_tags_are_400_naming_the_tag_and_nothing_changes(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    uid = nb_api.commit(ehr_id)
    path = f"/ehr/{ehr_id}/composition/{uid}/tags"
    nb_api.put(path, json=[{"key": "kept"}])
    cases: list[tuple[Any, str]] = [
        ([{"value": "no key"}], "/0/key"),
        ([{"key": ""}], "/0/key"),
        ([{"key": "kept"}, {"key": " padded"}], "/1/key"),
        ([{"key": "x", "value": ""}], "/0/value"),
        ([{"key": "x", "target_path": "context/start_time"}], "/0/target_path"),
        ([{"key": "x", "unknown": 1}], "/0/unknown"),
        ([{"key": "x", "value": 5}], "/0/value"),
        ([{"key": "x"}, {"key": "x"}], "/1"),
        (["x"], "/0"),
        ({"key": "x"}, "array"),
        ([{"key": f"k{i}"} for i in range(1001)], "at most 1000"),
    ]
    for body, named in cases:
        assert named in assert_error(nb_api.put(path, json=body), 400)["message"], body
    assert _keys(nb_api.get(path)) == [("kept", None, None)]
    assert_error(nb_api.put(path, data="<tags/>", content_type="application/xml"), 415)
    assert_error(nb_api.put(path, data="not json", content_type="application/json"), 400)


def test_unknown_targets_are_404(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    uid = nb_api.commit(ehr_id)
    missing = "11111111-2222-3333-4444-555555555555"
    assert_error(nb_api.get(f"/ehr/{missing}/composition/{uid}/tags"), 404)
    assert_error(nb_api.get(f"/ehr/{missing}/tags"), 404)
    assert_error(nb_api.get(f"/ehr/{ehr_id}/composition/{missing}/tags"), 404)
    assert_error(nb_api.put(f"/ehr/{ehr_id}/composition/{missing}::cdr.local::1/tags", json=[]), 404)
    assert_error(nb_api.get(f"/ehr/{ehr_id}/composition/{uid.replace('::1', '::2')}/tags"), 404)
    assert_error(nb_api.get(f"/ehr/{ehr_id}/composition/not-a-uid/tags"), 404)
    other_ehr = nb_api.new_ehr()  # a composition of another EHR is not in this one
    assert_error(nb_api.get(f"/ehr/{other_ehr}/composition/{uid}/tags"), 404)


def test_a_read_only_ehr_refuses_tag_changes(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    uid = nb_api.commit(ehr_id)
    path = f"/ehr/{ehr_id}/composition/{uid}/tags"
    nb_api.put(path, json=[{"key": "before"}])
    status = nb_api.get(f"/ehr/{ehr_id}/ehr_status")
    frozen = nb_api.put(
        f"/ehr/{ehr_id}/ehr_status",
        json={**status.json, "is_modifiable": False},
        headers={"If-Match": etag(status)},
    )
    assert frozen.status_code in (200, 204), frozen.json
    assert_error(nb_api.put(path, json=[{"key": "after"}]), 409)
    assert_error(nb_api.delete(f"{path}/before"), 409)
    assert _keys(nb_api.get(path)) == [("before", None, None)]


def test_tags_go_with_the_ehr(nb_api: Api, storage: Storage) -> None:
    ehr_id = nb_api.new_ehr()
    uid = nb_api.commit(ehr_id)
    nb_api.put(f"/ehr/{ehr_id}/composition/{uid}/tags", json=[{"key": "gone"}])
    storage.ehrs.delete(uuid.UUID(ehr_id))
    with storage.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.item_tag)).scalar() == 0


# ----------------------------------------------------------------- the item-tag headers of a write

NEWS2 = "valid_normal.json"


def _utf8(text: str) -> str:
    """A header value as a client sends UTF-8 text (its bytes, which WSGI hands over as Latin-1)."""
    return text.encode("utf-8").decode("latin-1")


def test_a_composition_write_sets_tags_from_its_headers(nb_api: Api) -> None:
    """``openehr-item-tag`` tags the versioned object, ``openehr-version-item-tag`` the new version, in
    the commit's transaction; the answer confirms both lists. An update replaces only the lists it sends."""
    ehr_id = nb_api.new_ehr()
    body = (COMPOSITIONS / NEWS2).read_bytes()
    created = nb_api.post(
        f"/ehr/{ehr_id}/composition",
        data=body,
        content_type="application/json",
        headers={
            "openehr-item-tag": 'key="category",value="final"',
            "openehr-version-item-tag": _utf8(
                'key="reviewed",value="true"; key="flag",value="oppfølging, \\"ny\\"",'
                'target_path="/context/start_time/value"'
            ),
        },
    )
    assert created.status_code == 201, created.json
    uid = etag(created)
    vo_id = uid.split("::")[0]
    assert created.headers["openehr-item-tag"] == 'key="category",value="final"'
    assert created.headers["openehr-version-item-tag"] == _utf8(
        'key="reviewed",value="true"; key="flag",value="oppfølging, \\"ny\\"",'
        'target_path="/context/start_time/value"'
    )
    assert _keys(nb_api.get(f"/ehr/{ehr_id}/composition/{vo_id}/tags")) == [("category", "final", None)]
    assert _keys(nb_api.get(f"/ehr/{ehr_id}/composition/{uid}/tags")) == [
        ("flag", 'oppfølging, "ny"', "/context/start_time/value"),
        ("reviewed", "true", None),
    ]

    # the update: the new version gets its own list; an empty object header removes the object's tags
    updated = nb_api.put(
        f"/ehr/{ehr_id}/composition/{vo_id}",
        data=body,
        content_type="application/json",
        headers={"If-Match": uid, "openehr-item-tag": "", "openehr-version-item-tag": "key=v2"},
    )
    assert updated.status_code == 200, updated.json
    v2 = etag(updated)
    assert (
        updated.headers["openehr-item-tag"] == ""
        and updated.headers["openehr-version-item-tag"] == 'key="v2"'
    )
    assert _keys(nb_api.get(f"/ehr/{ehr_id}/composition/{vo_id}/tags")) == []
    assert _keys(nb_api.get(f"/ehr/{ehr_id}/composition/{v2}/tags")) == [("v2", None, None)]
    assert len(_keys(nb_api.get(f"/ehr/{ehr_id}/composition/{uid}/tags"))) == 2  # version 1 keeps its own

    # no header, no change and no header in the answer
    third = nb_api.put(
        f"/ehr/{ehr_id}/composition/{vo_id}",
        data=body,
        content_type="application/json",
        headers={"If-Match": v2},
    )
    assert third.status_code == 200 and "openehr-item-tag" not in third.headers
    assert _keys(nb_api.get(f"/ehr/{ehr_id}/composition/{v2}/tags")) == [("v2", None, None)]


def test_an_ehr_status_update_sets_tags_from_its_headers(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    current = nb_api.get(f"/ehr/{ehr_id}/ehr_status")
    updated = nb_api.put(
        f"/ehr/{ehr_id}/ehr_status",
        json=current.json,
        headers={"If-Match": etag(current), "openehr-version-item-tag": 'key="source",value="import"'},
    )
    assert updated.status_code == 204, updated.get_data(as_text=True)
    assert updated.headers["openehr-version-item-tag"] == 'key="source",value="import"'
    assert _keys(nb_api.get(f"/ehr/{ehr_id}/ehr_status/{etag(updated)}/tags")) == [("source", "import", None)]


def test_bad_tag_headers_are_400_and_nothing_is_committed(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    body = (COMPOSITIONS / NEWS2).read_bytes()
    cases = {
        'value="no key"': "needs a key",
        'key="a",colour="red"': "'colour=\"red\"' is not one of",
        'key="a",key="b"': "key is given twice",
        'key="a",value="open': "unbalanced quote",
        'key=" padded"': "/0/key",
        'key="a"; key="a"': "given twice",
        'key="a",target_path="context"': "/0/target_path",
    }
    for header, message in cases.items():
        for name in ("openehr-item-tag", "openehr-version-item-tag"):
            refused = assert_error(
                nb_api.post(
                    f"/ehr/{ehr_id}/composition",
                    data=body,
                    content_type="application/json",
                    headers={name: header},
                ),
                400,
            )
            assert message in refused["message"], (header, refused["message"])
    listed = nb_api.post("/query/aql", json={"q": "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c"})
    assert listed.json["rows"] == []
