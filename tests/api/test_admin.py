"""Admin API: who may use it, physical deletion of an EHR, a composition or the directory, template deletion
and replacement."""

from __future__ import annotations

import base64
import uuid

import sqlalchemy as sa
from flask import Flask

from cdr.api import create_app
from cdr.storage import Storage
from cdr.storage.schema import metadata
from tests.api.conftest import NB_TEMPLATE, NB_TEMPLATE_ID, ROOT_FOLDER, Api, assert_error, etag

TEMPLATE = f"/admin/template/{NB_TEMPLATE_ID}"


def _rows(api: Api) -> dict[str, int]:
    engine = api.app.extensions["cdr"].storage.engine
    with engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
            if table.name not in ("template", "audit_event", "audit_head")  # the audit trail outlives the EHR
        }


def test_delete_ehr_removes_everything(nb_api: Api) -> None:
    keep = nb_api.new_ehr()
    nb_api.commit(keep)
    before = _rows(nb_api)
    ehr_id = nb_api.new_ehr()
    uid = nb_api.commit(ehr_id)
    nb_api.commit(ehr_id, "valid_high_risk.json")
    folder = {"_type": "FOLDER", "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1", "name": {"value": "r"}}
    folder["items"] = [
        {
            "id": {"_type": "HIER_OBJECT_ID", "value": uid.split("::")[0]},
            "namespace": "local",
            "type": "VERSIONED_COMPOSITION",
        }
    ]
    assert nb_api.post(f"/ehr/{ehr_id}/directory", json=folder).status_code == 201
    assert nb_api.delete(f"/admin/ehr/{ehr_id}").status_code == 204
    assert _rows(nb_api) == before
    assert_error(nb_api.get(f"/ehr/{ehr_id}"), 404)
    assert nb_api.get(f"/ehr/{keep}").status_code == 200
    assert_error(nb_api.delete(f"/admin/ehr/{ehr_id}"), 404)
    assert_error(nb_api.delete("/admin/ehr/not-a-uuid"), 400)


