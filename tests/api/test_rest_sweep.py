"""Cases from the black-box REST sweep (scripts/rest_smoke.py) where we differed from EHRbase's suites or
ITS-REST 1.0.3, each pinned here on SQLite and PostgreSQL after the fix."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.api.conftest import Api, assert_error, etag, shipped
from tests.corpus import require_corpus

JSON = "application/json"


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
    assert version is not None
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


def test_open_slot_content_is_left_out_of_flat_and_structured_not_refused(api: Api) -> None:
    """A CLUSTER in a slot admitting any archetype, with one the template does not contain: valid, kept in
    canonical JSON, and without a FLAT/STRUCTURED key, so those answers leave it out (as EHRbase's) instead
    of the 400 they were."""
    sdk = require_corpus() / "ehrbase-openEHR_SDK/validation-test-resources"
    api.upload(sdk / "operational_templates/cluster-slot.ehrbase.org.v0.opt")
    ehr = api.new_ehr()
    uid = api.commit(ehr, (sdk / "composition/cluster-slot.ehrbase.or.v0.json").read_text(encoding="utf-8"))
    canonical = api.get(f"/ehr/{ehr}/composition/{uid}")
    assert "name_restricted" in canonical.get_data(as_text=True)
    for fmt in ("FLAT", "STRUCTURED"):
        response = api.get(f"/ehr/{ehr}/composition/{uid}?format={fmt}")
        assert response.status_code == 200, response.json
        text = response.get_data(as_text=True)
        assert "cluster_slot" in text and "name_restricted" not in text and "value1" not in text


def test_flat_and_structured_answers_as_ehrbase_suites_read_them(api: Api) -> None:
    """EHRbase's migrated EHRSCAPE suite: composition answers carry ``EHRBase-Template-ID`` and the ETag of
    the version; STRUCTURED has the composition as one object (uid at ``family_history._uid[0]``), also in
    the template example; DELETE with If-Match naming the path's version is 204."""
    suite = require_corpus() / "ehrbase-integration-tests/test_data_sets"
    api.upload(suite / "valid_templates/all_types/family_history.opt")
    ehr = api.new_ehr()
    flat = (suite / "compositions/FLAT/family_history__.json").read_bytes()
    params = {"format": "FLAT", "templateId": "family_history"}
    prefer = {"Prefer": "return=representation"}
    created = api.post(
        f"/ehr/{ehr}/composition", data=flat, content_type=JSON, query_string=params, headers=prefer
    )
    assert created.status_code == 201, created.json
    first: Any = created.json
    uid = first["family_history/_uid"]
    assert created.headers["ETag"] == f'"{uid}"'
    assert created.headers["EHRBase-Template-ID"] == "family_history"

    structured = (suite / "compositions/STRUCTURED/family_history.v2__.json").read_bytes()
    updated = api.put(
        f"/ehr/{ehr}/composition/{uid.split('::')[0]}",
        data=structured,
        content_type=JSON,
        query_string={"format": "STRUCTURED", "templateId": "family_history"},
        headers={**prefer, "If-Match": uid},
    )
    assert updated.status_code == 200, updated.json
    answer: Any = updated.json
    v2 = answer["family_history"]["_uid"][0]
    assert v2.endswith("::2") and updated.headers["EHRBase-Template-ID"] == "family_history"
    read = api.get(f"/ehr/{ehr}/composition/{v2}", query_string={"format": "STRUCTURED"})
    again: Any = read.json
    assert again["family_history"]["_uid"] == [v2] and read.headers["ETag"] == f'"{v2}"'

    example = api.get(
        "/definition/template/adl1.4/family_history/example", query_string={"format": "STRUCTURED"}
    )
    generated: Any = example.json
    assert generated["family_history"]["composer"][0]["|name"]
    assert api.delete(f"/ehr/{ehr}/composition/{v2}", headers={"If-Match": v2}).status_code == 204
