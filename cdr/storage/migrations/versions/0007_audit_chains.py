"""The audit trail as a hash chain per EHR: ``audit_event.chain`` and ``position``, a head per chain.

An append holds its chain's head row locked until its transaction commits (so that positions stay gap-free
and in commit order). With one chain every audited request, each read of patient data included, queued
there through its COMMIT: one at a time, whatever the hardware (issue 4's benchmark: reads with 4 clients
~20% slower than without the lock). Records now go to their EHR's chain (cdr.security.audit.chain_of; those
naming no EHR to a few system chains); ``seq`` stays the record's number, now from the sequence
``audit_event_seq`` on PostgreSQL, and ``position`` is its place in its chain. The records written before
are the chain of the nil UUID at ``position = seq``, so their hashes still verify, and the old head is that
chain's head (``audit_head.id`` becomes the chain's UUID).

The append-only triggers now allow deleting what a checkpoint *of the same chain* covers (a purge appends
one checkpoint to each chain it shortens); a partial index finds a chain's checkpoints for them.

Revision ID: 0007_audit_chains
Revises: 0006_duration_seconds
Create Date: 2026-11-27 05:40:00
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007_audit_chains"
down_revision: str | None = "0006_duration_seconds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# frozen here, as a migration's SQL must stay what it was
_COVERED = (
    "COALESCE((SELECT max(c.checkpoint_seq) FROM audit_event c "
    "WHERE c.kind = 'checkpoint' AND c.chain = {row}.chain), 0)"
)
_EVENT_COVERED = f"OLD.position <= {_COVERED.format(row='OLD')}"
_EHR_COVERED = (
    "EXISTS (SELECT 1 FROM audit_event e "
    f"WHERE e.seq = OLD.audit_seq AND e.position <= {_COVERED.format(row='e')})"
)

_OLD_COVERED = "COALESCE((SELECT max(checkpoint_seq) FROM audit_event WHERE kind = 'checkpoint'), 0)"


def _postgres_function(name: str, table: str, covered: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND {covered} THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '{table} is append-only: % refused', TG_OP;
END
$$
"""


def _sqlite_triggers(covered_event: str, covered_ehr: str) -> tuple[str, ...]:
    return (
        "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END",
        f"CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event WHEN NOT ({covered_event}) "
        "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END",
        "CREATE TRIGGER audit_ehr_no_update BEFORE UPDATE ON audit_ehr "
        "BEGIN SELECT RAISE(ABORT, 'audit_ehr is append-only: UPDATE refused'); END",
        f"CREATE TRIGGER audit_ehr_no_delete BEFORE DELETE ON audit_ehr WHEN NOT ({covered_ehr}) "
        "BEGIN SELECT RAISE(ABORT, 'audit_ehr is append-only: DELETE refused'); END",
    )


_SQLITE_TRIGGER_NAMES = (
    "audit_event_no_update",
    "audit_event_no_delete",
    "audit_ehr_no_update",
    "audit_ehr_no_delete",
)


def _drop_sqlite_triggers() -> None:
    for name in _SQLITE_TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


_NIL = uuid.UUID(int=0)
_HEAD_COMMENT = "the newest position and hash of each audit chain: removing a chain's tail is detected"
_OLD_HEAD_COMMENT = "the newest position and hash of the audit chain: removing the chain's tail is detected"


def _head_table(chain_type: sa.types.TypeEngine[Any], comment: str) -> None:
    id_comment = "the chain (audit_event.chain)" if isinstance(chain_type, sa.Uuid) else None
    seq_comment = "the chain's newest position (0: started, empty)" if id_comment else None
    op.create_table(
        "audit_head",
        sa.Column("id", chain_type, autoincrement=False, nullable=False, comment=id_comment),
        sa.Column("seq", sa.BigInteger(), nullable=False, comment=seq_comment),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
        comment=comment,
    )


