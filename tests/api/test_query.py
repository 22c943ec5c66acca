"""QUERY API, ad hoc AQL (``GET|POST /query/aql``) on SQLite and PostgreSQL: the RESULT_SET as EHRbase shapes
it (meta, q echo, executed AQL, columns, rows), parameters, the ``ehr_id`` scope, paging and its 422s, and
the 400s of AQL that cannot run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from cdr.api import create_app
from cdr.storage import Storage
from tests.api.conftest import Api, assert_error

COMPOSITIONS = "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c"
POST_META = ["_type", "_schema_version", "_created", "_generator", "_executed_aql", "_dry_run", "resultsize"]


@dataclass
class Data:
    """Two EHRs: the first with two compositions, the second with one (all of the shipped template)."""

    first: str
    second: str
    first_uids: list[str]
    second_uid: str

    @property
    def all_uids(self) -> set[str]:
        return {*self.first_uids, self.second_uid}


@pytest.fixture
def data(nb_api: Api) -> Data:
    first, second = nb_api.new_ehr(), nb_api.new_ehr()
    first_uids = [nb_api.commit(first), nb_api.commit(first)]
    return Data(first, second, first_uids, nb_api.commit(second))


def run(api: Api, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = api.post("/query/aql", json=body)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    result: dict[str, Any] = response.json
    return result


def column(result: dict[str, Any], index: int = 0) -> list[Any]:
    return [row[index] for row in result["rows"]]


def test_post_answers_a_result_set_as_ehrbase_shapes_it(nb_api: Api, data: Data) -> None:
    q = "select c/uid/value as uid, c/name, 'x'   from EHR e contains COMPOSITION c"
    result = run(nb_api, {"q": q})
    assert list(result) == ["meta", "q", "columns", "rows"]
    meta = result["meta"]
    assert list(meta) == POST_META
    assert meta["_type"] == "RESULTSET"
    assert meta["resultsize"] == len(result["rows"]) == 3
    assert dt.datetime.fromisoformat(meta["_created"]).tzinfo is not None
    assert meta["_executed_aql"] == "SELECT c/uid/value AS uid, c/name, 'x' FROM EHR e CONTAINS COMPOSITION c"
    assert result["q"] == q  # echoed as sent, spacing and case included
    assert result["columns"] == [
        {"path": "c/uid/value", "name": "uid"},
        {"path": "c/name", "name": "#1"},
        {"name": "#2"},
    ]
    assert set(column(result)) == data.all_uids
    name = {"_type": "DV_TEXT", "value": "Kommunale vitalparametre og NEWS2"}
    assert all(row[1:] == [name, "x"] for row in result["rows"])


def test_aggregate_columns_have_no_path(nb_api: Api, data: Data) -> None:
    result = run(nb_api, {"q": "SELECT COUNT(c/uid/value) AS n FROM EHR e CONTAINS COMPOSITION c"})
    assert result["columns"] == [{"name": "n"}]
    assert result["rows"] == [[3]]


def test_get_adds_href_and_reads_the_query_string(nb_api: Api, data: Data) -> None:
    response = nb_api.get("/query/aql", query_string={"q": COMPOSITIONS})
    assert response.status_code == 200
    meta = response.json["meta"]
    assert list(meta) == ["_href", *POST_META]
    assert meta["_href"] == "http://localhost/openehr/v1/query/aql"
    assert set(column(response.json)) == data.all_uids


@pytest.mark.parametrize("spelling", ["query_parameters", "query-parameters"])
def test_parameters_are_bound_and_substituted_in_the_executed_aql(
    nb_api: Api, data: Data, spelling: str
) -> None:
    q = f"{COMPOSITIONS} WHERE e/ehr_id/value = $ehr"
    result = run(nb_api, {"q": q, spelling: {"ehr": data.second}})
    assert column(result) == [data.second_uid]
    assert result["q"] == q
    assert result["meta"]["_executed_aql"] == f"{COMPOSITIONS} WHERE e/ehr_id/value = '{data.second}'"


def test_a_list_parameter_stands_for_the_items_of_matches(nb_api: Api, data: Data) -> None:
    q = f"{COMPOSITIONS} WHERE c/uid/value MATCHES {{$uids}}"
    result = run(nb_api, {"q": q, "query_parameters": {"uids": data.first_uids}})
    assert set(column(result)) == set(data.first_uids)
    quoted = ", ".join(f"'{uid}'" for uid in data.first_uids)
    assert result["meta"]["_executed_aql"] == f"{COMPOSITIONS} WHERE c/uid/value MATCHES {{{quoted}}}"


def test_a_long_literal_matches_list_is_one_in_with_the_rows_of_its_equalities(
    nb_api: Api, data: Data
) -> None:
    """5,000 literals in MATCHES: SQLite refused the OR chain of equalities beyond about 1,000 (its
    expression depth limit); plain text and number literals now share one IN, with the same rows."""
    name = run(nb_api, {"q": "SELECT c/name/value FROM COMPOSITION c", "fetch": 1})["rows"][0][0]
    magnitude = (
        TEMPERATURE.split(" WHERE ")[0] + " WHERE o/data[at0002]/events[at0003]/data[at0001]/items[at0004]"
    )
    cases = (
        (f"{COMPOSITIONS} WHERE c/name/value MATCHES", [f"'name {i}'" for i in range(5000)], f"'{name}'"),
        (f"{magnitude}/value/magnitude MATCHES", [f"{i}.5" for i in range(5000)], "36.8"),
    )
    for head, misses, hit in cases:
        for items, expected in ((misses, set()), ([*misses, hit], data.all_uids), ([hit], data.all_uids)):
            query = f"{head} {{{', '.join(items)}}}"
            assert set(column(run(nb_api, {"q": query}))) == expected, (head, len(items))
    mixed = f"{COMPOSITIONS} WHERE c/name/value MATCHES {{1, 'x', '{name}', 2.5, 'y'}}"
    assert set(column(run(nb_api, {"q": mixed}))) == data.all_uids


def test_get_takes_every_other_query_string_parameter_as_a_query_parameter(nb_api: Api, data: Data) -> None:
    q = f"{COMPOSITIONS} WHERE c/uid/value = $uid"
    for args in ({"uid": data.second_uid}, {"query_parameters": f"uid={data.second_uid}"}):
        response = nb_api.get("/query/aql", query_string={"q": q, **args})
        assert response.status_code == 200, response.json
        assert column(response.json) == [data.second_uid]


TEMPERATURE = (
    "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c"
    " CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.body_temperature.v2]"
    " WHERE {} o/data[at0002]/events[at0003]/data[at0001]/items[at0004]/value/magnitude > $t"
)


@pytest.mark.parametrize(
    ("where", "t", "expected"),
    [
        ("", "9", 3),  # 36.8 > 9 as a number; as text '36.8' < '9'
        ("", "36.5", 3),
        ("", "100", 0),  # as text '36.8' > '100'
        ("", "-1e3", 3),
        ("NOT", "100", 3),  # exact under NOT: a number's text branch is false, not unknown
        ("NOT", "9", 0),
    ],
)
def test_a_query_string_number_compares_as_a_number_with_numbers(
    nb_api: Api, data: Data, where: str, t: str, expected: int
) -> None:
    for args in ({"t": t}, {"query_parameters": f"t={t}"}):
        response = nb_api.get("/query/aql", query_string={"q": TEMPERATURE.format(where), **args})
        assert response.status_code == 200, response.json
        assert len(response.json["rows"]) == expected, (where, t, args)


def _status_of(subject_id: str, namespace: str, *, modifiable: bool = True) -> dict[str, Any]:
    """An EHR_STATUS whose subject has ``subject_id`` in ``namespace``."""
    return {
        "_type": "EHR_STATUS",
        "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
        "name": {"_type": "DV_TEXT", "value": "EHR status"},
        "subject": {
            "_type": "PARTY_SELF",
            "external_ref": {
                "_type": "PARTY_REF",
                "id": {"_type": "GENERIC_ID", "value": subject_id, "scheme": namespace},
                "namespace": namespace,
                "type": "PERSON",
            },
        },
        "is_queryable": True,
        "is_modifiable": modifiable,
    }


def test_a_query_string_number_compares_as_text_with_text(nb_api: Api) -> None:
    """A fødselsnummer is all digits: sent in a URL it must still match the subject's id as text."""
    ehr_id = nb_api.new_ehr(_status_of("13116900216", "fnr"))
    nb_api.new_ehr()
    q = "SELECT e/ehr_id/value FROM EHR e WHERE e/ehr_status/subject/external_ref/id/value = $pid"
    for pid, expected in (("13116900216", [[ehr_id]]), ("13116900217", [])):
        response = nb_api.get("/query/aql", query_string={"q": q, "pid": pid})
        assert response.status_code == 200, response.json
        assert response.json["rows"] == expected
    # in a POST body the parameter's JSON type decides: a number never equals the text id
    assert run(nb_api, {"q": q, "query_parameters": {"pid": 13116900216}})["rows"] == []
    assert run(nb_api, {"q": q, "query_parameters": {"pid": "13116900216"}})["rows"] == [[ehr_id]]


