"""Engines and transactions: one place that knows how PostgreSQL and SQLite connections are set up.

SQLite gets foreign keys, WAL (readers never block the writer), a busy timeout, and explicit ``BEGIN``
statements: pysqlite's own implicit transaction handling is switched off so that SQLAlchemy's transactions
are real SQLite transactions (DDL included, which the migrations rely on) and so that a write transaction can
start with ``BEGIN IMMEDIATE``, taking the write lock up front instead of failing on a lock upgrade under
concurrency.

PostgreSQL connections are not pinged on checkout (``pool_pre_ping`` costs a round trip per transaction):
a pooled connection whose server went away (restart, terminated backend) has its socket closed by the server,
which a zero-timeout poll of the socket sees without a round trip, and the pool then replaces it;
``pool_recycle`` bounds the age of a connection whose peer vanished silently (a firewall's idle timeout).

A request can bind one connection (:class:`ConnectionScope`) to the engine for its duration: the stores'
:func:`read_transaction` and :func:`write_transaction` then run on it, so that the request's security facts,
its data and its audit record share one connection and, on PostgreSQL, one transaction.
"""

from __future__ import annotations

import select
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar, Token
from pathlib import Path
from typing import Any, Protocol

import psycopg
import sqlalchemy as sa
from psycopg import Column
from psycopg.pq import Format
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url

from cdr.json_codec import dumps_text, loads
from cdr.rm.data_types.iso8601 import seconds_if_duration

DEFAULT_URL = "sqlite:///./cdr-data/cdr.db"
"""The embedded default: a SQLite file under ``./cdr-data`` (created on first use)."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
POOL_RECYCLE_SECONDS = 1800
_WRITE = "cdr_write"  # execution option: this transaction writes


class ConnectionScope(Protocol):
    """One connection that the transactions of a unit of work (a request) share; see :func:`bind`. ``kept``
    holds what one of its statements read for a later step of the same unit (see :func:`keep`)."""

    engine: Engine
    kept: dict[Any, Any]

    def transaction(self, *, write: bool = False) -> AbstractContextManager[Connection]: ...


_scope: ContextVar[ConnectionScope | None] = ContextVar("cdr_connection_scope", default=None)


def bind(scope: ConnectionScope) -> Token[ConnectionScope | None]:
    """Run this context's transactions on ``scope.engine`` on ``scope`` until :func:`unbind`."""
    return _scope.set(scope)


def unbind(token: Token[ConnectionScope | None]) -> None:
    try:
        _scope.reset(token)
    except ValueError:  # reset from another context: clear this one's binding instead
        _scope.set(None)


def _bound(engine: Engine) -> ConnectionScope | None:
    scope = _scope.get()
    return scope if scope is not None and scope.engine is engine else None


def version_key(ehr_id: uuid.UUID, kind: str, uid: object) -> tuple[str, uuid.UUID, str, str]:
    """The key under which a version read ahead is kept (see :func:`keep`)."""
    return ("version", ehr_id, kind, str(uid))


def keep(engine: Engine, key: Any, value: Any) -> None:
    """Keep ``value`` for a later step of the bound unit of work on ``engine`` (a request whose first
    statement read more than it needed at once); nothing without one."""
    scope = _bound(engine)
    if scope is not None:
        scope.kept[key] = value


def take(engine: Engine, key: Any) -> Any | None:
    """What :func:`keep` kept under ``key`` in the bound unit of work (once), else ``None``."""
    scope = _bound(engine)
    return None if scope is None else scope.kept.pop(key, None)


