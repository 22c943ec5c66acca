"""Codes bound to FHIR value sets, checked against a configured terminology server on every write, as EHRbase
does with external terminology validation on (its FHIR_TERMINOLOGY suite): a code in the value set 201/200,
one outside 422 on a composition and 400 inside a contribution; an unreachable server 503 with nothing
committed when FHIR_TERMINOLOGY_FAIL_ON_ERROR is set, else the write goes in unchecked. EHRbase's own
terminology test template and compositions, against the test server of ``tests/terminology/fhir_mock.py``,
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask

from cdr.api import create_app
from cdr.storage import Storage
from tests.api.conftest import FLAT, Api, assert_error, etag
from tests.corpus import require_corpus
from tests.terminology.fhir_mock import FDI_SURFACE, SURFACE_CODES, SURFACE_VALUE_SET, FhirMock, running
from tests.terminology.oauth_mock import TokenEndpoint

IT = "ehrbase-integration-tests/test_data_sets"
TEMPLATE_ID = "terminology_test.ehrbase.org.v1"
CODE_PATH = (
    "/content[openEHR-EHR-OBSERVATION.terminology_test.v0]/data[at0001]"
    "/events[at0002 and name/value='Any event'][1]/data[at0003]/items[at0004]/value/defining_code"
)


def _composition(name: str) -> dict[str, Any]:
    path = require_corpus() / IT / "compositions" / "CANONICAL_JSON" / f"{name}.json"
    document: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return document


@pytest.fixture
def fhir() -> Iterator[FhirMock]:
    with running() as mock:
        yield mock


def _api(storage: Storage, **config: Any) -> Api:
    app: Flask = create_app({"STORAGE": storage, "TESTING": True, **config})
    api = Api(app)
    opt = require_corpus() / IT / "valid_templates" / "all_types" / f"{TEMPLATE_ID}.opt"
    api.upload(opt)
    return api


def _post(api: Api, ehr_id: str, document: dict[str, Any]) -> Any:
    return api.post(f"/ehr/{ehr_id}/composition", json=document)


def _versions(api: Api, ehr_id: str) -> int:
    """How many composition versions the EHR holds."""
    aql = (
        "SELECT v/uid/value FROM EHR e[ehr_id/value='{}'] "
        "CONTAINS VERSION v[ALL_VERSIONS] CONTAINS COMPOSITION c"
    )
    query = {"q": aql.format(ehr_id)}
    return len(api.post("/query/aql", json=query).json["rows"])


def test_codes_in_the_value_set_are_committed_and_others_refused_naming_path_and_value_set(
    storage: Storage, fhir: FhirMock
) -> None:
    api = _api(storage, FHIR_TERMINOLOGY_URL=fhir.base_url)
    ehr_id = api.new_ehr()
    created = _post(api, ehr_id, _composition(TEMPLATE_ID))  # FDI surface 'M'
    assert created.status_code == 201, created.json
    body = assert_error(_post(api, ehr_id, _composition(f"{TEMPLATE_ID}_non_existing_code")), 422)
    [detail] = body["details"]
    assert detail["path"] == CODE_PATH
    assert detail["code"] == "CODE_NOT_IN_VALUE_SET"
    assert "::AABBCC is not in the ValueSet http://terminology.hl7.org/ValueSet/surface" in detail["message"]
    assert "not in the value set" in detail["message"]  # the server's own reason is passed on
    assert detail["constraint_path"]
    assert any(r.startswith("/fhir/ValueSet/$validate-code?") for r in fhir.requests)

    # an update is checked the same way
    uid = etag(created)
    object_id = uid.split("::")[0]
    invalid = api.put(
        f"/ehr/{ehr_id}/composition/{object_id}",
        json=_composition(f"{TEMPLATE_ID}_update_invalid_codes"),
        headers={"If-Match": f'"{uid}"'},
    )
    assert assert_error(invalid, 422)["details"][0]["code"] == "CODE_NOT_IN_VALUE_SET"
    valid = api.put(
        f"/ehr/{ehr_id}/composition/{object_id}",
        json=_composition(f"{TEMPLATE_ID}_update_valid_codes"),
        headers={"If-Match": f'"{uid}"'},
    )
    assert valid.status_code == 200, valid.json
    assert _versions(api, ehr_id) == 2

    # FLAT is read into the same composition and checked the same way
    flat = api.get(f"/ehr/{ehr_id}/composition/{etag(valid)}", headers={"Accept": FLAT}).json
    key = next(k for k, v in flat.items() if k.endswith("|code") and v == "MO")  # the valid update's code
    flat[key] = "XX"
    refused = api.post(
        f"/ehr/{ehr_id}/composition",
        json=flat,
        headers={"openEHR-TEMPLATE_ID": TEMPLATE_ID},
        content_type=FLAT,
    )
    assert assert_error(refused, 422)["details"][0]["code"] == "CODE_NOT_IN_VALUE_SET"


def test_inside_a_contribution_a_code_outside_the_value_set_is_400_and_nothing_is_committed(
    storage: Storage, fhir: FhirMock
) -> None:
    api = _api(storage, FHIR_TERMINOLOGY_URL=fhir.base_url)
    ehr_id = api.new_ehr()
    path = (
        require_corpus() / IT / "contributions" / "valid" / "minimal" / "minimal_evaluation.contribution.json"
    )
    contribution = json.loads(path.read_text("utf-8"))
    contribution["versions"][0]["data"] = _composition(f"{TEMPLATE_ID}_non_existing_code")
    response = api.post(f"/ehr/{ehr_id}/contribution", json=contribution)
    body = assert_error(response, 400)
    assert body["details"][0]["code"] == "CODE_NOT_IN_VALUE_SET"
    contribution["versions"][0]["data"] = _composition(TEMPLATE_ID)
    assert _versions(api, ehr_id) == 0
    assert api.post(f"/ehr/{ehr_id}/contribution", json=contribution).status_code == 201
    assert _versions(api, ehr_id) == 1


def test_an_unreachable_server_refuses_the_write_with_503_only_when_configured_to(
    storage: Storage, fhir: FhirMock
) -> None:
    fhir.failing = True
    strict = _api(
        storage,
        FHIR_TERMINOLOGY_URL=fhir.base_url,
        FHIR_TERMINOLOGY_FAIL_ON_ERROR=True,
        FHIR_TERMINOLOGY_PAUSE_S=0,  # asked again as soon as it is back
    )
    ehr_id = strict.new_ehr()
    response = _post(strict, ehr_id, _composition(TEMPLATE_ID))
    body = assert_error(response, 503)
    assert response.headers["Retry-After"] == "30"
    assert body["details"][0]["path"] == CODE_PATH
    assert body["details"][0]["code"] == "TERMINOLOGY_UNAVAILABLE"
    assert "could not be checked" in body["message"] and "500" in body["message"]
    assert _versions(strict, ehr_id) == 0

    lenient = Api(create_app({"STORAGE": storage, "TESTING": True, "FHIR_TERMINOLOGY_URL": fhir.base_url}))
    assert _post(lenient, ehr_id, _composition(f"{TEMPLATE_ID}_non_existing_code")).status_code == 201
    fhir.failing = False
    assert _post(strict, ehr_id, _composition(TEMPLATE_ID)).status_code == 201


def test_without_a_terminology_server_codes_of_external_value_sets_are_not_checked(
    storage: Storage, fhir: FhirMock
) -> None:
    api = _api(storage)
    ehr_id = api.new_ehr()
    assert _post(api, ehr_id, _composition(f"{TEMPLATE_ID}_non_existing_code")).status_code == 201
    assert fhir.requests == []


def test_aql_terminology_calls_of_fhir_value_sets_are_answered_by_the_same_server(
    storage: Storage, fhir: FhirMock
) -> None:
    """``POST /query/aql`` with TERMINOLOGY('expand', ...) of the template's FHIR value set: the compositions
    whose surface code is in it; with the server failing, 503 (without a server: 400 not supported)."""
    api = _api(storage, FHIR_TERMINOLOGY_URL=fhir.base_url, FHIR_TERMINOLOGY_CACHE_S=0)
    ehr_id = api.new_ehr()
    assert _post(api, ehr_id, _composition(TEMPLATE_ID)).status_code == 201  # M, O, L
    fhir.value_sets[SURFACE_VALUE_SET] = frozenset({(FDI_SURFACE, "O")})
    aql = (
        "SELECT e/value/defining_code/code_string FROM COMPOSITION c CONTAINS ELEMENT e[at0004] "
        "WHERE e/value/defining_code/code_string MATCHES "
        f"TERMINOLOGY('expand', 'hl7.org/fhir/4.0', 'url={SURFACE_VALUE_SET}')"
    )
    answer = api.post("/query/aql", json={"q": aql})
    assert answer.status_code == 200, answer.json
    assert answer.json["rows"] == [["O"]]
    fhir.failing = True
    assert_error(api.post("/query/aql", json={"q": aql}), 503)
    unconfigured = Api(create_app({"STORAGE": storage, "TESTING": True}))
    body = assert_error(unconfigured.post("/query/aql", json={"q": aql}), 400)
    assert "not supported: TERMINOLOGY terminology.hl7.org" in body["message"]


def test_a_terminology_server_behind_oauth_is_asked_with_the_repositorys_own_token(storage: Storage) -> None:
    """HelseID's way: the repository signs a client assertion with its key (private_key_jwt), gets a token by
    the client credentials grant and sends it with every $validate-code; the answers are the same."""
    key = ec.generate_private_key(ec.SECP256R1())
    endpoint = TokenEndpoint("cdr-kommune", public_key=key.public_key(), audience="https://helseid.test")
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with tempfile.TemporaryDirectory() as folder, running(FhirMock(oauth=endpoint)) as fhir:
        key_file = Path(folder) / "client.pem"
        key_file.write_bytes(pem)
        api = _api(
            storage,
            FHIR_TERMINOLOGY_URL=fhir.base_url,
            FHIR_TERMINOLOGY_TOKEN_URL=endpoint.url,
            FHIR_TERMINOLOGY_CLIENT_ID="cdr-kommune",
            FHIR_TERMINOLOGY_CLIENT_KEY=str(key_file),
            FHIR_TERMINOLOGY_ASSERTION_AUDIENCE="https://helseid.test",
            FHIR_TERMINOLOGY_FAIL_ON_ERROR=True,
            FHIR_TERMINOLOGY_CACHE_S=0,  # every commit asks the server
        )
        ehr_id = api.new_ehr()
        assert _post(api, ehr_id, _composition(TEMPLATE_ID)).status_code == 201
        refused = assert_error(_post(api, ehr_id, _composition(f"{TEMPLATE_ID}_non_existing_code")), 422)
        assert refused["details"][0]["code"] == "CODE_NOT_IN_VALUE_SET"
        assert endpoint.issued == ["token-1"]  # one token for both commits
        # the token endpoint refusing the repository: the code cannot be checked, 503, nothing committed
        endpoint.revoked.add("token-1")
        endpoint.public_key = ec.generate_private_key(ec.SECP256R1()).public_key()  # the key was rotated
        body = assert_error(_post(api, ehr_id, _composition(TEMPLATE_ID)), 503)
        assert "invalid_client" in body["message"]
        assert _versions(api, ehr_id) == 1


def test_the_example_of_a_template_takes_its_codes_from_the_terminology_server(
    storage: Storage, fhir: FhirMock
) -> None:
    """With a terminology server the example composition carries a code of each bound value set (the first
    its $expand gives), so that committing the example passes the same server's check; in FLAT too."""
    api = _api(storage, FHIR_TERMINOLOGY_URL=fhir.base_url)
    url = f"/definition/template/adl1.4/{TEMPLATE_ID}/example"
    example = api.get(url, query_string={"format": "JSON"})
    assert example.status_code == 200, example.json
    text = json.dumps(example.json)
    first = sorted(SURFACE_CODES)[0]
    assert f'"code_string": "{first}"' in text and FDI_SURFACE in text
    ehr_id = api.new_ehr()
    assert _post(api, ehr_id, example.json).status_code == 201
    flat = api.get(url, query_string={"format": "FLAT"}).json
    assert first in flat.values()
    assert any("$expand" in r and "count=10" in r for r in fhir.requests)
    # without a server the node gets a placeholder code, which a configured server would refuse
    plain = Api(create_app({"STORAGE": storage, "TESTING": True})).get(url, query_string={"format": "JSON"})
    assert f'"code_string": "{first}"' not in json.dumps(plain.json)
    assert_error(_post(api, ehr_id, plain.json), 422)
