"""The two hash forms of the audit chain: PostgreSQL appends in one statement and the server computes the
record's chained hash; verification accepts either form and nothing else."""

from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cdr.security.audit import (
    CONTENT,
    GENESIS,
    _canonical,
    canonical_json,
    chained_hash,
    content_digest,
    record_hash,
    verify_chain,
)
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


TRICKY = [
    "",
    "plain",
    "Ærlig ølbrygger på Åsen",
    'quote " backslash \\ slash /',
    "".join(chr(i) for i in range(32)),  # every control character
    "\x7f\x80\x9f\u00a0",
    "\u2028\u2029\ufeff",
    "😀 \U0001f3e5 \u4e2d\u6587",
    "'; DROP TABLE audit_event; --",
]


@pytest.mark.parametrize("text", TRICKY)
def test_the_hashed_text_is_the_standard_librarys(text: str) -> None:
    """The records written so far were hashed over ``json.dumps(sort_keys, compact, non-ASCII as is)``; the
    faster encoder must give the very same bytes, or every one of them would stop verifying."""
    row = {
        **event(1, actor_name=text, path=f"/ehr/{text}", targets=(text, "b::c::1")).model_dump(),
        "seq": 3,
        "prev_hash": GENESIS,
        "outcome": "success",
    }
    row["targets"] = list(row["targets"])
    content = {"z": text, "a": [text, 1, None, True], "m": {"k": text}, "n": -(2**40), "b": False}
    reference = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert canonical_json(content) == reference
    digest = hashlib.sha256(
        json.dumps(
            _canonical(row, CONTENT), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    ).hexdigest()
    assert content_digest(row) == digest
