"""The security row filter in AQL: a :class:`~cdr.security.query_scope.QueryScope` compiled into the one
statement keeps unreadable EHRs, hidden compositions and hidden templates out of rows, counts, aggregates,
VERSION and FOLDER-free population queries, and out of what NOT CONTAINS looks for, on both databases.

Three EHRs of the same data: ``mine`` (readable), ``shared`` (readable, but one composition and one
template hidden from the caller) and ``theirs`` (not readable).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from aql.execute import execute
from cdr.security.query_scope import QueryScope
from cdr.storage import Storage
from tests.aql.cases.fixtures import DIALECTS, new_storage, postgres, postgres_engine  # noqa: F401
from tests.aql.test_execute_cases import load

COMPOSITIONS = (
    "SELECT e/ehr_id/value, c/uid/value, c/archetype_details/template_id/value "
    "FROM EHR e CONTAINS COMPOSITION c"
)
CONFORMANCE = "conformance-ehrbase.de.v0"
OBSERVATIONS = "FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o"
MAGNITUDE = "o/data[at0001]/events[at0002]/data[at0003]/items[at0008]/value/magnitude"


@dataclass
class World:
    storage: Storage
    mine: str
    shared: str
    theirs: str
    hidden_composition: str  # object id of a composition in ``shared``
    hidden_template: str  # the template of the other composition(s) in ``shared``

    def scope(self) -> QueryScope:
        shared = uuid.UUID(self.shared)
        return QueryScope(
            ehr_ids=frozenset({uuid.UUID(self.mine), shared}),
            hidden_compositions=frozenset({(shared, uuid.UUID(self.hidden_composition))}),
            hidden_templates=frozenset({(shared, self.hidden_template)}),
        )


@pytest.fixture(params=DIALECTS)
def world(request: pytest.FixtureRequest, new_storage: Callable[[str], Storage]) -> World:  # noqa: F811
    storage = new_storage(request.param)
    mine, shared, theirs = (str(load(storage, "conformance").vars.lookup("ehr_id")) for _ in range(3))
    in_shared = [r for r in execute(storage, COMPOSITIONS).rows if r[0] == shared]
    hidden = next(r for r in in_shared if r[2] == CONFORMANCE)
    other_template = next(r[2] for r in in_shared if r[2] != CONFORMANCE)
    return World(storage, mine, shared, theirs, hidden[1].split("::")[0], other_template)


def _rows(world: World, query: str, scope: QueryScope | None) -> list[list[Any]]:
    return execute(world.storage, query, scope=scope).rows


def test_rows_only_from_readable_ehrs_and_visible_compositions(world: World) -> None:
    everything = _rows(world, COMPOSITIONS, None)
    assert {r[0] for r in everything} == {world.mine, world.shared, world.theirs}
    visible = _rows(world, COMPOSITIONS, world.scope())
    assert {r[0] for r in visible} == {world.mine}  # shared's two compositions: one hidden, one's template
    assert len(visible) == len([r for r in everything if r[0] == world.mine])
    text = repr(visible)
    assert world.theirs not in text and world.hidden_composition not in text


def test_counts_and_aggregates_see_only_readable_rows(world: World) -> None:
    scope = world.scope()
    assert _rows(world, "SELECT COUNT(DISTINCT e/ehr_id/value) FROM EHR e", None) == [[3]]
    assert _rows(world, "SELECT COUNT(DISTINCT e/ehr_id/value) FROM EHR e", scope) == [[2]]
    everyone = _rows(world, f"SELECT COUNT(*), SUM({MAGNITUDE}) {OBSERVATIONS}", None)
    mine_only = _rows(world, f"SELECT COUNT(*), SUM({MAGNITUDE}) {OBSERVATIONS}", scope)
    assert everyone[0][0] == 3 * mine_only[0][0] and everyone[0][1] == 3 * mine_only[0][1]
    ehr_filter = f"WHERE e/ehr_id/value = '{world.theirs}'"
    assert _rows(world, f"SELECT MAX({MAGNITUDE}) {OBSERVATIONS} {ehr_filter}", scope) == [[None]]
    assert _rows(world, f"SELECT MAX({MAGNITUDE}) {OBSERVATIONS} {ehr_filter}", None) != [[None]]


def test_versions_and_ehr_status_follow_the_scope(world: World) -> None:
    scope = world.scope()
    versions = "SELECT v/uid/value FROM VERSION v[ALL_VERSIONS] CONTAINS COMPOSITION c"
    every_id = {r[0].split("::")[0] for r in _rows(world, versions, None)}
    visible_ids = {r[0].split("::")[0] for r in _rows(world, versions, scope)}
    assert world.hidden_composition in every_id and world.hidden_composition not in visible_ids
    statuses = "SELECT e/ehr_id/value, s/subject/external_ref/id/value FROM EHR e CONTAINS EHR_STATUS s"
    assert {r[0] for r in _rows(world, statuses, scope)} == {world.mine, world.shared}


def test_not_contains_does_not_reveal_hidden_compositions(world: World) -> None:
    """``NOT CONTAINS`` a hidden template answers as if it were absent (else it would reveal it)."""
    query = "SELECT e/ehr_id/value FROM EHR e NOT CONTAINS COMPOSITION c[openEHR-EHR-COMPOSITION.{}]"
    archetypes = {r[0] for r in _rows(world, "SELECT c/archetype_node_id FROM COMPOSITION c", None)}
    for archetype in archetypes:
        q = query.replace("openEHR-EHR-COMPOSITION.{}", archetype)
        assert {r[0] for r in _rows(world, q, None)} == set()
        assert {r[0] for r in _rows(world, q, world.scope())} == {world.shared}


def test_empty_and_open_scopes(world: World) -> None:
    assert _rows(world, COMPOSITIONS, QueryScope()) == []
    assert _rows(world, "SELECT COUNT(*) FROM EHR e", QueryScope()) == [[0]]
    open_rows = _rows(world, COMPOSITIONS, QueryScope(all_ehrs=True))
    assert sorted(map(repr, open_rows)) == sorted(map(repr, _rows(world, COMPOSITIONS, None)))


def test_a_cached_statement_never_serves_another_scope(world: World) -> None:
    """The scope is part of the compile cache key: the same text under two scopes gives two answers."""
    only_mine = QueryScope(ehr_ids=frozenset({uuid.UUID(world.mine)}))
    only_theirs = QueryScope(ehr_ids=frozenset({uuid.UUID(world.theirs)}))
    query = "SELECT e/ehr_id/value FROM EHR e"
    assert _rows(world, query, only_mine) == [[world.mine]]
    assert _rows(world, query, only_theirs) == [[world.theirs]]
    assert _rows(world, query, only_mine) == [[world.mine]]
