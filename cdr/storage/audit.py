"""The audit trail's table: append (inside the caller's transaction), read, verify and purge; never update.

Appends are serialised so that the chain has one order: on PostgreSQL by the lock on the head row, taken as
the head is read (``SELECT ... FOR UPDATE``, held to commit, so the next writer sees this record; a
transaction-level advisory lock stands in before the chain has a head, and serialises purges), on SQLite by
the write lock every write transaction takes with ``BEGIN IMMEDIATE``. The one-row ``audit_head`` table
holds the newest position and hash, so that removing the chain's tail is detected too. Hashing and
verification are in :mod:`cdr.security.audit`; this module only moves rows.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Engine

from cdr.security.audit import (
    GENESIS,
    AuditEvent,
    ChainReport,
    Outcome,
    content_digest,
    record_hash,
    verify_chain,
)
from cdr.storage import schema as t
from cdr.storage.engine import read_transaction, write_transaction

_LOCK_KEY = 0x0CD2_A0D1  # pg_advisory_xact_lock key of the audit chain
_HEAD_ID = 1


def _lock(conn: Connection) -> None:
    """Serialise appends (see the module docstring); SQLite's write transaction already holds its lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_KEY)))


def _head(conn: Connection, *, for_update: bool = False) -> tuple[int, str] | None:
    query = sa.select(t.audit_head.c.seq, t.audit_head.c.hash).where(t.audit_head.c.id == _HEAD_ID)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return None if row is None else (int(row.seq), str(row.hash))


def _locked_head(conn: Connection) -> tuple[int, str] | None:
    """The chain's head, read so that no other append can pass this one until it commits.

    On PostgreSQL the head row's lock (``SELECT ... FOR UPDATE``) is the serialisation: a second writer
    waits on it and then reads the head the first one committed. Before the first record there is no row to
    lock, so the advisory lock serialises the writers that start the chain (and the head is read again under
    it, locked, in case another writer created it meanwhile). On SQLite the write transaction's lock is
    already held.
    """
    head = _head(conn, for_update=True)
    if head is None and conn.dialect.name == "postgresql":
        _lock(conn)
        head = _head(conn, for_update=True)
    return head


@functools.cache
def _statements() -> tuple[Any, Any, Any]:
    """The INSERT of a record, the head's UPDATE, and both as one statement (PostgreSQL), built once with
    one parameter per column (the record's fields), so that an append neither builds nor recompiles them."""
    ev, head = t.audit_event, t.audit_head
    binds = {c.name: sa.bindparam(c.name, type_=c.type) for c in ev.c}
    insert = sa.insert(ev).values(binds)
    move = sa.update(head).where(head.c.id == _HEAD_ID).values(seq=binds["seq"], hash=binds["hash"])
    return insert, move, _chained_append()


def _chained_append() -> Any:
    """PostgreSQL's append in ONE statement: lock and read the head, insert the record at the next position
    with its :func:`~cdr.security.audit.chained_hash` computed by the server (``sha256``), move the head;
    returns the new position, or no row when the chain has no head yet (then nothing was inserted).

    A concurrent appender waits on the head's row lock and then reads the head that was committed (READ
    COMMITTED re-reads a locked row), so positions stay gap-free and in commit order."""
    ev, head = t.audit_event, t.audit_head
    current = sa.select(head.c.seq, head.c.hash).where(head.c.id == _HEAD_ID).with_for_update().cte("head")
    seq = current.c.seq + 1
    text = sa.cast(seq, sa.Text) + ":" + current.c.hash + ":" + sa.bindparam("digest", type_=sa.String)
    chained = sa.func.encode(sa.func.sha256(sa.func.convert_to(text, "UTF8")), "hex")
    content = [c for c in ev.c if c.name not in ("seq", "prev_hash", "hash")]
    values = [sa.bindparam(c.name, type_=c.type) for c in content]
    source = sa.select(*values, seq, current.c.hash, chained).select_from(current)
    names = [*(c.name for c in content), "seq", "prev_hash", "hash"]
    appended = sa.insert(ev).from_select(names, source).returning(ev.c.seq, ev.c.hash).cte("appended")
    return (
        sa.update(head)
        # The statement's snapshot may show the head as it was before a concurrent append that this one
        # waited for committed; the condition holds for that version and for the current one, so the UPDATE
        # reaches the row and updates its current version (an equality would drop the older one, and the
        # record would be inserted without its head moving). It also joins the two FROM items.
        .where(head.c.id == _HEAD_ID, head.c.seq < appended.c.seq)
        .values(seq=appended.c.seq, hash=appended.c.hash)
        .returning(head.c.seq)
    )


def _content(event: AuditEvent) -> dict[str, Any]:
    row: dict[str, Any] = event.model_dump()
    row["targets"] = list(event.targets)
    row["outcome"] = event.outcome.value
    return row


@functools.cache
def _unnested_names() -> Any:
    """PostgreSQL: every ``audit_ehr`` row of a record from ONE array parameter (``unnest``): a row per
    parameter set would cost a round trip per thousand EHRs, tens of milliseconds for a population query."""
    ids = sa.bindparam("ids", type_=ARRAY(sa.Uuid()))
    seq = sa.bindparam("seq", type_=sa.BigInteger())
    source = sa.select(sa.func.unnest(ids, type_=sa.Uuid()), seq)
    return sa.insert(t.audit_ehr).from_select(["ehr_id", "audit_seq"], source)