def test_a_query_string_boolean_compares_as_a_boolean_with_booleans_and_as_text_with_text(
    nb_api: Api,
) -> None:
    """``?m=false`` matches an EHR_STATUS whose is_modifiable is false (EHRbase's PARAMETER suite sends its
    booleans so), and an id written ``true`` still matches as text."""
    frozen = nb_api.new_ehr(_status_of("true", "local", modifiable=False))
    open_ = nb_api.new_ehr()
    q = "SELECT e/ehr_id/value FROM EHR e WHERE e/ehr_status/is_modifiable = $m"
    for m, expected in (("false", [[frozen]]), ("FALSE", [[frozen]]), ("true", [[open_]])):
        for args in ({"m": m}, {"query_parameters": f"m={m}"}):
            response = nb_api.get("/query/aql", query_string={"q": q, **args})
            assert response.status_code == 200, response.json
            assert response.json["rows"] == expected, (m, args)
    by_id = "SELECT e/ehr_id/value FROM EHR e WHERE e/ehr_status/subject/external_ref/id/value = $pid"
    response = nb_api.get("/query/aql", query_string={"q": by_id, "pid": "true"})
    assert response.json["rows"] == [[frozen]]
    # in a POST body the JSON type decides: the text "false" is no boolean
    assert run(nb_api, {"q": q, "query_parameters": {"m": "false"}})["rows"] == []
    assert run(nb_api, {"q": q, "query_parameters": {"m": False}})["rows"] == [[frozen]]


