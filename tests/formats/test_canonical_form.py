"""The canonical form of stored data: temporal values in extended ISO 8601, DV_INTERVAL flags filled."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cdr.formats.canonical_form import canonical_form
from cdr.formats.canonical_json import parse_json, to_json


def element(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "_type": "ELEMENT",
        "archetype_node_id": "at0001",
        "name": {"_type": "DV_TEXT", "value": "x"},
        "value": value,
    }


def count(n: int) -> dict[str, Any]:
    return {"_type": "DV_COUNT", "magnitude": n}


CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "date-time zero offset",
        {"_type": "DV_DATE_TIME", "value": "2019-01-28T21:22:49.426+00:00"},
        {"_type": "DV_DATE_TIME", "value": "2019-01-28T21:22:49.426Z"},
    ),
    (
        "time with a negative zero offset, and an hour-only offset",
        {"_type": "DV_TIME", "value": "10:20:30-00:00"},
        {"_type": "DV_TIME", "value": "10:20:30Z"},
    ),
    (
        "date-time with an hour-only offset",
        {"_type": "DV_DATE_TIME", "value": "2019-01-28T21:22+01"},
        {"_type": "DV_DATE_TIME", "value": "2019-01-28T21:22+01:00"},
    ),
    (
        "extended values stay as they are",
        {"_type": "DV_DATE_TIME", "value": "2019-01-28T21:22:49.4260-05:30"},
        {"_type": "DV_DATE_TIME", "value": "2019-01-28T21:22:49.4260-05:30"},
    ),
    (
        "date basic",
        {"_type": "DV_DATE", "value": "20190114"},
        {"_type": "DV_DATE", "value": "2019-01-14"},
    ),
    (
        "time basic with offset",
        {"_type": "DV_TIME", "value": "102030+0100"},
        {"_type": "DV_TIME", "value": "10:20:30+01:00"},
    ),
    (
        "invalid date-time left for the validator",
        {"_type": "DV_DATE_TIME", "value": "yesterday"},
        {"_type": "DV_DATE_TIME", "value": "yesterday"},
    ),
    (
        "interval: flags filled from the limits",
        {"_type": "DV_INTERVAL", "lower": count(1), "upper": count(2)},
        {
            "_type": "DV_INTERVAL",
            "lower": count(1),
            "upper": count(2),
            "lower_included": True,
            "upper_included": True,
            "lower_unbounded": False,
            "upper_unbounded": False,
        },
    ),
    (
        "interval: an absent limit is unbounded, and gets no included flag",
        {"_type": "DV_INTERVAL", "upper": count(2), "upper_unbounded": False},
        {
            "_type": "DV_INTERVAL",
            "upper": count(2),
            "upper_included": True,
            "lower_unbounded": True,
            "upper_unbounded": False,
        },
    ),
    (
        "interval: flags sent are kept",
        {
            "_type": "DV_INTERVAL",
            "lower": count(1),
            "lower_included": False,
            "lower_unbounded": False,
            "upper_unbounded": True,
        },
        {
            "_type": "DV_INTERVAL",
            "lower": count(1),
            "lower_included": False,
            "lower_unbounded": False,
            "upper_unbounded": True,
        },
    ),
    (
        "interval of date-times: the limits too",
        {
            "_type": "DV_INTERVAL",
            "lower": {"_type": "DV_DATE_TIME", "value": "20190128T212249+00:00"},
            "lower_unbounded": False,
            "upper_unbounded": True,
        },
        {
            "_type": "DV_INTERVAL",
            "lower": {"_type": "DV_DATE_TIME", "value": "2019-01-28T21:22:49Z"},
            "lower_included": True,
            "lower_unbounded": False,
            "upper_unbounded": True,
        },
    ),
    (
        "normal range of a quantity",
        {
            "_type": "DV_QUANTITY",
            "magnitude": 5.0,
            "units": "mg",
            "normal_range": {"_type": "DV_INTERVAL", "lower": count(1), "upper": count(9)},
        },
        {
            "_type": "DV_QUANTITY",
            "magnitude": 5.0,
            "units": "mg",
            "normal_range": {
                "_type": "DV_INTERVAL",
                "lower": count(1),
                "upper": count(9),
                "lower_included": True,
                "upper_included": True,
                "lower_unbounded": False,
                "upper_unbounded": False,
            },
        },
    ),
]


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_value_in_an_element(value: dict[str, Any], expected: dict[str, Any]) -> None:
    doc = element(value)
    before = copy.deepcopy(doc)
    assert canonical_form(doc) == element(expected)
    assert doc == before  # the argument is never changed


def test_lists_and_nesting() -> None:
    doc = {
        "_type": "CLUSTER",
        "archetype_node_id": "at0000",
        "name": {"_type": "DV_TEXT", "value": "c"},
        "items": [
            element({"_type": "DV_TEXT", "value": "20190114"}),  # text, not a date: unchanged
            element({"_type": "DV_DATE", "value": "20190114"}),
        ],
    }
    out = canonical_form(doc)
    assert out["items"][0] is doc["items"][0]
    assert out["items"][1]["value"] == {"_type": "DV_DATE", "value": "2019-01-14"}


def test_canonical_data_is_returned_as_it_is() -> None:
    doc = element({"_type": "DV_DATE_TIME", "value": "2019-01-28T21:22:49Z"})
    assert canonical_form(doc) is doc
    assert canonical_form(canonical_form(element(CASES[0][1]))) == element(CASES[0][2])


def test_rm_object_reads_back_canonical() -> None:
    """The canonical form is still canonical JSON of the same RM type."""
    doc = element(CASES[7][1])
    out = canonical_form(doc)
    assert to_json(parse_json(out)) == out