def _old_head() -> tuple[int, str] | None:
    row = op.get_bind().execute(sa.text("SELECT seq, hash FROM audit_head")).first()
    return None if row is None else (int(row[0]), str(row[1]))


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    head = _old_head()
    op.drop_table("audit_head")
    _head_table(sa.Uuid(), _HEAD_COMMENT)
    if head is not None:
        heads = sa.table("audit_head", sa.column("id", sa.Uuid()), sa.column("seq"), sa.column("hash"))
        op.bulk_insert(heads, [{"id": _NIL, "seq": head[0], "hash": head[1]}])
    if not postgres:  # the triggers refuse the UPDATE below, and the table is rebuilt
        _drop_sqlite_triggers()
    else:
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    op.add_column(
        "audit_event",
        sa.Column(
            "chain",
            sa.Uuid(),
            nullable=True,
            comment="the hash chain that holds the record: its EHR's id, else a system chain",
        ),
    )
    op.add_column(
        "audit_event",
        sa.Column(
            "position",
            sa.BigInteger(),
            nullable=True,
            comment="position in its chain: 1, 2, ... without gaps",
        ),
    )
    events = sa.table("audit_event", sa.column("chain", sa.Uuid()), sa.column("position"), sa.column("seq"))
    op.execute(sa.update(events).values(chain=_NIL, position=events.c.seq))
    with op.batch_alter_table("audit_event") as batch:
        batch.alter_column("chain", existing_type=sa.Uuid(), nullable=False)
        batch.alter_column("position", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column(
            "seq",
            existing_type=sa.BigInteger(),
            existing_nullable=False,
            comment="the record's number, in the order of appending (PostgreSQL: audit_event_seq)",
            existing_comment="position in the hash chain",
        )
    op.create_index(op.f("ix_audit_event_chain_position"), "audit_event", ["chain", "position"], unique=True)
    kind = sa.column("kind") == "checkpoint"
    op.create_index(
        "ix_audit_event_checkpoint",
        "audit_event",
        ["chain", "checkpoint_seq"],
        postgresql_where=kind,
        sqlite_where=kind,
    )
    if postgres:
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
        op.execute("CREATE SEQUENCE audit_event_seq START WITH 1 OWNED BY audit_event.seq")
        op.execute(
            "SELECT setval('audit_event_seq', COALESCE((SELECT max(seq) FROM audit_event), 0) + 1, false)"
        )
        op.execute(_postgres_function("cdr_audit_append_only", "audit_event", _EVENT_COVERED))
        op.execute(_postgres_function("cdr_audit_ehr_append_only", "audit_ehr", _EHR_COVERED))
    else:
        for statement in _sqlite_triggers(_EVENT_COVERED, _EHR_COVERED):
            op.execute(statement)


def downgrade() -> None:
    """Back to one chain: only a trail whose records are all in the nil UUID's chain verifies afterwards."""
    postgres = op.get_bind().dialect.name == "postgresql"
    heads = sa.table("audit_head", sa.column("id", sa.Uuid()), sa.column("seq"), sa.column("hash"))
    row = op.get_bind().execute(sa.select(heads.c.seq, heads.c.hash).where(heads.c.id == _NIL)).first()
    op.drop_table("audit_head")
    _head_table(sa.Integer(), _OLD_HEAD_COMMENT)
    if row is not None:
        old = sa.table("audit_head", sa.column("id"), sa.column("seq"), sa.column("hash"))
        op.bulk_insert(old, [{"id": 1, "seq": row[0], "hash": row[1]}])
    if postgres:
        op.execute("DROP SEQUENCE IF EXISTS audit_event_seq")
        op.execute(_postgres_function("cdr_audit_append_only", "audit_event", f"OLD.seq <= {_OLD_COVERED}"))
        op.execute(
            _postgres_function("cdr_audit_ehr_append_only", "audit_ehr", f"OLD.audit_seq <= {_OLD_COVERED}")
        )
    else:
        _drop_sqlite_triggers()
    op.drop_index("ix_audit_event_checkpoint", table_name="audit_event")
    op.drop_index(op.f("ix_audit_event_chain_position"), table_name="audit_event")
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_column("position")
        batch.drop_column("chain")
        batch.alter_column(
            "seq",
            existing_type=sa.BigInteger(),
            existing_nullable=False,
            comment="position in the hash chain",
        )
    if not postgres:
        for statement in _sqlite_triggers(f"OLD.seq <= {_OLD_COVERED}", f"OLD.audit_seq <= {_OLD_COVERED}"):
            op.execute(statement)