def test_ehr_id_restricts_the_query_to_that_ehr_and_fills_the_ehr_id_parameter(
    nb_api: Api, data: Data
) -> None:
    result = run(nb_api, {"q": COMPOSITIONS, "ehr_id": data.second})
    assert column(result) == [data.second_uid]
    q = "SELECT c/uid/value FROM EHR e[ehr_id/value=$ehr_id] CONTAINS COMPOSITION c"
    response = nb_api.get("/query/aql", query_string={"q": q, "ehr_id": data.first})
    assert set(column(response.json)) == set(data.first_uids)
    assert response.json["meta"]["_executed_aql"] == q.replace("$ehr_id", f"'{data.first}'")
    header = nb_api.post("/query/aql", json={"q": COMPOSITIONS}, headers={"openEHR-EHR-id": data.second})
    assert column(header.json) == [data.second_uid]


def test_fetch_and_offset_page_and_show_as_limit_in_the_executed_aql(nb_api: Api, data: Data) -> None:
    q = f"{COMPOSITIONS} ORDER BY c/uid/value"
    everything = column(run(nb_api, {"q": q}))
    result = run(nb_api, {"q": q, "fetch": 2, "offset": 1})
    assert column(result) == everything[1:3]
    meta = result["meta"]
    assert (meta["fetch"], meta["offset"], meta["resultsize"]) == (2, 1, 2)
    assert meta["_executed_aql"] == f"{COMPOSITIONS} ORDER BY c/uid/value ASC LIMIT 2 OFFSET 1"
    only_fetch = run(nb_api, {"q": q, "fetch": 1})
    assert (only_fetch["meta"]["fetch"], only_fetch["meta"]["offset"]) == (1, 0)
    assert column(only_fetch) == everything[:1]


def test_a_limit_in_the_query_is_reported_as_fetch_and_offset(nb_api: Api, data: Data) -> None:
    result = run(nb_api, {"q": f"{COMPOSITIONS} ORDER BY c/uid/value LIMIT 1"})
    assert (result["meta"]["fetch"], result["meta"]["offset"], result["meta"]["resultsize"]) == (1, 0, 1)
    plain = run(nb_api, {"q": COMPOSITIONS})
    assert "fetch" not in plain["meta"] and "offset" not in plain["meta"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"q": f"{COMPOSITIONS} LIMIT 1 OFFSET 1", "fetch": 1, "offset": 1},
            "Query contains a LIMIT clause, fetch and offset parameters must not be used",
        ),
        (
            {"q": f"{COMPOSITIONS} LIMIT 1", "fetch": 1},
            "Query contains a LIMIT clause, fetch and offset parameters must not be used",
        ),
        ({"q": COMPOSITIONS, "offset": 1}, "Query parameter for offset provided, but no fetch parameter"),
        (
            {"q": f"{COMPOSITIONS} LIMIT 1 OFFSET 1", "offset": 1},
            "Query parameter for offset provided, but no fetch parameter",
        ),
    ],
)
def test_paging_that_contradicts_the_query_is_422(nb_api: Api, body: dict[str, Any], message: str) -> None:
    assert assert_error(nb_api.post("/query/aql", json=body), 422)["message"] == message


