"""The audit trail on SQLite and PostgreSQL: append-only by trigger; the chain finds every tampering."""

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
from cdr.security.audit import AuditEvent, Outcome, verify_chain
from cdr.storage import schema as t
from cdr.storage.audit import AuditStore
from tests.storage.conftest import engine, postgres, postgres_engine  # noqa: F401  (fixtures, both dialects)

T0 = dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.UTC)
EV = t.audit_event


def event(n: int, **fields: object) -> AuditEvent:
    values: dict[str, object] = {
        "time": T0 + dt.timedelta(days=n),
        "actor_subject": f"user-{n}",
        "actor_hpr": "9144900",
        "ehr_id": uuid.UUID(int=n),
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
    assert report.ok and report.checked == 5 and report.head_seq == 5
    rows = store.records()
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(rows))
    assert rows[0]["targets"] == [f"{uuid.UUID(int=101)}::test.cdr::1"]


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
    """Swapping two records' contents (hashes included) and positions: each still matches its own hash."""

    def swap(conn: Connection) -> None:
        rows = {r.seq: dict(r._mapping) for r in conn.execute(sa.select(EV).where(EV.c.seq.in_([2, 3])))}
        for seq, other in ((2, 3), (3, 2)):
            values = {k: v for k, v in rows[other].items() if k != "seq"}
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
