"""PostgreSQL pooled connections: no ping per checkout, and a server that dropped the pool's connections
(a restart terminates every backend) costs no request: each dead connection is replaced at checkout."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from cdr.storage import Audit, Storage, create_engine, upgrade
from cdr.storage.engine import read_transaction, write_transaction
from tests.storage.conftest import PostgresServer

pytestmark = pytest.mark.usefixtures("postgres")


def _backends(admin: sa.Engine, database: str) -> set[int]:
    with admin.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :db"), {"db": database}
        ).scalars()
        return set(rows)


def _terminate_all(admin: sa.Engine, database: str) -> set[int]:
    """What a server restart does to the pool: every backend of ``database`` terminated; waits until they
    are gone (a condition, not a time)."""
    victims = _backends(admin, database)
    with admin.connect() as conn:
        for pid in victims:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    while _backends(admin, database) & victims:
        pass
    return victims


def _pids(engine: sa.Engine, count: int) -> set[int]:
    """Check ``count`` connections out at once (so the pool holds that many) and return their backends."""
    conns = [engine.connect() for _ in range(count)]
    try:
        return {int(c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()) for c in conns}
    finally:
        for c in conns:
            c.close()


def test_checkouts_do_not_ping(postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_engine(postgres.create_database())
    try:
        _pids(engine, 1)

        def no_ping(*_args: Any) -> bool:
            raise AssertionError("a checkout pinged the server")

        monkeypatch.setattr(engine.dialect, "do_ping", no_ping)
        for _ in range(3):
            with read_transaction(engine) as conn:
                assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
    finally:
        engine.dispose()


def test_the_pool_survives_the_server_dropping_its_connections(postgres: PostgresServer) -> None:
    url = postgres.create_database()
    engine = create_engine(url)
    upgrade(engine)
    storage = Storage(engine, system_id="test.cdr")
    try:
        before = _pids(engine, 3)
        assert _terminate_all(postgres.admin, str(url.database)) >= before
        # every pooled connection is dead; each checkout replaces one, and no request fails
        ehr, _ = storage.ehrs.create(Audit.by("test"), ehr_id=uuid.uuid4())
        assert storage.ehrs.exists(ehr.ehr_id)
        with write_transaction(engine) as conn:
            conn.exec_driver_sql("SELECT 1")
        after = _pids(engine, 3)
        assert not after & before
    finally:
        engine.dispose()