def test_a_syntax_error_is_400_with_line_and_column(api: Api) -> None:
    body = assert_error(api.post("/query/aql", json={"q": "SELECT c\nFROM COMPOSITION c WHERE"}), 400)
    assert body["message"].startswith("invalid AQL: line 2, column ")
    assert body["details"] and all(d["code"] == "AQL_SYNTAX" for d in body["details"])
    assert all(d["message"].startswith("line ") for d in body["details"])
    get = assert_error(api.get("/query/aql", query_string={"q": "SELEC c FROM EHR"}), 400)
    assert "line 1, column 1" in get["message"]


def test_a_missing_parameter_is_400_naming_each(api: Api) -> None:
    q = f"{COMPOSITIONS} WHERE c/uid/value = $uid AND e/ehr_id/value = $ehr"
    body = assert_error(api.post("/query/aql", json={"q": q, "query_parameters": {"ehr": "x"}}), 400)
    assert body["message"] == "missing query parameter: $uid"
    assert [d["path"] for d in body["details"]] == ["/query_parameters/uid"]
    both = assert_error(api.post("/query/aql", json={"q": q}), 400)
    assert both["message"] == "missing query parameters: $uid, $ehr"


def test_an_unsupported_feature_is_400_not_supported(api: Api) -> None:
    body = assert_error(
        api.post("/query/aql", json={"q": "SELECT NOSUCH(c/uid/value) FROM COMPOSITION c"}), 400
    )
    assert body["message"].startswith("not supported: ")
    assert body["details"][0]["code"] == "AQL_UNSUPPORTED"


def test_a_semantic_error_is_400(api: Api) -> None:
    body = assert_error(api.post("/query/aql", json={"q": "SELECT x/uid/value FROM COMPOSITION c"}), 400)
    assert "undefined variable 'x'" in body["message"]


@pytest.mark.parametrize(
    ("clause", "query"),
    [
        ("LIMIT", f"{COMPOSITIONS} LIMIT {2**63}"),
        ("OFFSET", f"{COMPOSITIONS} LIMIT 1 OFFSET {10**20}"),
        ("TOP", f"SELECT TOP {2**63} c/uid/value FROM EHR e CONTAINS COMPOSITION c"),
    ],
)
def test_a_row_count_beyond_64_bits_is_400(api: Api, clause: str, query: str) -> None:
    """No database counts rows beyond BIGINT: the driver's overflow was a 500."""
    body = assert_error(api.post("/query/aql", json={"q": query}), 400)
    assert f"{clause} " in body["message"] and "beyond the largest 64-bit integer" in body["message"]


def test_the_largest_row_counts_run(nb_api: Api, data: Data) -> None:
    most = 2**63 - 1
    assert run(nb_api, {"q": f"{COMPOSITIONS} LIMIT {most} OFFSET {most}"})["rows"] == []
    assert run(nb_api, {"q": COMPOSITIONS, "fetch": most, "offset": 1})["meta"]["resultsize"] == 2


def test_an_integer_literal_beyond_64_bits_is_a_real(nb_api: Api, data: Data) -> None:
    """As in SQL: no Integer64 holds it, so it is read as a Real (SQLite's driver refused to bind it: 500)."""
    q = f"SELECT {10**23}, {-(2**63)}, {2**63 - 1} FROM EHR e CONTAINS COMPOSITION c LIMIT 1"
    assert run(nb_api, {"q": q})["rows"] == [[1e23, -(2**63), 2**63 - 1]]


def test_a_query_beyond_the_time_limit_is_stopped_with_a_400(storage: Storage) -> None:
    """A cross product of seven OBSERVATION variables (7**7 rows of one composition: seconds of work)
    cannot finish in the 0.2 s allowed: the database stops it, the answer names the limit, and the next
    query (and its audit record) runs as before."""
    api = Api(create_app({"STORAGE": storage, "TESTING": True, "AQL_TIMEOUT_MS": 200}))
    api.upload()
    api.commit(api.new_ehr())
    product = " AND ".join(f"OBSERVATION o{i}" for i in range(7))
    q = f"SELECT o0/uid/value FROM EHR e CONTAINS COMPOSITION c CONTAINS ({product})"
    body = assert_error(api.post("/query/aql", json={"q": q}), 400)
    assert "limit of 0.2 s" in body["message"] and body["details"][0]["code"] == "AQL_TIMEOUT"
    assert run(api, {"q": COMPOSITIONS})["meta"]["resultsize"] == 1


