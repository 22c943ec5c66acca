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
