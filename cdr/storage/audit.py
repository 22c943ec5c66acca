"""The audit trail's tables: append (inside the caller's transaction), read, verify and purge; never update.

Appends to a chain are serialised so that it has one order: on PostgreSQL by the lock on the chain's head row,
taken as the head is read (``SELECT ... FOR UPDATE``, held to commit, so the next writer sees this record; a
chain's head row is created, at position 0, by the first append to it), on SQLite by the write lock every
write transaction takes with ``BEGIN IMMEDIATE``. ``audit_head`` holds each chain's newest position and hash,
so that removing a chain's tail is detected too. Which chain a record goes to, hashing and verification are
in :mod:`cdr.security.audit`; this module only moves rows.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from cdr.security.audit import (
    GENESIS,
    AuditEvent,
    ChainReport,
    Outcome,
    chain_of,
    chained_hash,
    content_digest,
    verify_chains,
)
from cdr.storage import schema as t
from cdr.storage.direct import DirectStatement
from cdr.storage.engine import read_transaction, write_transaction

_LOCK_KEY = 0x0CD2_A0D1  # pg_advisory_xact_lock key of the audit trail's purges


def _lock(conn: Connection) -> None:
    """Serialise purges; SQLite's write transaction already holds its lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_KEY)))


def _head(conn: Connection, chain: uuid.UUID) -> tuple[int, str] | None:
    head = t.audit_head
    row = conn.execute(sa.select(head.c.seq, head.c.hash).where(head.c.id == chain)).first()
    return None if row is None else (int(row.seq), str(row.hash))


def _heads(conn: Connection) -> dict[uuid.UUID, tuple[int, str]]:
    head = t.audit_head
    return {i: (int(p), str(h)) for i, p, h in conn.execute(sa.select(head.c.id, head.c.seq, head.c.hash))}


@functools.cache
def _start_chain() -> Any:
    """PostgreSQL: a chain's head at position 0, unless another append created it (then this waits for that
    transaction, so that the next statement locks the row)."""
    head = t.audit_head
    return (
        pg_insert(head)
        .values(id=sa.bindparam("chain", type_=sa.Uuid()), seq=0, hash=GENESIS)
        .on_conflict_do_nothing(index_elements=[head.c.id])
    )


def _next_seq(conn: Connection) -> int:
    """SQLite: the new record's number, max + 1 (one writer at a time; PostgreSQL's append statement takes
    it from the sequence ``audit_event_seq``)."""
    return int(
        conn.execute(sa.select(sa.func.coalesce(sa.func.max(t.audit_event.c.seq), 0) + 1)).scalar_one()
    )


@functools.cache
def _statements() -> tuple[Any, Any, Any]:
    """The INSERT of a record, the head's UPDATE, and both as one statement (PostgreSQL), built once with
    one parameter per column (the record's fields), so that an append neither builds nor recompiles them."""
    ev, head = t.audit_event, t.audit_head
    binds = {c.name: sa.bindparam(c.name, type_=c.type) for c in ev.c}
    insert = sa.insert(ev).values(binds)
    move = (
        sa.update(head)
        .where(head.c.id == sa.bindparam("chain", type_=sa.Uuid()))
        .values(seq=sa.bindparam("position", type_=sa.BigInteger()), hash=binds["hash"])
    )
    return insert, move, DirectStatement(_chained_append())


def _chained_append() -> Any:
    """PostgreSQL's append in ONE statement: lock and read the chain's head, insert the record at the next
    position with its :func:`~cdr.security.audit.chained_hash` computed by the server (``sha256``), move the
    head; returns the record's ``seq``, or no row when the chain has no head yet (then nothing was inserted:
    :func:`_start_chain` creates it).

    A concurrent appender to the same chain waits on the head's row lock and then reads the head that was
    committed (READ COMMITTED re-reads a locked row), so positions stay gap-free and in commit order."""
    ev, head = t.audit_event, t.audit_head
    chain = sa.bindparam("chain", type_=sa.Uuid())
    current = sa.select(head.c.seq, head.c.hash).where(head.c.id == chain).with_for_update().cte("head")
    position = current.c.seq + 1
    text = sa.cast(position, sa.Text) + ":" + current.c.hash + ":" + sa.bindparam("digest", type_=sa.String)
    chained = sa.func.encode(sa.func.sha256(sa.func.convert_to(text, "UTF8")), "hex")
    content = [c for c in ev.c if c.name not in ("seq", "prev_hash", "hash", "chain", "position")]
    values = [sa.bindparam(c.name, type_=c.type) for c in content]
    source = sa.select(
        *values, t.audit_event_seq.next_value(), current.c.hash, chained, chain, position
    ).select_from(current)
    names = [*(c.name for c in content), "seq", "prev_hash", "hash", "chain", "position"]
    appended = (
        sa.insert(ev).from_select(names, source).returning(ev.c.seq, ev.c.position, ev.c.hash).cte("appended")
    )
    return (
        sa.update(head)
        # The statement's snapshot may show the head as it was before a concurrent append that this one
        # waited for committed; the condition holds for that version and for the current one, so the UPDATE
        # reaches the row and updates its current version (an equality would drop the older one, and the
        # record would be inserted without its head moving). It also joins the two FROM items.
        .where(head.c.id == chain, head.c.seq < appended.c.position)
        .values(seq=appended.c.position, hash=appended.c.hash)
        .returning(appended.c.seq)
    )


_LIMITS = {
    column.name: column.type.length
    for column in t.audit_event.columns
    if isinstance(column.type, sa.String) and column.type.length
}
"""The record's text columns of a bounded length, and the length."""


