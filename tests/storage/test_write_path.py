"""The commit path's statements: a fixed handful per version, whatever the size of the composition (issue 4).

Counted with a ``before_cursor_execute`` listener, so an ``executemany`` counts once (it is one statement sent
once: pipelined by psycopg, in-process on SQLite) and a per-node loop would show as many statements as nodes.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from cdr.errors import Conflict, NotFound
from cdr.storage import Audit, Storage
from cdr.storage import schema as t
from cdr.storage.decompose import decompose
from cdr.storage.engine import read_transaction
from cdr.storage.versioning import node_rows
from tests.storage.data import shipped

AUDIT = Audit.by("Kari Nordmann", "statement count")
COMPOSITION = "valid_normal.json"


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL of every statement the engine sends while the block runs (BEGIN/COMMIT are not statements),
    the PostgreSQL node rows' ``COPY`` included (it goes to the driver's cursor, past SQLAlchemy's events)."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            seen.append(statement)

    copy = psycopg.Cursor.copy

    def counted_copy(cursor: psycopg.Cursor[Any], statement: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(statement))
        return copy(cursor, statement, *args, **kwargs)

    event.listen(engine, "before_cursor_execute", count)
    setattr(psycopg.Cursor, "copy", counted_copy)  # noqa: B010 (mypy refuses assigning a method)
    try:
        yield seen
    finally:
        setattr(psycopg.Cursor, "copy", copy)  # noqa: B010
        event.remove(engine, "before_cursor_execute", count)


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
    # data-modifying CTE), all node rows
    expected = 3 if storage.engine.dialect.name == "postgresql" else 4
    assert counts == [expected, expected]


def test_an_update_is_a_few_statements(storage: Storage) -> None:
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    first = storage.compositions.create(ehr_id, shipped(COMPOSITION), AUDIT)
    with statements(storage.engine) as seen:
        storage.compositions.update(ehr_id, first.uid, bigger(shipped(COMPOSITION), 3), AUDIT)
    # contribution, lock (latest_version n -> n+1), preceding version read and close, version, node rows
    assert len(seen) == 6


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
