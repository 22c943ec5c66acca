"""Stored queries on SQLite and PostgreSQL: ``PUT/GET /definition/query/{name}[/{version}]`` (SemVer, prefix
resolution to the latest match, 409 for an existing version, listing) and running them with
``GET|POST /query/{name}[/{version}]``."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import TestResponse

from tests.api.conftest import Api, assert_error

NAME = "org.openehr.abcd::compositions"
AQL = "SELECT c/uid/value AS COMPOSITION_UID_VALUE FROM EHR e CONTAINS COMPOSITION c"
TEXT = {"content_type": "text/plain"}


def store(
    api: Api, text: str = AQL, name: str = NAME, version: str | None = None, **kwargs: Any
) -> TestResponse:
    path = f"/definition/query/{name}" + (f"/{version}" if version else "")
    options: dict[str, Any] = {"data": text, **TEXT, **kwargs}
    return api.put(path, **options)


def stored(api: Api, text: str = AQL, name: str = NAME, version: str | None = None) -> dict[str, Any]:
    response = store(api, text, name, version)
    assert response.status_code == 200, response.json
    doc: dict[str, Any] = response.json
    return doc


def test_put_stores_version_1_0_0_and_answers_where_it_is(api: Api) -> None:
    response = store(api)
    assert response.status_code == 200
    doc = response.json
    assert doc["name"] == NAME and doc["version"] == "1.0.0" and doc["type"] == "AQL" and doc["q"] == AQL
    assert response.headers["Location"] == f"http://localhost/openehr/v1/definition/query/{NAME}/1.0.0"
    assert api.get(f"/definition/query/{NAME}/1.0.0").json == doc


def test_the_json_spelling_of_the_body_is_accepted(api: Api) -> None:
    response = api.put(f"/definition/query/{NAME}/2.0.0", json={"q": AQL})
    assert response.status_code == 200 and response.json["q"] == AQL


def test_an_existing_version_is_409_and_unchanged(api: Api) -> None:
    first = stored(api, version="1.2.3")
    body = assert_error(store(api, "SELECT e FROM EHR e", version="1.2.3"), 409)
    assert "1.2.3" in body["message"]
    assert api.get(f"/definition/query/{NAME}/1.2.3").json == first


def test_without_a_full_version_the_next_version_of_the_series_is_stored(api: Api) -> None:
    assert stored(api)["version"] == "1.0.0"
    assert stored(api)["version"] == "1.0.1"
    assert stored(api, version="2")["version"] == "2.0.0"
    assert stored(api, version="2")["version"] == "2.0.1"
    assert stored(api, version="1.5")["version"] == "1.5.0"
    assert stored(api)["version"] == "2.0.2"  # no version: the series of all versions, after the latest


def test_a_prefix_resolves_to_the_latest_matching_version_in_semver_order(api: Api) -> None:
    for version in ("1.9.0", "1.10.0", "1.10.2", "1.2.30", "2.0.0"):
        stored(api, f"SELECT e/ehr_id/value AS v{version.replace('.', '_')} FROM EHR e", version=version)
    latest = {
        prefix: api.get(f"/definition/query/{NAME}/{prefix}").json["version"]
        for prefix in ("1", "1.9", "1.10")
    }
    assert latest == {"1": "1.10.2", "1.9": "1.9.0", "1.10": "1.10.2"}
    assert_error(api.get(f"/definition/query/{NAME}/1.11"), 404)
    assert_error(api.get(f"/definition/query/{NAME}/3"), 404)


def test_listing_by_name_by_prefix_and_all(api: Api) -> None:
    stored(api, version="1.0.10")
    stored(api, version="1.0.9")
    stored(api, name="org.openehr.abcd::other")
    stored(api, name="com.example::q")
    by_name = api.get(f"/definition/query/{NAME}").json
    assert [(d["name"], d["version"]) for d in by_name] == [(NAME, "1.0.9"), (NAME, "1.0.10")]
    assert set(by_name[0]) == {"name", "type", "version", "saved", "q"}
    by_namespace = api.get("/definition/query/org.openehr.abcd").json
    assert {d["name"] for d in by_namespace} == {NAME, "org.openehr.abcd::other"}
    assert len(api.get("/definition/query").json) == 4
    assert api.get("/definition/query/nothing.here").json == []


@pytest.mark.parametrize(
    ("name", "version", "options", "status", "fragment"),
    [
        (NAME, None, {"data": "SELEC c FROM EHR"}, 400, "line 1, column 1"),
        (NAME, None, {"data": "   "}, 400, "empty"),
        (
            NAME,
            None,
            {"data": "SELECT c FROM COMPOSITION c", "query_string": {"query_type": "SQL"}},
            400,
            "SQL",
        ),
        (NAME, "1.x", {}, 400, "not a SemVer"),
        (NAME, "1.2.3.4", {}, 400, "not a SemVer"),
        (NAME, "01.2.3", {}, 400, "not a SemVer"),
        ("bad name!", None, {}, 400, "qualified query name"),
        ("a::b::c", None, {}, 400, "qualified query name"),
        (NAME, None, {"content_type": "application/xml"}, 415, "text/plain"),
        (NAME, None, {"json": {"text": AQL}}, 400, "q"),
    ],
)
def test_unusable_definitions_are_rejected_and_nothing_is_stored(
    api: Api, name: str, version: str | None, options: dict[str, Any], status: int, fragment: str
) -> None:
    path = f"/definition/query/{name}" + (f"/{version}" if version else "")
    options = {"data": AQL, **TEXT, **options}
    if "json" in options:
        options.pop("data"), options.pop("content_type")
    assert fragment in assert_error(api.put(path, **options), status)["message"]
    assert api.get("/definition/query").json == []


def test_unknown_queries_are_404_and_delete_is_405(api: Api) -> None:
    assert_error(api.get(f"/definition/query/{NAME}/1.2.3"), 404)
    stored(api)
    assert_error(api.delete(f"/definition/query/{NAME}/1.0.0"), 405)
    assert_error(api.get("/query/no.such::query"), 404)
    assert_error(api.post(f"/query/{NAME}/2"), 404)


# ------------------------------------------------------------------------------------------------ running


@pytest.fixture
def two_ehrs(nb_api: Api) -> tuple[tuple[str, str], tuple[str, str]]:
    """(ehr_id, composition version uid) of two EHRs, one composition each."""
    first, second = nb_api.new_ehr(), nb_api.new_ehr()
    return (first, nb_api.commit(first)), (second, nb_api.commit(second))


def test_running_a_stored_query_names_the_version_that_ran(
    nb_api: Api, two_ehrs: tuple[tuple[str, str], tuple[str, str]]
) -> None:
    (first, uid1), (_second, uid2) = two_ehrs
    stored(nb_api)
    stored(
        nb_api,
        "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c WHERE e/ehr_id/value = $ehr",
        version="2.1.0",
    )
    get = nb_api.get(f"/query/{NAME}", query_string={"ehr": first})
    assert get.status_code == 200
    body = get.json
    assert list(body) == ["meta", "name", "q", "columns", "rows"]
    assert body["name"] == f"{NAME}/2.1.0"
    assert body["meta"]["_href"] == f"http://localhost/openehr/v1/query/{NAME}"
    assert body["meta"]["_executed_aql"] == body["q"].replace("$ehr", f"'{first}'")
    assert body["rows"] == [[uid1]]
    one = nb_api.get(f"/query/{NAME}/1.0")
    assert one.json["name"] == f"{NAME}/1.0.0"
    assert one.json["meta"]["_href"] == f"http://localhost/openehr/v1/query/{NAME}/1.0"
    assert one.json["columns"] == [{"path": "c/uid/value", "name": "COMPOSITION_UID_VALUE"}]
    assert {row[0] for row in one.json["rows"]} == {uid1, uid2}
    post = nb_api.post(f"/query/{NAME}/1.0.0", json={"fetch": 1, "offset": 1})
    assert "_href" not in post.json["meta"] and post.json["meta"]["fetch"] == 1
    assert len(post.json["rows"]) == 1


def test_stored_query_parameters_and_ehr_id(
    nb_api: Api, two_ehrs: tuple[tuple[str, str], tuple[str, str]]
) -> None:
    (first, uid1), (second, uid2) = two_ehrs
    stored(nb_api, "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c WHERE e/ehr_id/value = $ehr")
    by_get = nb_api.get(f"/query/{NAME}", query_string={"ehr": second})
    assert [row[0] for row in by_get.json["rows"]] == [uid2]
    by_post = nb_api.post(f"/query/{NAME}", json={"query_parameters": {"ehr": first}})
    assert [row[0] for row in by_post.json["rows"]] == [uid1]
    assert by_post.json["meta"]["_executed_aql"].endswith(f"= '{first}'")
    missing = assert_error(nb_api.post(f"/query/{NAME}"), 400)
    assert missing["message"] == "missing query parameter: $ehr"
    stored(nb_api, AQL, version="5.0.0")
    scoped = nb_api.get(f"/query/{NAME}/5", query_string={"ehr_id": first})
    assert [row[0] for row in scoped.json["rows"]] == [uid1]
