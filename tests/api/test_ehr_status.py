"""EHR_STATUS and VERSIONED_EHR_STATUS: reads, If-Match updates, history, version at time, commit headers."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from tests.api.conftest import Api, assert_error, etag


def _update(api: Api, ehr_id: str, **changes: Any) -> tuple[str, dict[str, Any]]:
    current = api.get(f"/ehr/{ehr_id}/ehr_status")
    return etag(current), {**current.json, **changes}


def test_get_has_version_headers(api: Api) -> None:
    ehr_id = api.new_ehr()
    response = api.get(f"/ehr/{ehr_id}/ehr_status")
    assert response.status_code == 200
    uid = etag(response)
    assert response.json["uid"]["value"] == uid
    assert response.headers["Location"].endswith(f"/ehr/{ehr_id}/ehr_status/{uid}")
    assert response.headers["Last-Modified"].endswith("GMT")
    assert api.get(f"/ehr/{ehr_id}/ehr_status/{uid}").json["uid"]["value"] == uid


def test_update_with_if_match_and_representation(api: Api) -> None:
    ehr_id = api.new_ehr()
    uid, status = _update(api, ehr_id, is_queryable=False)
    response = api.put(
        f"/ehr/{ehr_id}/ehr_status",
        json=status,
        headers={"If-Match": f'"{uid}"', "Prefer": "return=representation"},
    )
    assert response.status_code == 200
    assert response.json["_type"] == "EHR_STATUS"
    assert response.json["uid"]["value"].endswith("::2")
    assert etag(response) == response.json["uid"]["value"]
    assert api.get(f"/ehr/{ehr_id}/ehr_status").json["is_queryable"] is False


def test_update_minimal_is_204_with_etag(api: Api) -> None:
    ehr_id = api.new_ehr()
    uid, status = _update(api, ehr_id)
    response = api.put(f"/ehr/{ehr_id}/ehr_status", json=status, headers={"If-Match": uid})
    assert response.status_code == 204
    assert etag(response).endswith("::2")


def test_if_match_required_and_checked(api: Api) -> None:
    ehr_id = api.new_ehr()
    uid, status = _update(api, ehr_id)
    assert_error(api.put(f"/ehr/{ehr_id}/ehr_status", json=status), 400)
    stale = api.put(
        f"/ehr/{ehr_id}/ehr_status", json=status, headers={"If-Match": f"{uuid.uuid4()}::test.cdr::1"}
    )
    assert_error(stale, 412)
    assert etag(stale) == uid  # the current version, as ITS-REST asks
    assert stale.headers["Location"].endswith(f"/ehr/{ehr_id}/ehr_status/{uid}")
    assert_error(api.put(f"/ehr/{uuid.uuid4()}/ehr_status", json=status, headers={"If-Match": uid}), 404)


def test_versioned_status_history_and_versions(api: Api) -> None:
    ehr_id = api.new_ehr()
    uid, status = _update(api, ehr_id, is_queryable=False)
    before_update = dt.datetime.now(dt.UTC)
    committer = 'name="Kari Nordmann", external_ref.id="kn-1", external_ref.namespace="hr"'
    headers = {"If-Match": uid, "openEHR-AUDIT_DETAILS.committer": committer}
    assert api.put(f"/ehr/{ehr_id}/ehr_status", json=status, headers=headers).status_code == 204

    versioned = api.get(f"/ehr/{ehr_id}/versioned_ehr_status").json
    assert versioned["_type"] == "VERSIONED_EHR_STATUS"
    assert versioned["uid"]["value"] == uid.split("::")[0]
    assert versioned["owner_id"]["id"]["value"] == ehr_id

    items = api.get(f"/ehr/{ehr_id}/versioned_ehr_status/revision_history").json["items"]
    assert [i["version_id"]["value"][-3:] for i in items] == ["::1", "::2"]
    assert [i["audits"][0]["change_type"]["value"] for i in items] == ["creation", "modification"]
    assert items[0]["audits"][0]["time_committed"]["value"] < items[1]["audits"][0]["time_committed"]["value"]
    assert items[1]["audits"][0]["committer"]["name"] == "Kari Nordmann"
    assert items[1]["audits"][0]["committer"]["external_ref"]["namespace"] == "hr"

    latest = api.get(f"/ehr/{ehr_id}/versioned_ehr_status/version").json
    assert latest["_type"] == "ORIGINAL_VERSION"
    assert latest["lifecycle_state"]["value"] == "complete"
    assert latest["preceding_version_uid"]["value"] == uid
    assert latest["data"]["is_queryable"] is False

    at = (before_update - dt.timedelta(microseconds=1)).isoformat()
    first = api.get(f"/ehr/{ehr_id}/versioned_ehr_status/version", query_string={"version_at_time": at})
    assert first.json["uid"]["value"] == uid
    week_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=7)).isoformat()
    assert_error(
        api.get(f"/ehr/{ehr_id}/versioned_ehr_status/version", query_string={"version_at_time": week_ago}),
        404,
    )
    week_on = (dt.datetime.now(dt.UTC) + dt.timedelta(days=7)).isoformat()
    ahead = api.get(f"/ehr/{ehr_id}/versioned_ehr_status/version", query_string={"version_at_time": week_on})
    assert ahead.json["uid"]["value"].endswith("::2")
    no_t = {"version_at_time": "2024-01-01 10:00:00.000"}
    assert_error(api.get(f"/ehr/{ehr_id}/versioned_ehr_status/version", query_string=no_t), 400)
    assert_error(api.get(f"/ehr/{ehr_id}/ehr_status", query_string=no_t), 400)

    base = uid.rsplit("::", 1)[0]
    by_uid = api.get(f"/ehr/{ehr_id}/versioned_ehr_status/version/{base}::2")
    assert by_uid.status_code == 200 and by_uid.json["data"]["is_queryable"] is False
    assert_error(api.get(f"/ehr/{ehr_id}/versioned_ehr_status/version/{base}::3"), 404)
    assert_error(api.get(f"/ehr/{ehr_id}/versioned_ehr_status/version/{base}::-2"), 400)
    assert_error(api.get(f"/ehr/{ehr_id}/versioned_ehr_status/version/{base}::2.0"), 400)


def test_unknown_ehr_is_404_everywhere(api: Api) -> None:
    missing = uuid.uuid4()
    for path in ("ehr_status", "versioned_ehr_status", "versioned_ehr_status/revision_history"):
        assert_error(api.get(f"/ehr/{missing}/{path}"), 404)


def test_lifecycle_state_header(api: Api) -> None:
    ehr_id = api.new_ehr()
    uid, status = _update(api, ehr_id)
    headers = {"If-Match": uid, "openEHR-VERSION": 'lifecycle_state.code_string="553"'}
    assert api.put(f"/ehr/{ehr_id}/ehr_status", json=status, headers=headers).status_code == 204
    version = api.get(f"/ehr/{ehr_id}/versioned_ehr_status/version").json
    assert version["lifecycle_state"]["defining_code"]["code_string"] == "553"
    bad = {"If-Match": etag(api.get(f"/ehr/{ehr_id}/ehr_status")), "openEHR-VERSION": 'lifecycle_state="x"'}
    assert_error(api.put(f"/ehr/{ehr_id}/ehr_status", json=status, headers=bad), 400)


def test_status_can_make_an_ehr_read_only_and_back(api: Api) -> None:
    """An EHR that is not modifiable refuses compositions (409) but its status can still change."""
    api.upload()
    ehr_id = api.new_ehr()
    uid, status = _update(api, ehr_id, is_modifiable=False)
    assert api.put(f"/ehr/{ehr_id}/ehr_status", json=status, headers={"If-Match": uid}).status_code == 204
    from tests.api.conftest import COMPOSITIONS

    body = (COMPOSITIONS / "valid_minimal.json").read_text(encoding="utf-8")
    refused = api.post(f"/ehr/{ehr_id}/composition", data=body, content_type="application/json")
    assert "does not allow modification" in assert_error(refused, 409)["message"]
    uid, status = _update(api, ehr_id, is_modifiable=True)
    assert api.put(f"/ehr/{ehr_id}/ehr_status", json=status, headers={"If-Match": uid}).status_code == 204
    assert (
        api.post(f"/ehr/{ehr_id}/composition", data=body, content_type="application/json").status_code == 201
    )
