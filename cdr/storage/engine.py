"""Engines and transactions: one place that knows how PostgreSQL and SQLite connections are set up.

SQLite gets foreign keys, WAL (readers never block the writer), a busy timeout, and explicit ``BEGIN``
statements: pysqlite's own implicit transaction handling is switched off so that SQLAlchemy's transactions
are real SQLite transactions (DDL included, which the migrations rely on) and so that a write transaction can
start with ``BEGIN IMMEDIATE``, taking the write lock up front instead of failing on a lock upgrade under
concurrency.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url

DEFAULT_URL = "sqlite:///./cdr-data/cdr.db"
"""The embedded default: a SQLite file under ``./cdr-data`` (created on first use)."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
_WRITE = "cdr_write"  # execution option: this transaction writes


def _dumps(value: Any) -> str:
    """Compact JSON, non-ASCII kept: the stored form of every JSON column."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def create_engine(url: str | sa.URL = DEFAULT_URL, **kwargs: Any) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``), ready for the stores.

    A plain ``postgresql://`` URL is given the psycopg 3 driver; the directory of a SQLite file is created.
    """
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() == "sqlite":
        return _sqlite_engine(u, **kwargs)
    return sa.create_engine(u, json_serializer=_dumps, pool_pre_ping=True, **kwargs)


def _sqlite_engine(u: sa.URL, **kwargs: Any) -> Engine:
    if u.database and u.database != ":memory:" and not u.database.startswith("file:"):
        Path(u.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(u, json_serializer=_dumps, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see the module docstring)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if u.database and u.database != ":memory:":
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed when the block ends, rolled back (all of it) if it raises."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


@contextmanager
def writing(engine: Engine, conn: Connection | None = None) -> Iterator[Connection]:
    """The caller's write transaction when it passes one (so that its own writes, e.g. an access record,
    commit or roll back with ours), else a new one."""
    if conn is not None:
        yield conn
        return
    with write_transaction(engine) as own:
        yield own


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """One read transaction: a consistent snapshot on SQLite; statements see committed data on PostgreSQL."""
    with engine.connect() as conn, conn.begin():
        yield conn
