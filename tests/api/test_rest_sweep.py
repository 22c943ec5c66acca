"""Cases from the black-box REST sweep (scripts/rest_smoke.py) where we differed from EHRbase's suites or
ITS-REST 1.0.3, each pinned here on SQLite and PostgreSQL after the fix."""

from __future__ import annotations

import json
import uuid

from tests.api.conftest import Api, assert_error, etag, shipped


def test_update_of_an_unknown_composition_is_404_whatever_if_match_says(nb_api: Api) -> None:
    ehr = nb_api.new_ehr()
    v1 = nb_api.commit(ehr)
    unknown = uuid.uuid4()
    response = nb_api.put(
        f"/ehr/{ehr}/composition/{unknown}",
        data=json.dumps(shipped("valid_normal.json")),
        content_type="application/json",
        headers={"If-Match": v1},
    )
    assert_error(response, 404)


def test_update_with_if_match_of_another_composition_is_412_naming_the_latest(nb_api: Api) -> None:
    ehr = nb_api.new_ehr()
    v1 = nb_api.commit(ehr)
    other = nb_api.commit(ehr)
    response = nb_api.put(
        f"/ehr/{ehr}/composition/{v1.split('::')[0]}",
        data=json.dumps(shipped("valid_normal.json")),
        content_type="application/json",
        headers={"If-Match": other},
    )
    assert_error(response, 412)
    assert etag(response) == v1


def test_dotted_version_header_with_a_bare_value_sets_the_lifecycle_state(nb_api: Api) -> None:
    """EHRbase's suites send ``openEHR-VERSION.lifecycle_state: complete``; ``incomplete`` is kept too."""
    ehr = nb_api.new_ehr()
    response = nb_api.post(
        f"/ehr/{ehr}/composition",
        data=json.dumps(shipped("valid_normal.json")),
        content_type="application/json",
        headers={"openEHR-VERSION.lifecycle_state": "incomplete"},
    )
    assert response.status_code == 201, response.json
    vo = etag(response).split("::")[0]
    version = nb_api.get(f"/ehr/{ehr}/versioned_composition/{vo}/version").json
    assert version["lifecycle_state"]["defining_code"]["code_string"] == "553"


def test_dotted_version_header_with_an_unknown_bare_value_is_400(nb_api: Api) -> None:
    ehr = nb_api.new_ehr()
    response = nb_api.post(
        f"/ehr/{ehr}/composition",
        data=json.dumps(shipped("valid_normal.json")),
        content_type="application/json",
        headers={"openEHR-VERSION.lifecycle_state": "finished"},
    )
    assert "lifecycle_state" in assert_error(response, 400)["message"]
