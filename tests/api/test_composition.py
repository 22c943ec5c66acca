"""COMPOSITION and VERSIONED_COMPOSITION: formats, validation (422 with every issue), versioning, deletion."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from cdr.api import create_app
from cdr.formats.canonical_json import parse_json
from cdr.storage import Storage
from cdr.template import load_opt
from cdr.template.issues import IssueCode
from cdr.template.validation import validate
from cdr.template.validation.profile import DEFAULT
from tests.api.conftest import (
    COMPOSITIONS,
    EN_TEMPLATE,
    FLAT,
    NB_TEMPLATE,
    NB_TEMPLATE_ID,
    ROOT_FOLDER,
    STRUCTURED,
    Api,
    assert_error,
    etag,
    shipped,
)
from tests.corpus import CORPUS, require_corpus

IT = "ehrbase-integration-tests/test_data_sets"
INVALID = sorted(p.name for p in COMPOSITIONS.glob("invalid_*.json") if not p.name.endswith(".expected.json"))


def test_create_minimal_and_representation(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    body = (COMPOSITIONS / "valid_normal.json").read_text(encoding="utf-8")
    minimal = nb_api.post(f"/ehr/{ehr_id}/composition", data=body, content_type="application/json")
    assert minimal.status_code == 201 and minimal.data == b""
    uid = etag(minimal)
    assert uid.endswith("::test.cdr::1")
    assert minimal.headers["ETag"] == f'"{uid}"'
    assert minimal.headers["Location"] == f"http://localhost/openehr/v1/ehr/{ehr_id}/composition/{uid}"
    assert minimal.headers["Last-Modified"].endswith("GMT")

    full = nb_api.post(
        f"/ehr/{ehr_id}/composition",
        data=body,
        content_type="application/json",
        headers={"Prefer": "return=representation"},
    )
    assert full.status_code == 201
    assert full.json["uid"]["value"] == etag(full)
    assert full.json["archetype_details"]["template_id"]["value"] == NB_TEMPLATE_ID


@pytest.mark.parametrize("name", ["valid_normal", "valid_high_risk", "valid_minimal"])
def test_canonical_xml_in_json_out(nb_api: Api, name: str) -> None:
    ehr_id = nb_api.new_ehr()
    xml = (COMPOSITIONS / "xml" / f"{name}.xml").read_bytes()
    response = nb_api.post(
        f"/ehr/{ehr_id}/composition",
        data=xml,
        content_type="application/xml",
        headers={"Accept": "application/json", "Prefer": "return=representation"},
    )
    assert response.status_code == 201, response.json
    assert response.mimetype == "application/json"
    expected = shipped(f"{name}.json")
    assert response.json["content"] == expected["content"]
    as_xml = nb_api.get(f"/ehr/{ehr_id}/composition/{etag(response)}", headers={"Accept": "application/xml"})
    assert as_xml.mimetype == "application/xml" and b"<composition" in as_xml.data


def test_flat_and_structured_round_trip(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    uid = nb_api.commit(ehr_id, "valid_high_risk.json")
    flat = nb_api.get(f"/ehr/{ehr_id}/composition/{uid}", query_string={"format": "FLAT"})
    assert flat.status_code == 200 and flat.mimetype == FLAT
    headers = {"Content-Type": FLAT, "openEHR-TEMPLATE_ID": NB_TEMPLATE_ID, "Prefer": "return=representation"}
    # the FLAT document carries the uid: the same object cannot be created twice, in this EHR or another
    assert_error(nb_api.post(f"/ehr/{ehr_id}/composition", data=json.dumps(flat.json), headers=headers), 409)
    other = nb_api.new_ehr()
    assert_error(nb_api.post(f"/ehr/{other}/composition", data=json.dumps(flat.json), headers=headers), 409)
    without_uid = {key: value for key, value in flat.json.items() if not key.endswith("/_uid")}
    again = nb_api.post(f"/ehr/{other}/composition", data=json.dumps(without_uid), headers=headers)
    assert again.status_code == 201, again.json
    assert etag(again).split("::")[0] != uid.split("::")[0]
    assert again.json["content"] == nb_api.get(f"/ehr/{ehr_id}/composition/{uid}").json["content"]

    structured = nb_api.get(f"/ehr/{ehr_id}/composition/{uid}", headers={"Accept": STRUCTURED})
    assert structured.mimetype == STRUCTURED
    query = {"format": "STRUCTURED", "templateId": NB_TEMPLATE_ID}
    body = structured.json
    (root,) = body
    assert "_uid" in body[root]
    del body[root]["_uid"]
    third = nb_api.post(
        f"/ehr/{nb_api.new_ehr()}/composition",
        query_string=query,
        json=body,
        headers={"Prefer": "return=representation"},
    )
    assert third.status_code == 201, third.json
    assert (
        isinstance(third.json, dict) and len(third.json) == 1
    )  # STRUCTURED: one key, the template's root id


def test_flat_needs_a_template_id(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    body = assert_error(
        nb_api.post(f"/ehr/{ehr_id}/composition", json={"a/b": 1}, headers={"Content-Type": FLAT}), 400
    )
    assert "openEHR-TEMPLATE_ID" in body["message"]
    unknown = {"Content-Type": FLAT, "openEHR-TEMPLATE_ID": "no.such.template"}
    assert_error(nb_api.post(f"/ehr/{ehr_id}/composition", data="{}", headers=unknown), 422)


@pytest.mark.parametrize("name", INVALID)
def test_template_violations_list_every_issue(storage: Storage, name: str) -> None:
    """Each shipped invalid composition is a 422 naming its issues (400 where its sidecar says so: a value
    that is not ISO 8601); under ``strict``, since the default ``ehrbase`` profile accepts a value of another
    type (``test_a_value_of_another_type_by_profile``)."""
    nb_api = Api(create_app({"STORAGE": storage, "TESTING": True, "VALIDATION_PROFILE": "strict"}))
    nb_api.upload()
    ehr_id = nb_api.new_ehr()
    text = (COMPOSITIONS / name).read_text(encoding="utf-8")
    expected = json.loads(
        (COMPOSITIONS / name.replace(".json", ".expected.json")).read_text(encoding="utf-8")
    )
    body = assert_error(
        nb_api.post(f"/ehr/{ehr_id}/composition", data=text, content_type="application/json"),
        expected.get("status", 422),
    )
    found = {(d["code"], d["path"]) for d in body["details"]}
    assert {(i["code"], i["path"]) for i in expected["issues"]} <= found
    for detail in body["details"]:
        assert detail["path"] in body["message"]
    assert nb_api.get(f"/ehr/{ehr_id}/versioned_ehr_status/revision_history").status_code == 200


@pytest.mark.parametrize(("profile", "status"), [(None, 201), ("ehrbase", 201), ("strict", 422)])
def test_a_value_of_another_type_by_profile(storage: Storage, profile: str | None, status: int) -> None:
    """A respiration rate as DV_COUNT where the template allows DV_QUANTITY: accepted by default, as EHRbase
    does (docs/conformance.md, "Validation profiles"), and WRONG_TYPE under ``strict``."""
    config: dict[str, object] = {"STORAGE": storage, "TESTING": True}
    if profile is not None:
        config["VALIDATION_PROFILE"] = profile
    api = Api(create_app(config))
    api.upload()
    ehr_id = api.new_ehr()
    response = api.post(
        f"/ehr/{ehr_id}/composition",
        json=shipped("invalid_wrong_rm_type.json"),
        headers={"Prefer": "return=minimal"},
    )
    if status == 201:
        assert response.status_code == 201, response.json
        uid = etag(response)
        stored = api.get(f"/ehr/{ehr_id}/composition/{uid}").json
        rate = _respiration_rate(stored)
        assert rate["_type"] == "DV_COUNT"
        # every format can carry it: FLAT and STRUCTURED write the node's key with the value's |_type, and
        # what is read back commits again to the same value
        for media in (FLAT, STRUCTURED, "application/xml"):
            got = api.get(f"/ehr/{ehr_id}/composition/{uid}", headers={"Accept": media})
            assert got.status_code == 200, (media, got.get_data(as_text=True)[:300])
            if media == FLAT:
                assert "DV_COUNT" in [v for k, v in got.json.items() if k.endswith("|_type")]
            again = api.post(
                f"/ehr/{api.new_ehr()}/composition",
                data=_without_uid(got.get_data(), media),
                headers={"Content-Type": media, "openEHR-TEMPLATE_ID": NB_TEMPLATE_ID},
            )
            assert again.status_code == 201, (media, again.json)
            copy = api.get(f"/ehr/{_ehr_of(again)}/composition/{etag(again)}").json
            assert _respiration_rate(copy) == rate
    else:
        body = assert_error(response, 422)
        assert [d["code"] for d in body["details"]] == ["WRONG_TYPE"]


def _respiration_rate(composition: dict[str, Any]) -> dict[str, Any]:
    entry = next(c for c in composition["content"] if "respiration" in c["archetype_node_id"])
    items = entry["data"]["events"][0]["data"]["items"]
    value: dict[str, Any] = next(i for i in items if i["archetype_node_id"] == "at0004")["value"]
    return value


def _without_uid(body: bytes, media: str) -> bytes:
    """A read-back to commit again: without its uid (an object id names one object in the system)."""
    if media == FLAT:
        return json.dumps({k: v for k, v in json.loads(body).items() if not k.endswith("/_uid")}).encode()
    if media == STRUCTURED:
        doc = json.loads(body)
        for root in doc.values():
            root.pop("_uid", None)
        return json.dumps(doc).encode()
    import re

    return re.sub(rb"<uid\b[^>]*>.*?</uid>", b"", body, count=1, flags=re.S)


def _ehr_of(response: Any) -> str:
    return str(response.headers["Location"]).split("/ehr/", 1)[1].split("/", 1)[0]


def test_flat_raw_that_is_no_json_is_400_naming_the_key(nb_api: Api) -> None:
    """A FLAT ``|raw`` value must hold canonical JSON; other text is a 400 naming that key (was a 500)."""
    ehr_id = nb_api.new_ehr()
    uid = nb_api.commit(ehr_id)
    flat = nb_api.get(f"/ehr/{ehr_id}/composition/{uid}", headers={"Accept": FLAT}).json
    doc = {k: v for k, v in flat.items() if not k.endswith("/_uid")}
    element = next(k for k in doc if k.endswith("|magnitude")).removesuffix("|magnitude")
    doc[element + "|raw"] = "{not json"
    body = assert_error(
        nb_api.post(
            f"/ehr/{ehr_id}/composition",
            json=doc,
            headers={"Content-Type": FLAT, "openEHR-TEMPLATE_ID": NB_TEMPLATE_ID},
        ),
        400,
    )
    path = body["details"][0]["path"]  # the key as the reader indexes it: ...:0/frekvens:0|raw
    assert path.endswith("|raw") and path.split(":")[0] == element.split("/")[0]
    assert "not canonical JSON" in body["message"]


def test_several_issues_in_one_answer(nb_api: Api) -> None:
    doc = shipped("invalid_magnitude_out_of_range.json")
    unit = shipped("invalid_unit_not_allowed.json")
    bp = next(c for c in unit["content"] if "blood_pressure" in c["archetype_node_id"])
    doc["content"] = [bp if "blood_pressure" in c["archetype_node_id"] else c for c in doc["content"]]
    body = assert_error(nb_api.post(f"/ehr/{nb_api.new_ehr()}/composition", json=doc), 422)
    codes = {d["code"] for d in body["details"]}
    assert {"MAGNITUDE_OUT_OF_RANGE", "UNIT_NOT_ALLOWED"} <= codes


def test_unknown_template_unknown_ehr_and_bad_bodies(api: Api) -> None:
    ehr_id = api.new_ehr()
    body = (COMPOSITIONS / "valid_normal.json").read_text(encoding="utf-8")
    assert (
        "has not been uploaded"
        in assert_error(
            api.post(f"/ehr/{ehr_id}/composition", data=body, content_type="application/json"), 422
        )["message"]
    )
    api.upload()
    assert_error(
        api.post(f"/ehr/{uuid.uuid4()}/composition", data=body, content_type="application/json"), 404
    )
    broken = assert_error(
        api.post(f"/ehr/{ehr_id}/composition", data="{", content_type="application/json"), 400
    )
    assert broken["details"][0]["code"] == "FORMAT"
    wrong = {"_type": "COMPOSITION", "content": "not a list"}
    assert (
        assert_error(api.post(f"/ehr/{ehr_id}/composition", json=wrong), 400)["details"][0]["path"]
        == "/content"
    )
    assert_error(api.post(f"/ehr/{ehr_id}/composition", data=body, content_type="text/plain"), 415)
    # Ocean's Template Data Document is XML of its own, not canonical XML read wrongly: 415, 406
    # so is the legacy ECISFLAT: ITS-REST answers an unsupported simplified format with 415
    for legacy, sample in (
        ("application/openehr.tds2+xml", b"<x/>"),
        ("application/openehr.nc.flat+json", b"{}"),
    ):
        assert_error(api.post(f"/ehr/{ehr_id}/composition", data=sample, content_type=legacy), 415)
        assert_error(api.post(f"/ehr/{ehr_id}/composition", data=body, headers={"Accept": legacy}), 406)
    assert_error(api.post(f"/ehr/{ehr_id}/composition", data=body, headers={"Accept": "text/csv"}), 406)
    assert_error(api.post(f"/ehr/{ehr_id}/composition", query_string={"format": "PDF"}, data=body), 400)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_magnitude_no_json_number_can_hold_is_400_not_stored_as_null(nb_api: Api, literal: str) -> None:
    """The body temperature's magnitude (precision 1, so no invariant catches it) as NaN, an infinity or a
    literal beyond a double: it was a 201 whose stored magnitude was null. Now 400 at that path, and no
    version written (the FLAT and XML readers refuse the same: tests/formats)."""
    ehr_id = nb_api.new_ehr()
    text = (COMPOSITIONS / "valid_normal.json").read_text(encoding="utf-8")
    temperature = '"magnitude": 36.8'
    assert text.count(temperature) == 1
    body = text.replace(temperature, f'"magnitude": {literal}')
    refused = assert_error(
        nb_api.post(f"/ehr/{ehr_id}/composition", data=body, content_type="application/json"), 400
    )
    assert "must be a finite number" in refused["message"]
    assert refused["details"][0]["path"].endswith("/value/magnitude")
    history = nb_api.post(
        "/query/aql",
        json={"q": f"SELECT c/uid/value FROM EHR e[ehr_id/value='{ehr_id}'] CONTAINS COMPOSITION c"},
    )
    assert history.status_code == 200 and history.json["rows"] == []


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_a_date_time_beyond_the_years_1_to_9999_in_utc_is_stored(nb_api: Api, moment: str) -> None:
    """A valid ISO 8601 date-time whose instant falls past 9999 or before year 1 once in UTC: stored as sent
    (its node has no typed instant); it was a 500. A ``version_at_time`` like it is a 400."""
    ehr_id = nb_api.new_ehr()
    text = (COMPOSITIONS / "valid_normal.json").read_text(encoding="utf-8")
    start = '"2024-05-14T08:30:00+02:00"'
    assert start in text
    body = text.replace(start, json.dumps(moment), 1)
    created = nb_api.post(
        f"/ehr/{ehr_id}/composition",
        data=body,
        content_type="application/json",
        headers={"Prefer": "return=representation"},
    )
    assert created.status_code == 201, created.json
    assert created.json["context"]["start_time"]["value"] == moment
    object_id = etag(created).split("::")[0]
    found = nb_api.get(f"/ehr/{ehr_id}/composition/{object_id}", query_string={"version_at_time": moment})
    assert_error(found, 400)


def test_unknown_attributes_are_reported_not_dropped_silently(nb_api: Api) -> None:
    doc = shipped("valid_minimal.json")
    doc["surprise"] = 1
    doc["context"]["extra"] = {"x": 1}
    response = nb_api.post(f"/ehr/{nb_api.new_ehr()}/composition", json=doc)
    assert response.status_code == 201
    assert set(response.headers["Cdr-Ignored-Attributes"].split(", ")) == {"/surprise", "/context/extra"}
    strict = Api(nb_api.app)
    strict.app.config["STRICT_JSON"] = True
    assert_error(strict.post(f"/ehr/{strict.new_ehr()}/composition", json=doc), 400)


def test_ignored_attribute_names_of_any_characters_fit_in_the_header(nb_api: Api) -> None:
    """Attribute names may hold newlines and non-ASCII text; the header carries them percent-encoded (the
    schemathesis run found the 500 a raw newline caused)."""
    doc = shipped("valid_minimal.json")
    doc["line\nbreak"] = 1
    doc["context"]["blå, grønn"] = 2
    response = nb_api.post(f"/ehr/{nb_api.new_ehr()}/composition", json=doc)
    assert response.status_code == 201, response.json
    assert set(response.headers["Cdr-Ignored-Attributes"].split(", ")) == {
        "/line%0Abreak",
        "/context/bl%C3%A5%2C%20gr%C3%B8nn",
    }


def test_client_uid_is_kept(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    doc = shipped("valid_minimal.json")
    object_id = str(uuid.uuid4())
    doc["uid"] = {"_type": "OBJECT_VERSION_ID", "value": f"{object_id}::elsewhere::1"}
    assert nb_api.commit(ehr_id, doc) == f"{object_id}::test.cdr::1"
    assert_error(nb_api.post(f"/ehr/{ehr_id}/composition", json=doc), 409)


def test_get_by_version_object_and_time(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    uid = nb_api.commit(ehr_id)
    object_id = uid.split("::")[0]
    assert nb_api.get(f"/ehr/{ehr_id}/composition/{uid}").json["uid"]["value"] == uid
    latest = nb_api.get(f"/ehr/{ehr_id}/composition/{object_id}")
    assert etag(latest) == uid
    before = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
    assert_error(
        nb_api.get(f"/ehr/{ehr_id}/composition/{object_id}", query_string={"version_at_time": before}), 404
    )
    assert_error(nb_api.get(f"/ehr/{ehr_id}/composition/{uuid.uuid4()}"), 404)
    assert_error(nb_api.get(f"/ehr/{ehr_id}/composition/foobar"), 404)
    assert_error(nb_api.get(f"/ehr/{ehr_id}/composition/{object_id}::test.cdr::-2"), 400)
    assert_error(nb_api.get(f"/ehr/{uuid.uuid4()}/composition/{uid}"), 404)


@pytest.mark.parametrize(
    ("number", "status"),
    [("2147483647", 404), ("2147483648", 400), ("9" * 25, 400), ("+1", 400), ("1_0", 400), ("\u0663", 400)],
)
def test_a_version_number_no_version_can_have_is_400_on_every_read(
    nb_api: Api, number: str, status: int
) -> None:
    """Versions are numbered in 32 bits: a larger number reached the database, which refused it (500);
    Python's int() read "+1", "1_0" and non-ASCII digits as numbers (another uid's version)."""
    ehr_id = nb_api.new_ehr()
    object_id = nb_api.commit(ehr_id).split("::")[0]
    status_id = etag(nb_api.get(f"/ehr/{ehr_id}/ehr_status")).split("::")[0]
    folder = nb_api.post(f"/ehr/{ehr_id}/directory", json=ROOT_FOLDER, headers={"Prefer": "return=minimal"})
    folder_id = etag(folder).split("::")[0]
    for path in (
        f"composition/{object_id}::test.cdr::{number}",
        f"versioned_composition/{object_id}/version/{object_id}::test.cdr::{number}",
        f"ehr_status/{status_id}::test.cdr::{number}",
        f"versioned_ehr_status/version/{status_id}::test.cdr::{number}",
        f"directory/{folder_id}::test.cdr::{number}",
    ):
        assert_error(nb_api.get(f"/ehr/{ehr_id}/{path}"), status)


def _put(api: Api, ehr_id: str, object_id: str, preceding: str, doc: dict[str, Any], **headers: str) -> Any:
    return api.put(
        f"/ehr/{ehr_id}/composition/{object_id}",
        json=doc,
        headers={"If-Match": preceding, "Prefer": "return=representation", **headers},
    )


def test_update_versioning_and_delete(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    v1 = nb_api.commit(ehr_id)
    object_id = v1.split("::")[0]
    doc = shipped("valid_high_risk.json")
    updated = _put(nb_api, ehr_id, object_id, v1, doc)
    assert updated.status_code == 200, updated.json
    v2 = etag(updated)
    assert v2.endswith("::2") and updated.json["uid"]["value"] == v2
    assert updated.headers["Location"].endswith(f"/composition/{v2}")

    stale = _put(nb_api, ehr_id, object_id, v1, doc)
    assert_error(stale, 412)
    assert etag(stale) == v2
    assert_error(nb_api.put(f"/ehr/{ehr_id}/composition/{object_id}", json=doc), 400)  # no If-Match
    missing = str(uuid.uuid4())
    assert_error(_put(nb_api, ehr_id, missing, f"{missing}::test.cdr::1", doc), 404)

    nb_api.upload(EN_TEMPLATE)
    other = shipped("valid_high_risk.json")
    other["archetype_details"]["template_id"]["value"] = "municipal_vital_signs_news2.en.v1"
    assert "template" in assert_error(_put(nb_api, ehr_id, object_id, v2, other), 400)["message"]

    assert_error(nb_api.delete(f"/ehr/{ehr_id}/composition/{v1}"), 409)
    deleted = nb_api.delete(f"/ehr/{ehr_id}/composition/{v2}")
    assert deleted.status_code == 204
    v3 = etag(deleted)
    assert v3.endswith("::3")
    assert nb_api.get(f"/ehr/{ehr_id}/composition/{v3}").status_code == 204
    assert nb_api.get(f"/ehr/{ehr_id}/composition/{object_id}").status_code == 204
    assert nb_api.get(f"/ehr/{ehr_id}/composition/{v1}").status_code == 200
    assert_error(nb_api.delete(f"/ehr/{ehr_id}/composition/{v3}"), 400)
    assert_error(nb_api.delete(f"/ehr/{ehr_id}/composition/{uuid.uuid4()}::test.cdr::1"), 404)

    items = nb_api.get(f"/ehr/{ehr_id}/versioned_composition/{object_id}/revision_history").json["items"]
    assert [i["audits"][0]["change_type"]["value"] for i in items] == ["creation", "modification", "deleted"]
    times = [i["audits"][0]["time_committed"]["value"] for i in items]
    assert len(set(times)) == 3 and all(t.endswith("Z") for t in times)


def test_versioned_composition_endpoints(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    v1 = nb_api.commit(ehr_id)
    object_id = v1.split("::")[0]
    after_v1 = dt.datetime.now(dt.UTC).isoformat()
    v2 = etag(_put(nb_api, ehr_id, object_id, v1, shipped("valid_minimal.json")))
    base = f"/ehr/{ehr_id}/versioned_composition/{object_id}"
    versioned = nb_api.get(base).json
    assert versioned["_type"] == "VERSIONED_COMPOSITION"
    assert versioned["owner_id"]["id"]["value"] == ehr_id
    assert nb_api.get(f"{base}/version").json["uid"]["value"] == v2
    at = nb_api.get(f"{base}/version", query_string={"version_at_time": after_v1})
    assert at.json["uid"]["value"] == v1 and etag(at) == v1
    by_uid = nb_api.get(f"{base}/version/{v1}").json
    assert by_uid["_type"] == "ORIGINAL_VERSION" and by_uid["data"]["_type"] == "COMPOSITION"
    assert_error(nb_api.get(f"{base}/version/{uuid.uuid4()}::test.cdr::1"), 404)
    assert_error(nb_api.get(f"/ehr/{ehr_id}/versioned_composition/foobar"), 404)
    assert_error(nb_api.get(f"/ehr/{ehr_id}/versioned_composition/{uuid.uuid4()}/revision_history"), 404)


def test_commit_headers_audit_and_lifecycle(nb_api: Api) -> None:
    ehr_id = nb_api.new_ehr()
    headers = {
        "openEHR-AUDIT_DETAILS": 'committer.name="Ola Normann",description.value="night round"',
        "openEHR-VERSION": 'lifecycle_state.code_string="553"',
    }
    body = (COMPOSITIONS / "valid_minimal.json").read_text(encoding="utf-8")
    response = nb_api.post(
        f"/ehr/{ehr_id}/composition", data=body, content_type="application/json", headers=headers
    )
    uid = etag(response)
    version = nb_api.get(f"/ehr/{ehr_id}/versioned_composition/{uid.split('::')[0]}/version/{uid}").json
    assert version["commit_audit"]["committer"]["name"] == "Ola Normann"
    assert version["commit_audit"]["description"]["value"] == "night round"
    assert version["lifecycle_state"]["value"] == "incomplete"


def test_audit_details_sent_as_utf8_keep_their_letters(nb_api: Api) -> None:
    """A committer name in UTF-8 (its bytes reach the app as Latin-1, as WSGI hands header bytes over) is
    recorded as written, not as mojibake; a Latin-1 name stays Latin-1."""
    ehr_id = nb_api.new_ehr()
    body = (COMPOSITIONS / "valid_minimal.json").read_text(encoding="utf-8")
    for name, sent in (
        ("Åse Ødegård", "Åse Ødegård".encode().decode("latin-1")),
        ("Ærlig Ødegård", "Ærlig Ødegård"),  # Latin-1 bytes: not UTF-8, read as they are
    ):
        response = nb_api.post(
            f"/ehr/{ehr_id}/composition",
            data=body,
            content_type="application/json",
            headers={"openEHR-AUDIT_DETAILS": f'committer.name="{sent}"'},
        )
        uid = etag(response)
        base = f"/ehr/{ehr_id}/versioned_composition/{uid.split('::')[0]}"
        assert nb_api.get(f"{base}/version/{uid}").json["commit_audit"]["committer"]["name"] == name


# --- corpus: the EHRbase suites' canonical compositions, judged as the validator judges them ---------------


@cache
def _templates_by_id() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted((CORPUS / IT / "valid_templates").rglob("*.opt")):
        try:
            found.setdefault(load_opt(path).template_id, path)
        except Exception:  # broken OPTs are the definition tests' business
            continue
    return found


def _corpus_compositions() -> list[str]:
    folder = CORPUS / IT / "compositions" / "CANONICAL_JSON"
    names = sorted(p.name for p in folder.glob("*.json")) if folder.is_dir() else []
    return names or ["<corpus absent>"]


@pytest.mark.parametrize("name", _corpus_compositions())
def test_corpus_compositions_committed_as_validated(api: Api, name: str) -> None:
    """201 exactly when the validator finds nothing, else 422 listing exactly the validator's issues (400
    when one of them is a value that is not ISO 8601, or all are codes outside the openEHR terminology)."""
    text = (require_corpus() / IT / "compositions" / "CANONICAL_JSON" / name).read_text(encoding="utf-8")
    try:
        comp = parse_json(text, "COMPOSITION", strict=False)
    except Exception as exc:
        pytest.skip(f"not readable as canonical JSON: {exc}")
    template_id = comp.archetype_details.template_id.value if comp.archetype_details else None
    path = _templates_by_id().get(template_id or "")
    if path is None:
        pytest.skip(f"template {template_id!r} is not among the corpus OPTs")
    api.upload(path)
    issues = validate(comp, load_opt(path), DEFAULT)  # the server's profile
    response = api.post(f"/ehr/{api.new_ehr()}/composition", data=text, content_type="application/json")
    if not issues:
        assert response.status_code == 201, response.json
    else:
        unreadable = any(i.code == IssueCode.INVALID_DATE_TIME for i in issues)
        codes_only = all(i.code in (IssueCode.OPENEHR_TERMINOLOGY, IssueCode.OPENEHR_RUBRIC) for i in issues)
        body = assert_error(response, 400 if unreadable or codes_only else 422)
        assert sorted((d["path"], d["code"]) for d in body["details"]) == sorted(
            (i.path, i.code) for i in issues
        )


def test_corpus_flat_commit_and_update(api: Api) -> None:
    root = require_corpus() / IT
    api.upload(root / "valid_templates" / "all_types" / "family_history.opt")
    ehr_id = api.new_ehr()
    flat = (root / "compositions" / "FLAT" / "family_history__.json").read_bytes()
    query = {"format": "FLAT", "templateId": "family_history"}
    headers = {"Content-Type": FLAT, "Prefer": "return=representation"}
    created = api.post(f"/ehr/{ehr_id}/composition", data=flat, query_string=query, headers=headers)
    assert created.status_code == 201, created.json
    assert created.json["family_history/_uid"] == etag(created)
    uid = etag(created)
    v2 = (root / "compositions" / "FLAT" / "family_history.v2__.json").read_bytes()
    headers["If-Match"] = uid
    updated = api.put(
        f"/ehr/{ehr_id}/composition/{uid.split('::')[0]}", data=v2, query_string=query, headers=headers
    )
    assert updated.status_code == 200, updated.json
    assert etag(updated).endswith("::2")
    assert NB_TEMPLATE.is_file()


def test_a_uid_taken_in_another_ehr_is_409(nb_api: Api) -> None:
    """A composition brought with its own uid whose object id another EHR already holds: 409 (an object id
    names one versioned object in the whole system), the other EHR not named; without the uid: created."""
    first_ehr, second_ehr = nb_api.new_ehr(), nb_api.new_ehr()
    doc = shipped("valid_minimal.json")
    object_id = str(uuid.uuid4())
    doc["uid"] = {"_type": "OBJECT_VERSION_ID", "value": f"{object_id}::test.cdr::1"}
    created = nb_api.post(f"/ehr/{first_ehr}/composition", json=doc)
    assert created.status_code == 201, created.json
    assert etag(created).startswith(object_id)
    refused = assert_error(nb_api.post(f"/ehr/{second_ehr}/composition", json=doc), 409)
    assert object_id in refused["message"] and first_ehr not in refused["message"]
    del doc["uid"]
    assert nb_api.post(f"/ehr/{second_ehr}/composition", json=doc).status_code == 201


def test_corpus_ism_wrong_current_state_is_422_in_ehrbase_words(api: Api) -> None:
    """EHRbase's ISM case: 422 whose message holds its words and the ism_transition path; valid: 201."""
    root = require_corpus() / IT
    api.upload(root / "valid_templates" / "all_types" / "test-ism.vitagroup.de.v1.opt")
    ehr_id = api.new_ehr()
    query = {"format": "FLAT", "templateId": "test-ism.vitagroup.de.v1"}
    flat = root / "compositions" / "FLAT"
    valid = (flat / "test-ism.vitagroup.de.v1__.json").read_bytes()
    assert (
        api.post(
            f"/ehr/{ehr_id}/composition", data=valid, query_string=query, headers={"Content-Type": FLAT}
        ).status_code
        == 201
    )
    wrong = (flat / "test-ism.vitagroup.de.v1__ism_wrong_current_state.json").read_bytes()
    body = assert_error(
        api.post(
            f"/ehr/{ehr_id}/composition", data=wrong, query_string=query, headers={"Content-Type": FLAT}
        ),
        422,
    )
    assert "IsmTransition contains invalid current_state" in body["message"]
    assert "/content[openEHR-EHR-ACTION.medication.v1]/ism_transition" in body["message"]