def test_a_query_beyond_a_limit_of_the_database_is_400(api: Api, storage: Storage) -> None:
    """SQLite joins at most 64 tables and nests expressions about 100 deep; it refused these (a 500).
    PostgreSQL runs them."""
    contains = "SELECT c/uid/value FROM COMPOSITION c" + " CONTAINS CLUSTER" * 70
    negations = "SELECT c/uid/value FROM COMPOSITION c WHERE " + "NOT " * 100 + "c/uid/value = 'x'"
    for q in (contains, negations):
        response = api.post("/query/aql", json={"q": q})
        if storage.engine.dialect.name == "sqlite":
            body = assert_error(response, 400)
            assert body["message"].startswith("the query is too complex for the database: ")
            assert body["details"][0]["code"] == "AQL_TOO_COMPLEX"
        else:
            assert response.status_code == 200, response.get_data(as_text=True)[:300]


@pytest.mark.parametrize(
    ("options", "status", "fragment"),
    [
        ({"json": {}}, 400, "q is required"),
        ({"json": {"q": "  "}}, 400, "q is required"),
        ({"data": "{", "content_type": "application/json"}, 400, "not JSON"),
        ({"json": ["SELECT c FROM COMPOSITION c"]}, 400, "JSON object"),
        ({"data": COMPOSITIONS, "content_type": "text/plain"}, 415, "application/json"),
        ({"json": {"q": COMPOSITIONS, "fetch": -1}}, 400, "/fetch"),
        ({"json": {"q": COMPOSITIONS, "fetch": "many"}}, 400, "/fetch"),
        ({"json": {"q": COMPOSITIONS, "fetch": 2**63, "offset": 0}}, 400, "/fetch"),
        ({"json": {"q": COMPOSITIONS, "fetch": 1, "offset": 10**20}}, 400, "/offset"),
        ({"json": {"q": COMPOSITIONS, "ehr_id": "not-a-uuid"}}, 400, "/ehr_id"),
        ({"json": {"q": COMPOSITIONS, "query_parameters": [1]}}, 400, "/query_parameters"),
        ({"json": {"q": COMPOSITIONS}, "headers": {"openEHR-EHR-id": "x"}}, 400, "openEHR-EHR-id"),
    ],
)
def test_unusable_requests_are_rejected(
    api: Api, options: dict[str, Any], status: int, fragment: str
) -> None:
    assert fragment in assert_error(api.post("/query/aql", **options), status)["message"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({}, "q is required"),
        ({"q": COMPOSITIONS, "offset": "x", "fetch": "1"}, "?offset"),
        ({"q": COMPOSITIONS, "fetch": str(2**63)}, "?fetch"),
        ({"q": COMPOSITIONS, "query_parameters": "{not json"}, "not a JSON object"),
    ],
)
def test_unusable_query_strings_are_400(api: Api, args: dict[str, str], fragment: str) -> None:
    assert fragment in assert_error(api.get("/query/aql", query_string=args), 400)["message"]


@pytest.mark.parametrize(
    "module", ["cdr.services.aql_params", "cdr.storage.queries", "cdr.api.schemas.query", "cdr.cli_query"]
)
def test_docstring_examples(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_result_cells_are_written_as_cell_writes_them_also_past_64_bits(api: Api) -> None:
    """The RESULT_SET is written by orjson with :func:`cell_default` for what it does not write itself;
    the answer equals the :func:`cell` conversion, and a value orjson refuses (an integer past 64 bits)
    takes that slower path instead of failing."""
    import decimal
    import json
    import uuid

    from cdr.api.query import _answer
    from cdr.api.schemas.query import cell
    from cdr.services.query import QueryResult

    moment = dt.datetime(2026, 11, 28, 10, 30, tzinfo=dt.UTC)
    values = [
        decimal.Decimal("52.0"),
        decimal.Decimal("400"),
        moment,
        dt.date(2026, 11, 28),
        uuid.UUID(int=7),
        {"nested": [decimal.Decimal("1.5"), moment], "text": "å"},
        None,
    ]
    for extra in ([], [2**70]):
        row = [*values, *extra]
        result = QueryResult("SELECT 1", "SELECT 1", (), [row])
        with api.app.test_request_context("/openehr/v1/query/aql", method="POST"):
            answer = _answer(result, None)
        body = answer.get_data()
        assert answer.mimetype == "application/json"
        assert json.loads(body)["rows"] == [cell(row)]
        assert b"[52.0,400," in body and b'"2026-11-28T10:30:00+00:00"' in body
        assert (b"1180591620717411303424" in body) == bool(extra)
