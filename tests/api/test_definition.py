"""DEFINITION: template upload (201, 409, 415, 400 with reasons), list, OPT, web template, examples."""

from __future__ import annotations

import json

import pytest

from cdr.template import load_opt
from cdr.template.web_template import build_web_template
from tests.api.conftest import FLAT, NB_TEMPLATE, NB_TEMPLATE_ID, STRUCTURED, Api, assert_error
from tests.corpus import require_corpus

BASE = "/definition/template/adl1.4"
IT = "ehrbase-integration-tests/test_data_sets"


def test_upload_conflict_and_media_type(api: Api) -> None:
    created = api.post(BASE, data=NB_TEMPLATE.read_bytes(), content_type="application/xml")
    assert created.status_code == 201
    assert created.headers["Location"].endswith(f"{BASE}/{NB_TEMPLATE_ID}")
    again = assert_error(api.post(BASE, data=NB_TEMPLATE.read_bytes(), content_type="application/xml"), 409)
    assert again["message"] == f"Operational template with this template ID already exists: {NB_TEMPLATE_ID}"
    assert_error(api.post(BASE, data=NB_TEMPLATE.read_bytes(), content_type="application/json"), 415)
    assert_error(api.post(BASE, data=NB_TEMPLATE.read_bytes(), headers={"Content-Type": ""}), 415)


def test_broken_opt_lists_the_parsers_reasons(api: Api) -> None:
    body = assert_error(
        api.post(BASE, data=b"<template><nothing/></template>", content_type="application/xml"), 400
    )
    assert body["details"] and all(d["code"] == "OPT" for d in body["details"])
    assert_error(api.post(BASE, data=b"not xml", content_type="application/xml"), 400)


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (b"<lower>0.0</lower>", b"<lower>NaN</lower>", "<lower> is not a finite number: 'NaN'"),
        (b"<lower>0.0</lower>", b"<lower>1e309</lower>", "<lower> is not a finite number: '1e309'"),
        (b"<lower>0.0</lower>", b"<lower>1_0</lower>", "<lower> is not a number: '1_0'"),
        (b">DV_QUANTITY<", ">\u00e9\u4e2d<".encode(), "is not a type of the reference model"),
        (
            b">DV_QUANTITY<",
            b">DV_INTERVAL&lt;NOPE&gt;<",
            "'DV_INTERVAL<NOPE>' is not a type of the reference",
        ),
    ],
)
def test_an_opt_no_constraint_can_use_is_400_naming_the_spot(
    api: Api, old: bytes, new: bytes, reason: str
) -> None:
    """Found by mutating corpus OPTs: such templates were stored, and their examples were 500s (a NaN
    range has no middle, no RM class is named by garbage)."""
    opt = NB_TEMPLATE.read_bytes()
    assert old in opt
    body = assert_error(api.post(BASE, data=opt.replace(old, new, 1), content_type="application/xml"), 400)
    assert reason in body["message"] and "/template/definition/attributes" in body["message"]
    assert_error(api.get(f"{BASE}/{NB_TEMPLATE_ID}"), 404)


def test_an_example_of_a_template_nothing_instantiates_is_422(api: Api) -> None:
    opt = NB_TEMPLATE.read_bytes().replace(b">COMPOSITION<", b">PARTY_PROXY<", 1)  # abstract, no node fits
    assert api.post(BASE, data=opt, content_type="application/xml").status_code == 201
    body = assert_error(api.get(f"{BASE}/{NB_TEMPLATE_ID}/example"), 422)
    assert "has no instantiable root" in body["message"]


def test_list_and_get(api: Api) -> None:
    api.upload()
    listed = api.get(BASE).json
    assert [t["template_id"] for t in listed] == [NB_TEMPLATE_ID]
    assert listed[0]["archetype_id"] == "openEHR-EHR-COMPOSITION.encounter.v1"
    opt = api.get(f"{BASE}/{NB_TEMPLATE_ID}", headers={"Accept": "application/json"})
    assert (
        opt.mimetype == "application/xml"
        and opt.data == NB_TEMPLATE.read_bytes().decode("utf-8-sig").encode()
    )
    web = api.get(f"{BASE}/{NB_TEMPLATE_ID}", headers={"Accept": "application/openehr.wt+json"})
    assert web.mimetype == "application/openehr.wt+json"
    assert web.json == json.loads(json.dumps(build_web_template(load_opt(NB_TEMPLATE))))
    assert_error(api.get(f"{BASE}/no.such.template"), 404)
    assert_error(api.get(f"{BASE}/no.such.template", headers={"Accept": "application/openehr.wt+json"}), 404)


