"""Cases from the black-box REST sweep (scripts/rest_smoke.py) where we differed from EHRbase's suites or
ITS-REST 1.0.3, each pinned here on SQLite and PostgreSQL after the fix."""

from __future__ import annotations

import json
import uuid

from tests.api.conftest import Api, assert_error, etag, shipped
from tests.corpus import require_corpus


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
