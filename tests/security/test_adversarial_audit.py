"""Tampering with an audit trail the API wrote, found by ``cdr audit verify``, on SQLite and PostgreSQL.

The trail is real: two patients' records created, written and read through the REST API with JWKS-signed
tokens, and a nurse's refused attempts on the patient she has no care relation with. The tamperer is an
insider with DDL rights (the append-only triggers out of the way, as in ``test_audit_trail``) who wants to
hide the snooping: edit the refused records, delete them, reorder, rehash, append or move the head.
"""

from __future__ import annotations

import uuid
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
from cdr.security.audit import chained_hash, content_digest
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
    """The API-written trail: its database, and the chain of the snooped patient's records: its number, its
    length and the position of the first refused attempt in it."""

    engine: sa.Engine
    chain: int
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
        chain, snooped = conn.execute(
            sa.select(EV.c.chain, EV.c.position)
            .where(EV.c.outcome == "denied", EV.c.actor_hpr == NURSE_HPR)
            .order_by(EV.c.seq)
            .limit(1)
        ).one()
        length = conn.execute(sa.select(sa.func.count()).where(EV.c.chain == chain)).scalar_one()
    assert length > snooped > 1
    return Trail(db, chain, length, snooped)


def _at(tr: Trail, position: int) -> Any:
    return sa.and_(EV.c.chain == tr.chain, EV.c.position == position)


def _row(conn: Connection, tr: Trail, position: int) -> dict[str, Any]:
    return dict(conn.execute(sa.select(EV).where(_at(tr, position))).mappings().one())


def _rehash(conn: Connection, tr: Trail, position: int, **changes: Any) -> str:
    """Change a record and give it a hash that matches its new content (the tamperer knows the scheme)."""
    row = {**_row(conn, tr, position), **changes}
    row["hash"] = chained_hash(position, row["prev_hash"], content_digest(row))
    conn.execute(sa.update(EV).where(_at(tr, position)).values(**changes, hash=row["hash"]))
    return str(row["hash"])


def _swap(conn: Connection, tr: Trail, a: int, b: int) -> None:
    """Two records' contents and hashes exchanged, each left at its place in the chain."""
    rows = {a: _row(conn, tr, a), b: _row(conn, tr, b)}
    for position, other in ((a, b), (b, a)):
        kept = ("seq", "chain", "position")
        conn.execute(
            sa.update(EV)
            .where(_at(tr, position))
            .values(**{k: v for k, v in rows[other].items() if k not in kept})
        )


def _append_forged(conn: Connection, tr: Trail) -> None:
    """A made-up record after the chain's last, hashed correctly, the head left alone."""
    last = _row(conn, tr, tr.length)
    seq = conn.execute(sa.select(sa.func.max(EV.c.seq))).scalar_one() + 1
    row = {**last, "seq": seq, "position": tr.length + 1, "prev_hash": last["hash"], "actor_name": "nobody"}
    row["hash"] = chained_hash(tr.length + 1, row["prev_hash"], content_digest(row))
    conn.execute(sa.insert(EV).values(**row))


def _move_head(conn: Connection, tr: Trail, position: int) -> None:
    conn.execute(
        sa.update(HEAD)
        .where(HEAD.c.id == tr.chain)
        .values(seq=position, hash=_row(conn, tr, position)["hash"])
    )


# name: (tampering given the trail, the record of the chain `cdr audit verify` must name)
TAMPERINGS: dict[str, tuple[Callable[[Connection, Trail], object], Callable[[Trail], int]]] = {
    "refusal rewritten as success": (
        lambda c, tr: c.execute(
            sa.update(EV).where(_at(tr, tr.snooped)).values(outcome="success", status=200)
        ),
        lambda tr: tr.snooped,
    ),
    "snooper's HPR number replaced": (
        lambda c, tr: c.execute(sa.update(EV).where(_at(tr, tr.snooped)).values(actor_hpr="9144901")),
        lambda tr: tr.snooped,
    ),
    "patient id blanked": (
        lambda c, tr: c.execute(sa.update(EV).where(_at(tr, tr.snooped)).values(patient_id=None)),
        lambda tr: tr.snooped,
    ),
    "refusal deleted": (
        lambda c, tr: c.execute(sa.delete(EV).where(_at(tr, tr.snooped))),
        lambda tr: tr.snooped,
    ),
    "refusal edited and rehashed": (
        lambda c, tr: _rehash(c, tr, tr.snooped, outcome="success", status=200),
        lambda tr: tr.snooped + 1,
    ),
    "refusal swapped with its predecessor": (
        lambda c, tr: _swap(c, tr, tr.snooped - 1, tr.snooped),
        lambda tr: tr.snooped - 1,
    ),
    "refusal moved to another chain": (
        lambda c, tr: c.execute(
            sa.update(EV).where(_at(tr, tr.snooped)).values(chain=uuid.UUID(int=2**128 - 1))
        ),
        lambda tr: tr.snooped,
    ),
    "first record deleted": (lambda c, tr: c.execute(sa.delete(EV).where(_at(tr, 1))), lambda tr: 1),
    "last record deleted": (
        lambda c, tr: c.execute(sa.delete(EV).where(_at(tr, tr.length))),
        lambda tr: tr.length,
    ),
    "forged record appended": (_append_forged, lambda tr: tr.length + 2),
    "head moved back over the last records": (
        lambda c, tr: _move_head(c, tr, tr.snooped - 1),
        lambda tr: tr.length + 1,
    ),
}


def test_the_untouched_trail_verifies(trail: Trail) -> None:
    result = trail.verify()
    assert result.exit_code == 0, result.output
    with trail.engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(EV)).scalar_one()
    assert f"{total} records in 2 chains" in result.output  # the two patients' chains


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_tampering_with_the_api_trail_is_found_by_cdr_audit_verify(trail: Trail, name: str) -> None:
    tamper, position = TAMPERINGS[name]
    _without_triggers(trail.engine, lambda conn: tamper(conn, trail))
    result = trail.verify()
    assert result.exit_code == 1, (name, result.output)
    expected = f"audit chain {trail.chain} broken at record {position(trail)} "
    assert expected in result.output, (name, result.output)


def test_a_complete_consistent_rewrite_is_the_documented_limit(trail: Trail) -> None:
    """Rehashing every record of a chain from the edit on, and its head, passes: the chains are not keyed,
    which is why docs/security.md says to export the heads line of ``cdr audit verify`` outside the
    database. If a keyed chain or an external anchor is added, this test fails and the documentation must
    change with it."""

    def rewrite(conn: Connection) -> None:
        prev = _rehash(conn, trail, trail.snooped, outcome="success", status=200)
        for position in range(trail.snooped + 1, trail.length + 1):
            prev = _rehash(conn, trail, position, prev_hash=prev)
        conn.execute(sa.update(HEAD).where(HEAD.c.id == trail.chain).values(seq=trail.length, hash=prev))

    heads_before = trail.verify().output.split("heads ")[1].split()
    _without_triggers(trail.engine, rewrite)
    result = trail.verify()
    assert result.exit_code == 0, result.output
    assert result.output.split("heads ")[1].split() != heads_before  # what an exported heads line would catch