def _name_ehrs(conn: Connection, seq: int, ehr_ids: tuple[uuid.UUID, ...]) -> None:
    """The record's ``audit_ehr`` rows, in its transaction: one statement on PostgreSQL, one executemany on
    SQLite (in-process, no round trips)."""
    if not ehr_ids:
        return
    unique = sorted(set(ehr_ids))
    if conn.dialect.name == "postgresql":
        conn.execute(_unnested_names(), {"ids": unique, "seq": seq})
    else:
        conn.execute(sa.insert(t.audit_ehr), [{"ehr_id": e, "audit_seq": seq} for e in unique])


def append(conn: Connection, event: AuditEvent) -> int:
    """Add ``event`` at the end of the chain on ``conn`` (commits or rolls back with it); its position.

    PostgreSQL: one statement once the chain has a head (see :func:`_chained_append`). SQLite, and the first
    record: the locked head, then the record's INSERT and the head's UPDATE.
    """
    row = _content(event)
    insert, move, chained = _statements()
    if conn.dialect.name == "postgresql":
        seq = conn.execute(chained, {**row, "digest": content_digest(row)}).scalar()
        if seq is not None:
            _name_ehrs(conn, int(seq), event.ehr_ids)
            return int(seq)
    head = _locked_head(conn)
    seq, prev = (head[0] + 1, head[1]) if head is not None else (1, GENESIS)
    row.update(seq=seq, prev_hash=prev)
    row["hash"] = record_hash(row)
    conn.execute(insert, row)
    if head is None:
        conn.execute(sa.insert(t.audit_head).values(id=_HEAD_ID, seq=seq, hash=row["hash"]))
    else:
        conn.execute(move, {"seq": seq, "hash": row["hash"]})
    _name_ehrs(conn, seq, event.ehr_ids)
    return seq


def _rows(conn: Connection, where: Any = None) -> Iterator[dict[str, Any]]:
    """Records in chain order, each with the ``ehr_ids`` its ``audit_ehr`` rows name (sorted)."""
    ev, named = t.audit_event, t.audit_ehr
    query = sa.select(ev).order_by(ev.c.seq)
    names = sa.select(named.c.audit_seq, named.c.ehr_id).order_by(named.c.audit_seq, named.c.ehr_id)
    if where is not None:
        query = query.where(where)
        names = names.where(named.c.audit_seq.in_(sa.select(ev.c.seq).where(where)))
    ehr_ids: dict[int, list[uuid.UUID]] = {}
    for seq, ehr_id in conn.execute(names):
        ehr_ids.setdefault(int(seq), []).append(ehr_id)
    for row in conn.execute(query).mappings():
        record = dict(row)
        record["ehr_ids"] = tuple(ehr_ids.get(int(record["seq"]), ()))
        yield record


class AuditStore:
    """The audit trail over one engine. There is deliberately no update or delete of single records."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(self, event: AuditEvent, conn: Connection | None = None) -> int:
        """Append on ``conn`` (the caller's transaction) or, without one, in a transaction of its own."""
        if conn is not None:
            return append(conn, event)
        with write_transaction(self.engine) as own:
            return append(own, event)

    def records(self, ehr_ids: list[uuid.UUID] | None = None) -> list[dict[str, Any]]:
        """Every record in chain order, or those about ``ehr_ids``: their own ``ehr_id``, or one their
        ``audit_ehr`` rows name (an AQL query whose result held the EHR); both lookups are indexed."""
        where = None
        if ehr_ids is not None:
            named = sa.select(t.audit_ehr.c.audit_seq).where(t.audit_ehr.c.ehr_id.in_(ehr_ids))
            where = sa.or_(t.audit_event.c.ehr_id.in_(ehr_ids), t.audit_event.c.seq.in_(named))
        with read_transaction(self.engine) as conn:
            return list(_rows(conn, where))

    def verify(self) -> ChainReport:
        """:func:`cdr.security.audit.verify_chain` over the whole stored chain and its head."""
        with read_transaction(self.engine) as conn:
            return verify_chain(_rows(conn), _head(conn))

    def purge(self, before: dt.datetime, actor: str) -> int:
        """Remove the records older than ``before`` (retention), keeping the rest verifiable.

        Only a prefix of the chain can go: the records up to the last one older than ``before`` that
        precedes every newer one. A checkpoint record naming that position and its hash is appended first,
        in the same transaction; the triggers allow deleting exactly what a checkpoint covers. Returns how
        many records were removed.
        """
        ev = t.audit_event
        with write_transaction(self.engine) as conn:
            _lock(conn)
            first_kept = conn.execute(
                sa.select(sa.func.min(ev.c.seq)).where(ev.c.time >= before)
            ).scalar_one_or_none()
            last_purged = conn.execute(
                sa.select(ev.c.seq, ev.c.hash)
                .where(ev.c.seq < first_kept if first_kept is not None else sa.true())
                .order_by(ev.c.seq.desc())
                .limit(1)
            ).first()
            if last_purged is None:
                return 0
            checkpoint = AuditEvent(
                kind="checkpoint",
                time=dt.datetime.now(dt.UTC),
                actor_subject=actor,
                operation="audit:purge",
                outcome=Outcome.CHECKPOINT,
                internal=True,
                checkpoint_seq=int(last_purged.seq),
                checkpoint_hash=str(last_purged.hash),
            )
            append(conn, checkpoint)
            conn.execute(sa.delete(t.audit_ehr).where(t.audit_ehr.c.audit_seq <= last_purged.seq))
            removed = conn.execute(sa.delete(ev).where(ev.c.seq <= last_purged.seq)).rowcount
        return int(removed)
