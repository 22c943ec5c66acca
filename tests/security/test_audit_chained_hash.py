"""The two hash forms of the audit chain: PostgreSQL appends in one statement and the server computes the
record's chained hash; verification accepts either form and nothing else."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cdr.security.audit import GENESIS, chained_hash, content_digest, record_hash, verify_chain
from cdr.storage.audit import AuditStore
from tests.security.test_audit_trail import EV, event
from tests.storage.conftest import engine, postgres, postgres_engine  # noqa: F401  (fixtures, both dialects)


def test_each_record_carries_a_hash_that_verifies(engine: Engine) -> None:  # noqa: F811
    """Every new record, a chain's first included, carries the chained form (computed by PostgreSQL in its
    one-statement append, by Python on SQLite and for a chain's first record)."""
    store = AuditStore(engine)
    for n in range(4):
        assert store.append(event(n, targets=(f"t{n}",))) == n + 1
    rows = store.records()
    assert [r["position"] for r in rows] == [1, 2, 3, 4]
    for row in rows:
        assert row["hash"] == chained_hash(row["position"], row["prev_hash"], content_digest(row))
    assert store.verify().ok
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(EV)).scalar_one() == 4


@pytest.mark.parametrize("field", ["operation", "targets", "seq", "prev_hash"])
def test_either_form_breaks_when_anything_it_covers_changes(field: str) -> None:
    row = {**event(1).model_dump(), "seq": 1, "prev_hash": GENESIS, "targets": ["a"], "outcome": "success"}
    for form in (record_hash(row), chained_hash(1, GENESIS, content_digest(row))):
        stored = {**row, "hash": form}
        assert verify_chain([stored], (1, form)).ok
        changed = {
            **stored,
            field: {"operation": "ehr:write", "targets": ["b"], "seq": 2, "prev_hash": "1" * 64}[field],
        }
        report = verify_chain([changed], (1, form))
        assert not report.ok
