"""``cdr query``: the result set as a table, JSON or CSV, parameters, paging, and exit 2 for queries that
cannot run and databases that cannot be used; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from cdr.api import create_app
from cdr.cli import main
from cdr.storage import Storage
from tests.api.conftest import Api
from tests.storage.conftest import engine, postgres, postgres_engine  # noqa: F401  (fixtures, both dialects)

NAME = "Kommunale vitalparametre og NEWS2"
UIDS = "SELECT c/uid/value AS uid FROM EHR e CONTAINS COMPOSITION c"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["query", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def loaded(engine: Engine) -> tuple[str, list[str]]:  # noqa: F811
    """The database URL and the version uids of two compositions committed through the API."""
    api = Api(create_app({"STORAGE": Storage(engine, system_id="test.cdr"), "TESTING": True}))
    api.upload()
    ehr_id = api.new_ehr()
    uids = [api.commit(ehr_id), api.commit(ehr_id)]
    return engine.url.render_as_string(hide_password=False), uids


def test_json_is_the_result_set_of_the_rest_api(loaded: tuple[str, list[str]]) -> None:
    db, uids = loaded
    code, out, err = run(
        f"{UIDS} WHERE c/name/value = $name", "--db", db, "--param", f"name={NAME}", "--format", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["columns"] == [{"path": "c/uid/value", "name": "uid"}]
    assert sorted(row[0] for row in doc["rows"]) == sorted(uids)
    assert doc["meta"]["_executed_aql"] == f"{UIDS} WHERE c/name/value = '{NAME}'"


def test_csv_has_a_header_and_objects_as_json(loaded: tuple[str, list[str]]) -> None:
    db, uids = loaded
    code, out, err = run("SELECT c/uid/value, c/name FROM COMPOSITION c", "--db", db, "--format", "csv")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["#0", "#1"]
    assert sorted(r[0] for r in rows[1:]) == sorted(uids)
    assert all(json.loads(r[1]) == {"_type": "DV_TEXT", "value": NAME} for r in rows[1:])


def test_the_table_shows_columns_rows_and_the_count(loaded: tuple[str, list[str]]) -> None:
    db, uids = loaded
    code, out, err = run(f"{UIDS} ORDER BY c/uid/value", "--db", db, "--fetch", "1", "--offset", "1")
    assert code == 0, err
    assert "uid" in out and "1 row" in out
    shown = [uid for uid in uids if uid[:8] in out]
    assert shown == [sorted(uids)[1]]


def test_typed_and_list_parameters(loaded: tuple[str, list[str]]) -> None:
    db, uids = loaded
    listed = json.dumps(uids[:1])  # a JSON list: MATCHES binds its items
    code, out, err = run(
        f"{UIDS} WHERE c/uid/value MATCHES {{$u}}", "--db", db, "--format", "json", "--param", f"$u={listed}"
    )
    assert code == 0, err
    assert json.loads(out)["rows"] == [[uids[0]]]
    code, out, err = run(
        "SELECT COUNT(c/uid/value) FROM COMPOSITION c WHERE c/name/value = $n",
        "--db",
        db,
        "--format",
        "json",
        "--param",
        "n=42",
    )
    assert code == 0, err
    assert json.loads(out)["meta"]["_executed_aql"].endswith("= 42")  # 42 is a number, not the text '42'
    assert json.loads(out)["rows"] == [[0]]


@pytest.mark.parametrize(
    ("query", "args", "fragment"),
    [
        ("SELEC c FROM EHR", (), "line 1, column 1"),
        (f"{UIDS} WHERE c/uid/value = $x", (), "missing query parameter: $x"),
        ("SELECT NOSUCH(c/uid/value) FROM COMPOSITION c", (), "not supported: "),
        (f"{UIDS} LIMIT 1", ("--fetch", "1"), "LIMIT clause"),
        (UIDS, ("--param", "novalue"), "expected name=value"),
    ],
)
def test_queries_that_cannot_run_exit_2(
    loaded: tuple[str, list[str]], query: str, args: tuple[str, ...], fragment: str
) -> None:
    code, out, err = run(query, "--db", loaded[0], *args)
    assert code == 2 and out == ""
    assert fragment in err


def test_databases_that_cannot_be_used_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    code, _, err = run(UIDS, "--db", f"sqlite:///{missing}")
    assert code == 2 and "no database" in err
    assert not missing.exists()  # a query creates nothing
    empty = tmp_path / "empty.db"
    empty.touch()
    code, _, err = run(UIDS, "--db", f"sqlite:///{empty}")
    assert code == 2 and "cdr db upgrade" in err
    code, _, err = run(UIDS, "--db", "nonsense://")
    assert code == 2


def test_other_terminologies_are_asked_of_the_server_the_environment_names(
    loaded: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cdr query`` reads ``CDR_FHIR_TERMINOLOGY_URL`` as the server does; a server that does not answer
    exits 2 with the reason."""
    from tests.terminology.fhir_mock import CARE_SETTINGS, running

    db, uids = loaded
    lookup = f"SELECT TERMINOLOGY('lookup', 'hl7.org/fhir/r4', 'system={CARE_SETTINGS}&code=225') AS setting"
    query = f"{lookup} FROM EHR e CONTAINS COMPOSITION c"
    with running() as fhir:
        monkeypatch.setenv("CDR_FHIR_TERMINOLOGY_URL", fhir.base_url)
        code, out, err = run(query, "--db", db, "--format", "json")
        assert code == 0, err
        assert json.loads(out)["rows"] == [["home"]] * len(uids)
        fhir.failing = True
        code, _, err = run(query.replace("225", "238"), "--db", db)
        assert code == 2
        assert "the terminology server answered 500" in err
