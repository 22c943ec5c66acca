"""RM invariants: each fires on the data that breaks it and stays quiet on data that keeps it."""

from __future__ import annotations

from typing import Any

import pytest

from cdr.formats.canonical_json import parse_json
from cdr.rm import DvQuantity, DvText, Element
from cdr.rm.data_types import iso8601
from cdr.rm.invariants import Invariant, check, is_valid_uid, missing_mandatory

TEXT = {"value": "t"}
VALUE = {"_type": "DV_TEXT", "value": "v"}
CODE = {"terminology_id": {"value": "local"}, "code_string": "at1"}
CODED = {"_type": "DV_CODED_TEXT", "value": "c", "defining_code": CODE}
UUID = "8849182c-82ad-4088-a07f-48ead4180515"
ARCHETYPED = {"archetype_id": {"value": "openEHR-EHR-OBSERVATION.o.v1"}, "rm_version": "1.1.0"}


def q(magnitude: float, units: str = "kg") -> dict[str, Any]:
    return {"_type": "DV_QUANTITY", "magnitude": magnitude, "units": units}


def interval(lower: Any, upper: Any, **flags: Any) -> dict[str, Any]:
    return {
        "_type": "DV_INTERVAL",
        "lower": lower,
        "upper": upper,
        "lower_unbounded": lower is None,
        "upper_unbounded": upper is None,
        **flags,
    }


def names(data: dict[str, Any]) -> set[str]:
    return {inv.name for inv in check(parse_json(data))}


