"""Key AQL queries compile to statements PostgreSQL can run on indexes (EXPLAIN with sequential scans
disabled, which shows whether an index *can* serve the query; on test-sized tables a sequential scan would
otherwise always win). Also: one statement per query, parameters bound, the compiled statement cached."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest

from aql.compiler import compile_query, parameter_kinds
from aql.compiler.binds import bind_values
from cdr.storage import Storage
from tests.aql.cases.ehrbase import Loader, Suite
from tests.aql.cases.fixtures import ehrbase_data, new_storage, postgres, postgres_engine  # noqa: F401

BP = "openEHR-EHR-OBSERVATION.blood_pressure.v2"
ONE_EHR = "SELECT c/uid/value, c/name/value FROM EHR e[ehr_id/value=$ehr_id] CONTAINS COMPOSITION c"
POPULATION = (
    f"SELECT e/ehr_id/value FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[{BP}] "
    "WHERE o/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value/magnitude > 140 LIMIT 50"
)


def _explain(storage: Storage, text: str, parameters: dict[str, object]) -> str:
    compiled = compile_query(text, "postgresql", parameter_kinds(parameters))
    statement = compiled.statement.params(bind_values(list(compiled.derived), parameters))
    with storage.engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        sql = statement.compile(conn.engine, compile_kwargs={"render_postcompile": True})
        plan = conn.exec_driver_sql("EXPLAIN " + str(sql), sql.params).fetchall()
    return "\n".join(row[0] for row in plan)


@pytest.fixture
def loaded(new_storage: Callable[[str], Storage]) -> tuple[Storage, str]:  # noqa: F811
    storage = new_storage("postgresql")
    setup = [
        {"action": "upload_opt", "file": "aql/data_load/opts/aql-conformance-ehrbase.org.v0.opt"},
        {"action": "create_ehr", "args": []},
        {"action": "commit_composition", "format": "CANONICAL_JSON",
         "file": "aql/data_load/compositions/aql-conformance-ehrbase.org.v0_contains.json"},
    ]  # fmt: skip
    loader = Loader(
        Suite({"suite": "OWN/explain.robot", "setup": setup}, ehrbase_data() / "test_data_sets"), storage
    )
    loader.run()
    return storage, str(loader.vars.lookup("ehr_id"))


def test_one_ehr_uses_its_keys(loaded: tuple[Storage, str]) -> None:
    storage, ehr_id = loaded
    plan = _explain(storage, ONE_EHR, {"ehr_id": ehr_id})
    assert "Seq Scan" not in plan, plan
    # an index led by the EHR id (the ehr row itself is not joined: every row carries ehr_id)
    assert re.search(r"Index Cond: \(+ehr_id = '", plan), plan


def test_population_magnitude_filter_uses_the_value_index(loaded: tuple[Storage, str]) -> None:
    storage, _ = loaded
    plan = _explain(storage, POPULATION, {})
    assert "Seq Scan" not in plan, plan
    # the ELEMENT is found through an index on its node id (the partial value index or (node id, EHR)),
    # never by scanning every node of the versions; the planner picks between the two by statistics
    leaf = re.search(
        r"Index (Only )?Scan using (ix_node_num_value|ix_node_archetype_node_id_ehr_id) on node p\d", plan
    )
    assert leaf is not None, plan
    assert "Limit" in plan.splitlines()[0], plan


def test_parameters_are_bound_and_statements_cached() -> None:
    kinds = parameter_kinds({"ehr_id": str(uuid.uuid4())})
    first = compile_query(ONE_EHR, "sqlite", kinds)
    assert compile_query(ONE_EHR, "sqlite", kinds) is first
    assert compile_query(ONE_EHR, "postgresql", kinds) is not first
    sql = str(first.statement.compile())
    assert "ehr_id" in sql and "'" not in sql
