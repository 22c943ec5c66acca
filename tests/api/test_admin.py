"""Admin API: who may use it, physical EHR deletion, template deletion and replacement."""

from __future__ import annotations

import base64
import uuid

import sqlalchemy as sa
from flask import Flask

from cdr.api import create_app
from cdr.storage import Storage
from cdr.storage.schema import metadata
from tests.api.conftest import NB_TEMPLATE, NB_TEMPLATE_ID, Api, assert_error

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