@pytest.mark.parametrize(
    ("attribute", "value", "status"),
    [
        ("language", None, 422),  # missing: the RM requires it
        ("language", "xx", 400),  # not in ISO_639-1: EHRbase's terminology check after the template, 400
        ("territory", None, 422),
        ("territory", "XX", 400),
        ("category", "999", 422),  # the template allows only 433 there: a template violation first
        ("category", "persistent", 400),  # 433's text is not its rubric: the same terminology check, 400
        ("setting", "no such setting", 400),
        ("composer", None, 422),
        ("composer", "PARTY_FOO", 400),  # no RM type: the body cannot be read
    ],
)
def test_composition_level_attributes_missing_invalid(
    nb_api: Api, attribute: str, value: str | None, status: int
) -> None:
    """EHRbase's COMPOSITION suite: language, territory, category and composer present 201, missing 422,
    invalid 400 (a code the openEHR terminology does not have, a text that is not the code's rubric in any
    language, or no RM object at all)."""
    doc = shipped("valid_normal.json")
    if value is None:
        del doc[attribute]
    elif attribute == "composer":
        doc["composer"]["_type"] = value
    elif attribute == "category" and value.isdigit():
        doc["category"]["defining_code"]["code_string"] = value
    elif attribute == "category":
        doc["category"]["value"] = value
    elif attribute == "setting":
        doc["context"]["setting"]["value"] = value
    else:
        doc[attribute]["code_string"] = value
    body = assert_error(nb_api.post(f"/ehr/{nb_api.new_ehr()}/composition", json=doc), status)
    assert f"/{attribute}" in body["message"]
