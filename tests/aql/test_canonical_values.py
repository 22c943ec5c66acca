"""Values are stored in their canonical form (:mod:`cdr.formats.canonical_form`), so reads and AQL see one
lexical form whatever the client sent: ``+00:00`` as ``Z``, basic ISO 8601 as extended, DV_INTERVAL flags
filled. Data-driven over a composition, an EHR_STATUS and a FOLDER committed through the stores, on both
databases."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from aql.execute import execute
from cdr.storage import Audit, Storage
from tests.aql.cases.fixtures import DIALECTS, new_storage, postgres, postgres_engine  # noqa: F401

AUDIT = Audit.by("Kari Nordmann", "test")
OBS = "openEHR-EHR-OBSERVATION.canonical_values.v1"
FROM = f"FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[{OBS}]"
ITEMS = "o/data[at0001]/events[at0002]/data[at0003]/items"


def text(value: str) -> dict[str, Any]:
    return {"_type": "DV_TEXT", "value": value}


def element(node_id: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"_type": "ELEMENT", "archetype_node_id": node_id, "name": text(node_id), "value": value}


def count(n: int) -> dict[str, Any]:
    return {"_type": "DV_COUNT", "magnitude": n}


COMPOSITION: dict[str, Any] = {
    "_type": "COMPOSITION",
    "archetype_node_id": "openEHR-EHR-COMPOSITION.canonical_values.v1",
    "name": text("canonical values"),
    "archetype_details": {
        "_type": "ARCHETYPED",
        "archetype_id": {"_type": "ARCHETYPE_ID", "value": "openEHR-EHR-COMPOSITION.canonical_values.v1"},
        "template_id": {"_type": "TEMPLATE_ID", "value": "canonical_values"},
        "rm_version": "1.1.0",
    },
    "language": {
        "_type": "CODE_PHRASE",
        "terminology_id": {"_type": "TERMINOLOGY_ID", "value": "ISO_639-1"},
        "code_string": "en",
    },
    "territory": {
        "_type": "CODE_PHRASE",
        "terminology_id": {"_type": "TERMINOLOGY_ID", "value": "ISO_3166-1"},
        "code_string": "NO",
    },
    "category": {
        "_type": "DV_CODED_TEXT",
        "value": "event",
        "defining_code": {
            "_type": "CODE_PHRASE",
            "terminology_id": {"_type": "TERMINOLOGY_ID", "value": "openehr"},
            "code_string": "433",
        },
    },
    "composer": {"_type": "PARTY_SELF"},
    "context": {
        "_type": "EVENT_CONTEXT",
        "start_time": {"_type": "DV_DATE_TIME", "value": "20190128T080000+0000"},
        "setting": {
            "_type": "DV_CODED_TEXT",
            "value": "other care",
            "defining_code": {
                "_type": "CODE_PHRASE",
                "terminology_id": {"_type": "TERMINOLOGY_ID", "value": "openehr"},
                "code_string": "238",
            },
        },
    },
    "content": [
        {
            "_type": "OBSERVATION",
            "archetype_node_id": OBS,
            "name": text("obs"),
            "language": {
                "_type": "CODE_PHRASE",
                "terminology_id": {"_type": "TERMINOLOGY_ID", "value": "ISO_639-1"},
                "code_string": "en",
            },
            "encoding": {
                "_type": "CODE_PHRASE",
                "terminology_id": {"_type": "TERMINOLOGY_ID", "value": "IANA_character-sets"},
                "code_string": "UTF-8",
            },
            "subject": {"_type": "PARTY_SELF"},
            "data": {
                "_type": "HISTORY",
                "archetype_node_id": "at0001",
                "name": text("history"),
                "origin": {"_type": "DV_DATE_TIME", "value": "2019-01-28T21:22:49.332+00:00"},
                "events": [
                    {
                        "_type": "POINT_EVENT",
                        "archetype_node_id": "at0002",
                        "name": text("event"),
                        "time": {"_type": "DV_DATE_TIME", "value": "2019-01-28T21:22:49.332+00:00"},
                        "data": {
                            "_type": "ITEM_TREE",
                            "archetype_node_id": "at0003",
                            "name": text("tree"),
                            "items": [
                                element("at0004", {"_type": "DV_DATE", "value": "20190114"}),
                                element("at0005", {"_type": "DV_TIME", "value": "102030.5+0000"}),
                                element(
                                    "at0006", {"_type": "DV_DATE_TIME", "value": "20190128T212249,426-0130"}
                                ),
                                element(
                                    "at0007",
                                    {
                                        "_type": "DV_INTERVAL",
                                        "lower": count(1),
                                        "upper": count(8),
                                        "lower_unbounded": False,
                                        "upper_unbounded": False,
                                    },
                                ),
                                element(
                                    "at0008",
                                    {
                                        "_type": "DV_INTERVAL",
                                        "lower": {
                                            "_type": "DV_DATE_TIME",
                                            "value": "2019-01-28T21:22:49+00:00",
                                        },
                                    },
                                ),
                                element("at0009", {"_type": "DV_TEXT", "value": "20190114"}),
                            ],
                        },
                    }
                ],
            },
        }
    ],
}

COUNT_INTERVAL = {
    "_type": "DV_INTERVAL",
    "lower": count(1),
    "upper": count(8),
    "lower_included": True,
    "upper_included": True,
    "lower_unbounded": False,
    "upper_unbounded": False,
}

# (name, query, expected rows): what a client sees after committing COMPOSITION
CASES: list[tuple[str, str, list[list[Any]]]] = [
    ("basic date as extended", f"SELECT {ITEMS}[at0004]/value/value {FROM}", [["2019-01-14"]]),
    ("basic time, zero offset as Z", f"SELECT {ITEMS}[at0005]/value/value {FROM}", [["10:20:30.5Z"]]),
    (
        "basic date-time, comma fraction, offset with colon",
        f"SELECT {ITEMS}[at0006]/value/value {FROM}",
        [["2019-01-28T21:22:49.426-01:30"]],
    ),
    ("interval flags filled", f"SELECT {ITEMS}[at0007]/value {FROM}", [[COUNT_INTERVAL]]),
    (
        "half-open interval of date-times",
        f"SELECT {ITEMS}[at0008]/value {FROM}",
        [
            [
                {
                    "_type": "DV_INTERVAL",
                    "lower": {"_type": "DV_DATE_TIME", "value": "2019-01-28T21:22:49Z"},
                    "lower_included": True,
                    "lower_unbounded": False,
                    "upper_unbounded": True,
                }
            ]
        ],
    ),
    ("text that looks like a date stays text", f"SELECT {ITEMS}[at0009]/value/value {FROM}", [["20190114"]]),
    ("event context start time", f"SELECT c/context/start_time/value {FROM}", [["2019-01-28T08:00:00Z"]]),
    ("history origin", f"SELECT o/data[at0001]/origin/value {FROM}", [["2019-01-28T21:22:49.332Z"]]),
    (
        "WHERE on the canonical text of a DV_TIME",
        f"SELECT {ITEMS}[at0005]/value/value {FROM} WHERE {ITEMS}[at0005]/value/value = '10:20:30.5Z'",
        [["10:20:30.5Z"]],
    ),
    (
        "WHERE on the canonical text of a DV_DATE",
        f"SELECT {ITEMS}[at0004]/value/value {FROM} WHERE {ITEMS}[at0004]/value/value LIKE '2019-01-*'",
        [["2019-01-14"]],
    ),
    (
        "WHERE on an interval flag that was filled",
        f"SELECT {ITEMS}[at0007]/value/lower/magnitude {FROM} "
        f"WHERE {ITEMS}[at0007]/value/lower_included = true",
        [[1]],
    ),
]


@pytest.mark.parametrize(("name", "query", "rows"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dialect", DIALECTS)
def test_committed_values_are_canonical(
    dialect: str,
    name: str,
    query: str,
    rows: list[list[Any]],
    new_storage: Callable[[str], Storage],  # noqa: F811
) -> None:
    storage = new_storage(dialect)
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    storage.compositions.create(ehr_id, COMPOSITION, AUDIT)
    assert json.loads(json.dumps(execute(storage, query).rows)) == rows


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_versioned_kind_is_stored_canonical(
    dialect: str,
    new_storage: Callable[[str], Storage],  # noqa: F811
) -> None:
    storage = new_storage(dialect)
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    record = storage.compositions.create(ehr_id, COMPOSITION, AUDIT)
    stored = storage.compositions.get(ehr_id, record.uid).data or {}
    assert stored["context"]["start_time"]["value"] == "2019-01-28T08:00:00Z"
    assert COMPOSITION["context"]["start_time"]["value"] == "20190128T080000+0000"  # the input is untouched

    status = {
        "_type": "EHR_STATUS",
        "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
        "name": text("EHR Status"),
        "subject": {"_type": "PARTY_SELF"},
        "is_queryable": True,
        "is_modifiable": True,
        "other_details": {
            "_type": "ITEM_TREE",
            "archetype_node_id": "at0001",
            "name": text("details"),
            "items": [element("at0002", {"_type": "DV_DATE_TIME", "value": "20200229T1200+00"})],
        },
    }
    current = storage.ehr_status.current(ehr_id)
    status_record = storage.ehr_status.update(ehr_id, current.uid, status, AUDIT)
    assert (status_record.data or {})["other_details"]["items"][0]["value"]["value"] == "2020-02-29T12:00Z"
    rows = execute(
        storage,
        "SELECT s/other_details/items[at0002]/value/value FROM EHR e CONTAINS EHR_STATUS s "
        "WHERE e/ehr_id/value = $id",
        {"id": str(ehr_id)},
    ).rows
    assert rows == [["2020-02-29T12:00Z"]]

    folder = {
        "_type": "FOLDER",
        "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1",
        "name": text("root"),
        "details": {
            "_type": "ITEM_TREE",
            "archetype_node_id": "at0001",
            "name": text("details"),
            "items": [element("at0002", {"_type": "DV_DATE", "value": "20200229"})],
        },
    }
    folder_record = storage.directory.create(ehr_id, folder, AUDIT)
    rows = execute(
        storage,
        "SELECT f/details/items[at0002]/value/value FROM EHR e CONTAINS FOLDER f WHERE e/ehr_id/value = $id",
        {"id": str(ehr_id)},
    ).rows
    assert rows == [["2020-02-29"]]
    folder_data = storage.directory.get(ehr_id, folder_record.uid).data or {}
    assert folder_data["details"]["items"][0]["value"] == {
        "_type": "DV_DATE",
        "value": "2020-02-29",
    }
