"""An AQL query's audit record names the EHRs present in its result (issue 6), on SQLite and PostgreSQL.

Three patients whose records one nurse may read; each query's record (``audit_ehr``) must name exactly the
EHRs behind the rows returned, whatever the query shape (plain rows, COUNT, DISTINCT, a page of
fetch/offset, no rows), each named patient's access log must list the query and the others' must not, and
``cdr audit verify`` must find a name added to or removed from a record's list.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.test import TestResponse

from cdr.security.audit import AuditEvent
from cdr.storage import Storage
from cdr.storage import schema as t
from cdr.storage.audit import AuditStore
from tests.security.conftest import SigningKey
from tests.security.test_adversarial import NURSE_HPR, Record, World, make_app
from tests.storage.conftest import engine, postgres, postgres_engine  # noqa: F401  (fixtures, both dialects)

THIRD_PATIENT = "24014021406"
EHRS = "FROM EHR e CONTAINS COMPOSITION c"
TWO = "WHERE e/ehr_id/value MATCHES {$a, $b}"


class Three:
    """The :class:`World`'s two patients plus a third, all three in the nurse's care."""

    def __init__(self, world: World) -> None:
        self.world = world
        relation = world.call(
            "POST",
            f"/security/ehr/{world.theirs.ehr_id}/care_relation",
            world.admin,
            json={"hpr_number": NURSE_HPR},
        )
        assert relation.status_code == 201, relation.json
        self.third: Record = world._record(THIRD_PATIENT, NURSE_HPR, world.nurse)
        self.records = [world.mine, world.theirs, self.third]
        self.audit: AuditStore = world.app.extensions["cdr_audit"]

    def query(self, q: str, **body: Any) -> TestResponse:
        answer = self.world.call("POST", "/query/aql", self.world.nurse, json={"q": q, **body})
        assert answer.status_code == 200, answer.json
        return answer

    def two(self) -> dict[str, str]:
        return {"a": self.world.mine.ehr_id, "b": self.world.theirs.ehr_id}

    def last_query_record(self) -> dict[str, Any]:
        records = [r for r in self.audit.records() if str(r["path"] or "").endswith("/query/aql")]
        return records[-1]

    def named(self) -> set[str]:
        return {str(e) for e in self.last_query_record()["ehr_ids"]}

    def log_size(self, record: Record) -> int:
        log = self.world.call("GET", f"/security/ehr/{record.ehr_id}/access_log", self.world.admin)
        assert log.status_code == 200, log.json
        return len(log.json)


@pytest.fixture
def three(engine: sa.Engine, jwks_file: Any, rsa_key: SigningKey) -> Three:  # noqa: F811
    app: Flask = make_app(Storage(engine, system_id="test.cdr"), jwks_file)
    return Three(World(app, rsa_key))


def test_a_population_query_names_the_ehrs_it_returned(three: Three) -> None:
    before = {r.ehr_id: three.log_size(r) for r in three.records}
    rows = three.query(f"SELECT e/ehr_id/value {EHRS} {TWO}", query_parameters=three.two()).json["rows"]
    assert {row[0] for row in rows} == set(three.two().values())
    record = three.last_query_record()
    assert {str(e) for e in record["ehr_ids"]} == set(three.two().values())
    assert record["outcome"] == "success" and not record["internal"]
    after = {r.ehr_id: three.log_size(r) for r in three.records}
    assert after[three.world.mine.ehr_id] == before[three.world.mine.ehr_id] + 1
    assert after[three.world.theirs.ehr_id] == before[three.world.theirs.ehr_id] + 1
    assert after[three.third.ehr_id] == before[three.third.ehr_id]  # not in the result: not in the log
    ehr_only = three.audit.records([uuid.UUID(three.third.ehr_id)])
    assert record["seq"] not in {r["seq"] for r in ehr_only}
    assert three.audit.verify().ok


def test_count_names_the_ehrs_behind_the_count(three: Three) -> None:
    rows = three.query(f"SELECT COUNT(c/uid/value) AS n {EHRS} {TWO}", query_parameters=three.two()).json
    assert len(rows["rows"]) == 1 and rows["rows"][0][0] >= 2
    assert three.named() == set(three.two().values())


def test_grouped_rows_name_the_ehrs_of_every_group(three: Three) -> None:
    rows = three.query(f"SELECT e/ehr_id/value, COUNT(*) {EHRS} {TWO}", query_parameters=three.two()).json
    assert {row[0] for row in rows["rows"]} == set(three.two().values())
    assert three.named() == set(three.two().values())


def test_distinct_rows_name_every_ehr_behind_them(three: Three) -> None:
    plain = three.query(f"SELECT c/name/value {EHRS}").json["rows"]
    distinct = three.query(f"SELECT DISTINCT c/name/value {EHRS}").json["rows"]
    assert sorted(map(tuple, distinct)) == sorted(set(map(tuple, plain)))  # still the set of rows
    assert len(distinct) < len(plain)  # the three patients share their composition names
    assert three.named() == {r.ehr_id for r in three.records}
    ordered = three.query(f"SELECT DISTINCT c/name/value AS name {EHRS} ORDER BY c/name/value DESC").json
    assert [row[0] for row in ordered["rows"]] == sorted({row[0] for row in plain}, reverse=True)
    assert three.named() == {r.ehr_id for r in three.records}


def test_a_query_returning_nothing_names_no_ehr(three: Three) -> None:
    before = {r.ehr_id: three.log_size(r) for r in three.records}
    answer = three.query(f"SELECT c/uid/value {EHRS} WHERE c/name/value = 'no such name'")
    assert answer.json["rows"] == []
    assert three.named() == set()
    assert {r.ehr_id: three.log_size(r) for r in three.records} == before


def test_a_page_names_only_the_ehrs_on_it(three: Three) -> None:
    q = f"SELECT e/ehr_id/value {EHRS} ORDER BY e/ehr_id/value"
    everything = [row[0] for row in three.query(q).json["rows"]]
    assert set(everything) == {r.ehr_id for r in three.records}
    page = three.query(q, fetch=1, offset=len(everything) - 1).json["rows"]
    assert [row[0] for row in page] == everything[-1:]
    assert three.named() == {everything[-1]}


def _without_triggers(db: sa.Engine, change: Callable[[sa.Connection], object]) -> None:
    """Tamper as an insider with DDL rights would: with the append-only triggers out of the way."""
    with db.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_ehr DISABLE TRIGGER audit_ehr_append_only")
            change(conn)
            conn.exec_driver_sql("ALTER TABLE audit_ehr ENABLE TRIGGER audit_ehr_append_only")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_ehr_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_ehr_no_delete")
            change(conn)


def test_the_ehr_list_is_append_only(three: Three) -> None:
    three.query(f"SELECT e/ehr_id/value {EHRS} {TWO}", query_parameters=three.two())
    seq = three.last_query_record()["seq"]
    named = t.audit_ehr
    for change in (
        sa.delete(named).where(named.c.audit_seq == seq),
        sa.update(named).where(named.c.audit_seq == seq).values(ehr_id=uuid.UUID(three.third.ehr_id)),
    ):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), three.audit.engine.begin() as conn:
            conn.execute(change)
    assert three.named() == set(three.two().values()) and three.audit.verify().ok


def test_verify_finds_a_changed_ehr_list(three: Three) -> None:
    three.query(f"SELECT e/ehr_id/value {EHRS} {TWO}", query_parameters=three.two())
    record = three.last_query_record()
    seq, at = record["seq"], (record["chain"], record["position"])
    assert three.audit.verify().ok
    named = t.audit_ehr
    with three.audit.engine.begin() as conn:  # adding a name is an INSERT, which no trigger refuses
        conn.execute(sa.insert(named).values(ehr_id=uuid.UUID(three.third.ehr_id), audit_seq=seq))
    report = three.audit.verify()
    assert not report.ok and (report.chain, report.broken_at) == at  # a patient added to the record
    _without_triggers(three.audit.engine, lambda conn: conn.execute(sa.delete(named)))
    report = three.audit.verify()
    assert not report.ok and (report.chain, report.broken_at) == at  # every patient removed from it


def test_a_purge_takes_the_ehr_lists_of_the_records_it_removes(engine: sa.Engine) -> None:  # noqa: F811
    store = AuditStore(engine)
    old, new = dt.datetime(2020, 1, 1, tzinfo=dt.UTC), dt.datetime.now(dt.UTC)
    first, kept = uuid.uuid4(), uuid.uuid4()
    store.append(AuditEvent(time=old, operation="ehr:read", targets=("AQL",), ehr_ids=(first, kept)))
    store.append(AuditEvent(time=new, operation="ehr:read", targets=("AQL",), ehr_ids=(kept,)))
    assert store.purge(new - dt.timedelta(days=1), "retention") == 1
    assert store.verify().ok
    assert store.records([first]) == []
    assert [r["ehr_ids"] for r in store.records([kept])] == [(kept,)]
    with engine.connect() as conn:
        assert conn.execute(sa.select(t.audit_ehr.c.ehr_id)).scalars().all() == [kept]
