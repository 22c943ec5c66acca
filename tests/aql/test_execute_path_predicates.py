"""Predicates inside identified paths, on SQLite and PostgreSQL.

A predicate on the variable (``o[name/value='x']/data/...``, AQL 1.1 "Identified Paths": "a data item at a
path within an object satisfying the predicate") leaves the item NULL where the variable's object does not
satisfy it, as a path that reaches nothing; in WHERE that makes comparisons false and EXISTS untrue. The
same holds for a standard predicate on a step that is no node row of its own (a non-LOCATABLE object in the
JSON, a column of an EHR or VERSION row): the item is reached through objects that satisfy it; on a list,
only the satisfying elements give rows. A node id or name on a non-LOCATABLE is not AQL (a 400).

Data: the ``conformance`` set of ``cases/own_cases.json``: five ``conformance_observation`` OBSERVATIONs
(two with a magnitude at ``items[at0008]``, 22 and 82) and one ``blood_pressure`` named "Blood pressure";
two compositions, ``conformance-ehrbase.de.v0`` (setting "other care", one more version) and
``aql-conformance-ehrbase.org.v0`` (setting "home")."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from aql.errors import AqlError, AqlSemanticError
from aql.execute import execute
from cdr.storage import Storage
from tests.aql.cases.ehrbase import Loader, Suite
from tests.aql.cases.fixtures import (  # noqa: F401
    DIALECTS,
    ehrbase_data,
    new_storage,
    postgres,
    postgres_engine,
)
from tests.aql.test_execute_cases import load

CONFORMANCE = "openEHR-EHR-OBSERVATION.conformance_observation.v0"
BLOOD_PRESSURE = "openEHR-EHR-OBSERVATION.blood_pressure.v2"
MAGNITUDE = "data[at0001]/events[at0002]/data[at0003]/items[at0008]/value/magnitude"

CASES: list[tuple[str, str, list[list[Any]]]] = [
    (
        "archetype predicate on the variable in SELECT",
        f"SELECT o[{CONFORMANCE}]/name/value, o/name/value FROM OBSERVATION o",
        [["Conformance Observation", "Conformance Observation"]] * 5 + [[None, "Blood pressure"]],
    ),
    (
        "name/value predicate on the variable",
        "SELECT o[name/value='Blood pressure']/archetype_node_id FROM OBSERVATION o",
        [[None]] * 5 + [[BLOOD_PRESSURE]],
    ),
    (
        "archetype id and name shortcut, whole object in EXISTS",
        f"SELECT o/archetype_node_id FROM OBSERVATION o WHERE EXISTS o[{BLOOD_PRESSURE}, 'Blood pressure']",
        [[BLOOD_PRESSURE]],
    ),
    (
        "the name shortcut must match too",
        f"SELECT o/archetype_node_id FROM OBSERVATION o WHERE EXISTS o[{BLOOD_PRESSURE}, 'Other name']",
        [],
    ),
    (
        "at-code predicate on an ELEMENT variable",
        "SELECT el[at0008]/value/magnitude FROM ELEMENT el WHERE el[at0008]/value/magnitude > 0",
        [[22.0], [82.0]],
    ),
    (
        "in WHERE: the typed leaf column, guarded",
        f"SELECT o/name/value FROM OBSERVATION o WHERE o[{CONFORMANCE}]/{MAGNITUDE} > 50",
        [["Conformance Observation"]],
    ),
    (
        "in WHERE: no item where the predicate fails",
        f"SELECT o/name/value FROM OBSERVATION o WHERE o[{BLOOD_PRESSURE}]/{MAGNITUDE} > 0",
        [],
    ),
    (
        "a general criterion relative to the variable",
        f"SELECT o[{MAGNITUDE} > 50]/name/value FROM OBSERVATION o WHERE EXISTS o[{MAGNITUDE} > 50]",
        [["Conformance Observation"]],
    ),
    (
        "COUNT counts only the objects that satisfy it",
        f"SELECT COUNT(o[{CONFORMANCE}]/name/value), COUNT(o[{BLOOD_PRESSURE}]) FROM OBSERVATION o",
        [[5, 1]],
    ),
    (
        "NOT EXISTS of a predicated variable",
        "SELECT c/name/value FROM COMPOSITION c WHERE NOT EXISTS c[name/value='conformance-ehrbase.de.v0']",
        [["aql-conformance-ehrbase.org.v0"]],
    ),
    (
        "ORDER BY a predicated path (NULLs last)",
        "SELECT c/name/value FROM COMPOSITION c "
        "ORDER BY c[name/value='aql-conformance-ehrbase.org.v0']/context/setting/value",
        [["aql-conformance-ehrbase.org.v0"], ["conformance-ehrbase.de.v0"]],
    ),
    (
        "a standard predicate on a VERSION variable",
        "SELECT v[commit_audit/change_type/value='creation']/commit_audit/change_type/value, c/name/value "
        "FROM VERSION v[ALL_VERSIONS] CONTAINS COMPOSITION c",
        [
            ["creation", "conformance-ehrbase.de.v0"],
            [None, "conformance-ehrbase.de.v0"],
            ["creation", "aql-conformance-ehrbase.org.v0"],
        ],
    ),
    (
        "a standard predicate on an EHR variable, whole EHR",
        "SELECT e[ehr_id/value='00000000-0000-0000-0000-000000000000'] FROM EHR e",
        [[None]],
    ),
]


# predicates on steps inside a node's JSON (non-LOCATABLE objects): standard predicates, relative to the
# object at the step; on a list (one row per element) the elements that satisfy it, one NULL row if none
CASES += [
    (
        "a list element by a criterion: only the matching element's row",
        "SELECT o/other_participations[function/value='performer']/performer/name, o/name/value "
        "FROM OBSERVATION o",
        [["Lara Markham", "Conformance Observation"]]
        + [[None, "Conformance Observation"]] * 4
        + [[None, "Blood pressure"]],
    ),
    (
        "a list element by a criterion in WHERE",
        "SELECT o/name/value FROM OBSERVATION o "
        "WHERE o/other_participations[function/value='performer']/performer/name = 'Lara Markham'",
        [["Conformance Observation"]],
    ),
    (
        "COUNT of a list element by a negated criterion",
        "SELECT COUNT(o/other_participations[function/value!='performer']/performer/name) FROM OBSERVATION o",
        [[1]],
    ),
    (
        "context participations by function",
        "SELECT c/context/participations[function/value='requester']/performer/name, c/name/value "
        "FROM COMPOSITION c",
        [["Dr. Marcus Johnson", "conformance-ehrbase.de.v0"], [None, "aql-conformance-ehrbase.org.v0"]],
    ),
    (
        "a single object by its code",
        "SELECT c/category[defining_code/code_string='431']/value, "
        "c/category[defining_code/code_string='433']/value "
        "FROM COMPOSITION c",
        [[None, "event"], [None, "event"]],
    ),
    (
        "a single object by a date-time criterion",
        "SELECT c/context[start_time/value > '2000-01-01T00:00:00Z']/setting/value, "
        "c/context[start_time/value > '2100-01-01T00:00:00Z']/setting/value FROM COMPOSITION c",
        [["other care", None], ["home", None]],
    ),
]

# predicates on the steps of EHR and VERSION paths (their rows' columns and root nodes)
CASES += [
    (
        "a VERSION's commit_audit by change type",
        "SELECT v/commit_audit[change_type/value='creation']/change_type/value, "
        "v/commit_audit/change_type/value FROM VERSION v[ALL_VERSIONS] CONTAINS COMPOSITION c",
        [["creation", "creation"], [None, "modification"], ["creation", "creation"]],
    ),
    (
        "a VERSION's data by archetype id",
        "SELECT v/data[openEHR-EHR-COMPOSITION.conformance_composition_.v0]/name/value, "
        "v/data[openEHR-EHR-COMPOSITION.other.v0]/name/value FROM VERSION v CONTAINS COMPOSITION c",
        [["conformance-ehrbase.de.v0", None], ["aql-conformance-ehrbase.org.v0", None]],
    ),
    (
        "an EHR's ehr_status by name and archetype id",
        "SELECT e/ehr_status[name/value='nope']/name/value, "
        "e/ehr_status[openEHR-EHR-EHR_STATUS.generic.v1, 'EHR Status']/archetype_node_id FROM EHR e",
        [[None, "openEHR-EHR-EHR_STATUS.generic.v1"]],
    ),
]


@pytest.mark.parametrize(("name", "query", "rows"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dialect", DIALECTS)
def test_path_predicates(
    dialect: str,
    name: str,
    query: str,
    rows: list[list[Any]],
    new_storage: Callable[[str], Storage],  # noqa: F811
) -> None:
    storage = new_storage(dialect)
    load(storage, "conformance")
    result = json.loads(json.dumps(execute(storage, query).rows))
    if "ORDER BY" in query:
        assert result == rows
    else:
        assert sorted(map(json.dumps, result)) == sorted(map(json.dumps, rows))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_predicated_ehr_keeps_its_object(dialect: str, new_storage: Callable[[str], Storage]) -> None:  # noqa: F811
    storage = new_storage(dialect)
    load(storage, "conformance")
    (row,) = execute(
        storage, "SELECT e[ehr_id/value!='00000000-0000-0000-0000-000000000000'] FROM EHR e"
    ).rows
    assert row[0]["_type"] == "EHR"


CHOICE = [
    {"action": "upload_opt", "file": "aql/data_load/opts/choice_ehrbase.de.v0.opt"},
    {"action": "create_ehr", "args": []},
    {
        "action": "commit_composition",
        "file": "aql/data_load/compositions/choice_ehrbase.de.v0.json",
        "format": "CANONICAL_JSON",
    },
]
"""One composition with an other_context (setting 225 "home"; items at0002 "Report ID", at0005 "Status")."""

HOME = "c/context[setting/defining_code/code_string='225']/other_context[at0001]/items[at0002]/name/value"
OTHER_CARE = (
    "c/context[setting/defining_code/code_string='238']/other_context[at0001]/items[at0002]/name/value"
)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_predicate_on_a_step_before_a_locatable(
    dialect: str,
    new_storage: Callable[[str], Storage],  # noqa: F811
) -> None:
    """``c/context[...]/other_context[at0001]/...``: the predicate on EVENT_CONTEXT (read from the
    composition's JSON) decides whether the ITEM_TREE below it is reached."""
    storage = new_storage(dialect)
    Loader(
        Suite({"suite": "OWN/choice.robot", "setup": CHOICE}, ehrbase_data() / "test_data_sets"), storage
    ).run()
    assert execute(storage, f"SELECT {HOME}, {OTHER_CARE} FROM COMPOSITION c").rows == [["Report ID", None]]
    where = f"SELECT c/name/value FROM COMPOSITION c WHERE {HOME} = 'Report ID'"
    assert execute(storage, where).rows == [["choice_ehrbase.de.v0"]]
    assert execute(storage, f"SELECT c/name/value FROM COMPOSITION c WHERE EXISTS {OTHER_CARE}").rows == []


@pytest.mark.parametrize(
    ("query", "error", "message"),
    [
        (
            "SELECT cx[at0001]/start_time FROM EVENT_CONTEXT cx",
            AqlSemanticError,
            "EVENT_CONTEXT is not LOCATABLE",
        ),
        ("SELECT e[at0001]/ehr_id/value FROM EHR e", AqlSemanticError, "EHR is not LOCATABLE"),
        (
            "SELECT cx/start_time FROM EVENT_CONTEXT cx[at0001]",
            AqlSemanticError,
            "EVENT_CONTEXT is not LOCATABLE",
        ),
        ("SELECT e/ehr_id/value FROM EHR e[at0001]", AqlSemanticError, "EHR is not LOCATABLE"),
        (
            "SELECT c/category[at0001]/value FROM COMPOSITION c",
            AqlSemanticError,
            "DV_CODED_TEXT is not LOCATABLE",
        ),
        (
            "SELECT v/commit_audit[at0001]/system_id FROM VERSION v",
            AqlSemanticError,
            "commit_audit is not LOCATABLE",
        ),
        (
            "SELECT o/other_participations[at0001]/mode FROM OBSERVATION o",
            AqlSemanticError,
            "PARTICIPATION is not LOCATABLE",
        ),
    ],
)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_path_predicate_refusals(
    dialect: str,
    query: str,
    error: type[AqlError],
    message: str,
    new_storage: Callable[[str], Storage],  # noqa: F811
) -> None:
    storage = new_storage(dialect)
    with pytest.raises(error, match=message):
        execute(storage, query)
