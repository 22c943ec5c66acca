"""How many statements the security layer costs: a composition read and a commit with authentication, the
policy and the audit trail on, on SQLite and PostgreSQL: statements as sent (:mod:`tests.storage.traffic`;
BEGIN/COMMIT are not statements), pool checkouts and commits (SQLAlchemy's events).

On PostgreSQL a request takes one pooled connection for everything (the request's connection, bound to the
engine) and a read commits once: its facts, its data and its audit record are one transaction.

The policy's facts are one statement per request however often the policy is asked; the audit record is
the locked head and one INSERT (with the head update, on PostgreSQL in the same statement). The rest is the
storage's own work, counted by ``tests/storage/test_write_path.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from tests.security.test_api_security import (  # noqa: F401
    EMERGENCY,
    NURSE,
    NURSE_HPR,
    STRANGER,
    Client,
    Record,
    api,
    app,
    record,
    storage,
)
from tests.storage.conftest import engine, postgres, postgres_engine  # noqa: F401  (fixtures, both dialects)
from tests.storage.traffic import statements


@dataclass
class Traffic:
    statements: list[str] = field(default_factory=list)
    checkouts: int = 0
    commits: int = 0

    def named(self, table: str) -> list[str]:
        return [s for s in self.statements if table in s]


@contextmanager
def traffic(db: sa.Engine) -> Iterator[Traffic]:
    seen = Traffic()

    def checkout(*_args: Any) -> None:
        seen.checkouts += 1

    def commit(*_args: Any) -> None:
        seen.commits += 1

    event.listen(db.pool, "checkout", checkout)
    event.listen(db, "commit", commit)
    try:
        with statements(db) as sent:
            seen.statements = sent
            yield seen
    finally:
        event.remove(db.pool, "checkout", checkout)
        event.remove(db, "commit", commit)


def _engine(api: Client) -> sa.Engine:  # noqa: F811
    db: sa.Engine = api.app.extensions["cdr"].storage.engine
    return db


def _security_part(db: sa.Engine, seen: Traffic) -> tuple[int, int]:
    """(statements loading the policy's facts, statements writing the audit record)."""
    facts = [s for s in seen.statements if "UNION ALL" in s and "care_relation" in s]
    audit = seen.named("audit_head") + [s for s in seen.named("audit_event") if "audit_head" not in s]
    return len(facts), len(audit)


def test_a_composition_read_with_security_on(api: Client, record: Record) -> None:  # noqa: F811
    db = _engine(api)
    path = f"/ehr/{record.ehr_id}/composition/{record.version_uid}"
    api.call("GET", path, NURSE, headers={"Accept": "application/json"})  # compiled-statement caches warm
    with traffic(db) as seen:
        got = api.call("GET", path, NURSE, headers={"Accept": "application/json"})
    assert got.status_code == 200
    # PostgreSQL: one statement (locked head, INSERT, head UPDATE); SQLite: the three
    audit = 1 if db.dialect.name == "postgresql" else 4  # SQLite: head, number, record, head
    assert _security_part(db, seen) == (1, audit)
    # the storage's part: the version (the EHR is asked about only when it is not found); security: facts,
    # audit. On PostgreSQL the facts' statement reads the version too.
    if db.dialect.name == "postgresql":  # one connection, one transaction: facts with the data, audit record
        assert len(seen.statements) == 1 + audit
        assert "object_version" in seen.statements[0]
        assert (seen.checkouts, seen.commits) == (1, 1)
    else:  # the storage's transaction, and one connection for the facts and the audit record
        assert len(seen.statements) == 2 + audit
        assert (seen.checkouts, seen.commits) == (2, 3)  # SQLite: the facts commit on their own


def test_a_commit_with_security_on(api: Client, record: Record) -> None:  # noqa: F811
    db = _engine(api)
    path = f"/ehr/{record.ehr_id}/composition"
    with traffic(db) as seen:
        got = api.call("POST", path, NURSE, data=record.body, content_type="application/json")
    assert got.status_code == 201
    audit = 1 if db.dialect.name == "postgresql" else 4
    # the policy is asked three times (handler, use case, commit) and loads the facts once
    assert _security_part(db, seen) == (1, audit)
    # the facts (which also say that the EHR exists: no second look before validation); EHR, its status's
    # is_modifiable and the template's share lock (which also confirms the cached template: no look-up before
    # validation) in one; the inserts of the storage's write path (tests/storage: two on PostgreSQL, four
    # on SQLite), audit
    assert len(seen.statements) == (4 if db.dialect.name == "postgresql" else 6) + audit
    if db.dialect.name == "postgresql":  # the facts' read and the write share the connection
        assert (seen.checkouts, seen.commits) == (1, 1)
    else:
        assert seen.checkouts <= 4


def test_the_audit_record_of_a_read_is_chained_like_any_other(api: Client, record: Record) -> None:  # noqa: F811
    path = f"/ehr/{record.ehr_id}/composition/{record.version_uid}"
    for _ in range(3):
        assert api.call("GET", path, NURSE, headers={"Accept": "application/json"}).status_code == 200
    assert api.app.extensions["cdr_audit"].verify().ok
    reads = api.audit(operation="ehr:read", actor_hpr=NURSE_HPR)
    assert len(reads) >= 3 and all(r["patient_id"] for r in reads)


@contextmanager
def audit_transactions() -> Iterator[list[bool]]:
    """For each audit record appended (PostgreSQL), whether it ran inside a transaction the request opened
    (else it committed by itself, in autocommit)."""
    inside: list[bool] = []
    execute = psycopg.Cursor.execute

    def noted(cursor: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        if "audit_head" in str(query):
            inside.append(not cursor.connection.autocommit)
        return execute(cursor, query, *args, **kwargs)

    setattr(psycopg.Cursor, "execute", noted)  # noqa: B010
    try:
        yield inside
    finally:
        setattr(psycopg.Cursor, "execute", execute)  # noqa: B010


def test_a_read_needs_no_transaction_but_writes_keep_theirs(api: Client, record: Record) -> None:  # noqa: F811
    """On PostgreSQL a plain read's two statements (facts with the version, the audit record) commit by
    themselves: no BEGIN or COMMIT round trip. A write's record stays in the write's transaction, and so does
    an emergency read's, whose grant and record belong together."""
    if _engine(api).dialect.name != "postgresql":
        pytest.skip("SQLite's request connection is not shared; each use is its own short transaction")
    read = f"/ehr/{record.ehr_id}/composition/{record.version_uid}"
    with audit_transactions() as inside:
        assert api.call("GET", read, NURSE, headers={"Accept": "application/json"}).status_code == 200
        assert api.call("GET", read, STRANGER, headers=EMERGENCY).status_code == 200
        written = api.call(
            "POST",
            f"/ehr/{record.ehr_id}/composition",
            NURSE,
            data=record.body,
            content_type="application/json",
        )
        assert written.status_code == 201
    assert inside == [False, True, True]
    assert api.app.extensions["cdr_audit"].verify().ok
