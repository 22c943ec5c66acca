"""Storage fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``CDR_TEST_POSTGRES_URL`` (exported by ``scripts/test``); the tests create and drop
databases of their own on that server, so they never touch the one the URL names. Without the variable the
PostgreSQL cases skip with that reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from cdr.storage import Storage, create_engine, upgrade
from cdr.storage.schema import metadata

POSTGRES_URL = os.environ.get("CDR_TEST_POSTGRES_URL")
NO_POSTGRES = "CDR_TEST_POSTGRES_URL is not set (scripts/test sets it when PostgreSQL runs)"
DIALECTS = ["sqlite", "postgresql"]


class PostgresServer:
    """Creates and drops scratch databases on the test server."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url).set(drivername="postgresql+psycopg")
        # the maintenance database: the URL's own database need not exist
        self.admin = sa.create_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create_database(self) -> sa.URL:
        name = f"cdr_storage_test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        # no idle maintenance connection until the drop: every test module that imports these fixtures has
        # its own server object, and their idle connections added up towards max_connections
        self.admin.dispose()
        self.created.append(name)
        return self.url.set(database=name)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.created:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.dispose()


@contextmanager
def scratch_postgres_url() -> Iterator[str]:
    """The URL (password kept) of a new database on the test server for one test, dropped after it; skips
    without a server. For tests that hand the URL to another process (``cdr serve``, a container)."""
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    server = PostgresServer(POSTGRES_URL)
    try:
        yield server.create_database().render_as_string(hide_password=False)
    finally:
        server.drop_all()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    server = PostgresServer(POSTGRES_URL)
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def postgres_engine(postgres: PostgresServer) -> Iterator[Engine]:
    """One migrated PostgreSQL database for the session; tables are emptied before each test."""
    engine = create_engine(postgres.create_database())
    upgrade(engine)
    yield engine
    engine.dispose()


def empty_database_url(dialect: str, request: pytest.FixtureRequest, tmp_path: Path) -> sa.URL:
    """The URL of a new, empty database of ``dialect``."""
    if dialect == "sqlite":
        return make_url(f"sqlite:///{tmp_path / 'cdr.db'}")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database()


@pytest.fixture(params=DIALECTS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database: a fresh SQLite file, or the session's PostgreSQL database truncated."""
    if request.param == "sqlite":
        eng = create_engine(f"sqlite:///{tmp_path / 'cdr.db'}")
        upgrade(eng)
        yield eng
        eng.dispose()
        return
    eng = request.getfixturevalue("postgres_engine")
    tables = ", ".join(table.name for table in metadata.sorted_tables)
    with eng.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")  # audit_event_seq from 1
    yield eng


@pytest.fixture
def storage(engine: Engine) -> Storage:
    return Storage(engine, system_id="test.cdr")


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table, for all-or-nothing checks."""
    with engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
        }