# (data, the invariants it breaks); an empty set means none must fire.
CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    # DV_PROPORTION
    ("ratio", {"_type": "DV_PROPORTION", "numerator": 1.5, "denominator": 3, "type": 0}, set()),
    (
        "zero denominator",
        {"_type": "DV_PROPORTION", "numerator": 1, "denominator": 0, "type": 0},
        {"Valid_denominator"},
    ),
    (
        "unknown kind",
        {"_type": "DV_PROPORTION", "numerator": 1, "denominator": 2, "type": 7},
        {"Type_validity"},
    ),
    ("unitary", {"_type": "DV_PROPORTION", "numerator": 3, "denominator": 1, "type": 1}, set()),
    (
        "unitary not 1",
        {"_type": "DV_PROPORTION", "numerator": 3, "denominator": 2, "type": 1},
        {"Unitary_validity"},
    ),
    ("percent", {"_type": "DV_PROPORTION", "numerator": 30, "denominator": 100, "type": 2}, set()),
    (
        "percent not 100",
        {"_type": "DV_PROPORTION", "numerator": 3, "denominator": 10, "type": 2},
        {"Percent_validity"},
    ),
    ("fraction", {"_type": "DV_PROPORTION", "numerator": 1, "denominator": 3, "type": 3}, set()),
    (
        "fraction real",
        {"_type": "DV_PROPORTION", "numerator": 1.5, "denominator": 3, "type": 3},
        {"Fraction_validity"},
    ),
    (
        "precision 0 real",
        {"_type": "DV_PROPORTION", "numerator": 1.5, "denominator": 2, "type": 0, "precision": 0},
        {"Is_integral_validity"},
    ),
    # DV_QUANTITY and DV_AMOUNT
    ("quantity", {**q(72.5), "precision": 1}, set()),
    ("precision 0 integral", {**q(72.0), "precision": 0}, set()),
    ("precision 0 real", {**q(72.5), "precision": 0}, {"Precision_valid"}),
    ("precision below -1", {**q(72.5), "precision": -2}, {"Precision_valid"}),
    ("empty units", q(1, ""), {"Units_valid"}),
    ("accuracy percent", {**q(1), "accuracy": 5, "accuracy_is_percent": True}, set()),
    (
        "accuracy 0 percent",
        {**q(1), "accuracy": 0, "accuracy_is_percent": True},
        {"Accuracy_is_percent_validity"},
    ),
    ("accuracy over 100%", {**q(1), "accuracy": 150, "accuracy_is_percent": True}, {"Accuracy_validity"}),
    ("magnitude status", {**q(1), "magnitude_status": "<="}, set()),
    ("bad magnitude status", {**q(1), "magnitude_status": "<>"}, {"Magnitude_status_valid"}),
    (
        "normal status",
        {
            **q(1),
            "normal_status": {"terminology_id": {"value": "openehr_normal_statuses"}, "code_string": "HH"},
        },
        set(),
    ),
    (
        "bad normal status",
        {
            **q(1),
            "normal_status": {"terminology_id": {"value": "openehr_normal_statuses"}, "code_string": "X"},
        },
        {"Normal_status_validity"},
    ),
    ("empty reference ranges", {**q(1), "other_reference_ranges": []}, {"Other_reference_ranges_validity"}),
    # DV_INTERVAL
    ("interval", interval(q(1), q(2)), set()),
    ("interval reversed", interval(q(3), q(2)), {"Limits_consistent"}),
    ("interval units differ", interval(q(1, "kg"), q(2, "g")), {"Limits_comparable"}),
    (
        "interval of counts reversed",
        interval({"_type": "DV_COUNT", "magnitude": 200}, {"_type": "DV_COUNT", "magnitude": 100}),
        {"Limits_consistent"},
    ),
    (
        "interval of dates",
        interval({"_type": "DV_DATE", "value": "2020-01-01"}, {"_type": "DV_DATE", "value": "2021"}),
        set(),
    ),
    (
        "interval of date-times reversed",
        interval(
            {"_type": "DV_DATE_TIME", "value": "2021-01-01T10:00:00Z"},
            {"_type": "DV_DATE_TIME", "value": "2021-01-01T10:00:00+02:00"},
        ),
        {"Limits_consistent"},
    ),
    ("half-open interval", interval(q(1), None), set()),
    ("unbounded but included", interval(q(1), None, upper_included=True), {"Upper_included_valid"}),
    (
        "bounded without limit",
        {"_type": "DV_INTERVAL", "lower": q(1), "lower_unbounded": False, "upper_unbounded": False},
        {"Upper_unbounded_valid"},
    ),
    # text
    ("text", {"_type": "DV_TEXT", "value": "one line"}, set()),
    ("empty text", {"_type": "DV_TEXT", "value": ""}, {"Value_valid"}),
    ("text with newline", {"_type": "DV_TEXT", "value": "two\nlines"}, {"Value_valid"}),
    ("empty mappings", {"_type": "DV_TEXT", "value": "x", "mappings": []}, {"Mappings_valid"}),
    ("coded text", CODED, set()),
    (
        "empty code",
        {**CODED, "defining_code": {**CODE, "code_string": ""}},
        set(),
    ),  # on CODE_PHRASE, not here
    ("term mapping", {"_type": "TERM_MAPPING", "match": "=", "target": CODE}, set()),
    ("bad match", {"_type": "TERM_MAPPING", "match": "~", "target": CODE}, {"Match_valid"}),
    ("empty paragraph", {"_type": "DV_PARAGRAPH", "items": []}, {"Items_valid"}),
    ("empty identifier", {"_type": "DV_IDENTIFIER", "id": ""}, {"Id_valid"}),
    # date and time
    ("partial date", {"_type": "DV_DATE", "value": "2021"}, set()),
    ("year-month", {"_type": "DV_DATE", "value": "2021-03"}, set()),
    ("not a date", {"_type": "DV_DATE", "value": "2021-13-01"}, {"Value_valid"}),
    ("date-time", {"_type": "DV_DATE_TIME", "value": "2021-03-04T10:30:00.123+01:00"}, set()),
    ("date-time without zone", {"_type": "DV_DATE_TIME", "value": "2022-02-03T04:05:06.000"}, set()),
    ("not a date-time", {"_type": "DV_DATE_TIME", "value": "04.03.2021 10:30"}, {"Value_valid"}),
    ("time", {"_type": "DV_TIME", "value": "10:30:00Z"}, set()),
    ("not a time", {"_type": "DV_TIME", "value": "10:61"}, {"Value_valid"}),
    ("duration", {"_type": "DV_DURATION", "value": "P1Y2M3W4DT5H6M7.5S"}, set()),
    ("not a duration", {"_type": "DV_DURATION", "value": "1 hour"}, {"Value_valid"}),
    # encapsulated, URI, time specifications
    (
        "external multimedia",
        {"_type": "DV_MULTIMEDIA", "uri": {"value": "http://x/y.png"}, "media_type": CODE, "size": 3},
        set(),
    ),
    ("empty multimedia", {"_type": "DV_MULTIMEDIA", "media_type": CODE, "size": 3}, {"Not_empty"}),
    (
        "integrity without algorithm",
        {"_type": "DV_MULTIMEDIA", "data": "AAEC", "media_type": CODE, "size": 3, "integrity_check": "AAA="},
        {"Integrity_check_validity"},
    ),
    ("parsable", {"_type": "DV_PARSABLE", "value": "R3/PT8H", "formalism": "timing"}, set()),
    ("empty formalism", {"_type": "DV_PARSABLE", "value": "x", "formalism": ""}, {"Formalism_valid"}),
    ("ehr uri", {"_type": "DV_EHR_URI", "value": "ehr://abc/def"}, set()),
    ("ehr uri with http", {"_type": "DV_EHR_URI", "value": "http://abc"}, {"Scheme_valid"}),
    (
        "periodic time",
        {"_type": "DV_PERIODIC_TIME_SPECIFICATION", "value": {"value": "x", "formalism": "HL7:PIVL"}},
        set(),
    ),
    (
        "periodic time in GTS",
        {"_type": "DV_PERIODIC_TIME_SPECIFICATION", "value": {"value": "x", "formalism": "HL7:GTS"}},
        {"Value_valid"},
    ),
    # identifiers
    ("object version id", {"_type": "OBJECT_VERSION_ID", "value": f"{UUID}::sys.example.org::1"}, set()),
    ("branched version id", {"_type": "OBJECT_VERSION_ID", "value": f"{UUID}::sys::1.2.1"}, set()),
    ("version id without system", {"_type": "OBJECT_VERSION_ID", "value": UUID}, {"Value_valid"}),
    (
        "version id with bad version",
        {"_type": "OBJECT_VERSION_ID", "value": f"{UUID}::sys::v1"},
        {"Value_valid"},
    ),
    ("hier object id", {"_type": "HIER_OBJECT_ID", "value": UUID}, set()),
    ("oid with extension", {"_type": "HIER_OBJECT_ID", "value": "1.2.840.10008::x"}, set()),
    ("hier id not a uid", {"_type": "HIER_OBJECT_ID", "value": "__not a uid__"}, {"Root_valid"}),
    ("empty id", {"_type": "HIER_OBJECT_ID", "value": ""}, {"Value_exists"}),
    (
        "archetype id",
        {"_type": "ARCHETYPE_ID", "value": "openEHR-EHR-CLUSTER.device-specialised.v1.0.2"},
        set(),
    ),
    ("bad archetype id", {"_type": "ARCHETYPE_ID", "value": "openEHR-EHR-OBSERVATION.bp"}, {"Value_valid"}),
    ("terminology id", {"_type": "TERMINOLOGY_ID", "value": "SNOMED-CT(2003)"}, set()),
    ("bad terminology id", {"_type": "TERMINOLOGY_ID", "value": "SNOMED(CT)(2003)"}, {"Value_valid"}),
    (
        "party ref",
        {
            "_type": "PARTY_REF",
            "namespace": "demographic",
            "type": "PERSON",
            "id": {"_type": "HIER_OBJECT_ID", "value": UUID},
        },
        set(),
    ),
    (
        "party ref of a non-party",
        {"_type": "PARTY_REF", "namespace": "d", "type": "PATIENT"},
        {"Type_validity"},
    ),
    ("empty namespace", {"_type": "OBJECT_REF", "namespace": "", "type": "ANY"}, {"Namespace_exists"}),
    # structures and entries
    (
        "element with value",
        {"_type": "ELEMENT", "archetype_node_id": "at1", "name": TEXT, "value": VALUE},
        set(),
    ),
    (
        "null element",
        {"_type": "ELEMENT", "archetype_node_id": "at1", "name": TEXT, "null_flavour": CODED},
        set(),
    ),
    (
        "empty element",
        {"_type": "ELEMENT", "archetype_node_id": "at1", "name": TEXT},
        {"Inv_null_flavour_indicated"},
    ),
    (
        "value and null flavour",
        {
            "_type": "ELEMENT",
            "archetype_node_id": "at1",
            "name": TEXT,
            "value": VALUE,
            "null_flavour": CODED,
            "null_reason": TEXT,
        },
        {"Inv_is_null_valid", "Inv_null_reason_valid"},
    ),
    (
        "empty node id",
        {"_type": "ELEMENT", "archetype_node_id": "", "name": TEXT, "value": VALUE},
        {"Archetype_node_id_valid"},
    ),
    (
        "empty cluster",
        {"_type": "CLUSTER", "archetype_node_id": "at1", "name": TEXT, "items": []},
        {"Items_valid"},
    ),
    (
        "history without events",
        {"_type": "HISTORY", "archetype_node_id": "at1", "name": TEXT, "events": []},
        {"Events_valid"},
    ),
    (
        "entry without archetype details",
        {"_type": "EVALUATION", "archetype_node_id": "openEHR-EHR-EVALUATION.e.v1", "name": TEXT},
        {"Is_archetype_root"},
    ),
    (
        "entry at an archetype root",
        {
            "_type": "EVALUATION",
            "archetype_node_id": "openEHR-EHR-EVALUATION.e.v1",
            "name": TEXT,
            "archetype_details": ARCHETYPED,
        },
        set(),
    ),
    (
        "composition without content",
        {
            "_type": "COMPOSITION",
            "archetype_node_id": "a",
            "name": TEXT,
            "archetype_details": ARCHETYPED,
            "content": [],
        },
        {"Content_valid"},
    ),
    ("empty location", {"_type": "EVENT_CONTEXT", "location": ""}, {"Location_valid"}),
    ("anonymous party", {"_type": "PARTY_IDENTIFIED"}, {"Basic_validity"}),
    ("named party", {"_type": "PARTY_IDENTIFIED", "name": "Dr X"}, set()),
    ("empty contribution", {"_type": "CONTRIBUTION", "versions": []}, {"Versions_valid"}),
    (
        "first version with predecessor",
        {
            "_type": "ORIGINAL_VERSION",
            "uid": {"value": f"{UUID}::sys::1"},
            "preceding_version_uid": {"value": f"{UUID}::sys::1"},
        },
        {"Preceding_version_uid_validity"},
    ),
    (
        "second version without predecessor",
        {"_type": "ORIGINAL_VERSION", "uid": {"value": f"{UUID}::sys::2"}},
        {"Preceding_version_uid_validity"},
    ),
    (
        "ehr referring to the wrong types",
        {"_type": "EHR", "ehr_status": {"namespace": "local", "type": "VERSIONED_COMPOSITION"}},
        {"Ehr_status_valid"},
    ),
]


