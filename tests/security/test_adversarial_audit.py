"""Tampering with an audit trail the API wrote, found by ``cdr audit verify``, on SQLite and PostgreSQL.

The trail is real: two patients' records created, written and read through the REST API with JWKS-signed
tokens, and a nurse's refused attempts on the patient she has no care relation with. The tamperer is an
insider with DDL rights (the append-only triggers out of the way, as in ``test_audit_trail``) who wants to
hide the snooping: edit the refused records, delete them, reorder, rehash, append or move the head.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy.engine import Connection

from cdr.cli import main
from cdr.security.audit import record_hash
from cdr.storage import Storage
from cdr.storage import schema as t
from tests.security.conftest import SigningKey
from tests.security.test_adversarial import NURSE_HPR, World, make_app
from tests.security.test_audit_trail import _without_triggers
from tests.storage.conftest import engine, postgres, postgres_engine  # noqa: F401  (fixtures, both dialects)

EV, HEAD = t.audit_event, t.audit_head


@pytest.fixture
def storage(engine: sa.Engine) -> Storage:  # noqa: F811
    return Storage(engine, system_id="test.cdr")


@pytest.fixture
def app(storage: Storage, jwks_file: Path) -> Flask:
    return make_app(storage, jwks_file)


@dataclass
class Trail:
    """The API-written trail: its database, length and the position of the first refused attempt."""

    engine: sa.Engine
    length: int
    snooped: int

    def verify(self) -> Result:
        url = self.engine.url.render_as_string(hide_password=False)
        return CliRunner().invoke(main, ["audit", "verify", "--db", url])


@pytest.fixture
def trail(app: Flask, rsa_key: SigningKey) -> Trail:
    world = World(app, rsa_key)
    theirs = world.theirs
    for path in (f"/ehr/{theirs.ehr_id}", f"/ehr/{theirs.ehr_id}/composition/{theirs.version_uid}"):
        assert world.call("GET", path, world.nurse).status_code == 403
    assert world.call("GET", f"/ehr/{world.mine.ehr_id}", world.nurse).status_code == 200
    db: sa.Engine = app.extensions["cdr"].storage.engine
    with db.connect() as conn:
        length = conn.execute(sa.select(sa.func.count()).select_from(EV)).scalar_one()
        snooped = conn.execute(
            sa.select(sa.func.min(EV.c.seq)).where(EV.c.outcome == "denied", EV.c.actor_hpr == NURSE_HPR)
        ).scalar_one()
    assert length > snooped > 1
    return Trail(db, length, snooped)


def _row(conn: Connection, seq: int) -> dict[str, Any]:
    return dict(conn.execute(sa.select(EV).where(EV.c.seq == seq)).mappings().one())


def _rehash(conn: Connection, seq: int, **changes: Any) -> str:
    """Change a record and give it a hash that matches its new content (the tamperer knows the scheme)."""
    row = {**_row(conn, seq), **changes}
    row["hash"] = record_hash(row)
    conn.execute(sa.update(EV).where(EV.c.seq == seq).values(**changes, hash=row["hash"]))
    return str(row["hash"])


def _swap(conn: Connection, a: int, b: int) -> None:
    rows = {a: _row(conn, a), b: _row(conn, b)}
    for seq, other in ((a, b), (b, a)):
        conn.execute(
            sa.update(EV)
            .where(EV.c.seq == seq)
            .values(**{k: v for k, v in rows[other].items() if k != "seq"})
        )


def _append_forged(conn: Connection, after: int) -> None:
    """A made-up record after the last, hashed correctly, the head left alone."""
    row = {
        **_row(conn, after),
        "seq": after + 1,
        "prev_hash": _row(conn, after)["hash"],
        "actor_name": "nobody",
    }
    row["hash"] = record_hash(row)
    conn.execute(sa.insert(EV).values(**row))


# name: (tampering given the trail, the position `cdr audit verify` must name)
TAMPERINGS: dict[str, tuple[Callable[[Connection, Trail], object], Callable[[Trail], int]]] = {
    "refusal rewritten as success": (
        lambda c, tr: c.execute(
            sa.update(EV).where(EV.c.seq == tr.snooped).values(outcome="success", status=200)
        ),
        lambda tr: tr.snooped,
    ),
    "snooper's HPR number replaced": (
        lambda c, tr: c.execute(sa.update(EV).where(EV.c.seq == tr.snooped).values(actor_hpr="9144901")),
        lambda tr: tr.snooped,
    ),
    "patient id blanked": (
        lambda c, tr: c.execute(sa.update(EV).where(EV.c.seq == tr.snooped).values(patient_id=None)),
        lambda tr: tr.snooped,
    ),
    "refusal deleted": (
        lambda c, tr: c.execute(sa.delete(EV).where(EV.c.seq == tr.snooped)),
        lambda tr: tr.snooped,
    ),
    "refusal edited and rehashed": (
        lambda c, tr: _rehash(c, tr.snooped, outcome="success", status=200),
        lambda tr: tr.snooped + 1,
    ),
    "refusal swapped with its predecessor": (
        lambda c, tr: _swap(c, tr.snooped - 1, tr.snooped),
        lambda tr: tr.snooped - 1,
    ),
    "first record deleted": (lambda c, tr: c.execute(sa.delete(EV).where(EV.c.seq == 1)), lambda tr: 1),
    "last record deleted": (
        lambda c, tr: c.execute(sa.delete(EV).where(EV.c.seq == tr.length)),
        lambda tr: tr.length,
    ),
    "forged record appended": (lambda c, tr: _append_forged(c, tr.length), lambda tr: tr.length + 2),
    "head moved back over the last records": (
        lambda c, tr: c.execute(
            sa.update(HEAD).values(seq=tr.snooped - 1, hash=_row(c, tr.snooped - 1)["hash"])
        ),
        lambda tr: tr.length + 1,
    ),
}


def test_the_untouched_trail_verifies(trail: Trail) -> None:
    result = trail.verify()
    assert result.exit_code == 0, result.output
    assert f"{trail.length} records" in result.output


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_tampering_with_the_api_trail_is_found_by_cdr_audit_verify(trail: Trail, name: str) -> None:
    tamper, position = TAMPERINGS[name]
    _without_triggers(trail.engine, lambda conn: tamper(conn, trail))
    result = trail.verify()
    assert result.exit_code == 1, (name, result.output)
    assert f"audit chain broken at position {position(trail)} " in result.output, (name, result.output)


def test_a_complete_consistent_rewrite_is_the_documented_limit(trail: Trail) -> None:
    """Rehashing every record from the edit on, and the head, passes: the chain is not keyed, which is why
    docs/security.md says to export the head line of ``cdr audit verify`` outside the database. If a keyed
    chain or an external anchor is added, this test fails and the documentation must change with it."""

    def rewrite(conn: Connection) -> None:
        prev = _rehash(conn, trail.snooped, outcome="success", status=200)
        for seq in range(trail.snooped + 1, trail.length + 1):
            prev = _rehash(conn, seq, prev_hash=prev)
        conn.execute(sa.update(HEAD).values(seq=trail.length, hash=prev))

    head_before = trail.verify().output.split("head ")[1].split()
    _without_triggers(trail.engine, rewrite)
    result = trail.verify()
    assert result.exit_code == 0, result.output
    assert result.output.split("head ")[1].split() != head_before  # what an exported head line would catch
