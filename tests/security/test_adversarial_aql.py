"""Adversarial AQL through the REST API on SQLite and PostgreSQL: SQL injection through string literals,
``$parameters`` (scalars and lists), archetype path predicates and name/value predicates; and another
patient's data through every query shape (plain rows, CONTAINS, COUNT and other aggregates, EXISTS,
ORDER BY/LIMIT, an ``ehr_id`` parameter), which the query service's ``sql_filter`` scope must hide.

Each injection is checked against a control: the same query with an honest value returns rows, so an empty
answer to the injected one means the payload was taken as data, not that the query could not match.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.test import TestResponse

from cdr.storage import Storage
from tests.api.conftest import assert_error
from tests.security.conftest import SigningKey
from tests.security.test_adversarial import World, make_app, row_counts
from tests.storage.conftest import engine, postgres, postgres_engine  # noqa: F401  (fixtures, both dialects)

NAME = "Kommunale vitalparametre og NEWS2"
BP = "openEHR-EHR-OBSERVATION.blood_pressure.v2"
PAYLOADS = [
    "' OR '1'='1",
    "x' OR 1=1 --",
    "x'; DROP TABLE ehr; --",
    "x'); DELETE FROM audit_event; --",
    "' UNION SELECT ehr_id FROM ehr --",
    "x\\' OR 1=1 --",
    'x" OR "1"="1',
    "%",
    "nul\x00byte",  # PostgreSQL text cannot hold NUL: a 400, not a driver error
]


@pytest.fixture
def storage(engine: sa.Engine) -> Storage:  # noqa: F811
    return Storage(engine, system_id="test.cdr")


@pytest.fixture
def app(storage: Storage, jwks_file: Any) -> Flask:
    return make_app(storage, jwks_file)


@pytest.fixture
def world(app: Flask, rsa_key: SigningKey) -> World:
    return World(app, rsa_key)


def aql(
    world: World, q: str, params: dict[str, Any] | None = None, who: dict[str, str] | None = None
) -> TestResponse:
    body: dict[str, Any] = {"q": q}
    if params is not None:
        body["query_parameters"] = params
    return world.call("POST", "/query/aql", who or world.nurse, json=body)


def rows(response: TestResponse) -> list[list[Any]]:
    assert response.status_code == 200, response.json
    found: list[list[Any]] = response.json["rows"]
    return found


def _aql_string(text: str) -> str:
    """``text`` as an AQL single-quoted literal (a quote doubled is how a value may contain one)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --- SQL injection -----------------------------------------------------------------------------------------

QUERIES = {
    "string literal, escaped": (
        "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c WHERE c/name/value = {literal}",
        None,
    ),
    "scalar parameter": (
        "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c WHERE c/name/value = $v",
        "scalar",
    ),
    "list parameter": (
        "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c WHERE c/name/value MATCHES {$v}",
        "list",
    ),
    "LIKE pattern parameter": (
        "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c WHERE c/name/value LIKE $v",
        "scalar",
    ),
    "archetype path predicate": (
        "SELECT o/uid/value FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[{raw}]",
        None,
    ),
    "name/value predicate": (
        "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c[name/value={literal}]",
        None,
    ),
    "name/value predicate parameter": (
        "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c[name/value=$v]",
        "scalar",
    ),
    "path predicate in SELECT": (
        "SELECT c/content[{raw}]/uid/value FROM EHR e CONTAINS COMPOSITION c",
        None,
    ),
}
HONEST = {"archetype path predicate": BP, "path predicate in SELECT": BP}


def _build(kind: str, value: str) -> tuple[str, dict[str, Any] | None]:
    template, param = QUERIES[kind]
    q = template.replace("{raw}", value).replace("{literal}", _aql_string(value))
    if param is None:
        return q, None
    return q, {"v": [value, "nothing"] if param == "list" else value}


@pytest.mark.parametrize("kind", sorted(QUERIES))
def test_sql_injection_through_aql(world: World, kind: str) -> None:
    db = world.app.extensions["cdr"].storage.engine
    honest = HONEST.get(kind, NAME)
    control = aql(world, *_build(kind, honest))
    assert rows(control), f"the honest {kind} query finds nothing, so the test could not tell"
    before = row_counts(db, audit=False)
    for payload in PAYLOADS:
        if kind.startswith("LIKE") and payload == "%":
            continue  # a wildcard in a LIKE pattern is the pattern's meaning, not an injection
        response = aql(world, *_build(kind, payload))
        # refused as a syntax or semantic error, or run with the payload as data: never a 500, never rows
        assert response.status_code in (200, 400, 422), (kind, payload, response.status_code)
        if response.status_code == 200:
            assert response.json["rows"] in ([], [[None]], [[None]] * len(rows(control))), (kind, payload)
        else:
            assert_error(response, response.status_code)
    assert row_counts(db, audit=False) == before
    assert rows(aql(world, *_build(kind, honest))) == rows(control)  # nothing dropped, nothing changed