@pytest.mark.parametrize(
    ("query", "accept", "mimetype"),
    [
        ({"format": "JSON"}, None, "application/json"),
        ({"format": "XML"}, None, "application/xml"),
        ({"format": "FLAT"}, None, FLAT),
        ({"format": "STRUCTURED"}, None, STRUCTURED),
        ({}, FLAT, FLAT),
        ({}, None, "application/json"),
    ],
)
def test_examples_in_every_format(api: Api, query: dict[str, str], accept: str | None, mimetype: str) -> None:
    api.upload()
    headers = {"Accept": accept} if accept else {}
    response = api.get(f"{BASE}/{NB_TEMPLATE_ID}/example", query_string=query, headers=headers)
    assert response.status_code == 200 and response.mimetype == mimetype
    if mimetype == FLAT:
        assert response.json["kommunale_vitalparametre_og_news2/category|code"] == "433"


def test_example_can_be_committed_and_errors(api: Api) -> None:
    api.upload()
    example = api.get(f"{BASE}/{NB_TEMPLATE_ID}/example").json
    assert api.post(f"/ehr/{api.new_ehr()}/composition", json=example).status_code == 201
    assert_error(api.get(f"{BASE}/unknown/example"), 404)
    assert_error(api.get(f"{BASE}/{NB_TEMPLATE_ID}/example", query_string={"format": "PDF"}), 400)


def test_corpus_test_event_example(api: Api) -> None:
    api.upload(require_corpus() / IT / "valid_templates" / "all_types" / "test_event.opt")
    assert_error(
        api.post(
            BASE,
            data=(require_corpus() / IT / "valid_templates" / "all_types" / "test_event.opt").read_bytes(),
            content_type="application/xml",
        ),
        409,
    )
    flat = api.get(f"{BASE}/test_event/example", query_string={"format": "FLAT"}).json
    assert flat["test_event/category|code"] == "433"
    assert flat["test_event/category|value"] == "event"
    assert flat["test_event/category|terminology"] == "openehr"


@pytest.mark.parametrize("name", ["Corona_Anamnese", "GECCO_Serologischer_Befund"])
def test_web_template_equals_ehrbase_expected_file(api: Api, name: str) -> None:
    """EHRbase's TEMPLATE suite compares the answer with its expected file as JSON, exactly."""
    root = require_corpus() / IT / "valid_templates"
    expected = json.loads((root / "expected_webtemplates" / f"{name}_wt.json").read_text(encoding="utf-8"))
    api.upload(root / "all_types" / f"{name}.opt")
    response = api.get(f"{BASE}/{expected['templateId']}", headers={"Accept": "application/openehr.wt+json"})
    assert response.status_code == 200
    assert response.json == expected


def test_ehrbase_template_suite_examples(api: Api) -> None:
    """EHRbase's TEMPLATE suite: the JSON example of test_quantity_without_text commits and has 3 events of 9
    items each (a repeatable EVENT shows POINT, INTERVAL, POINT, as EHRbase's generator sizes a choice); the
    FLAT example of test_event is an event composition."""
    root = require_corpus() / IT / "valid_templates" / "all_types"
    for name in ("test_quantity_without_text", "test_event"):
        api.upload(root / f"{name}.opt")
    example = api.get(f"{BASE}/test_quantity_without_text/example", query_string={"format": "JSON"}).json
    (observation,) = example["content"]
    events = observation["data"]["events"]
    assert [e["_type"] for e in events] == ["POINT_EVENT", "INTERVAL_EVENT", "POINT_EVENT"]
    assert [len(e["data"]["items"]) for e in events] == [9, 9, 9]
    assert api.post(f"/ehr/{api.new_ehr()}/composition", json=example).status_code == 201
    flat = api.get(f"{BASE}/test_event/example", query_string={"format": "FLAT"}).json
    assert flat["test_event/category|code"] == "433"
    assert flat["test_event/category|value"] == "event"
    assert flat["test_event/category|terminology"] == "openehr"
