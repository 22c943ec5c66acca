"""``ResultSet.ehr_ids``: the EHRs behind the rows a query returned (for its audit record), on both databases.

They come from a hidden column of the query's one statement, so the rows, their order and their number must be
what they would be without it; these tests check both, over the FROM roots (EHR, a COMPOSITION without an
EHR variable) and the row shapes (plain, DISTINCT, aggregated, constant-only, paged, scoped to one EHR).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aql.execute import execute
from cdr.storage import Audit, Storage
from tests.aql.cases.fixtures import DIALECTS, new_storage, postgres, postgres_engine  # noqa: F401
from tests.aql.test_execute_shapes import TEMPLATE, World
from tests.aql.test_execute_shapes import world as shapes_world

world = shapes_world  # two EHRs, twelve compositions in turn (tests.aql.test_execute_shapes)


def _uids_of(world: World, index: int) -> set[str]:
    return {uid for uid, (ehr, _) in world.compositions.items() if ehr == world.ehrs[index]}


def test_plain_rows_name_the_ehr_of_each_row(world: World) -> None:
    result = execute(world.storage, "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c")
    assert {row[0] for row in result.rows} == set(world.compositions)
    assert result.ehr_ids == set(world.ehrs)
    assert [c.name for c in result.columns] == ["#0"] and all(len(row) == 1 for row in result.rows)
    one = sorted(_uids_of(world, 0))
    only = execute(
        world.storage, "SELECT c/uid/value FROM COMPOSITION c WHERE c/uid/value MATCHES {$u}", {"u": one}
    )
    assert {row[0] for row in only.rows} == set(one)
    assert only.ehr_ids == {world.ehrs[0]}  # a COMPOSITION root: its own ehr_id


def test_an_ehr_without_compositions_is_named_when_it_is_a_row(world: World) -> None:
    empty = world.storage.ehrs.create(Audit({"_type": "PARTY_IDENTIFIED", "name": "t"}))[0].ehr_id
    result = execute(world.storage, "SELECT e/ehr_id/value FROM EHR e")
    assert {row[0] for row in result.rows} == {str(e) for e in (*world.ehrs, empty)}
    assert result.ehr_ids == {*world.ehrs, empty}
    with_data = execute(world.storage, "SELECT DISTINCT e/ehr_id/value FROM EHR e CONTAINS COMPOSITION c")
    assert with_data.ehr_ids == set(world.ehrs)


def test_distinct_aggregated_and_constant_rows_name_every_ehr_behind_them(world: World) -> None:
    q = "FROM EHR e CONTAINS COMPOSITION c"
    plain = execute(world.storage, f"SELECT c/name/value {q}").rows
    distinct = execute(world.storage, f"SELECT DISTINCT c/name/value {q}")
    assert sorted(map(tuple, distinct.rows)) == sorted(set(map(tuple, plain)))
    assert distinct.ehr_ids == set(world.ehrs)
    counted = execute(world.storage, f"SELECT DISTINCT COUNT(*) AS n {q}")
    assert counted.rows == [[len(world.compositions)]] and counted.ehr_ids == set(world.ehrs)
    constant = execute(world.storage, f"SELECT DISTINCT 'x' AS k, 1 AS n {q}")
    assert constant.rows == [["x", 1]] and constant.ehr_ids == set(world.ehrs)
    nothing = execute(world.storage, f"SELECT DISTINCT 'x' AS k {q} WHERE c/name/value = 'no such name'")
    assert nothing.rows == [] and nothing.ehr_ids == frozenset()
    per_ehr = execute(world.storage, f"SELECT e/ehr_id/value, COUNT(*) {q} ORDER BY e/ehr_id/value")
    assert [row[0] for row in per_ehr.rows] == sorted(str(e) for e in world.ehrs)
    assert per_ehr.ehr_ids == set(world.ehrs)


def test_a_page_or_one_ehr_names_only_its_rows(world: World) -> None:
    q = "SELECT c/uid/value, e/ehr_id/value FROM EHR e CONTAINS COMPOSITION c ORDER BY c/uid/value"
    everything = execute(world.storage, q).rows
    page = execute(world.storage, q, fetch=1, offset=len(everything) - 1)
    assert page.rows == everything[-1:]
    assert {str(e) for e in page.ehr_ids} == {everything[-1][1]}
    limited = execute(world.storage, q.replace("ORDER BY c/uid/value", "ORDER BY c/uid/value LIMIT 1"))
    assert limited.rows == everything[:1] and {str(e) for e in limited.ehr_ids} == {everything[0][1]}
    scoped = execute(world.storage, q, ehr_id=world.ehrs[1])
    assert {row[0] for row in scoped.rows} == _uids_of(world, 1)
    assert scoped.ehr_ids == {world.ehrs[1]}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_query_returning_nothing_names_nothing(
    dialect: str,
    new_storage: Callable[[str], Storage],  # noqa: F811
) -> None:
    storage = new_storage(dialect)
    storage.templates.upload(TEMPLATE.read_bytes())
    result = execute(storage, "SELECT COUNT(*) AS n FROM EHR e CONTAINS COMPOSITION c")
    assert result.rows == [[0]] and result.ehr_ids == frozenset()  # one row, but no EHR behind it