def test_parameters_of_every_json_type_are_bound(world: World) -> None:
    """Numbers, booleans, nulls, objects and nested lists as ``$v``: bound or refused, never spliced."""
    q = "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c WHERE c/name/value = $v"
    for value in (1, 1.5, True, None, {"a": "' OR '1'='1"}, [["' OR '1'='1"]], "\x00", "a" * 10_000):
        response = aql(world, q, {"v": value})
        assert response.status_code in (200, 400, 422), (value, response.status_code)
        if response.status_code == 200:
            assert response.json["rows"] == [], value


def test_parameter_names_cannot_inject(world: World) -> None:
    q = "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c WHERE c/name/value = $v"
    response = aql(world, q, {"v": "nothing", "v' OR '1'='1": NAME, "1=1; --": NAME})
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 200:
        assert response.json["rows"] == []


# --- another patient's data through AQL ---------------------------------------------------------------------

SHAPES = {
    "plain rows": "SELECT e/ehr_id/value, c/uid/value FROM EHR e CONTAINS COMPOSITION c",
    "CONTAINS an observation": (
        "SELECT e/ehr_id/value, o/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value/magnitude "
        f"FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[{BP}]"
    ),
    "EHR only": "SELECT e/ehr_id/value FROM EHR e",
    "EHR_STATUS subject": (
        "SELECT e/ehr_id/value, s/subject/external_ref/id/value FROM EHR e CONTAINS EHR_STATUS s"
    ),
    "ORDER BY and LIMIT": (
        "SELECT e/ehr_id/value, c/uid/value FROM EHR e CONTAINS COMPOSITION c "
        "ORDER BY c/context/start_time/value DESC LIMIT 10"
    ),
    "EXISTS": "SELECT e/ehr_id/value FROM EHR e CONTAINS COMPOSITION c WHERE EXISTS c/content",
    "WHERE on the other EHR id": "SELECT e/ehr_id/value, c/uid/value FROM EHR e CONTAINS COMPOSITION c "
    "WHERE e/ehr_id/value = $theirs",
}
AGGREGATES = {
    "COUNT": ("SELECT COUNT(c/uid/value) FROM EHR e CONTAINS COMPOSITION c", 2),
    "COUNT DISTINCT EHRs": ("SELECT COUNT(DISTINCT e/ehr_id/value) FROM EHR e", 1),
    "MAX": (
        "SELECT MAX(c/context/start_time/value), MIN(c/context/start_time/value) "
        "FROM EHR e CONTAINS COMPOSITION c WHERE e/ehr_id/value = $theirs",
        None,
    ),
}


def _leaks(world: World, response: TestResponse) -> bool:
    if response.status_code in (400, 403, 422):
        return False
    text = json.dumps(rows(response))
    theirs = world.theirs
    return theirs.ehr_id in text or theirs.object_id in text or "01019010046" in text


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_another_patients_data_is_not_in_any_query_shape(world: World, shape: str) -> None:
    q = SHAPES[shape]
    params = {"theirs": world.theirs.ehr_id} if "$theirs" in q else None
    assert not _leaks(world, aql(world, q, params)), shape
    # the same shape about the nurse's own patient finds them (the control)
    mine = aql(world, q, {"theirs": world.mine.ehr_id} if params else None)
    assert world.mine.ehr_id in json.dumps(rows(mine)), shape


@pytest.mark.parametrize("name", sorted(AGGREGATES))
def test_aggregates_count_only_readable_ehrs(world: World, name: str) -> None:
    q, expected = AGGREGATES[name]
    params = {"theirs": world.theirs.ehr_id} if "$theirs" in q else None
    answer = rows(aql(world, q, params))
    if expected is None:
        assert answer in ([], [[None, None]]), answer  # nothing of theirs to take a maximum of
    else:
        assert answer == [[expected]], answer  # one readable EHR (two compositions), not both EHRs


def test_an_ehr_id_parameter_does_not_open_another_ehr(world: World) -> None:
    """``ehr_id`` on the request names the EHR a query is about; naming one without a basis gives nothing
    (or 403), never its rows."""
    q = "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c"
    theirs = world.theirs.ehr_id
    for method, kwargs in (
        ("GET", {"query_string": {"q": q, "ehr_id": theirs}}),
        ("POST", {"json": {"q": q, "query_parameters": {"ehr_id": theirs}}}),
        ("POST", {"json": {"q": q}, "headers": {"openEHR-EHR-id": theirs}}),
    ):
        response = world.call(method, "/query/aql", world.nurse, **kwargs)
        assert not _leaks(world, response), kwargs


def test_a_patient_token_cannot_query(world: World) -> None:
    """Without the query scope a patient cannot run AQL at all (their own record is theirs through REST)."""
    assert_error(aql(world, SHAPES["plain rows"], who=world.patient), 403)


def test_a_researcher_sees_no_identified_rows(world: World) -> None:
    """A researcher's query scope is empty until de-identified queries exist (docs/security.md)."""
    answer = aql(world, SHAPES["plain rows"], who=world.token(["cdr/research", "cdr/query"]))
    assert answer.status_code == 403 or rows(answer) == []
