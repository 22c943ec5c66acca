"""One defect per test: each constraint kind reports its code at the documented data path.

The compositions are the shipped ``valid_normal.json`` (which validates clean) with a single change made in
the test, validated against the shipped template; pure checks are also exercised on AOM primitives directly.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from cdr.formats.canonical_json import parse_json
from cdr.template import load_opt
from cdr.template.aom import (
    ArchetypeInternalRef,
    CArchetypeRoot,
    CBoolean,
    CDate,
    CDateTime,
    CDuration,
    CInteger,
    CString,
    CTime,
    Interval,
)
from cdr.template.aom import OperationalTemplate as Template
from cdr.template.issues import IssueCode, ValidationIssue
from cdr.template.validation import validate
from cdr.template.validation.primitives import check_primitive

REPO = Path(__file__).resolve().parents[2]
RESP = (
    "/content[openEHR-EHR-OBSERVATION.respiration.v1]/data[at0001]/events[at0002]/data[at0003]/items[at0004]"
)
BP = "/content[openEHR-EHR-OBSERVATION.blood_pressure.v2]/data[at0001]/events[at0006]"
ACVPU = "/content[openEHR-EHR-OBSERVATION.acvpu.v1]/data[at0001]/events[at0002]/data[at0003]/items[at0004]"
NEWS2 = "/content[openEHR-EHR-OBSERVATION.news2.v1]/data[at0001]/events[at0002]/data[at0003]"
PULSE = "/content[openEHR-EHR-OBSERVATION.pulse.v1]/data[at0002]/events[at0003]/data[at0001]/items[at0004]"


@cache
def template() -> Template:
    return load_opt(REPO / "templates" / "kommunal_vitalparametre_news2.nb.opt")


@cache
def normal() -> dict[str, Any]:
    return json.loads((REPO / "tests/data/compositions/valid_normal.json").read_text(encoding="utf-8"))


def issues_after(change: Callable[[dict[str, Any]], object]) -> list[ValidationIssue]:
    data = copy.deepcopy(normal())
    change(data)
    return validate(parse_json(data), template())


def codes_at(issues: list[ValidationIssue]) -> set[tuple[IssueCode, str]]:
    return {(i.code, i.path) for i in issues}


def content(data: dict[str, Any], archetype: str) -> dict[str, Any]:
    return next(
        c for c in data["content"] if c["archetype_node_id"] == f"openEHR-EHR-OBSERVATION.{archetype}"
    )


def event_items(data: dict[str, Any], archetype: str) -> list[dict[str, Any]]:
    return content(data, archetype)["data"]["events"][0]["data"]["items"]


def test_unchanged_composition_is_valid() -> None:
    assert issues_after(lambda d: None) == []


def test_node_not_in_template() -> None:
    def add(d: dict[str, Any]) -> None:
        extra = copy.deepcopy(event_items(d, "blood_pressure.v2")[2])
        extra["archetype_node_id"] = "at9999"
        event_items(d, "blood_pressure.v2").append(extra)

    issues = issues_after(add)
    assert codes_at(issues) == {(IssueCode.NODE_NOT_IN_TEMPLATE, BP + "/data[at0003]/items[at9999]")}
    assert "at0033" in issues[0].message  # the allowed node ids are named


def test_archetype_not_allowed_in_slot() -> None:
    def fill(d: dict[str, Any]) -> None:
        cluster = copy.deepcopy(content(d, "pulse_oximetry.v1")["data"]["events"][0]["state"]["items"][0])
        cluster["archetype_node_id"] = "openEHR-EHR-CLUSTER.not_a_device.v1"
        content(d, "blood_pressure.v2")["protocol"] = {
            "_type": "ITEM_TREE",
            "name": {"_type": "DV_TEXT", "value": "Tree"},
            "archetype_node_id": "at0011",
            "items": [cluster],
        }

    issues = issues_after(fill)
    path = "/content[openEHR-EHR-OBSERVATION.blood_pressure.v2]/protocol[at0011]/items"
    assert codes_at(issues) == {
        (IssueCode.ARCHETYPE_NOT_ALLOWED, path + "[openEHR-EHR-CLUSTER.not_a_device.v1]")
    }


def test_template_id_mismatch() -> None:
    issues = issues_after(lambda d: d["archetype_details"]["template_id"].update(value="another.v1"))
    assert codes_at(issues) == {(IssueCode.TEMPLATE_ID_MISMATCH, "/archetype_details/template_id")}


def test_category_code_outside_openehr_group() -> None:
    issues = issues_after(lambda d: d["category"]["defining_code"].update(code_string="999"))
    assert (IssueCode.OPENEHR_TERMINOLOGY, "/category") in codes_at(issues) or (
        IssueCode.CODE_NOT_ALLOWED,
        "/category/defining_code",
    ) in codes_at(issues)


def test_setting_rubric_must_match_code() -> None:
    issues = issues_after(lambda d: d["context"]["setting"].update(value="not the rubric"))
    assert codes_at(issues) == {(IssueCode.OPENEHR_RUBRIC, "/context/setting/value")}


def test_local_term_text_must_match_code() -> None:
    issues = issues_after(lambda d: event_items(d, "acvpu.v1")[0]["value"].update(value="Sover"))
    assert codes_at(issues) == {(IssueCode.TERM_TEXT_MISMATCH, ACVPU + "/value/value")}


def test_text_where_coded_text_required() -> None:
    issues = issues_after(
        lambda d: event_items(d, "acvpu.v1")[0].update(value={"_type": "DV_TEXT", "value": "V"})
    )
    assert codes_at(issues) == {(IssueCode.CODED_TEXT_REQUIRED, ACVPU + "/value")}


def test_quantity_precision() -> None:
    def finer(d: dict[str, Any]) -> None:
        quantity = event_items(d, "respiration.v1")[0]["value"]
        quantity["magnitude"] = 16.5
        del quantity["precision"]  # the data's own precision would break an RM invariant as well

    issues = issues_after(finer)
    assert codes_at(issues) == {(IssueCode.PRECISION_MISMATCH, RESP + "/value")}


def test_ordinal_value_not_in_list() -> None:
    issues = issues_after(lambda d: event_items(d, "news2.v1")[0]["value"].update(value=7))
    assert codes_at(issues) == {(IssueCode.VALUE_NOT_ALLOWED, NEWS2 + "/items[at0006]/value")}


def test_ordinal_symbol_must_go_with_value() -> None:
    def swap(d: dict[str, Any]) -> None:
        items = event_items(d, "news2.v1")
        items[0]["value"]["symbol"] = copy.deepcopy(items[0]["value"]["symbol"])
        items[0]["value"]["value"] = 3  # a listed value whose symbol is another code

    issues = issues_after(swap)
    assert codes_at(issues) == {(IssueCode.CODE_NOT_ALLOWED, NEWS2 + "/items[at0006]/value")}


def test_required_element_missing() -> None:
    def drop(d: dict[str, Any]) -> None:
        items = event_items(d, "news2.v1")
        items[:] = [i for i in items if i["archetype_node_id"] != "at0028"]

    issues = issues_after(drop)
    assert codes_at(issues) == {(IssueCode.OCCURRENCES_TOO_FEW, NEWS2 + "/items[at0028]")}


def test_name_code_outside_name_constraint() -> None:
    issues = issues_after(
        lambda d: event_items(d, "pulse.v1")[0].update(
            name={"_type": "DV_TEXT", "value": "Frekvens"},
        )
    )
    assert {i.code for i in issues} == {IssueCode.CODED_TEXT_REQUIRED}
    assert issues[0].path == PULSE + "/name"


def test_rm_mandatory_attribute() -> None:
    issues = issues_after(lambda d: event_items(d, "respiration.v1")[0]["value"].pop("units"))
    assert (IssueCode.REQUIRED, RESP + "/value/units") in codes_at(issues)


def test_siblings_with_same_node_id_get_name_predicates() -> None:
    def twice(d: dict[str, Any]) -> None:
        items = event_items(d, "blood_pressure.v2")
        first = copy.deepcopy(items[2])
        second = copy.deepcopy(items[2])
        second["name"]["value"] = "Kommentar 2"
        second["archetype_node_id"] = first["archetype_node_id"] = "at9999"
        items.extend([first, second])

    paths = {i.path for i in issues_after(twice)}
    items = BP + "/data[at0003]/items"
    assert paths == {
        items + "[at9999 and name/value='Kommentar']",
        items + "[at9999 and name/value='Kommentar 2']",
    }


def test_version_wrapper_is_unwrapped() -> None:
    data = copy.deepcopy(normal())
    event_items(data, "respiration.v1")[0]["value"]["units"] = "/h"
    version = {
        "_type": "ORIGINAL_VERSION",
        "uid": {"_type": "OBJECT_VERSION_ID", "value": "8849182c-82ad-4088-a07f-48ead4180515::cdr::1"},
        "contribution": {
            "_type": "OBJECT_REF",
            "namespace": "local",
            "type": "CONTRIBUTION",
            "id": {"_type": "HIER_OBJECT_ID", "value": "0c0a4b5e-4a3e-4a4b-9e5e-1f7d1f0b1c2d"},
        },
        "commit_audit": {
            "_type": "AUDIT_DETAILS",
            "system_id": "cdr",
            "time_committed": {"_type": "DV_DATE_TIME", "value": "2024-05-02T10:00:00Z"},
            "change_type": {
                "_type": "DV_CODED_TEXT",
                "value": "creation",
                "defining_code": {
                    "_type": "CODE_PHRASE",
                    "terminology_id": {"_type": "TERMINOLOGY_ID", "value": "openehr"},
                    "code_string": "249",
                },
            },
            "committer": {"_type": "PARTY_SELF"},
        },
        "lifecycle_state": {
            "_type": "DV_CODED_TEXT",
            "value": "complete",
            "defining_code": {
                "_type": "CODE_PHRASE",
                "terminology_id": {"_type": "TERMINOLOGY_ID", "value": "openehr"},
                "code_string": "532",
            },
        },
        "data": data,
    }
    issues = validate(parse_json(version), template())
    root = "/data[openEHR-EHR-COMPOSITION.encounter.v1]"
    assert codes_at(issues) == {(IssueCode.UNIT_NOT_ALLOWED, root + RESP + "/value")}


# --------------------------------------------------------------------------- primitives, one rule each


@pytest.mark.parametrize(
    ("constraint", "value", "code"),
    [
        (CString(list=["a", "b"]), "c", IssueCode.STRING_NOT_IN_LIST),
        (CString(pattern="[0-9]+"), "12a", IssueCode.STRING_PATTERN_MISMATCH),
        (CBoolean(true_valid=True, false_valid=False), False, IssueCode.VALUE_NOT_ALLOWED),
        (CInteger(range=Interval(0, 10)), 11, IssueCode.VALUE_OUT_OF_RANGE),
        (CInteger(list=[1, 2]), 3, IssueCode.VALUE_NOT_ALLOWED),
        (CDate(pattern="yyyy-mm-dd"), "2022-10", IssueCode.DATE_TIME_PATTERN),
        (CDate(pattern="yyyy-mm-XX"), "2022-10-24", IssueCode.DATE_TIME_PATTERN),
        (CDate(), "2021-13", IssueCode.INVALID_DATE_TIME),
        (CDateTime(pattern="yyyy-mm-ddTHH:MM:SS"), "2021-10-24T10", IssueCode.DATE_TIME_PATTERN),
        (CTime(pattern="HH:MM:SS"), "10:30", IssueCode.DATE_TIME_PATTERN),
        (
            CDateTime(range=Interval("2020-01-01T00:00:00Z", None)),
            "2019-12-31T23:00:00Z",
            IssueCode.VALUE_OUT_OF_RANGE,
        ),
        (CDuration(pattern="PMWDTHMS"), "P1Y", IssueCode.DURATION_FIELD_NOT_ALLOWED),
        (CDuration(pattern="PYMDTHMS"), "P1W3D", IssueCode.DURATION_FIELD_NOT_ALLOWED),
        (CDuration(range=Interval("PT1H", "PT24H")), "PT25H", IssueCode.DURATION_OUT_OF_RANGE),
        (
            CDuration(range=Interval("PT1H", "PT24H", upper_included=False)),
            "P1D",
            IssueCode.DURATION_OUT_OF_RANGE,
        ),
        (CDuration(), "P1Y3M4DT2.5H", IssueCode.INVALID_DATE_TIME),
        (  # past the year 9999 once in UTC: compared as the end of the time line (was an OverflowError)
            CDateTime(range=Interval(None, "9999-12-31T00:00:00Z")),
            "9999-12-31T23:59:59-14:00",
            IssueCode.VALUE_OUT_OF_RANGE,
        ),
        (
            CDateTime(range=Interval("0001-01-02T00:00:00Z", None)),
            "0001-01-01T00:00:00+14:00",
            IssueCode.VALUE_OUT_OF_RANGE,
        ),
    ],
)
def test_primitive_rule_broken(constraint: object, value: object, code: IssueCode) -> None:
    assert [c for c, _ in check_primitive(constraint, value)] == [code]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("constraint", "value"),
    [
        (CString(list=["a"], list_open=True), "z"),
        (CDate(pattern="yyyy-mm-??"), "2022-10"),
        (CDate(pattern="yyyy-??-??"), "2022"),
        (CDateTime(pattern="yyyy-mm-ddTHH:??:??"), "2021-10-24T10"),
        (CDateTime(pattern="yyyy-XX-XXTXX:XX:XX"), "2021"),
        (CDuration(pattern="PYMWDTHMS"), "P1Y3M4DT2H14M15.5S"),
        (CDuration(pattern="PTM"), "P65Y5M12D"),  # an empty date part does not restrict it (as EHRbase)
        (CDuration(range=Interval("PT1H", "PT24H")), "PT24H"),
        (CTime(), "24:00:00"),
        (CDateTime(range=Interval("2020-01-01T00:00:00Z", None)), "9999-12-31T24:00:00-14:00"),
    ],
)
def test_primitive_rule_kept(constraint: object, value: object) -> None:
    assert check_primitive(constraint, value) == []  # type: ignore[arg-type]


def test_empty_container_still_counts_required_members() -> None:
    # ITEM_TREE.items may be absent, but the tree is there: the element it requires is missing
    issues = issues_after(lambda d: event_items(d, "news2.v1").clear())
    assert codes_at(issues) == {(IssueCode.OCCURRENCES_TOO_FEW, NEWS2 + "/items[at0028]")}


def test_nothing_is_required_below_an_absent_optional_object() -> None:
    def drop(d: dict[str, Any]) -> None:
        d["content"][:] = [c for c in d["content"] if "news2" in c["archetype_node_id"]]

    assert issues_after(drop) == []


def test_party_ref_type_must_be_a_party_type() -> None:
    external_ref = {
        "_type": "PARTY_REF",
        "id": {"_type": "GENERIC_ID", "value": "1234", "scheme": "HPR"},
        "namespace": "HPR",
        "type": "ANY",
    }
    issues = issues_after(lambda d: d["composer"].update(external_ref=external_ref))
    assert codes_at(issues) == {(IssueCode.RM_INVARIANT, "/composer/external_ref/type")}
    external_ref["type"] = "PERSON"
    assert issues_after(lambda d: d["composer"].update(external_ref=external_ref)) == []


def test_line_breaks_in_text_are_accepted() -> None:
    assert issues_after(lambda d: d["composer"].update(name="Sykepleier\nHjemmetjenesten")) == []


def test_unresolved_internal_reference_is_reported() -> None:
    opt = load_opt(REPO / "templates" / "kommunal_vitalparametre_news2.nb.opt")  # a copy to change
    content = next(a for a in opt.definition.attributes if a.rm_attribute_name == "content")
    index, news2 = next(
        (i, c)
        for i, c in enumerate(content.children)
        if isinstance(c, CArchetypeRoot) and "news2" in c.archetype_id
    )
    assert isinstance(news2, CArchetypeRoot)
    content.children[index] = ArchetypeInternalRef(
        "OBSERVATION",
        news2.archetype_id,
        news2.occurrences,
        content,
        news2.path,
        target_path="/nowhere[at9999]",
    )
    data = parse_json(copy.deepcopy(normal()))
    issues = validate(data, opt)
    assert codes_at(issues) == {
        (IssueCode.UNRESOLVED_REFERENCE, "/content[openEHR-EHR-OBSERVATION.news2.v1]")
    }
    assert "/nowhere[at9999]" in issues[0].message
