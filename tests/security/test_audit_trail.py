"""The audit trail on SQLite and PostgreSQL: append-only by trigger; the chains find every tampering."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Connection, Engine

from cdr.cli import main
from cdr.security.audit import (
    GENESIS,
    LEGACY_CHAIN,
    SYSTEM_CHAINS,
    AuditEvent,
    Outcome,
    chain_of,
    chained_hash,
    content_digest,
    record_hash,
    verify_chain,
)
from cdr.storage import create_engine, upgrade
from cdr.storage import schema as t
from cdr.storage.audit import AuditStore
from tests.storage.conftest import (  # noqa: F401  (fixtures, both dialects)
    DIALECTS,
    empty_database_url,
    engine,
    postgres,
    postgres_engine,
)

T0 = dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.UTC)
EV = t.audit_event
PATIENT = uuid.UUID(int=1000)  # the fixture's records are one patient's: one chain (not a system chain)


def event(n: int, **fields: object) -> AuditEvent:
    values: dict[str, object] = {
        "time": T0 + dt.timedelta(days=n),
        "actor_subject": f"user-{n}",
        "actor_hpr": "9144900",
        "ehr_id": PATIENT,
        "patient_id": "13116900216",
        "operation": "ehr:read",
        "targets": (f"{uuid.UUID(int=100 + n)}::test.cdr::1",),
        "status": 200,
    }
    values.update(fields)
    return AuditEvent.model_validate(values)


@pytest.fixture
def store(engine: Engine) -> AuditStore:  # noqa: F811
    audit = AuditStore(engine)
    for n in range(1, 6):
        audit.append(event(n))
    return audit


def _without_triggers(db: Engine, change: Callable[[Connection], object]) -> None:
    """Tamper as an insider with DDL rights would: with the append-only triggers out of the way."""
    with db.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
            change(conn)
            conn.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_delete")
            change(conn)


def test_an_untouched_chain_verifies(store: AuditStore) -> None:
    report = store.verify()
    assert report.ok and report.checked == 5 and report.chains == 1
    rows = store.records()
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert [(r["chain"], r["position"]) for r in rows] == [(chain_of(event(1)), p) for p in range(1, 6)]
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(rows))
    assert rows[0]["targets"] == [f"{uuid.UUID(int=101)}::test.cdr::1"]


def test_each_patient_has_a_chain(engine: Engine) -> None:  # noqa: F811
    """Records go to their EHR's chain (a query over many EHRs to a system chain): positions count up per
    chain, and tampering is reported with the chain it broke."""
    audit = AuditStore(engine)
    patients = [uuid.UUID(int=k) for k in (1001, 1002, 1003)]
    for n in range(3):
        for ehr_id in patients:
            audit.append(event(n, ehr_id=ehr_id))
    audit.append(event(9, ehr_id=None, ehr_ids=tuple(patients)))
    rows = audit.records()
    by_chain: dict[uuid.UUID, list[int]] = {}
    for row in rows[:9]:
        assert row["chain"] == row["ehr_id"]
        by_chain.setdefault(row["chain"], []).append(row["position"])
    assert by_chain == {p: [1, 2, 3] for p in patients}
    assert rows[9]["chain"].int < SYSTEM_CHAINS and rows[9]["position"] == 1
    report = audit.verify()
    assert report.ok and report.checked == 10 and report.chains == 4
    second = next(r["seq"] for r in rows if r["chain"] == patients[1] and r["position"] == 2)
    _without_triggers(engine, lambda c: c.execute(sa.delete(EV).where(EV.c.seq == second)))
    broken = audit.verify()
    assert not broken.ok and broken.chain == patients[1] and broken.position == 2, broken


def test_the_database_refuses_update_and_delete(store: AuditStore) -> None:
    for statement in (
        sa.update(EV).where(EV.c.seq == 3).values(actor_subject="someone else"),
        sa.delete(EV).where(EV.c.seq == 3),
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(statement)
    assert store.verify().ok and len(store.records()) == 5


@pytest.mark.parametrize(
    ("name", "change", "position"),
    [
        ("edited", lambda c: c.execute(sa.update(EV).where(EV.c.seq == 3).values(actor_subject="x")), 3),
        ("flag flipped", lambda c: c.execute(sa.update(EV).where(EV.c.seq == 2).values(emergency=True)), 2),
        ("removed", lambda c: c.execute(sa.delete(EV).where(EV.c.seq == 3)), 3),
        ("first removed", lambda c: c.execute(sa.delete(EV).where(EV.c.seq == 1)), 1),
        ("tail removed", lambda c: c.execute(sa.delete(EV).where(EV.c.seq == 5)), 5),
    ],
)
def test_tampering_is_found(
    store: AuditStore, name: str, change: Callable[[Connection], object], position: int
) -> None:
    _without_triggers(store.engine, change)
    report = store.verify()
    assert not report.ok, name
    assert report.position == position, report.reason


def test_reordering_is_found(store: AuditStore) -> None:
    """Swapping two records' contents, hashes included: each still matches the hash it was given."""

    def swap(conn: Connection) -> None:
        rows = {r.seq: dict(r._mapping) for r in conn.execute(sa.select(EV).where(EV.c.seq.in_([2, 3])))}
        for seq, other in ((2, 3), (3, 2)):
            values = {k: v for k, v in rows[other].items() if k not in ("seq", "chain", "position")}
            conn.execute(sa.update(EV).where(EV.c.seq == seq).values(**values))

    _without_triggers(store.engine, swap)
    report = store.verify()
    assert not report.ok and report.position == 2