def _content(event: AuditEvent) -> dict[str, Any]:
    """The record's columns. Text from outside (an ``X-Request-Id`` header, a token's name claim, a looked-up
    subject id) is kept as far as its column holds it: PostgreSQL refused the whole record otherwise, and with
    it the request (a 500), so one long header made a request fail. The hash covers what is stored."""
    row: dict[str, Any] = event.model_dump()
    row["targets"] = list(event.targets)
    row["outcome"] = event.outcome.value
    for name, limit in _LIMITS.items():
        value = row.get(name)
        if isinstance(value, str) and len(value) > limit:
            row[name] = value[:limit]
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


def append(conn: Connection, event: AuditEvent, chain: uuid.UUID | None = None) -> int:
    """Add ``event`` at the end of its chain (``chain``, else :func:`~cdr.security.audit.chain_of`) on
    ``conn`` (commits or rolls back with it); its ``seq``.

    PostgreSQL: one statement once the chain has a head (see :func:`_chained_append`), else three. SQLite:
    the head, the record's number, then the record's INSERT and the head's INSERT or UPDATE.
    """
    row = _content(event)
    digest = content_digest(row)
    chain = chain_of(event) if chain is None else chain
    insert, move, chained = _statements()
    if conn.dialect.name == "postgresql":
        params = {**row, "digest": digest, "chain": chain}
        seq = chained.scalar(conn, params)
        if seq is None:
            conn.execute(_start_chain(), {"chain": chain})
            seq = chained.scalar(conn, params)
        _name_ehrs(conn, int(seq), event.ehr_ids)
        return int(seq)
    head = _head(conn, chain)
    position, prev = (head[0] + 1, head[1]) if head is not None else (1, GENESIS)
    seq = _next_seq(conn)
    row.update(seq=seq, chain=chain, position=position, prev_hash=prev)
    row["hash"] = chained_hash(position, prev, digest)
    conn.execute(insert, row)
    if head is None:
        conn.execute(sa.insert(t.audit_head).values(id=chain, seq=position, hash=row["hash"]))
    else:
        conn.execute(move, {"chain": chain, "position": position, "hash": row["hash"]})
    _name_ehrs(conn, seq, event.ehr_ids)
    return seq


def _rows(conn: Connection, where: Any = None, *, by_chain: bool = False) -> Iterator[dict[str, Any]]:
    """Records in the order they were appended (``by_chain``: chain by chain, in position order), each with
    the ``ehr_ids`` its ``audit_ehr`` rows name (sorted)."""
    ev, named = t.audit_event, t.audit_ehr
    query = sa.select(ev).order_by(*((ev.c.chain, ev.c.position) if by_chain else (ev.c.seq,)))
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
        """Every record in the order appended, or those about ``ehr_ids``: their own ``ehr_id``, or one their
        ``audit_ehr`` rows name (an AQL query whose result held the EHR); both lookups are indexed."""
        where = None
        if ehr_ids is not None:
            named = sa.select(t.audit_ehr.c.audit_seq).where(t.audit_ehr.c.ehr_id.in_(ehr_ids))
            where = sa.or_(t.audit_event.c.ehr_id.in_(ehr_ids), t.audit_event.c.seq.in_(named))
        with read_transaction(self.engine) as conn:
            return list(_rows(conn, where))

    def verify(self) -> ChainReport:
        """:func:`cdr.security.audit.verify_chains` over every stored chain and its head."""
        with read_transaction(self.engine) as conn:
            return verify_chains(_rows(conn, by_chain=True), _heads(conn))

    def purge(self, before: dt.datetime, actor: str) -> int:
        """Remove the records older than ``before`` (retention), keeping the rest verifiable.

        Only a prefix of each chain can go: its records up to the last one older than ``before`` that
        precedes every newer one of the chain. A checkpoint record naming that position and its hash is
        appended to the chain first, in the same transaction; the triggers allow deleting exactly what a
        checkpoint of the record's chain covers. Returns how many records were removed.
        """
        ev = t.audit_event
        removed = 0
        with write_transaction(self.engine) as conn:
            _lock(conn)
            chains = conn.execute(sa.select(ev.c.chain).where(ev.c.time < before).distinct()).scalars().all()
            for chain in sorted(chains):
                kept = conn.execute(
                    sa.select(sa.func.min(ev.c.position)).where(ev.c.chain == chain, ev.c.time >= before)
                ).scalar()
                last_purged = conn.execute(
                    sa.select(ev.c.position, ev.c.hash)
                    .where(ev.c.chain == chain, ev.c.position < kept if kept is not None else sa.true())
                    .order_by(ev.c.position.desc())
                    .limit(1)
                ).first()
                if last_purged is None:
                    continue
                checkpoint = AuditEvent(
                    kind="checkpoint",
                    time=dt.datetime.now(dt.UTC),
                    actor_subject=actor,
                    operation="audit:purge",
                    outcome=Outcome.CHECKPOINT,
                    internal=True,
                    checkpoint_seq=int(last_purged.position),
                    checkpoint_hash=str(last_purged.hash),
                )
                append(conn, checkpoint, chain)
                purged = sa.and_(ev.c.chain == chain, ev.c.position <= last_purged.position)
                conn.execute(
                    sa.delete(t.audit_ehr).where(
                        t.audit_ehr.c.audit_seq.in_(sa.select(ev.c.seq).where(purged))
                    )
                )
                removed += conn.execute(sa.delete(ev).where(purged)).rowcount
        return removed
