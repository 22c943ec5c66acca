"""The statements of the commit path whose best form differs by database: bulk node rows, insert-if-new, and
the contribution row written with its one version.

A composition decomposes into one ``node`` row per LOCATABLE (about 80 for Corona_Anamnese), so how those rows
reach the database decides much of a commit's cost (issue 4). On PostgreSQL they go as one ``COPY node FROM
STDIN`` (text format) on the transaction's connection: the server parses each value straight into its column
type, with no envelope to parse first. The text is built in compiled code (``NodeRow.copy_line``) and written
in one piece. The form it replaced, one ``INSERT ... SELECT FROM jsonb_to_recordset``
over the rows as one JSON array, cost the server ~1 ms more per Corona_Anamnese commit (3.0 against 1.9-2.1 ms
of backend CPU, median of 40 inserts each, measured with the backend's ``/proc/<pid>/schedstat``) for the same
Python time: parsing a 66 kB JSON array into jsonb before expanding it. On SQLite the database is in-process:
``executemany`` of one prepared statement is already the cheapest form.

A contribution of one version (every composition, EHR_STATUS and directory write but ``POST /contribution``)
has its row written by the version's first write on PostgreSQL, one more CTE of that statement: a creation's
contribution, versioned object and version are one statement, an update's or deletion's contribution and the
object's lock another. That is one round trip less per commit, and ~0.14 ms less client CPU for a creation
(``bench stages``: 0.54 -> 0.40 ms for those rows; an update also lost the lock's UPDATE built per commit).
SQLite keeps the contribution's own statement, one before; the rows, ids and errors are the same.

Each difference is an entry of a table keyed by dialect name, not a branch in the stores (style rule 3).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from cdr.errors import NotFound
from cdr.json_codec import dumps_text
from cdr.storage import schema as t
from cdr.storage.decompose import NODE_COLUMNS, NodeRow, copy_text
from cdr.storage.direct import DirectStatement

NodeInsert = Callable[[Connection, dict[str, Any], Sequence[NodeRow]], None]


_KEY = ("ehr_id", "vo_id", "version")  # the version's key, ahead of every row's own columns
_COPY_NODES = f"COPY node ({', '.join((*_KEY, *NODE_COLUMNS))}) FROM STDIN"


def _insert_nodes_postgresql(conn: Connection, key: dict[str, Any], nodes: Sequence[NodeRow]) -> None:
    """The rows as one COPY on the driver connection under ``conn``, so in its transaction: their text built
    by :func:`~cdr.storage.decompose.copy_text` (compiled) and sent in one piece.

    A NUL character is refused here as psycopg refuses it in a value (PostgreSQL's text cannot hold one)."""
    ahead = "\t".join(str(key[name]) for name in _KEY) + "\t"
    payload = copy_text(nodes, ahead, dumps_text)
    driver = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
    try:
        if "\x00" in payload:
            raise psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
        with driver.cursor() as cursor, cursor.copy(_COPY_NODES) as copy:
            copy.write(payload)
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


# --- the contribution row ---------------------------------------------------------------------------------

CONTRIBUTION_COLUMNS = (
    "ehr_id",
    "contribution_id",
    "system_id",
    "time_committed",
    "change_type",
    "committer",
    "description",
)
_OWN = CONTRIBUTION_COLUMNS[2:]
"""The contribution's columns whose values are its own: in a statement that also writes a version (whose row
has columns of the same names) they are bound as ``contribution_<name>``; ``ehr_id`` and ``contribution_id``
are the version's."""


def _contribution_insert(values: dict[str, sa.BindParameter[Any]], lock: bool = False) -> sa.Insert:
    """``INSERT INTO contribution ... SELECT :values... FROM ehr WHERE ehr_id = :ehr_id``: the existence check
    of the EHR and the write are one statement (nothing is inserted for an unknown EHR). ``lock``: the EHR
    row is read ``FOR KEY SHARE``, the lock the foreign key's check takes at the end of the statement."""
    source = sa.select(*(param.label(name) for name, param in values.items())).where(
        t.ehr.c.ehr_id == values["ehr_id"]
    )
    if lock:
        source = source.with_for_update(read=True, key_share=True)
    return sa.insert(t.contribution).from_select(list(values), source)


def _insert_contribution_alone() -> Any:
    """The contribution row on its own statement, built once with bind parameters (building and keying it per
    commit cost ~0.35 ms of CPU)."""
    c = t.contribution
    values = {name: sa.bindparam(name, type_=c.c[name].type) for name in CONTRIBUTION_COLUMNS}
    return _contribution_insert(values).returning(c.c.contribution_id)


_INSERT_CONTRIBUTION = _insert_contribution_alone()


def _ehr_not_found(contribution: Mapping[str, Any]) -> NotFound:
    return NotFound(f"EHR {contribution['ehr_id']} not found")


def insert_contribution(conn: Connection, contribution: Mapping[str, Any]) -> None:
    """Insert the contribution row (its :data:`CONTRIBUTION_COLUMNS`) if its EHR exists; :class:`NotFound`,
    with nothing written, when it does not."""
    # RETURNING, not rowcount: psycopg reports no row count for INSERT ... SELECT
    if conn.execute(_INSERT_CONTRIBUTION, dict(contribution)).first() is None:
        raise _ehr_not_found(contribution)


def _contribution_cte(version: Mapping[str, sa.BindParameter[Any]], lock: bool) -> sa.CTE:
    """The contribution's INSERT as a CTE of a statement that writes its one version (PostgreSQL), with the
    version's ``ehr_id`` and ``contribution_id`` parameters; ``lock``: as in :func:`_contribution_insert`."""
    c = t.contribution
    values = {
        "ehr_id": version["ehr_id"],
        "contribution_id": version["contribution_id"],
        **{name: sa.bindparam(f"contribution_{name}", type_=c.c[name].type) for name in _OWN},
    }
    return _contribution_insert(values, lock).returning(c.c.ehr_id).cte("contribution_row")


def _contribution_params(contribution: Mapping[str, Any]) -> dict[str, Any]:
    return {f"contribution_{name}": contribution[name] for name in _OWN}


def _folded(
    conn: Connection, statement: DirectStatement, params: dict[str, Any], contribution: Mapping[str, Any]
) -> bool:
    """Run a statement that writes the contribution row with a version (its result: ``contribution``, whether
    the EHR was there and the row went in, and ``written``, whether the version's write happened);
    :class:`NotFound` for an unknown EHR, else ``written``."""
    row = statement.first(conn, {**params, **_contribution_params(contribution)})
    if row is None or not row.contribution:
        raise _ehr_not_found(contribution)
    return bool(row.written)


def _flags(contribution_row: sa.CTE, written: sa.CTE) -> sa.Select[bool, bool]:
    """``SELECT EXISTS (the contribution's row) AS contribution, EXISTS (the version's write) AS written``
    over the CTEs of one statement (data-modifying CTEs run to completion whether read or not)."""
    return sa.select(
        sa.exists(sa.select(contribution_row)).label("contribution"),
        sa.exists(sa.select(written)).label("written"),
    )


# --- a version 1 ----------------------------------------------------------------------------------------

FirstVersionInsert = Callable[[Connection, dict[str, Any], dt.datetime, Mapping[str, Any] | None], bool]


def _version_params() -> dict[str, sa.BindParameter[Any]]:
    return {c.name: sa.bindparam(c.name, type_=c.type) for c in t.object_version.columns}


def _first_version_postgresql(with_contribution: bool) -> Any:
    """``WITH created AS (INSERT INTO versioned_object ... ON CONFLICT DO NOTHING RETURNING ...) INSERT INTO
    object_version ... SELECT ... FROM created``: the object and its version 1 in one statement, and no
    version when the object id is taken; it returns the version's ``vo_id`` (nothing when the id was taken).

    ``with_contribution``: a first CTE inserts the contribution row, the object is inserted from it (so
    nothing at all for an unknown EHR) and the statement answers :func:`_flags`. The version's foreign key to
    its contribution is checked at the end of the statement, when the contribution row is there."""
    vo, ov = t.versioned_object, t.object_version
    params = _version_params()
    owner = _contribution_cte(params, lock=False) if with_contribution else None
    object_columns = {
        "ehr_id": params["ehr_id"] if owner is None else owner.c.ehr_id,
        "vo_id": params["vo_id"],
        "kind": params["kind"],
        "time_created": sa.bindparam("time_created", type_=vo.c.time_created.type),
        "latest_version": sa.literal(1),
    }
    insert = postgresql.insert(vo)
    if owner is None:
        insert = insert.values(object_columns)
    else:  # from the contribution's row: no object (so no version) when the EHR is unknown
        insert = insert.from_select(list(object_columns), sa.select(*object_columns.values()))
    created = insert.on_conflict_do_nothing().returning(vo.c.ehr_id, vo.c.vo_id).cte("created")
    rest = [c.name for c in ov.columns if c.name not in ("ehr_id", "vo_id")]
    source = sa.select(created.c.ehr_id, created.c.vo_id, *(params[name] for name in rest))
    version = sa.insert(ov).from_select(["ehr_id", "vo_id", *rest], source).returning(ov.c.vo_id)
    if owner is None:
        return version
    return _flags(owner, version.cte("version_row"))


_FIRST_VERSION_POSTGRESQL = DirectStatement(_first_version_postgresql(with_contribution=False))
_FIRST_VERSION_WITH_CONTRIBUTION_POSTGRESQL = DirectStatement(
    _first_version_postgresql(with_contribution=True)
)


def _insert_first_version_postgresql(
    conn: Connection, version: dict[str, Any], now: dt.datetime, contribution: Mapping[str, Any] | None
) -> bool:
    params = {**version, "time_created": now}
    if contribution is not None:
        return _folded(conn, _FIRST_VERSION_WITH_CONTRIBUTION_POSTGRESQL, params, contribution)
    return _FIRST_VERSION_POSTGRESQL.first(conn, params) is not None


_NEW_VERSIONED_OBJECT: dict[str, Any] = {}


def _insert_first_version_separately(
    conn: Connection, version: dict[str, Any], now: dt.datetime, contribution: Mapping[str, Any] | None
) -> bool:
    if contribution is not None:
        insert_contribution(conn, contribution)
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


def insert_first_version(
    conn: Connection,
    version: dict[str, Any],
    now: dt.datetime,
    contribution: Mapping[str, Any] | None = None,
) -> bool:
    """Insert a new versioned object (created ``now``) and its version 1 (``version``: the ``object_version``
    row); ``False``, with nothing written, when the object id is taken. One statement on PostgreSQL (a
    data-modifying CTE), two elsewhere.

    ``contribution``: the row of the version's contribution, when the version is its only one, inserted first
    (:func:`insert_contribution`, :class:`NotFound` for an unknown EHR): in the same statement on PostgreSQL,
    one statement before elsewhere."""
    insert = _FIRST_VERSIONS.get(conn.dialect.name, _insert_first_version_separately)
    return insert(conn, version, now, contribution)


def insert_version(conn: Connection, version: dict[str, Any]) -> None:
    """Insert a later version's ``object_version`` row (one statement built once)."""
    conn.execute(_INSERT_VERSION, version)


# --- a later version: the lock ------------------------------------------------------------------------------

LatestMove = Callable[[Connection, dict[str, Any], Mapping[str, Any] | None], bool]
_LOCK_KEY = ("ehr_id", "vo_id", "kind", "version")


def _lock_params(key: Mapping[str, Any]) -> dict[str, Any]:
    return {f"lock_{name}": key[name] for name in _LOCK_KEY}


def _move_latest(with_contribution: bool) -> Any:
    """``UPDATE versioned_object SET latest_version = latest_version + 1 WHERE (ehr_id, vo_id, kind) = ...
    AND latest_version = :version``, built once.

    ``with_contribution`` (PostgreSQL): a CTE inserts the contribution row first, reading the EHR row ``FOR
    KEY SHARE``; the UPDATE, a CTE too, runs only when that row went in (its ``EXISTS`` over the contribution
    is a one-time filter, evaluated before the UPDATE locks the object's row: the locks come in the order of
    the separate statements, EHR then object); the statement answers :func:`_flags`."""
    vo = t.versioned_object
    # not the column names: an UPDATE keeps those for its SET clause
    key = {
        name: sa.bindparam(f"lock_{name}", type_=column.type)
        for name, column in zip(_LOCK_KEY, (vo.c.ehr_id, vo.c.vo_id, vo.c.kind, vo.c.latest_version))
    }
    update = (
        sa.update(vo)
        .where(
            vo.c.ehr_id == key["ehr_id"],
            vo.c.vo_id == key["vo_id"],
            vo.c.kind == key["kind"],
            vo.c.latest_version == key["version"],
        )
        .values(latest_version=vo.c.latest_version + 1)
    )
    if not with_contribution:
        return update
    contribution_id = sa.bindparam("contribution_id", type_=t.contribution.c.contribution_id.type)
    owner = _contribution_cte({"ehr_id": key["ehr_id"], "contribution_id": contribution_id}, lock=True)
    moved = update.where(sa.exists(sa.select(owner))).returning(vo.c.vo_id).cte("moved")
    return _flags(owner, moved)


_MOVE_LATEST = _move_latest(with_contribution=False)
_MOVE_LATEST_WITH_CONTRIBUTION_POSTGRESQL = DirectStatement(_move_latest(with_contribution=True))


def _move_latest_postgresql(
    conn: Connection, key: dict[str, Any], contribution: Mapping[str, Any] | None
) -> bool:
    if contribution is not None:
        params = {**_lock_params(key), "contribution_id": contribution["contribution_id"]}
        return _folded(conn, _MOVE_LATEST_WITH_CONTRIBUTION_POSTGRESQL, params, contribution)
    return _move_latest_separately(conn, key, None)


def _move_latest_separately(
    conn: Connection, key: dict[str, Any], contribution: Mapping[str, Any] | None
) -> bool:
    if contribution is not None:
        insert_contribution(conn, contribution)
    return bool(conn.execute(_MOVE_LATEST, _lock_params(key)).rowcount == 1)


_LATEST_MOVES: dict[str, LatestMove] = {"postgresql": _move_latest_postgresql}


def move_latest(conn: Connection, key: dict[str, Any], contribution: Mapping[str, Any] | None = None) -> bool:
    """Take a versioned object's lock: move its ``latest_version`` from ``key['version']`` to the next
    (``key``: ``ehr_id``, ``vo_id``, ``kind``, ``version``); ``False`` when it is not at that version (or
    there is no such object). ``contribution``: as for :func:`insert_first_version`, inserted before the
    lock is taken (in the same statement on PostgreSQL)."""
    return _LATEST_MOVES.get(conn.dialect.name, _move_latest_separately)(conn, key, contribution)