def test_purge_keeps_the_rest_verifiable(store: AuditStore) -> None:
    removed = store.purge(T0 + dt.timedelta(days=3, hours=1), actor="test")
    assert removed == 3
    rows = store.records()
    assert [r["seq"] for r in rows] == [4, 5, 6]
    checkpoint = rows[-1]
    assert checkpoint["kind"] == "checkpoint" and checkpoint["checkpoint_seq"] == 3
    assert store.verify().ok
    store.append(event(7))
    assert store.verify().ok
    # the checkpoint does not license deleting what it does not cover
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
        conn.execute(sa.delete(EV).where(EV.c.seq == 4))
    assert store.purge(T0, actor="test") == 0


def test_a_purge_without_its_checkpoint_is_found(store: AuditStore) -> None:
    _without_triggers(store.engine, lambda c: c.execute(sa.delete(EV).where(EV.c.seq <= 2)))
    report = store.verify()
    assert not report.ok and report.position == 1 and report.broken_at == 3


def test_concurrent_appends_form_one_chain(engine: Engine) -> None:  # noqa: F811
    import threading

    audit = AuditStore(engine)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for n in range(10):
                audit.append(event(n, actor_subject=f"writer-{k}"))
        except BaseException as exc:  # pragma: no cover  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = audit.verify()
    assert report.ok and report.checked == 40


def test_verify_chain_is_pure() -> None:
    assert verify_chain([], (3, "x" * 64)).position == 1  # the head names records that are all gone
    assert AuditEvent(time=T0, operation="x").outcome is Outcome.SUCCESS


def test_cli_verify(store: AuditStore, tmp_path: Path) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    ok = CliRunner().invoke(main, ["audit", "verify", "--db", url])
    assert ok.exit_code == 0, ok.output
    assert "5 records" in ok.output
    _without_triggers(store.engine, lambda c: c.execute(sa.delete(EV).where(EV.c.seq == 4)))
    broken = CliRunner().invoke(main, ["audit", "verify", "--db", url])
    assert broken.exit_code == 1
    assert "position 4" in broken.output
    unusable = CliRunner().invoke(main, ["audit", "verify", "--db", "nonsense://"])
    assert unusable.exit_code == 2


def test_cli_purge_keeps_the_retention_period(store: AuditStore) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    recent = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    store.append(event(6, time=recent))
    unset = CliRunner().invoke(main, ["audit", "purge", "--db", url], env={"CDR_AUDIT_RETENTION_DAYS": ""})
    assert unset.exit_code == 2 and "CDR_AUDIT_RETENTION_DAYS" in unset.output
    purged = CliRunner().invoke(main, ["audit", "purge", "--db", url], env={"CDR_AUDIT_RETENTION_DAYS": "30"})
    assert purged.exit_code == 0, purged.output
    assert "removed 5 audit records" in purged.output
    kept = store.records()
    assert [(r["seq"], r["kind"]) for r in kept] == [(6, "access"), (7, "checkpoint")]
    assert kept[0]["time"] == recent
    again = CliRunner().invoke(main, ["audit", "purge", "--db", url, "--retain-days", "3"])
    assert again.exit_code == 0 and "removed 0" in again.output, again.output
    verified = CliRunner().invoke(main, ["audit", "verify", "--db", url])
    assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_trail_written_before_the_chains_verifies_and_grows(
    dialect: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Migration 0007 makes the one chain there was chain 1 (position = seq, the head row 1): its records,
    in both hash forms of the time, still verify; new ones continue it or start other chains."""
    url = empty_database_url(dialect, request, tmp_path)
    upgrade(url, "0006_duration_seconds")
    db = create_engine(url)
    try:
        with db.begin() as conn:
            before = [sa.Column(c.name, c.type) for c in EV.c if c.name not in ("chain", "position")]
            old = sa.Table("audit_event", sa.MetaData(), *before)
            prev = GENESIS
            for seq in (1, 2, 3):
                row = {**event(seq).model_dump(), "seq": seq, "prev_hash": prev, "outcome": "success"}
                row["targets"] = list(row["targets"])
                form = record_hash(row) if seq == 1 else chained_hash(seq, prev, content_digest(row))
                conn.execute(sa.insert(old).values({c.name: row.get(c.name) for c in old.c} | {"hash": form}))
                prev = form
            old_head = sa.table("audit_head", sa.column("id"), sa.column("seq"), sa.column("hash"))
            conn.execute(sa.insert(old_head).values(id=1, seq=3, hash=prev))
        upgrade(db)
        store = AuditStore(db)
        assert store.verify().ok and store.verify().checked == 3
        assert [(r["chain"], r["position"]) for r in store.records()] == [
            (LEGACY_CHAIN, p) for p in (1, 2, 3)
        ]
        assert store.append(event(4)) == 4  # PATIENT's own chain from now on
        assert store.append(event(5, ehr_id=None)) == 5  # a system chain, which may be the old one
        rows = store.records()
        system = rows[4]["chain"]
        assert [(r["chain"], r["position"]) for r in rows[3:]] == [
            (PATIENT, 1),
            (system, 4 if system == LEGACY_CHAIN else 1),
        ]
        report = store.verify()
        assert report.ok and report.checked == 5 and report.chains == len({LEGACY_CHAIN, PATIENT, system})
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.begin() as conn:
            conn.execute(sa.delete(EV).where(EV.c.seq == 2))
        assert store.purge(T0 + dt.timedelta(days=4, hours=1), actor="test") == 4
        assert store.verify().ok
    finally:
        db.dispose()
