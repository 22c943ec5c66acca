"""Versioned objects on a connection: commit one version, read versions back.

Shared by every store of a versioned aggregate (COMPOSITION, EHR_STATUS, FOLDER). Functions here run inside
the caller's transaction and never commit; the stores own the transactions (one per write).

A commit on a preceding version first moves ``versioned_object.latest_version`` from n to n+1 with a
conditional UPDATE. That row is the lock: of two commits on version n, the second's UPDATE matches nothing
(PostgreSQL re-checks the condition after the first commits; SQLite runs write transactions one at a time) and
it fails with :class:`~cdr.storage.records.StaleVersion` before it has written anything else.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from cdr.errors import Conflict, FormatError, InvalidInput, NotFound
from cdr.formats.canonical_form import canonical_form
from cdr.formats.canonical_json import to_json
from cdr.rm.base import RMObject
from cdr.storage import schema as t
from cdr.storage.decompose import NodeRow, decompose
from cdr.storage.direct import DirectStatement
from cdr.storage.engine import take, version_key
from cdr.storage.records import (
    CHANGE_TYPE,
    COMPLETE,
    CREATION,
    DELETED,
    LIFECYCLE_STATE,
    Audit,
    AuditDetails,
    JsonObject,
    StaleVersion,
    VersionRecord,
    VersionUid,
    code_of,
)
from cdr.storage.write_path import (
    insert_first_version,
    insert_nodes,
    insert_version,
    move_latest,
    new_rows_only,
)

ONE_MICROSECOND = dt.timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class VersionChange:
    """One version to commit.

    ``change_type`` is an openEHR 'audit change type' code or rubric: ``creation`` (no preceding version),
    ``modification``/``amendment``/... (with ``preceding_version_uid``), or ``deleted`` (a logical deletion:
    ``data`` is ignored). ``object_id`` chooses the versioned object id of a creation (else the uuid in
    ``data.uid``, else a new one). ``audit`` overrides the contribution's audit for this version.
    """

    kind: str
    change_type: str = "creation"
    data: RMObject | JsonObject | None = None
    preceding_version_uid: str | None = None
    object_id: uuid.UUID | None = None
    lifecycle_state: str = COMPLETE
    audit: Audit | None = None


def _object_id_of(data: JsonObject) -> uuid.UUID | None:
    uid = data.get("uid")
    value = uid.get("value") if isinstance(uid, dict) else None
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value.split("::")[0])
    except ValueError:
        return None


def commit_version(
    conn: Connection,
    *,
    ehr_id: uuid.UUID,
    change: VersionChange,
    contribution_id: uuid.UUID,
    audit: Audit,
    system_id: str,
    now: dt.datetime,
    contribution: Mapping[str, Any] | None = None,
) -> VersionRecord:
    """Write one version (and its nodes and side tables) in the caller's transaction.

    ``contribution``: the row of the version's contribution when the version is its only one; it goes in
    with the version's first write (:func:`~cdr.storage.write_path.insert_first_version`,
    :func:`~cdr.storage.write_path.move_latest`: the same statement on PostgreSQL), :class:`NotFound` for an
    unknown EHR. Without it, the caller has inserted the contribution row."""
    if change.kind not in t.KINDS:
        raise InvalidInput(f"{change.kind!r} is not a versioned kind ({', '.join(t.KINDS)})")
    change_type = code_of(CHANGE_TYPE, change.change_type)
    lifecycle = DELETED if change_type == DELETED else code_of(LIFECYCLE_STATE, change.lifecycle_state)
    data = _data_of(change, change_type)

    if change.preceding_version_uid is None:
        if change_type != CREATION:
            raise InvalidInput(f"a {change.change_type!r} version needs the preceding version uid")
        given = change.object_id or (data and _object_id_of(data))
        if given:
            _not_in_another_ehr(conn, ehr_id, given)
        vo_id = given or uuid.uuid4()
        version, time_committed = 1, now
    else:
        if change_type == CREATION:
            raise InvalidInput("a creation has no preceding version")
        preceding = VersionUid.parse(change.preceding_version_uid)
        vo_id, version = preceding.object_id, preceding.version + 1
        time_committed = _supersede(conn, ehr_id, change.kind, preceding, now, contribution)

    uid = VersionUid(vo_id, system_id, version)
    if data is not None:
        data["uid"] = {"_type": "OBJECT_VERSION_ID", "value": str(uid)}
    details = AuditDetails(system_id, time_committed, change_type, audit.committer, audit.description)
    record = VersionRecord(
        ehr_id=ehr_id,
        vo_id=vo_id,
        version=version,
        kind=change.kind,
        system_id=system_id,
        contribution_id=contribution_id,
        preceding_version_uid=change.preceding_version_uid,
        lifecycle_state=lifecycle,
        commit_audit=details,
        superseded_at=None,
        template_id=_template_id(data),
        document=data,
    )
    nodes = decompose(data) if data is not None else []  # first: it refuses what the columns cannot hold
    if version > 1:
        insert_version(conn, _version_row(record))
    elif not insert_first_version(conn, _version_row(record), now, contribution):
        _taken(conn, ehr_id, vo_id)
    if nodes:
        insert_nodes(conn, {"ehr_id": ehr_id, "vo_id": vo_id, "version": version}, nodes)
    _SIDE_EFFECTS[change.kind](conn, record, nodes)
    return record


def _data_of(change: VersionChange, change_type: str) -> JsonObject | None:
    if change_type == DELETED:
        return None
    if change.data is None:
        raise InvalidInput(f"a {change.change_type!r} version needs data")
    doc = to_json(change.data) if isinstance(change.data, RMObject) else change.data
    data = dict(canonical_form(doc))  # one lexical form per value, as EHRbase stores it
    if data.get("_type") != change.kind:
        raise InvalidInput(f"the data of a {change.kind} version is a {data.get('_type')}")
    return data


def _template_id(data: JsonObject | None) -> str | None:
    details = (data or {}).get("archetype_details") or {}
    template_id = details.get("template_id") or {}
    value = template_id.get("value")
    if not isinstance(value, str):
        return None
    if len(value) > t.ID:  # no template bounds it in an EHR_STATUS or FOLDER
        reason = f"{len(value)} characters; a template id has at most {t.ID}"
        raise FormatError("/archetype_details/template_id/value", reason)
    return value


def _taken(conn: Connection, ehr_id: uuid.UUID, vo_id: uuid.UUID) -> None:
    """:class:`Conflict` naming what holds the object id a creation wanted (the rare case: a second
    statement, for the message)."""
    vo = t.versioned_object
    taken = conn.execute(sa.select(vo.c.kind).where(vo.c.ehr_id == ehr_id, vo.c.vo_id == vo_id)).scalar()
    raise Conflict(f"{taken} {vo_id} already exists in EHR {ehr_id}")


def _not_in_another_ehr(conn: Connection, ehr_id: uuid.UUID, vo_id: uuid.UUID) -> None:
    """:class:`Conflict` when another EHR holds a versioned object with the id a creation brings: the id names
    one object in the whole system (openEHR's HIER_OBJECT_ID), while the table's key, which leads with
    ``ehr_id`` so that the data shards by EHR, only keeps it unique within an EHR. The other EHR is not
    named. Ids the server assigns (``uuid4``) are not checked."""
    vo = t.versioned_object
    elsewhere = sa.select(vo.c.ehr_id).where(vo.c.vo_id == vo_id, vo.c.ehr_id != ehr_id).limit(1)
    if conn.execute(elsewhere).first() is not None:
        raise Conflict(f"versioned object id {vo_id} is already in use; leave out the uid to get a new one")


def _supersede(
    conn: Connection,
    ehr_id: uuid.UUID,
    kind: str,
    preceding: VersionUid,
    now: dt.datetime,
    contribution: Mapping[str, Any] | None,
) -> dt.datetime:
    """Take the lock (latest_version n -> n+1), close version n's period; the new version's commit time."""
    ov = t.object_version
    key = {"ehr_id": ehr_id, "vo_id": preceding.object_id, "kind": kind, "version": preceding.version}
    if not move_latest(conn, key, contribution):
        latest = get_latest(conn, ehr_id, kind, preceding.object_id)  # NotFound if there is no such object
        raise StaleVersion(
            f"{preceding} is not the latest version of {kind} {preceding.object_id}", latest.uid
        )
    where = (ov.c.ehr_id == ehr_id, ov.c.vo_id == preceding.object_id, ov.c.version == preceding.version)
    prev = conn.execute(sa.select(ov.c.system_id, ov.c.change_type, ov.c.time_committed).where(*where)).one()
    if prev.system_id != preceding.system_id:
        latest_uid = str(VersionUid(preceding.object_id, prev.system_id, preceding.version))
        raise StaleVersion(f"{preceding} is not a version of {kind} {preceding.object_id}", latest_uid)
    if prev.change_type == DELETED:
        raise Conflict(f"{kind} {preceding.object_id} is deleted")
    # versions of one object get strictly increasing commit times, so "the version at time t" is unique
    time_committed = max(now, prev.time_committed + ONE_MICROSECOND)
    conn.execute(sa.update(ov).where(*where).values(latest=False, superseded_at=time_committed))
    return time_committed


def _version_row(record: VersionRecord) -> dict[str, Any]:
    audit = record.commit_audit
    return {
        "ehr_id": record.ehr_id,
        "vo_id": record.vo_id,
        "version": record.version,
        "kind": record.kind,
        "system_id": record.system_id,
        "contribution_id": record.contribution_id,
        "preceding_version_uid": record.preceding_version_uid,
        "lifecycle_state": record.lifecycle_state,
        "change_type": audit.change_type,
        "time_committed": audit.time_committed,
        "superseded_at": None,
        "latest": True,
        "committer": audit.committer,
        "description": audit.description,
        "template_id": record.template_id,
        "archetype_id": (record.data or {}).get("archetype_node_id"),
        "data": record.data,
    }


# --- side tables per kind ---------------------------------------------------------------------------------


def _composition_side_effects(conn: Connection, record: VersionRecord, nodes: Sequence[NodeRow]) -> None:
    """Compositions have none: their nodes are all AQL needs."""


def _ehr_status_side_effects(conn: Connection, record: VersionRecord, nodes: Sequence[NodeRow]) -> None:
    """One EHR_STATUS per EHR, never deleted; its subject's (namespace, id) unique across EHRs."""
    if record.deleted:
        raise InvalidInput("an EHR_STATUS cannot be deleted")
    if record.version == 1:
        _claim_root(conn, record, t.ehr.c.ehr_status_id, "an EHR_STATUS")
    conn.execute(sa.delete(t.ehr_subject).where(t.ehr_subject.c.ehr_id == record.ehr_id))
    ref = ((record.data or {}).get("subject") or {}).get("external_ref") or {}
    subject_id, namespace = (ref.get("id") or {}).get("value"), ref.get("namespace")
    if isinstance(subject_id, str) and isinstance(namespace, str):
        for path, text in (
            ("/subject/external_ref/id/value", subject_id),
            ("/subject/external_ref/namespace", namespace),
        ):
            if len(text) > t.ID:
                raise InvalidInput(
                    f"{path}: {len(text)} characters; a subject id or namespace has at most {t.ID}"
                )
        # the key decides, also between two EHRs claiming the subject at once: the second insert waits
        # for the first to commit, inserts nothing, and the subject's EHR is read for the message
        row = dict(subject_namespace=namespace, subject_id=subject_id, ehr_id=record.ehr_id)
        claimed = conn.execute(
            new_rows_only(conn, t.ehr_subject).values(row).returning(t.ehr_subject.c.ehr_id)
        ).first()
        if claimed is None:
            taken = conn.execute(
                sa.select(t.ehr_subject.c.ehr_id).where(
                    t.ehr_subject.c.subject_namespace == namespace, t.ehr_subject.c.subject_id == subject_id
                )
            ).scalar()
            raise Conflict(f"subject {namespace}::{subject_id} already has EHR {taken}")


def _folder_side_effects(conn: Connection, record: VersionRecord, nodes: Sequence[NodeRow]) -> None:
    """One live directory per EHR; every FOLDER node's OBJECT_REFs into ``folder_item``."""
    if record.version == 1:
        current = conn.execute(
            sa.select(t.ehr.c.directory_id).where(t.ehr.c.ehr_id == record.ehr_id)
        ).scalar()
        if current is not None and not get_latest(conn, record.ehr_id, "FOLDER", current).deleted:
            raise Conflict(f"EHR {record.ehr_id} already has a directory ({current})")
        _claim_root(conn, record, t.ehr.c.directory_id, "a directory", seen=current)
    items = []
    for node in nodes:
        for position, ref in enumerate(node.data.get("items") or [] if node.rm_type == "FOLDER" else []):
            target_id = (ref.get("id") or {}).get("value")
            if not isinstance(target_id, str):
                raise InvalidInput(f"FOLDER item {position} at {node.path} has no id")
            _check_lengths(
                f"FOLDER item {position} at {node.path}",
                (
                    ("id/value", target_id, 2 * t.ID),
                    ("type", ref.get("type"), 64),
                    ("namespace", ref.get("namespace"), t.ID),
                ),
            )
            items.append(
                {
                    "ehr_id": record.ehr_id,
                    "vo_id": record.vo_id,
                    "version": record.version,
                    "num": node.num,
                    "position": position,
                    "target_id": target_id,
                    "target_vo_id": _uuid_prefix(target_id),
                    "target_type": ref.get("type") or "",
                    "namespace": ref.get("namespace") or "",
                }
            )
    if items:
        conn.execute(sa.insert(t.folder_item), items)


def _check_lengths(where: str, texts: Sequence[tuple[str, Any, int]]) -> None:
    """:class:`InvalidInput` naming the first text longer than its column (``(name, text, limit)``)."""
    for name, text, limit in texts:
        if isinstance(text, str) and len(text) > limit:
            raise InvalidInput(f"{where}: {name} has {len(text)} characters; at most {limit}")


def _uuid_prefix(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.split("::")[0])
    except ValueError:
        return None


def _claim_root(
    conn: Connection, record: VersionRecord, column: sa.Column[Any], what: str, seen: uuid.UUID | None = None
) -> None:
    """Point the EHR at a new root object, if it still points where we saw it (race-free)."""
    claimed = conn.execute(
        sa.update(t.ehr)
        .where(t.ehr.c.ehr_id == record.ehr_id, column.is_not_distinct_from(seen))
        .values({column.name: record.vo_id})
    )
    if claimed.rowcount != 1:
        raise Conflict(f"EHR {record.ehr_id} already has {what}")


_SIDE_EFFECTS = {
    "COMPOSITION": _composition_side_effects,
    "EHR_STATUS": _ehr_status_side_effects,
    "FOLDER": _folder_side_effects,
}


# --- reading ------------------------------------------------------------------------------------------------


def record_of(row: Row[Any]) -> VersionRecord:
    """A :class:`VersionRecord` from an ``object_version`` row (``data`` may be absent from the row)."""
    return record_from(row._mapping)


def record_from(m: Mapping[Any, Any]) -> VersionRecord:
    """A :class:`VersionRecord` from an ``object_version`` row's columns by name."""
    return VersionRecord(
        ehr_id=m["ehr_id"],
        vo_id=m["vo_id"],
        version=m["version"],
        kind=m["kind"],
        system_id=m["system_id"],
        contribution_id=m["contribution_id"],
        preceding_version_uid=m["preceding_version_uid"],
        lifecycle_state=m["lifecycle_state"],
        commit_audit=AuditDetails(
            m["system_id"], m["time_committed"], m["change_type"], m["committer"], m["description"]
        ),
        superseded_at=m["superseded_at"],
        template_id=m["template_id"],
        document=m.get("data"),
    )


_META = [c for c in t.object_version.c if c.name != "data"]


def _select(
    ehr_id: uuid.UUID | sa.BindParameter[Any],
    kind: str | sa.BindParameter[Any],
    vo_id: uuid.UUID | sa.BindParameter[Any],
    with_data: bool = True,
) -> sa.Select[Any]:
    ov = t.object_version
    columns = [*_META, ov.c.data] if with_data else _META
    return sa.select(*columns).where(ov.c.ehr_id == ehr_id, ov.c.vo_id == vo_id, ov.c.kind == kind)


def _one(conn: Connection, query: DirectStatement, what: str, params: dict[str, Any]) -> VersionRecord:
    row = query.first(conn, params)
    if row is None:
        raise NotFound(what)
    return record_of(row)


_KEY: dict[str, sa.BindParameter[Any]] = {
    "ehr_id": sa.bindparam("ehr_id", type_=sa.Uuid()),
    "kind": sa.bindparam("kind", type_=sa.String()),
    "vo_id": sa.bindparam("vo_id", type_=sa.Uuid()),
}


@functools.cache
def _by_key(which: str) -> DirectStatement:
    """The statements of the single-version readers, built once and run directly (:mod:`.direct`): a read by
    version uid is the hottest statement of the API, and building its expression anew cost as much CPU as
    the database took to run it."""
    ov = t.object_version
    query = _select(_KEY["ehr_id"], _KEY["kind"], _KEY["vo_id"])
    if which == "version":
        return DirectStatement(
            query.where(
                ov.c.version == sa.bindparam("version", type_=sa.Integer()),
                ov.c.system_id == sa.bindparam("system_id", type_=sa.String()),
            )
        )
    if which == "latest":
        return DirectStatement(query.where(ov.c.latest == sa.true()))
    at = sa.bindparam("at", type_=ov.c.time_committed.type)
    current = sa.or_(ov.c.superseded_at.is_(None), ov.c.superseded_at > at)
    return DirectStatement(query.where(ov.c.time_committed <= at, current))


def get_version(conn: Connection, ehr_id: uuid.UUID, kind: str, uid: VersionUid) -> VersionRecord:
    """The version ``uid`` of a versioned object of ``kind`` in the EHR; :class:`NotFound` if absent. The
    statement of the request's policy facts may have read it already (see
    :func:`cdr.storage.access_control.load_facts_and_target`): then it is taken from what the request keeps.
    """
    kept = take(conn.engine, version_key(ehr_id, kind, uid))
    if kept is not None:
        return cast(VersionRecord, kept)
    params = {
        "ehr_id": ehr_id,
        "kind": kind,
        "vo_id": uid.object_id,
        "version": uid.version,
        "system_id": uid.system_id,
    }
    return _one(conn, _by_key("version"), f"{kind} version {uid} not found in EHR {ehr_id}", params)


def get_latest(conn: Connection, ehr_id: uuid.UUID, kind: str, vo_id: uuid.UUID) -> VersionRecord:
    """The latest version (possibly a deletion: check ``.deleted``); :class:`NotFound` if no such object."""
    params = {"ehr_id": ehr_id, "kind": kind, "vo_id": vo_id}
    return _one(conn, _by_key("latest"), f"{kind} {vo_id} not found in EHR {ehr_id}", params)


def get_at_time(
    conn: Connection, ehr_id: uuid.UUID, kind: str, vo_id: uuid.UUID, at: dt.datetime
) -> VersionRecord:
    """The version that was current at ``at``; :class:`NotFound` before the object existed."""
    params = {"ehr_id": ehr_id, "kind": kind, "vo_id": vo_id, "at": at}
    what = f"{kind} {vo_id} had no version at {at.isoformat()} in EHR {ehr_id}"
    return _one(conn, _by_key("at_time"), what, params)


def history(
    conn: Connection, ehr_id: uuid.UUID, kind: str, vo_id: uuid.UUID, with_data: bool = False
) -> list[VersionRecord]:
    """Every version, oldest first; :class:`NotFound` if there is no such object."""
    rows = conn.execute(_select(ehr_id, kind, vo_id, with_data).order_by(t.object_version.c.version)).all()
    if not rows:
        raise NotFound(f"{kind} {vo_id} not found in EHR {ehr_id}")
    return [record_of(r) for r in rows]


def latest_of_kind(
    conn: Connection, ehr_id: uuid.UUID, kind: str, include_deleted: bool = False
) -> list[VersionRecord]:
    """The latest versions of every object of ``kind`` in the EHR (without data), oldest object first."""
    ov = t.object_version
    query = sa.select(*_META).where(ov.c.ehr_id == ehr_id, ov.c.kind == kind, ov.c.latest == sa.true())
    if not include_deleted:
        query = query.where(ov.c.change_type != DELETED)
    return [record_of(r) for r in conn.execute(query.order_by(ov.c.time_committed, ov.c.vo_id))]


def node_rows(conn: Connection, ehr_id: uuid.UUID, vo_id: uuid.UUID, version: int) -> list[dict[str, Any]]:
    """The ``node`` rows of one version in preorder, as column dicts."""
    n = t.node
    query = (
        sa.select(n).where(n.c.ehr_id == ehr_id, n.c.vo_id == vo_id, n.c.version == version).order_by(n.c.num)
    )
    return [dict(r._mapping) for r in conn.execute(query)]
