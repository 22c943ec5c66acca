"""Data-driven AQL cases of our own (``cases/own_cases.json``), for what the EHRbase manifest leaves out:
NOT CONTAINS, EXISTS, functions, ALL_VERSIONS, ORDER BY on unselected paths, aggregates on DV_QUANTITY,
list parameters, paging. Each case names a data set (setup steps as in the manifest), a query, its
parameters and the expected rows (compared in order when ``ordered``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aql.errors import AqlError
from aql.execute import PagingError, execute
from cdr.storage import Storage
from tests.aql.cases.ehrbase import Loader, Suite
from tests.aql.cases.fixtures import DIALECTS, ehrbase_data, new_storage, postgres, postgres_engine  # noqa: F401

CASES = json.loads((Path(__file__).parent / "cases" / "own_cases.json").read_text(encoding="utf-8"))


def load(storage: Storage, dataset: str) -> Loader:
    suite = Suite(
        {"suite": f"OWN/{dataset}.robot", "setup": CASES["datasets"][dataset]},
        ehrbase_data() / "test_data_sets",
    )
    loader = Loader(suite, storage)
    loader.run()
    return loader


def _key(row: Any) -> str:
    return json.dumps(row, sort_keys=True)


@pytest.mark.parametrize("case", CASES["cases"], ids=[c["name"] for c in CASES["cases"]])
@pytest.mark.parametrize("dialect", DIALECTS)
def test_case(dialect: str, case: dict[str, Any], new_storage: Callable[[str], Storage]) -> None:  # noqa: F811
    storage = new_storage(dialect)
    load(storage, case["dataset"])
    result = execute(
        storage, case["query"], case.get("params"), fetch=case.get("fetch"), offset=case.get("offset")
    )
    rows = json.loads(json.dumps(result.rows))
    if case.get("ordered"):
        assert rows == case["rows"]
    else:
        assert sorted(map(_key, rows)) == sorted(map(_key, case["rows"]))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_ehr_scope_and_errors(dialect: str, new_storage: Callable[[str], Storage]) -> None:  # noqa: F811
    storage = new_storage(dialect)
    loader = load(storage, "conformance")
    other = load(storage, "conformance")
    mine = str(loader.vars.lookup("ehr_id"))
    assert mine != str(other.vars.lookup("ehr_id"))
    everyone = execute(storage, "SELECT e/ehr_id/value FROM EHR e CONTAINS COMPOSITION c")
    assert len(everyone.rows) == 4
    scoped = execute(
        storage, "SELECT e/ehr_id/value FROM EHR e CONTAINS COMPOSITION c", ehr_id=uuid.UUID(mine)
    )
    assert [r[0] for r in scoped.rows] == [mine, mine]
    assert execute(
        storage, "SELECT e/ehr_id/value FROM EHR e WHERE e/ehr_id/value = $id", {"id": mine}
    ).rows == [[mine]]
    assert execute(storage, "SELECT e/ehr_id/value FROM EHR e WHERE e/ehr_id/value = 'no-uuid'").rows == []
    with pytest.raises(PagingError):
        execute(storage, "SELECT c FROM COMPOSITION c LIMIT 1", fetch=1)
    with pytest.raises(PagingError):
        execute(storage, "SELECT c FROM COMPOSITION c", offset=1)
    with pytest.raises(AqlError):
        execute(storage, "SELECT c FROM COMPOSITION c WHERE c/name/value = $missing")
    assert [c.to_json() for c in everyone.columns] == [{"name": "#0", "path": "e/ehr_id/value"}]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_ids_in_whole_objects_are_canonical_uuids(
    dialect: str,
    new_storage: Callable[[str], Storage],  # noqa: F811
) -> None:
    """EHR, VERSION uid and CONTRIBUTION reference objects carry their ids as a uuid is written (SQLite hands
    a uuid column over as 32 hex digits, and those went out as they were)."""
    storage = new_storage(dialect)
    ehr = str(load(storage, "conformance").vars.lookup("ehr_id"))
    query = "SELECT e, e/ehr_id, v/uid, v/contribution, v/contribution/id/value FROM EHR e CONTAINS VERSION v"
    rows = execute(storage, query + " CONTAINS COMPOSITION c").rows
    assert rows
    for whole, ehr_id, uid, contribution, contribution_id in rows:
        assert whole["ehr_id"]["value"] == ehr_id["value"] == ehr
        status = whole["ehr_status"]["id"]["value"]
        assert str(uuid.UUID(status)) == status
        object_id = uid["value"].split("::")[0]
        assert str(uuid.UUID(object_id)) == object_id
        assert contribution["id"]["value"] == contribution_id == str(uuid.UUID(contribution_id))