def create_engine(url: str | sa.URL = DEFAULT_URL, **kwargs: Any) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``), ready for the stores.

    A plain ``postgresql://`` URL is given the psycopg 3 driver; the directory of a SQLite file is created.
    """
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() == "sqlite":
        return _sqlite_engine(u, **kwargs)
    kwargs.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
    engine = sa.create_engine(u, json_serializer=dumps_text, json_deserializer=loads, **kwargs)
    event.listen(engine, "checkout", _replace_if_closed)
    event.listen(engine, "connect", _use_kept_descriptions)
    return engine


def _replace_if_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """:class:`~sqlalchemy.exc.DisconnectionError` (the pool then connects anew) when the server has closed
    a pooled connection: an idle connection's socket is readable only when the server sent something on its
    own, i.e. a termination notice or end of file. One poll of the socket, no round trip."""
    if dbapi_connection.closed or _readable(dbapi_connection.fileno()):
        raise sa.exc.DisconnectionError("the server closed this pooled connection")


def _readable(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def _sqlite_engine(u: sa.URL, **kwargs: Any) -> Engine:
    if not u.database or u.database == ":memory:" or u.query.get("mode") == "memory":
        # a request holds two connections at once (its access facts and audit record, and the storage's);
        # in memory they would be one connection (nested BEGIN) or two databases
        raise sa.exc.ArgumentError(
            "an in-memory SQLite database cannot hold cdr's data: give a file, e.g. sqlite:///./cdr-data/cdr.db"
        )
    if not u.database.startswith("file:"):
        Path(u.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(u, json_serializer=dumps_text, json_deserializer=loads, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see the module docstring)
        dbapi_connection.create_function(
            "cdr_duration_seconds", 1, seconds_if_duration, deterministic=True
        )  # what migration 0006 creates on PostgreSQL
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

    return engine


DESCRIPTIONS_PER_CONNECTION = 256
"""Result shapes whose ``cursor.description`` a connection keeps (then it starts over): far more than the
statements a server runs, fewer than an unbounded run of ad-hoc queries would fill."""


class _Cursor(psycopg.Cursor[Any]):
    """psycopg's client-side cursor with ``description`` built once per result shape and connection.

    SQLAlchemy reads ``cursor.description`` after every statement, and psycopg builds it anew each time: a
    ``Column`` object per column with a type look-up (21 against 3 microseconds kept for 14 columns; a read's
    three statements return 31). The columns' names, type oids, modifiers and sizes key the kept list, so a
    statement of another shape never gets it."""

    @property
    def description(self) -> list[Column] | None:
        res = self.pgresult
        if res is None or not res.nfields:
            return super().description
        key = tuple((res.fname(i), res.ftype(i), res.fmod(i), res.fsize(i)) for i in range(res.nfields))
        kept: dict[Any, list[Column]] = self.connection.__dict__.setdefault("_cdr_descriptions", {})
        found = kept.get(key)
        if found is None:  # a result with fields always has a description
            if len(kept) >= DESCRIPTIONS_PER_CONNECTION:
                kept.clear()
            found = kept[key] = super().description or []
        return list(found)


def _use_kept_descriptions(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.cursor_factory = _Cursor


class _BinaryCursor(_Cursor):
    """A client-side cursor whose results come in binary format (see :func:`binary_results`)."""

    def __init__(self, connection: Any, *, row_factory: Any = None) -> None:
        super().__init__(connection, row_factory=row_factory)
        self.format = Format.BINARY


@contextmanager
def statement_deadline(conn: Connection, seconds: float | None) -> Iterator[Connection]:
    """Statements run in the block are stopped once they have run ``seconds`` (None or 0: no limit): on
    PostgreSQL by ``statement_timeout`` (SQLSTATE 57014 when it fires), on SQLite by a progress handler
    that interrupts the statement ("interrupted"). For AQL, where one query can join its way to millions
    of rows; a timed-out statement is refused by the database, so nothing is left half done. Inside a
    PostgreSQL transaction the limit holds to its end (``SET LOCAL``, no second round trip to undo it)."""
    if not seconds:
        yield conn
        return
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        milliseconds = max(1, round(seconds * 1000))
        if not driver.autocommit:  # one round trip: the limit ends with the transaction
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds}")
            yield conn
            return
        conn.exec_driver_sql(f"SET statement_timeout = {milliseconds}")
        try:
            yield conn
        finally:
            conn.exec_driver_sql("SET statement_timeout TO DEFAULT")
        return
    deadline = time.monotonic() + seconds
    driver.set_progress_handler(lambda: time.monotonic() > deadline, _SQLITE_PROGRESS_STEPS)
    try:
        yield conn
    finally:
        driver.set_progress_handler(None, 0)


_SQLITE_PROGRESS_STEPS = 10_000
"""Virtual machine instructions between two looks at the clock (a few hundred microseconds of work)."""


@contextmanager
def binary_results(conn: Connection) -> Iterator[Connection]:
    """Statements run in the block receive their results in PostgreSQL's binary format (psycopg gives the
    same Python values): a population query's hidden list of thousands of EHR ids loads ~3x faster than as
    text. No-op on other databases."""
    if conn.dialect.name != "postgresql":
        yield conn
        return
    driver = conn.connection.driver_connection
    plain = driver.cursor_factory  # type: ignore[union-attr]
    driver.cursor_factory = _BinaryCursor  # type: ignore[union-attr]
    try:
        yield conn
    finally:
        driver.cursor_factory = plain  # type: ignore[union-attr]


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed when the block ends, rolled back (all of it) if it raises.

    In a bound :class:`ConnectionScope` of the engine it is the scope's transaction (see its rules)."""
    scope = _bound(engine)
    if scope is not None:
        with scope.transaction(write=True) as shared:
            yield shared
        return
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
    """One read transaction: a consistent snapshot on SQLite; statements see committed data on PostgreSQL.

    In a bound :class:`ConnectionScope` of the engine it is the scope's transaction."""
    scope = _bound(engine)
    if scope is not None:
        with scope.transaction() as shared:
            yield shared
        return
    with engine.connect() as conn, conn.begin():
        yield conn
