"""Focused FLAT tests: one data type or ``ctx/`` shortcut at a time, on the EHRbase conformance template."""

from __future__ import annotations

from typing import Any

import pytest

from cdr.errors import FormatError
from cdr.formats.canonical_json import to_json
from cdr.formats.flat import (
    composition_to_flat,
    composition_to_structured,
    flat_format_of,
    flat_to_composition,
    structured_to_composition,
)
from cdr.rm import Composition
from cdr.template.aom import OperationalTemplate
from cdr.template.validation import validate
from tests.corpus import require_corpus
from tests.formats.test_flat_support import opt_at

pytestmark = pytest.mark.corpus

CONFORMANCE = "ehrbase-openEHR_SDK/test-data/operationaltemplate/conformance_ehrbase.de.v0.opt"
ROOT = "conformance-ehrbase.de.v0"
EVENT = f"{ROOT}/conformance_section/conformance_observation/any_event:0"
BASE = {
    "ctx/language": "en",
    "ctx/territory": "DE",
    "ctx/composer_name": "Silvia Blake",
    "ctx/time": "2022-01-12T09:00:11+01:00",
    f"{ROOT}/context/setting|code": "238",
    f"{ROOT}/context/setting|value": "other care",
    f"{ROOT}/context/setting|terminology": "openehr",
    f"{EVENT}/time": "2022-01-12T09:00:11+01:00",
}


@pytest.fixture(scope="module")
def opt() -> OperationalTemplate:
    require_corpus()
    return opt_at(CONFORMANCE)


def _read(opt: OperationalTemplate, extra: dict[str, Any]) -> Composition:
    return flat_to_composition({**BASE, **extra}, opt)


def _roundtrip(opt: OperationalTemplate, comp: Composition) -> None:
    flat = composition_to_flat(comp, opt)
    assert to_json(flat_to_composition(flat, opt)) == to_json(comp)


