"""The statements of the commit path whose best form differs by database: bulk node rows, insert-if-new.

A composition decomposes into one ``node`` row per LOCATABLE (about 70 for Corona_Anamnese), so how those rows
reach the database decides much of a commit's cost (issue 4). On PostgreSQL they go as ONE statement with ONE
parameter: the rows as a JSON array, expanded server-side by ``jsonb_to_recordset``. Its SQL text never
changes with the row count, so psycopg prepares it once per connection (it prepares any statement run
``prepare_threshold`` times) and the server parses and plans it once; a multi-row ``VALUES`` list
(SQLAlchemy's insertmanyvalues) would be a new statement text, unprepared, for every node count, and measured
slower than psycopg's pipelined ``executemany``, which in turn is one round trip but ~70 executions. On
SQLite the database is in-process: ``executemany`` of one prepared statement is already the cheapest form.

Each difference is an entry of a table keyed by dialect name, not a branch in the stores (style rule 3).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from cdr.storage import schema as t
from cdr.storage.decompose import NodeRow

NodeInsert = Callable[[Connection, dict[str, Any], Sequence[NodeRow]], None]


def _json_default(value: object) -> str:
    """UUIDs and instants as PostgreSQL reads them back from text (``uuid``, ``timestamptz``)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given for an instant column")
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_KEY = ("ehr_id", "vo_id", "version")  # the version's key: bind parameters, not repeated in every row


def _recordset_insert() -> sa.TextClause:
    """``INSERT INTO node (...) SELECT :key..., ... FROM jsonb_to_recordset(:rows)`` over every ``node``
    column, with each column's PostgreSQL type (so the server converts text to uuid, timestamptz and jsonb
    itself); the version's key columns are parameters of their own."""
    dialect = postgresql.dialect()

    def type_of(column: sa.Column[Any]) -> str:
        return str(dialect.type_compiler_instance.process(column.type.dialect_impl(dialect)))

    keyed = [c for c in t.node.columns if c.name in _KEY]
    rest = [c for c in t.node.columns if c.name not in _KEY]
    record = ", ".join(f"{c.name} {type_of(c)}" for c in rest)
    listed = ", ".join(c.name for c in (*keyed, *rest))
    keys = ", ".join(f"CAST(:{c.name} AS {type_of(c)})" for c in keyed)
    return sa.text(
        f"INSERT INTO node ({listed}) SELECT {keys}, {', '.join(c.name for c in rest)} "
        f"FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({record})"
    )


_RECORDSET_INSERT = _recordset_insert()


def _insert_nodes_postgresql(conn: Connection, key: dict[str, Any], nodes: Sequence[NodeRow]) -> None:
    rows = [node.columns() for node in nodes]
    text = json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    conn.execute(_RECORDSET_INSERT, {**{name: key[name] for name in _KEY}, "rows": text})


def _insert_nodes_executemany(conn: Connection, key: dict[str, Any], nodes: Sequence[NodeRow]) -> None:
    conn.execute(sa.insert(t.node), [{**key, **node.columns()} for node in nodes])


_NODE_INSERTS: dict[str, NodeInsert] = {"postgresql": _insert_nodes_postgresql}


def insert_nodes(conn: Connection, key: dict[str, Any], nodes: Sequence[NodeRow]) -> None:
    """Write a version's node rows (``key``: its ``ehr_id``, ``vo_id``, ``version``) in one statement."""
    _NODE_INSERTS.get(conn.dialect.name, _insert_nodes_executemany)(conn, key, nodes)


_INSERTS: dict[str, Callable[[sa.Table], Any]] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def new_rows_only(conn: Connection, table: sa.Table) -> Any:
    """An INSERT into ``table`` that skips a row whose key exists (``ON CONFLICT DO NOTHING``, which both
    databases have): the caller adds RETURNING and sees whether a row came back instead of asking first,
    one statement fewer."""
    return _INSERTS[conn.dialect.name](table).on_conflict_do_nothing()