@pytest.mark.parametrize(("data", "expected"), [(d, e) for _, d, e in CASES], ids=[c[0] for c in CASES])
def test_invariant(data: dict[str, Any], expected: set[str]) -> None:
    assert names(data) == expected


def test_invariants_are_data_with_the_attribute() -> None:
    found = check(parse_json({"_type": "DV_PROPORTION", "numerator": 1, "denominator": 0, "type": 0}))
    assert found == [Invariant("Valid_denominator", "denominator must not be 0", "denominator")]


def test_check_does_not_descend_into_children() -> None:
    element = Element(archetype_node_id="at1", name=DvText(value=""), value=DvQuantity(magnitude=1, units=""))
    assert check(element) == []


def test_missing_mandatory_attributes_are_listed_in_field_order() -> None:
    obj = parse_json({"_type": "OBSERVATION", "name": {"value": "o"}})
    assert missing_mandatory(obj) == ["archetype_node_id", "language", "encoding", "subject", "data"]
    assert missing_mandatory(parse_json({"_type": "DV_TEXT", "value": "x"})) == []


@pytest.mark.parametrize(
    ("value", "valid"),
    [(UUID, True), ("1.2.840.113554.1", True), ("openEHRSys.example.com", True), ("3.x", False), ("", False)],
)
def test_uid_syntax(value: str, valid: bool) -> None:
    assert is_valid_uid(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2021", True),
        ("2021-03", True),
        ("2021-03-04", True),
        ("20210304", True),
        ("2020-02-29", True),
        ("2021-02-29", False),
        ("2021-3-4", False),
        ("21-03-04", False),
    ],
)
def test_iso8601_date(value: str, valid: bool) -> None:
    assert iso8601.is_valid_date(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("10", True),
        ("10:30", True),
        ("10:30:15", True),
        ("10:30:15,5", True),
        ("103015", True),
        ("24:00:00", True),
        ("10:30:15+05:30", True),
        ("10:30:15-0800", True),
        ("24:00:01", False),
        ("10:60", False),
        ("10:30:15+15:00", False),
        ("1030:15", False),
    ],
)
def test_iso8601_time(value: str, valid: bool) -> None:
    assert iso8601.is_valid_time(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2021-03-04T10:30:00Z", True),
        ("2021-03-04T10", True),
        ("2021-03-04", True),
        ("2021", True),
        ("20210304T103000", True),
        ("2021-03T10:00", False),
        ("2021-03-04 10:30:00", False),
        ("2021-03-04T", False),
    ],
)
def test_iso8601_date_time(value: str, valid: bool) -> None:
    assert iso8601.is_valid_date_time(value) is valid


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("PT0S", 0.0),
        ("PT1.5S", 1.5),
        ("PT1,5S", 1.5),
        ("P1W", 604800.0),
        ("P2DT1H", 176400.0),
        ("-PT1M", -60.0),
        ("P1Y", 365.24219 * 86400),
        ("P", None),
        ("PT", None),
        ("P1H", None),
        ("1D", None),
        ("P1DT", None),
    ],
)
def test_iso8601_duration(value: str, seconds: float | None) -> None:
    assert iso8601.duration_seconds(value) == (pytest.approx(seconds) if seconds is not None else None)
