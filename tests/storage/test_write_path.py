"""The commit path's statements: a fixed handful per version, whatever the size of the composition (issue 4).

Counted as sent (:mod:`tests.storage.traffic`), so an ``executemany`` counts once (it is one statement sent
once: pipelined by psycopg, in-process on SQLite) and a per-node loop would show as many statements as nodes.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from cdr.errors import Conflict, NotFound
from cdr.storage import Audit, StaleVersion, Storage, versioning
from cdr.storage import schema as t
from cdr.storage.decompose import decompose
from cdr.storage.engine import read_transaction
from cdr.storage.versioning import node_rows
from cdr.storage.write_path import insert_nodes
from tests.storage.conftest import row_counts
from tests.storage.data import shipped
from tests.storage.traffic import statements

AUDIT = Audit.by("Kari Nordmann", "statement count")
COMPOSITION = "valid_normal.json"


def bigger(doc: dict[str, Any], copies: int) -> dict[str, Any]:
    """The composition with its content entries repeated ``copies`` times: many more LOCATABLE nodes."""
    out = copy.deepcopy(doc)
    out["content"] = [copy.deepcopy(entry) for _ in range(copies) for entry in doc["content"]]
    return out


def test_a_composition_commit_is_a_few_statements_whatever_its_size(storage: Storage) -> None:
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    small, large = shipped(COMPOSITION), bigger(shipped(COMPOSITION), 5)
    assert len(decompose(large)) > 4 * len(decompose(small))
    counts = []
    for doc in (small, large):
        with statements(storage.engine) as seen:
            record = storage.compositions.create(ehr_id, doc, AUDIT)
        counts.append(len(seen))
        with read_transaction(storage.engine) as conn:  # every node arrived, in that one statement
            assert len(node_rows(conn, ehr_id, record.vo_id, 1)) == len(decompose(doc))
    # contribution (with the EHR check), versioned object and version (one statement on PostgreSQL: a
    # data-modifying CTE for the three rows; SQLite: three), all node rows
    expected = 2 if storage.engine.dialect.name == "postgresql" else 4
    assert counts == [expected, expected]


def test_an_update_is_a_few_statements(storage: Storage) -> None:
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    first = storage.compositions.create(ehr_id, shipped(COMPOSITION), AUDIT)
    with statements(storage.engine) as seen:
        storage.compositions.update(ehr_id, first.uid, bigger(shipped(COMPOSITION), 3), AUDIT)
    # contribution and lock (latest_version n -> n+1; one statement on PostgreSQL), preceding version read
    # and close, version, node rows
    assert len(seen) == (5 if storage.engine.dialect.name == "postgresql" else 6)


def test_commit_on_a_missing_ehr_writes_nothing(storage: Storage) -> None:
    with pytest.raises(NotFound):
        storage.compositions.create(uuid.uuid4(), shipped(COMPOSITION), AUDIT)
    with read_transaction(storage.engine) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.contribution)).scalar() == 0


def test_a_read_by_version_uid_is_one_statement(storage: Storage) -> None:
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    record = storage.compositions.create(ehr_id, shipped(COMPOSITION), AUDIT)
    with statements(storage.engine) as seen:
        assert storage.compositions.get(ehr_id, record.uid).data == record.data
    assert len(seen) == 1


def test_a_creation_whose_object_id_is_taken_writes_nothing(storage: Storage) -> None:
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    first = storage.compositions.create(ehr_id, shipped(COMPOSITION), AUDIT)

    def rows() -> list[int]:
        with read_transaction(storage.engine) as conn:
            return [
                conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in (t.contribution, t.versioned_object, t.object_version, t.node)
            ]

    before = rows()
    with pytest.raises(Conflict, match=f"COMPOSITION {first.vo_id} already exists"):
        storage.compositions.create(ehr_id, shipped(COMPOSITION), AUDIT, object_id=first.vo_id)
    assert rows() == before
    # in another EHR too: a versioned object id names one object in the whole system; that EHR is not named
    other = storage.ehrs.create(AUDIT)[0].ehr_id
    before = rows()
    with pytest.raises(Conflict, match=f"versioned object id {first.vo_id} is already in use") as refused:
        storage.compositions.create(other, shipped(COMPOSITION), AUDIT, object_id=first.vo_id)
    assert str(ehr_id) not in str(refused.value)
    assert rows() == before
    assert storage.compositions.create(other, shipped(COMPOSITION), AUDIT).vo_id != first.vo_id


# --- the contribution row goes in with its one version (on PostgreSQL in the same statement) ---------------


def _written(storage: Storage) -> dict[str, int]:
    counts = row_counts(storage.engine)
    return {name: counts[name] for name in ("contribution", "versioned_object", "object_version", "node")}


def test_a_single_version_commit_writes_its_contribution_with_the_version(storage: Storage) -> None:
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    before = _written(storage)
    with statements(storage.engine) as seen:
        first = storage.compositions.create(ehr_id, shipped(COMPOSITION), AUDIT)
    if storage.engine.dialect.name == "postgresql":  # the contribution, object and version: one statement
        assert all(f"INSERT INTO {table} " in seen[0] for table in ("contribution", "versioned_object"))
        assert "INSERT INTO object_version " in seen[0]
    nodes = len(decompose(shipped(COMPOSITION)))
    after = {"contribution": 1, "versioned_object": 1, "object_version": 1, "node": nodes}
    assert _written(storage) == {name: before[name] + after[name] for name in before}
    with statements(storage.engine) as seen:
        second = storage.compositions.update(ehr_id, first.uid, shipped(COMPOSITION), AUDIT)
        third = storage.compositions.delete(ehr_id, second.uid, AUDIT)
    if storage.engine.dialect.name == "postgresql":  # the contribution with the lock on the object
        assert sum("INSERT INTO contribution " in s and "UPDATE versioned_object " in s for s in seen) == 2
    with read_transaction(storage.engine) as conn:
        c, ov = t.contribution, t.object_version
        rows = conn.execute(
            sa.select(c.c.contribution_id, c.c.change_type, c.c.time_committed, ov.c.version)
            .join(ov, sa.and_(ov.c.ehr_id == c.c.ehr_id, ov.c.contribution_id == c.c.contribution_id))
            .where(ov.c.vo_id == first.vo_id)
            .order_by(ov.c.version)
        ).all()
    assert [(r.contribution_id, r.version) for r in rows] == [
        (v.contribution_id, n) for n, v in enumerate((first, second, third), 1)
    ]
    assert [r.change_type for r in rows] == ["249", "251", "523"]  # creation, modification, deleted
    assert [r.time_committed for r in rows] == [v.commit_audit.time_committed for v in (first, second, third)]


def test_a_commit_failing_after_its_statement_leaves_no_contribution_version_or_node(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    first = storage.compositions.create(ehr_id, shipped(COMPOSITION), AUDIT)
    before = row_counts(storage.engine)

    def fail_after_the_nodes(conn: Any, key: Any, nodes: Any) -> None:
        insert_nodes(conn, key, nodes)  # every row of the commit is written, then the commit fails
        raise RuntimeError("after the node rows")

    monkeypatch.setattr(versioning, "insert_nodes", fail_after_the_nodes)
    with pytest.raises(RuntimeError, match="after the node rows"):
        storage.compositions.create(ehr_id, shipped(COMPOSITION), AUDIT)
    with pytest.raises(RuntimeError, match="after the node rows"):
        storage.compositions.update(ehr_id, first.uid, shipped(COMPOSITION), AUDIT)
    assert row_counts(storage.engine) == before
    assert storage.compositions.latest(ehr_id, first.vo_id).uid == first.uid


def test_a_refused_single_version_commit_writes_nothing(storage: Storage) -> None:
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    first = storage.compositions.create(ehr_id, shipped(COMPOSITION), AUDIT)
    second = storage.compositions.update(ehr_id, first.uid, shipped(COMPOSITION), AUDIT)
    before = row_counts(storage.engine)
    with pytest.raises(StaleVersion) as stale:  # a conflicting version: the lock is not taken
        storage.compositions.update(ehr_id, first.uid, shipped(COMPOSITION), AUDIT)
    assert stale.value.latest_uid == second.uid
    with pytest.raises(NotFound, match=f"COMPOSITION {uuid.UUID(int=1)} not found in EHR {ehr_id}"):
        storage.compositions.update(ehr_id, f"{uuid.UUID(int=1)}::test.cdr::1", shipped(COMPOSITION), AUDIT)
    missing = uuid.uuid4()
    for commit in (
        lambda: storage.compositions.create(missing, shipped(COMPOSITION), AUDIT),
        lambda: storage.compositions.update(missing, second.uid, shipped(COMPOSITION), AUDIT),
        lambda: storage.compositions.delete(missing, second.uid, AUDIT),
    ):
        with pytest.raises(NotFound, match=f"^EHR {missing} not found$"):
            commit()
    assert row_counts(storage.engine) == before


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def test_node_rows_read_back_exactly_what_was_decomposed_whatever_their_text(storage: Storage) -> None:
    """The rows go to PostgreSQL as COPY text: tabs, new lines, carriage returns, backslashes (``\\N`` among
    them), quotes and non-ASCII text in names and values, and numbers at the ends of double precision, all
    come back as they were."""
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    doc = shipped(COMPOSITION)
    awkward = "Tab\there\nnew line\r\\N back\\slash 'quote' \"double\" æøå 漢字 😀 \\t\\\\"
    named = [n for n in _walk(doc) if n.get("_type") in ("ELEMENT", "OBSERVATION", "CLUSTER")]
    for i, node in enumerate(named):
        node["name"] = {"_type": "DV_TEXT", "value": f"{awkward} {i}"}
    magnitudes = [n for n in _walk(doc) if n.get("_type") == "DV_QUANTITY"]
    assert magnitudes
    extremes = [1e-300, 123456789.12345679, 1.7976931348623157e308, 0.1]
    for node, value in zip(magnitudes, extremes, strict=False):
        node["magnitude"] = value
    record = storage.compositions.create(ehr_id, doc, AUDIT)
    with read_transaction(storage.engine) as conn:
        stored = node_rows(conn, ehr_id, record.vo_id, 1)
    expected = [row.columns() for row in decompose(record.data)]
    assert [{k: r[k] for k in e} for r, e in zip(stored, expected, strict=True)] == expected
    assert sum(awkward in (r["name"] or "") for r in stored) == len(named)


def test_a_nul_character_in_a_node_is_refused_by_postgresql_and_nothing_is_written(storage: Storage) -> None:
    """The API refuses NUL characters in bodies before this; below it, PostgreSQL's text cannot hold one: the
    driver's error, and the transaction leaves nothing behind (SQLite stores it)."""
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    doc = shipped(COMPOSITION)
    doc["content"][0]["name"] = {"_type": "DV_TEXT", "value": "nul\x00here"}
    before = row_counts(storage.engine)
    if storage.engine.dialect.name != "postgresql":
        storage.compositions.create(ehr_id, doc, AUDIT)
        return
    with pytest.raises(sa.exc.DBAPIError, match="cannot be converted to text"):  # the version's jsonb
        storage.compositions.create(ehr_id, doc, AUDIT)
    assert row_counts(storage.engine) == before
    rows = decompose(doc)  # and the node rows' own COPY
    with pytest.raises(sa.exc.DBAPIError, match="NUL"), storage.engine.begin() as conn:
        insert_nodes(conn, {"ehr_id": ehr_id, "vo_id": uuid.uuid4(), "version": 1}, rows)
    assert row_counts(storage.engine) == before