def _values(opt: OperationalTemplate, extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    comp = _read(opt, extra)
    _roundtrip(opt, comp)
    items = to_json(comp)["content"][0]["items"][0]["data"]["events"][0]["data"]["items"]
    return {i["name"]["value"]: i.get("value") for i in items}


def test_minimal_document_is_valid_and_gets_template_defaults(opt: OperationalTemplate) -> None:
    comp = _read(opt, {f"{EVENT}/dv_text": "hello"})
    assert validate(comp, opt) == []
    data = to_json(comp)
    assert data["archetype_details"]["template_id"]["value"] == opt.template_id
    assert data["category"]["defining_code"]["code_string"] == "433"
    assert data["language"]["code_string"] == "en" and data["territory"]["code_string"] == "DE"
    observation = data["content"][0]["items"][0]
    assert observation["subject"]["_type"] == "PARTY_SELF"
    assert observation["encoding"]["code_string"] == "UTF-8"
    assert observation["data"]["origin"]["value"] == "2022-01-12T09:00:11+01:00"


def test_quantity(opt: OperationalTemplate) -> None:
    values = _values(
        opt,
        {
            f"{EVENT}/dv_quantity|magnitude": 65.9,
            f"{EVENT}/dv_quantity|unit": "kg",
            f"{EVENT}/dv_quantity|precision": 1,
            f"{EVENT}/dv_quantity|normal_status": "N",
        },
    )
    quantity = next(v for v in values.values() if v and v["_type"] == "DV_QUANTITY")
    assert (quantity["magnitude"], quantity["units"], quantity["precision"]) == (65.9, "kg", 1)
    assert quantity["normal_status"]["terminology_id"]["value"] == "openehr_normal_statuses"


def test_coded_text_value_comes_from_the_template(opt: OperationalTemplate) -> None:
    values = _values(opt, {f"{EVENT}/dv_coded_text|code": "at0006"})
    coded = next(v for v in values.values() if v and v["_type"] == "DV_CODED_TEXT")
    assert coded["defining_code"]["terminology_id"]["value"] == "local"
    assert coded["value"] == "term1"


def test_listed_code_takes_the_template_label_whatever_the_value_given(opt: OperationalTemplate) -> None:
    # EHRbase (openEHR_SDK DvCodedTextRMUnmarshaller): the web template's label for a listed code wins
    comp = _read(
        opt,
        {
            f"{EVENT}/dv_coded_text|code": "at0007",
            f"{EVENT}/dv_coded_text|value": "term1",
            f"{EVENT}/dv_coded_text|terminology": "local",
            f"{ROOT}/context/setting|value": "at home",
        },
    )
    data = to_json(comp)
    coded = next(i["value"] for i in data["content"][0]["items"][0]["data"]["events"][0]["data"]["items"])
    assert (coded["value"], coded["defining_code"]["code_string"]) == ("term2", "at0007")
    # the template leaves setting open (no code list in the web template): the text given stays
    assert data["context"]["setting"]["value"] == "at home"


def test_unlisted_code_keeps_its_text_and_the_validator_reports_it(opt: OperationalTemplate) -> None:
    comp = _read(
        opt,
        {
            f"{EVENT}/dv_coded_text|code": "at9999",
            f"{EVENT}/dv_coded_text|value": "my own text",
            f"{EVENT}/dv_coded_text|terminology": "local",
        },
    )
    items = to_json(comp)["content"][0]["items"][0]["data"]["events"][0]["data"]["items"]
    assert items[0]["value"]["value"] == "my own text"
    assert {i.code.value for i in validate(comp, opt)} == {"CODE_NOT_ALLOWED"}


def test_listed_code_of_another_terminology_keeps_its_text(opt: OperationalTemplate) -> None:
    comp = _read(
        opt,
        {
            f"{EVENT}/dv_coded_text|code": "at0006",
            f"{EVENT}/dv_coded_text|value": "elsewhere",
            f"{EVENT}/dv_coded_text|terminology": "SNOMED-CT",
        },
    )
    items = to_json(comp)["content"][0]["items"][0]["data"]["events"][0]["data"]["items"]
    assert items[0]["value"]["value"] == "elsewhere"


def test_ordinal_by_code_fills_value_and_text(opt: OperationalTemplate) -> None:
    values = _values(opt, {f"{EVENT}/dv_ordinal|code": "at0015"})
    ordinal = next(v for v in values.values() if v and v["_type"] == "DV_ORDINAL")
    assert ordinal["value"] == 1 and ordinal["symbol"]["value"] == "value1"


def test_proportion_count_boolean_identifier(opt: OperationalTemplate) -> None:
    values = _values(
        opt,
        {
            f"{EVENT}/dv_proportion|numerator": 20.5,
            f"{EVENT}/dv_proportion|denominator": 12.4,
            f"{EVENT}/dv_proportion|type": 0,
            f"{EVENT}/dv_count": 7,
            f"{EVENT}/dv_boolean": True,
            f"{EVENT}/dv_identifier|id": "A123",
            f"{EVENT}/dv_identifier|issuer": "Issuer",
        },
    )
    by_type = {v["_type"]: v for v in values.values() if v}
    assert by_type["DV_PROPORTION"]["numerator"] == 20.5 and by_type["DV_PROPORTION"]["type"] == 0
    assert by_type["DV_COUNT"]["magnitude"] == 7
    assert by_type["DV_BOOLEAN"]["value"] is True
    assert by_type["DV_IDENTIFIER"] == {"_type": "DV_IDENTIFIER", "issuer": "Issuer", "id": "A123"}


def test_temporal_values_and_duration_parts(opt: OperationalTemplate) -> None:
    values = _values(
        opt,
        {
            f"{EVENT}/dv_date": "2022-01-12",
            f"{EVENT}/dv_time": "09:00",
            f"{EVENT}/dv_duration|day": 2,
            f"{EVENT}/dv_duration|hour": 11,
        },
    )
    by_type = {v["_type"]: v for v in values.values() if v}
    assert by_type["DV_DATE"]["value"] == "2022-01-12"
    assert by_type["DV_DURATION"]["value"] == "P2DT11H"


def test_multimedia_parsable_uri(opt: OperationalTemplate) -> None:
    values = _values(
        opt,
        {
            f"{EVENT}/dv_multimedia": "http://x.org/a.png",
            f"{EVENT}/dv_multimedia|mediatype": "image/png",
            f"{EVENT}/dv_multimedia|size": 5,
            f"{EVENT}/dv_parsable|value": "a=b",
            f"{EVENT}/dv_parsable|formalism": "text/plain",
            f"{EVENT}/dv_uri": "http://x.org",
        },
    )
    by_type = {v["_type"]: v for v in values.values() if v}
    media = by_type["DV_MULTIMEDIA"]
    assert media["uri"]["value"] == "http://x.org/a.png" and media["media_type"]["code_string"] == "image/png"
    assert by_type["DV_PARSABLE"]["formalism"] == "text/plain"
    assert by_type["DV_URI"]["value"] == "http://x.org"


def test_null_flavour_and_normal_range(opt: OperationalTemplate) -> None:
    comp = _read(
        opt,
        {
            f"{EVENT}/dv_text/_null_flavour|code": "253",
            f"{EVENT}/dv_count": 3,
            f"{EVENT}/dv_count/_normal_range/lower": 1,
            f"{EVENT}/dv_count/_normal_range/upper": 8,
        },
    )
    _roundtrip(opt, comp)
    items = to_json(comp)["content"][0]["items"][0]["data"]["events"][0]["data"]["items"]
    nulled = next(i for i in items if "null_flavour" in i)
    assert nulled["null_flavour"]["value"] == "unknown" and "value" not in nulled
    count = next(i["value"] for i in items if i.get("value", {}).get("_type") == "DV_COUNT")
    assert (
        count["normal_range"]["lower"]["magnitude"] == 1 and count["normal_range"]["upper_included"] is True
    )


def test_ctx_shortcuts(opt: OperationalTemplate) -> None:
    comp = flat_to_composition(
        {
            **BASE,
            "ctx/composer_id": "123",
            "ctx/id_scheme": "HOSPITAL",
            "ctx/id_namespace": "NS",
            "ctx/health_care_facility|name": "Hospital",
            "ctx/health_care_facility|id": "9091",
            "ctx/end_time": "2022-01-12T10:00:00+01:00",
            "ctx/location": "ward 2",
            "ctx/participation_name": "Dr. Marcus Johnson",
            "ctx/participation_function": "requester",
            "ctx/participation_mode": "face-to-face communication",
            "ctx/participation_id": "199",
            "ctx/participation_name:1": "Lara Markham",
            "ctx/participation_function:1": "performer",
            f"{EVENT}/dv_text": "x",
        },
        opt,
    )
    data = to_json(comp)
    assert data["composer"]["name"] == "Silvia Blake"
    assert data["composer"]["external_ref"]["id"] == {
        "_type": "GENERIC_ID",
        "value": "123",
        "scheme": "HOSPITAL",
    }
    context = data["context"]
    assert context["start_time"]["value"] == "2022-01-12T09:00:11+01:00"
    assert context["end_time"]["value"] == "2022-01-12T10:00:00+01:00"
    assert context["location"] == "ward 2"
    assert context["health_care_facility"]["external_ref"]["namespace"] == "NS"
    others = data["content"][0]["items"][0]["other_participations"]
    assert [p["function"]["value"] for p in others] == ["requester", "performer"]
    assert others[0]["mode"]["defining_code"]["code_string"] == "216"
    # EHRbase puts ctx/participation_* on the context as well (openEHR_SDK EventContextValueInserter)
    assert [p["function"]["value"] for p in context["participations"]] == ["requester", "performer"]
    assert validate(comp, opt) == []
    _roundtrip(opt, comp)


def test_ctx_composer_self_and_setting_rubric(opt: OperationalTemplate) -> None:
    flat = {k: v for k, v in BASE.items() if "setting" not in k and k != "ctx/composer_name"}
    comp = flat_to_composition(
        {**flat, "ctx/composer_self": True, "ctx/setting": "primary medical care", f"{EVENT}/dv_text": "x"},
        opt,
    )
    data = to_json(comp)
    assert data["composer"]["_type"] == "PARTY_SELF"
    assert data["context"]["setting"]["defining_code"]["code_string"] == "228"


def test_context_defaults_without_ctx_as_ehrbase(opt: OperationalTemplate) -> None:
    """No ``ctx/time`` nor start_time: start time is now (EHRbase: ``OffsetDateTime.now()``); no setting:
    openEHR 238 'other care' (openEHR_SDK ``FlatJsonUnmarshaller`` default ``Setting.OTHER_CARE``)."""
    from datetime import UTC, datetime, timedelta

    flat = {k: v for k, v in BASE.items() if "setting" not in k and k != "ctx/time"}
    before = datetime.now(UTC)
    comp = flat_to_composition({**flat, f"{EVENT}/dv_text": "x"}, opt)
    context = to_json(comp)["context"]
    start = datetime.fromisoformat(context["start_time"]["value"])
    assert before - timedelta(seconds=1) <= start <= datetime.now(UTC)
    assert (context["setting"]["value"], context["setting"]["defining_code"]["code_string"]) == (
        "other care",
        "238",
    )
    assert "participations" not in context
    assert validate(comp, opt) == []


def test_activity_timing_gets_the_timing_formalism() -> None:
    """An ACTIVITY timing without ``|formalism`` is 'timing' (openEHR_SDK ``ActivityValueInserter``)."""
    from cdr.template.example import maximal_example

    require_corpus()
    template = opt_at(
        "ehrbase-ehrbase/service-test-resources/knowledge/operational_templates/IDCR - Medication List.v0.opt"
    )
    flat = composition_to_flat(maximal_example(template), template)  # type: ignore[arg-type]
    order = next(k for k in flat if k.endswith("/order:0/dose_timing_description")).rsplit("/", 1)[0]
    flat = {**flat, f"{order}/timing": "R3/2022-01-12T09:00:00Z/P1D"}
    activity = _first(to_json(flat_to_composition(flat, template)), "ACTIVITY")
    assert activity["timing"]["formalism"] == "timing"


def _first(data: Any, rm_type: str) -> Any:
    if isinstance(data, dict):
        if data.get("_type") == rm_type:
            return data
        data = list(data.values())
    if isinstance(data, list):
        for item in data:
            found = _first(item, rm_type)
            if found is not None:
                return found
    return None


def test_underscore_attributes(opt: OperationalTemplate) -> None:
    comp = _read(
        opt,
        {
            f"{ROOT}/_uid": "6e3a9506-b81c-4d74-a37f-1464fb7106b2::ehrbase.org::1",
            f"{ROOT}/_link:0|meaning": "follow up",
            f"{ROOT}/_link:0|type": "problem",
            f"{ROOT}/_link:0|target": "ehr://ehr.network/347a5490-55ee-4da9-b91a-9bba710f730e",
            f"{ROOT}/conformance_section/conformance_observation/_work_flow_id|id": "wf",
            f"{ROOT}/conformance_section/conformance_observation/_work_flow_id|namespace": "ns",
            f"{ROOT}/conformance_section/conformance_observation/_work_flow_id|type": "ANY",
            f"{EVENT}/dv_text": "x",
        },
    )
    data = to_json(comp)
    assert data["uid"]["_type"] == "OBJECT_VERSION_ID"
    assert data["links"][0]["target"]["value"].startswith("ehr://")
    assert data["content"][0]["items"][0]["workflow_id"]["namespace"] == "ns"
    _roundtrip(opt, comp)


def test_structured_is_the_same_tree(opt: OperationalTemplate) -> None:
    comp = _read(opt, {f"{EVENT}/dv_quantity|magnitude": 1.5, f"{EVENT}/dv_quantity|unit": "kg"})
    structured = composition_to_structured(comp, opt)
    assert flat_format_of(structured) == "STRUCTURED"
    assert to_json(structured_to_composition(structured, opt)) == to_json(comp)


def test_structured_composition_is_one_object_and_its_nodes_lists(opt: OperationalTemplate) -> None:
    """EHRbase writes ``{"<root>": {"_uid": ["..."], "category": [{...}]}}``; its suites read the uid at
    ``<root>._uid[0]``. A list at the root (our earlier form) is still read."""
    comp = _read(opt, {f"{EVENT}/dv_text": "x", f"{ROOT}/_uid": "9e8a7f9c-39b9-4b0f-bb2c-5b2b1c1f0d11::s::1"})
    structured = composition_to_structured(comp, opt)
    root = structured[ROOT]
    assert isinstance(root, dict)
    assert root["_uid"] == ["9e8a7f9c-39b9-4b0f-bb2c-5b2b1c1f0d11::s::1"]
    assert isinstance(root["category"], list) and root["category"][0]["|code"] == "433"
    as_list = {ROOT: [root]}
    assert to_json(structured_to_composition(as_list, opt)) == to_json(comp)


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ({f"{EVENT}/no_such_node": "x"}, "no_such_node"),
        ({f"{EVENT}/dv_quantity|magnitude": "heavy"}, "dv_quantity"),
        ({f"{EVENT}/dv_quantity|magnitude": "NaN"}, "dv_quantity"),  # no finite number: JSON cannot hold it
        ({f"{EVENT}/dv_quantity|magnitude": float("inf")}, "dv_quantity"),
        ({f"{EVENT}/dv_quantity|colour": "red"}, "|colour"),
        ({f"{EVENT}/dv_count": "many"}, "dv_count"),
        ({"ctx/no_such_shortcut": "x"}, "ctx/no_such_shortcut"),
        ({"other_root/x": "y"}, "other_root"),
    ],
)
def test_unknown_keys_and_bad_values_are_refused_by_key(
    opt: OperationalTemplate, extra: dict[str, Any], where: str
) -> None:
    with pytest.raises(FormatError) as info:
        _read(opt, extra)
    assert where in str(info.value)


def test_legacy_path_value_documents_are_refused(opt: OperationalTemplate) -> None:
    doc = {"/context/start_time": "2015-09-28T10:18:17+07:00"}
    assert flat_format_of(doc) == "ECISFLAT"
    with pytest.raises(FormatError, match="ECISFLAT"):
        flat_to_composition(doc, opt)


def test_structured_sent_as_flat_is_refused(opt: OperationalTemplate) -> None:
    with pytest.raises(FormatError, match="STRUCTURED"):
        flat_to_composition({ROOT: {"category": [{"|code": "433"}]}}, opt)
