"""The audit record of a write names what it touched: every version uid it committed (and the version it
superseded, and the contribution), through every REST route that writes, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import etag
from tests.security import test_api_security as world
from tests.security.test_api_security import (
    NURSE,
    NURSE_HPR,
    PATIENT,
    Client,
    Record,
    _contribution,
    status_for,
)
from tests.storage.conftest import engine, postgres, postgres_engine  # noqa: F401  (fixtures, both dialects)

api, app, record, storage = world.api, world.app, world.record, world.storage  # the API world's fixtures
FOLDER = {"_type": "FOLDER", "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1", "name": {"value": "root"}}


def _last_write(api: Client) -> dict[str, Any]:
    written = [r for r in api.audit(actor_hpr=NURSE_HPR) if r["operation"] in ("ehr:write", "ehr:create")]
    return written[-1]


def _targets(row: dict[str, Any]) -> list[str]:
    targets = row["targets"]
    return list(json.loads(targets) if isinstance(targets, str) else targets)


def test_ehr_creation_names_its_status_version(api: Client, record: Record) -> None:
    (created,) = api.audit(actor_hpr=NURSE_HPR, operation="ehr:create")
    assert str(created["ehr_id"]) == record.ehr_id
    assert record.status_uid in _targets(created)  # version 1 of the EHR_STATUS the creation committed


def test_a_composition_creation_names_the_new_version(api: Client, record: Record) -> None:
    row = _last_write(api)  # the Record fixture's POST of the composition
    assert record.version_uid in _targets(row)
    assert _targets(row)[0] == record.version_uid  # the version first, then its contribution
    assert row["outcome"] == "success" and row["status"] is None  # written in the commit's transaction


@pytest.mark.parametrize("route", ["update", "delete"])
def test_a_composition_change_names_the_old_and_the_new_version(
    api: Client, record: Record, route: str
) -> None:
    path = f"/ehr/{record.ehr_id}/composition/"
    if route == "update":
        answer = api.call(
            "PUT",
            path + record.object_id,
            NURSE,
            data=record.body,
            content_type="application/json",
            headers={"If-Match": record.version_uid},
        )
    else:
        answer = api.call("DELETE", path + record.version_uid, NURSE)
    assert answer.status_code in (200, 204), answer.data
    new_uid = etag(answer)
    assert new_uid != record.version_uid and new_uid.endswith("::2")
    targets = _targets(_last_write(api))
    assert record.version_uid in targets and new_uid in targets


def test_a_contribution_names_every_version_it_committed(api: Client, record: Record) -> None:
    body = _contribution(record.body)
    body["versions"].append(body["versions"][0])  # two new compositions in one contribution
    answer = api.call(
        "POST",
        f"/ehr/{record.ehr_id}/contribution",
        NURSE,
        json=body,
        headers={"Prefer": "return=representation"},
    )
    assert answer.status_code == 201, answer.json
    committed = [v["id"]["value"] for v in answer.json["versions"]]
    contribution_id = answer.json["uid"]["value"]
    assert len(committed) == 2
    assert _targets(_last_write(api)) == [*committed, contribution_id]


def test_status_and_directory_writes_name_their_versions(api: Client, record: Record) -> None:
    status = api.call(
        "PUT",
        f"/ehr/{record.ehr_id}/ehr_status",
        NURSE,
        json=status_for(PATIENT),
        headers={"If-Match": record.status_uid},
    )
    assert status.status_code in (200, 204), status.data
    targets = _targets(_last_write(api))
    assert etag(status) in targets and record.status_uid in targets
    folder = api.call("POST", f"/ehr/{record.ehr_id}/directory", NURSE, json=FOLDER)
    assert folder.status_code == 201, folder.json
    assert etag(folder) in _targets(_last_write(api))
    changed = api.call(
        "PUT", f"/ehr/{record.ehr_id}/directory", NURSE, json=FOLDER, headers={"If-Match": etag(folder)}
    )
    assert changed.status_code in (200, 204), changed.data
    targets = _targets(_last_write(api))
    assert etag(folder) in targets and etag(changed) in targets
