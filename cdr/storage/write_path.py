"""The statements of the commit path whose best form differs by database: bulk node rows, insert-if-new.

A composition decomposes into one ``node`` row per LOCATABLE (about 80 for Corona_Anamnese), so how those rows
reach the database decides much of a commit's cost (issue 4). On PostgreSQL they go as one ``COPY node FROM
STDIN`` (text format) on the transaction's connection: the server parses each value straight into its column
type, with no envelope to parse first. The form it replaced, one ``INSERT ... SELECT FROM jsonb_to_recordset``
over the rows as one JSON array, cost the server ~1 ms more per Corona_Anamnese commit (3.0 against 1.9-2.1 ms
of backend CPU, median of 40 inserts each, measured with the backend's ``/proc/<pid>/schedstat``) for the same
Python time: parsing a 66 kB JSON array into jsonb before expanding it. On SQLite the database is in-process:
``executemany`` of one prepared statement is already the cheapest form.

Each difference is an entry of a table keyed by dialect name, not a branch in the stores (style rule 3).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, cast

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from cdr.json_codec import dumps_text
from cdr.storage import schema as t
from cdr.storage.decompose import NODE_COLUMNS, NodeRow

NodeInsert = Callable[[Connection, dict[str, Any], Sequence[NodeRow]], None]


_KEY = ("ehr_id", "vo_id", "version")  # the version's key, ahead of every row's own columns
_COPY_NODES = f"COPY node ({', '.join((*_KEY, *NODE_COLUMNS))}) FROM STDIN"


def _insert_nodes_postgresql(conn: Connection, key: dict[str, Any], nodes: Sequence[NodeRow]) -> None:
    """The rows as one COPY on the driver connection under ``conn``, so in its transaction."""
    ahead = tuple(key[name] for name in _KEY)
    driver = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
    try:
        with driver.cursor() as cursor, cursor.copy(_COPY_NODES) as copy:
            for node in nodes:
                copy.write_row((*ahead, *node.values(dumps_text)))
    except psycopg.Error as exc:  # as SQLAlchemy's execute would raise it (IntegrityError, ...)
        raise sa.exc.DBAPIError.instance(_COPY_NODES, None, exc, psycopg.Error) from exc


def _insert_nodes_executemany(conn: Connection, key: dict[str, Any], nodes: Sequence[NodeRow]) -> None:
    conn.execute(sa.insert(t.node), [{**key, **node.columns()} for node in nodes])


_NODE_INSERTS: dict[str, NodeInsert] = {"postgresql": _insert_nodes_postgresql}


def insert_nodes(conn: Connection, key: dict[str, Any], nodes: Sequence[NodeRow]) -> None:
    """Write a version's node rows (``key``: its ``ehr_id``, ``vo_id``, ``version``) in one statement."""
    _NODE_INSERTS.get(conn.dialect.name, _insert_nodes_executemany)(conn, key, nodes)


_INSERTS: dict[str, Callable[[sa.Table], Any]] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_INSERT_VERSION = sa.insert(t.object_version)


def new_rows_only(conn: Connection, table: sa.Table) -> Any:
    """An INSERT into ``table`` that skips a row whose key exists (``ON CONFLICT DO NOTHING``, which both
    databases have): the caller adds RETURNING and sees whether a row came back instead of asking first,
    one statement fewer."""
    return _INSERTS[conn.dialect.name](table).on_conflict_do_nothing()


FirstVersionInsert = Callable[[Connection, dict[str, Any], dt.datetime], bool]


def _first_version_postgresql() -> Any:
    """``WITH created AS (INSERT INTO versioned_object ... ON CONFLICT DO NOTHING RETURNING ...) INSERT INTO
    object_version ... SELECT ... FROM created RETURNING ...``: the object and its version 1 in one statement,
    and no version when the object id is taken (nothing comes back then)."""
    vo, ov = t.versioned_object, t.object_version
    params = {c.name: sa.bindparam(c.name, type_=c.type) for c in ov.columns}
    created = (
        postgresql.insert(vo)
        .values(
            ehr_id=params["ehr_id"],
            vo_id=params["vo_id"],
            kind=params["kind"],
            time_created=sa.bindparam("time_created", type_=vo.c.time_created.type),
            latest_version=sa.literal(1),
        )
        .on_conflict_do_nothing()
        .returning(vo.c.ehr_id, vo.c.vo_id)
        .cte("created")
    )
    rest = [c.name for c in ov.columns if c.name not in ("ehr_id", "vo_id")]
    source = sa.select(created.c.ehr_id, created.c.vo_id, *(params[name] for name in rest))
    return sa.insert(ov).from_select(["ehr_id", "vo_id", *rest], source).returning(ov.c.vo_id)


_FIRST_VERSION_POSTGRESQL = _first_version_postgresql()


def _insert_first_version_postgresql(conn: Connection, version: dict[str, Any], now: dt.datetime) -> bool:
    return conn.execute(_FIRST_VERSION_POSTGRESQL, {**version, "time_created": now}).first() is not None


_NEW_VERSIONED_OBJECT: dict[str, Any] = {}


def _insert_first_version_separately(conn: Connection, version: dict[str, Any], now: dt.datetime) -> bool:
    name = conn.dialect.name
    insert = _NEW_VERSIONED_OBJECT.get(name)
    if insert is None:
        vo = t.versioned_object
        insert = _NEW_VERSIONED_OBJECT[name] = new_rows_only(conn, vo).returning(vo.c.vo_id)
    keys = {"ehr_id": version["ehr_id"], "vo_id": version["vo_id"], "kind": version["kind"]}
    # RETURNING, not rowcount: psycopg reports no row count for these inserts
    if conn.execute(insert, {**keys, "time_created": now, "latest_version": 1}).first() is None:
        return False
    conn.execute(_INSERT_VERSION, version)
    return True


_FIRST_VERSIONS: dict[str, FirstVersionInsert] = {"postgresql": _insert_first_version_postgresql}


def insert_first_version(conn: Connection, version: dict[str, Any], now: dt.datetime) -> bool:
    """Insert a new versioned object (created ``now``) and its version 1 (``version``: the ``object_version``
    row); ``False``, with nothing written, when the object id is taken. One statement on PostgreSQL (a
    data-modifying CTE), two elsewhere."""
    return _FIRST_VERSIONS.get(conn.dialect.name, _insert_first_version_separately)(conn, version, now)


def insert_version(conn: Connection, version: dict[str, Any]) -> None:
    """Insert a later version's ``object_version`` row (one statement built once)."""
    conn.execute(_INSERT_VERSION, version)