def test_template_delete_refused_while_in_use(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    nb_api.commit(ehr_id)
    body = assert_error(nb_api.delete(TEMPLATE), 422)
    assert "is used by" in body["message"]
    replaced = nb_api.put(TEMPLATE, data=NB_TEMPLATE.read_bytes(), content_type="application/xml")
    assert "is used by" in assert_error(replaced, 422)["message"]
    assert nb_api.delete(f"/admin/ehr/{ehr_id}").status_code == 204
    replaced = nb_api.put(TEMPLATE, data=NB_TEMPLATE.read_bytes(), content_type="application/xml")
    assert replaced.status_code == 200 and replaced.json["template_id"] == NB_TEMPLATE_ID
    assert nb_api.delete(TEMPLATE).status_code == 204
    assert_error(nb_api.delete(TEMPLATE), 404)
    assert nb_api.upload().status_code == 201  # delete, upload again, commit: as the suites do
    assert (
        nb_api.post(
            f"/ehr/{nb_api.new_ehr()}/composition",
            json=nb_api.get(f"/definition/template/adl1.4/{NB_TEMPLATE_ID}/example").json,
        ).status_code
        == 201
    )


def _app(storage: Storage, **config: object) -> Flask:
    return create_app({"STORAGE": storage, **config})


def test_credentials_decide_the_admin_role(storage: Storage) -> None:
    keyed = Api(_app(storage, ADMIN_API_KEY="s3cret"))
    ehr_id = keyed.new_ehr()
    assert_error(keyed.delete(f"/admin/ehr/{ehr_id}"), 403)
    assert_error(keyed.delete(f"/admin/ehr/{ehr_id}", headers={"X-API-Key": "wrong"}), 401)
    assert keyed.delete(f"/admin/ehr/{ehr_id}", headers={"Authorization": "Bearer s3cret"}).status_code == 204

    basic = Api(_app(storage, ADMIN_USER="admin", ADMIN_PASSWORD="pw"))
    ehr_id = basic.new_ehr()
    good = base64.b64encode(b"admin:pw").decode()
    bad = base64.b64encode(b"admin:nope").decode()
    assert_error(basic.delete(f"/admin/ehr/{ehr_id}", headers={"Authorization": f"Basic {bad}"}), 401)
    assert basic.delete(f"/admin/ehr/{ehr_id}", headers={"Authorization": f"Basic {good}"}).status_code == 204

    closed = Api(_app(storage, ADMIN_LOOPBACK=False))
    assert_error(closed.delete(f"/admin/ehr/{closed.new_ehr()}"), 403)
    remote = Api(_app(storage))
    response = remote.client.delete(
        f"/openehr/v1/admin/ehr/{uuid.uuid4()}", environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert_error(response, 401)  # authentication is off (the default), which serves loopback clients only


def _query(api: Api, aql: str) -> list[list[object]]:
    answer = api.post("/query/aql", json={"q": aql})
    assert answer.status_code == 200, answer.json
    rows: list[list[object]] = answer.json["rows"]
    return rows


def test_erase_a_composition_removes_every_version_and_what_derives_from_them(nb_api: Api) -> None:
    """Data recorded in the wrong patient's record: the composition goes with its history, its node rows,
    tags and the contributions that held only it; the EHR's other data and the access log stay."""
    keep = nb_api.new_ehr()
    nb_api.commit(keep)
    ehr_id = nb_api.new_ehr()
    other = nb_api.commit(ehr_id, "valid_high_risk.json")
    before = _rows(nb_api)
    wrong = nb_api.commit(ehr_id)
    object_id = wrong.split("::")[0]
    updated = nb_api.put(
        f"/ehr/{ehr_id}/composition/{object_id}",
        json=nb_api.get(f"/ehr/{ehr_id}/composition/{wrong}").json,
        headers={"If-Match": f'"{wrong}"'},
    )
    assert updated.status_code == 200
    tagged = nb_api.put(f"/ehr/{ehr_id}/composition/{object_id}/tags", json=[{"key": "wrong", "value": "x"}])
    assert tagged.status_code == 204
    assert (
        nb_api.delete(f"/admin/ehr/{ehr_id}/composition/{etag(updated)}").status_code == 204
    )  # a version uid
    assert _rows(nb_api) == before
    assert_error(nb_api.get(f"/ehr/{ehr_id}/composition/{wrong}"), 404)
    assert_error(nb_api.get(f"/ehr/{ehr_id}/versioned_composition/{object_id}"), 404)
    uids = _query(nb_api, f"SELECT c/uid/value FROM EHR e[ehr_id/value='{ehr_id}'] CONTAINS COMPOSITION c")
    assert uids == [[other]]
    assert nb_api.get(f"/ehr/{ehr_id}/composition/{other}").status_code == 200
    trail = nb_api.app.extensions["cdr_audit"].records([uuid.UUID(ehr_id)])
    assert any(f"erase COMPOSITION {object_id} (2 versions)" in str(record) for record in trail)
    assert_error(nb_api.delete(f"/admin/ehr/{ehr_id}/composition/{object_id}"), 404)
    assert_error(nb_api.delete(f"/admin/ehr/{keep}/composition/{other.split('::')[0]}"), 404)  # another EHR's
    assert_error(nb_api.delete(f"/admin/ehr/{ehr_id}/composition/not-a-uuid"), 404)
    assert_error(nb_api.delete(f"/admin/ehr/not-a-uuid/composition/{object_id}"), 400)


def test_a_contribution_that_also_committed_other_versions_stays_with_those(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    status = nb_api.get(f"/ehr/{ehr_id}/ehr_status")
    composition = nb_api.get(f"/definition/template/adl1.4/{NB_TEMPLATE_ID}/example").json
    audit = {
        "_type": "AUDIT_DETAILS",
        "system_id": "test",
        "committer": {"_type": "PARTY_IDENTIFIED", "name": "Kari Nordmann"},
        "change_type": {
            "value": "creation",
            "defining_code": {"terminology_id": {"value": "openehr"}, "code_string": "249"},
        },
    }
    complete = {
        "value": "complete",
        "defining_code": {"terminology_id": {"value": "openehr"}, "code_string": "532"},
    }
    modification = {
        **audit,
        "change_type": {
            "value": "modification",
            "defining_code": {"terminology_id": {"value": "openehr"}, "code_string": "251"},
        },
    }
    contribution = {
        "_type": "CONTRIBUTION",
        "audit": audit,
        "versions": [
            {
                "_type": "ORIGINAL_VERSION",
                "commit_audit": audit,
                "lifecycle_state": complete,
                "data": composition,
            },
            {
                "_type": "ORIGINAL_VERSION",
                "preceding_version_uid": {"_type": "OBJECT_VERSION_ID", "value": etag(status)},
                "commit_audit": modification,
                "lifecycle_state": complete,
                "data": {**status.json, "is_queryable": False},
            },
        ],
    }
    committed = nb_api.post(
        f"/ehr/{ehr_id}/contribution", json=contribution, headers={"Prefer": "return=representation"}
    )
    assert committed.status_code == 201, committed.json
    contribution_uid = committed.json["uid"]["value"]
    version_uids = [v["id"]["value"] for v in committed.json["versions"]]
    composition_uid = next(u for u in version_uids if not u.startswith(etag(status).split("::")[0]))
    assert (
        nb_api.delete(f"/admin/ehr/{ehr_id}/composition/{composition_uid.split('::')[0]}").status_code == 204
    )
    kept = nb_api.get(f"/ehr/{ehr_id}/contribution/{contribution_uid}")
    assert kept.status_code == 200
    assert [v["id"]["value"] for v in kept.json["versions"]] == [
        u for u in version_uids if u != composition_uid
    ]


def test_erase_the_directory_lets_a_new_one_be_created(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    created = nb_api.post(f"/ehr/{ehr_id}/directory", json=ROOT_FOLDER)
    assert created.status_code == 201
    assert_error(nb_api.post(f"/ehr/{ehr_id}/directory", json=ROOT_FOLDER), 409)
    assert nb_api.delete(f"/admin/ehr/{ehr_id}/directory/{etag(created).split('::')[0]}").status_code == 204
    assert_error(nb_api.get(f"/ehr/{ehr_id}/directory"), 404)
    assert nb_api.post(f"/ehr/{ehr_id}/directory", json=ROOT_FOLDER).status_code == 201
    composition = nb_api.commit(ehr_id)
    assert_error(
        nb_api.delete(f"/admin/ehr/{ehr_id}/directory/{composition.split('::')[0]}"), 404
    )  # not a FOLDER


def test_only_the_admin_role_erases(storage: Storage) -> None:
    keyed = Api(_app(storage, ADMIN_API_KEY="s3cret"))
    keyed.upload()
    ehr_id = keyed.new_ehr()
    uid = keyed.commit(ehr_id)
    assert_error(keyed.delete(f"/admin/ehr/{ehr_id}/composition/{uid}"), 403)
    assert keyed.get(f"/ehr/{ehr_id}/composition/{uid}").status_code == 200
    erased = keyed.delete(f"/admin/ehr/{ehr_id}/composition/{uid}", headers={"X-API-Key": "s3cret"})
    assert erased.status_code == 204
