"""Statements run on the driver's cursor (cdr.storage.direct) behave as through ``Connection.execute``: the
same values in and out, the caller's transaction, SQLAlchemy's exceptions; on both databases."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
import sqlalchemy as sa

from cdr.storage import Audit, Storage
from cdr.storage import schema as t
from cdr.storage.access_control import facts_statement
from cdr.storage.direct import DirectStatement
from cdr.storage.versioning import _select
from tests.storage.data import shipped

AUDIT = Audit.by("Kari Nordmann", "direct statements")


def test_rows_are_what_execute_gives(storage: Storage) -> None:
    """A version row (uuids, aware UTC times, the JSON document) and the policy's facts (a UNION ALL of typed
    branches), compared column by column with SQLAlchemy's own result."""
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    record = storage.compositions.create(ehr_id, shipped("valid_normal.json"), AUDIT)
    version = _select(ehr_id, "COMPOSITION", record.vo_id)
    facts = facts_statement(True)
    params = {"ehr_id": ehr_id, "now": dt.datetime.now(dt.UTC), "composition_id": record.vo_id}
    with storage.engine.connect() as conn:
        for statement, given in ((version, {}), (facts, params)):
            direct = DirectStatement(statement).rows(conn, given)
            plain = conn.execute(statement, given).all()
            assert [dict(r._mapping) for r in direct] == [dict(r._mapping) for r in plain]
            assert [tuple(r) for r in direct] == [tuple(r) for r in plain]
        row = DirectStatement(version).first(conn, {})
        assert row is not None and row.data == record.data and row.ehr_id == ehr_id
        assert row.time_committed.utcoffset() == dt.timedelta(0)
        empty = {"ehr_id": uuid.uuid4(), "now": params["now"], "composition_id": record.vo_id}
        assert DirectStatement(facts).first(conn, empty) is None


def test_it_joins_the_callers_transaction(storage: Storage) -> None:
    insert = DirectStatement(
        sa.insert(t.audit_head)
        .values(
            id=sa.bindparam("id", type_=sa.Uuid()), seq=sa.bindparam("seq", type_=sa.BigInteger()), hash="x"
        )
        .returning(t.audit_head.c.seq)
    )
    chain = uuid.uuid4()
    count = sa.select(sa.func.count()).select_from(t.audit_head).where(t.audit_head.c.id == chain)
    with storage.engine.connect() as conn:
        assert insert.scalar(conn, {"id": chain, "seq": 7}) == 7
        conn.rollback()
        assert conn.execute(count).scalar_one() == 0
        conn.rollback()
        assert insert.scalar(conn, {"id": chain, "seq": 8}) == 8
        conn.commit()
    with storage.engine.connect() as conn:
        assert conn.execute(count).scalar_one() == 1
        with pytest.raises(sa.exc.IntegrityError):  # SQLAlchemy's exception, as execute would raise
            insert.scalar(conn, {"id": chain, "seq": 9})
        conn.rollback()


def test_expanding_parameters_are_refused(storage: Storage) -> None:
    if storage.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs Connection.execute, which expands IN lists itself")
    listed = DirectStatement(
        sa.select(t.ehr.c.ehr_id).where(t.ehr.c.ehr_id.in_(sa.bindparam("ids", expanding=True)))
    )
    with storage.engine.connect() as conn, pytest.raises(ValueError, match="non-expanding"):
        listed.rows(conn, {"ids": [uuid.uuid4()]})


def test_a_read_ahead_version_answers_with_its_stored_text(storage: Storage) -> None:
    """The policy facts' statement of a request reading a version by uid reads the version too, its data as
    the stored JSON text; the version's reader takes that record (no statement of its own), and its ``data``
    is the stored document, parsed on first use. (The API asks for this on PostgreSQL only, where the
    request's statements share one connection.)"""
    from cdr.storage.access_control import RequestConnection, load_facts_and_target
    from cdr.storage.engine import bind, unbind
    from cdr.storage.records import VersionUid
    from tests.storage.traffic import statements

    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    doc = shipped("valid_normal.json")
    # text that an encoding step could change: backslashes (a text-to-bytea cast reads them as escapes),
    # quotes, non-ASCII letters and a character beyond the BMP
    doc["name"]["value"] = 'Måling \\ "sitat" \\x41 blodtrykk \U0001f489'
    stored = storage.compositions.create(ehr_id, doc, AUDIT)
    uid = VersionUid.parse(stored.uid)
    scope = RequestConnection(storage.engine)
    token = bind(scope)
    try:
        with scope.transaction() as conn:
            facts, _ = load_facts_and_target(conn, ehr_id, dt.datetime.now(dt.UTC), uid.object_id, uid)
        assert facts.exists
        with statements(storage.engine) as seen:
            record = storage.compositions.get(ehr_id, stored.uid)
    finally:
        unbind(token)
        scope.close()
    assert seen == [] and isinstance(record.json_text, bytes)  # taken from what the facts' statement read
    assert json.loads(record.json_text) == stored.data
    assert json.loads(record.json_text)["name"]["value"] == doc["name"]["value"]
    assert record.uid == stored.uid and record.data == stored.data
    assert record.json_text is None  # parsed once, then kept as the document
