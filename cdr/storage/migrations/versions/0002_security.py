"""Security: care relations, patient controls (restriction, block, consent), emergency grants, and the
append-only, hash-chained audit trail with its head.

The audit table refuses UPDATE, and DELETE of anything a retention checkpoint does not cover, by trigger on
both databases (see cdr.security.audit); the chain makes any change that gets past them detectable.

Revision ID: 0002_security
Revises: 0002 (stored queries)
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cdr.storage.types import JsonDocument, UtcDateTime

revision: str = "0002_security"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COVERED = "COALESCE((SELECT max(checkpoint_seq) FROM audit_event WHERE kind = 'checkpoint'), 0)"

POSTGRES_TRIGGER = (
    f"""
CREATE FUNCTION cdr_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.seq <= {_COVERED} THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP;
END
$$
""",
    "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION cdr_audit_append_only()",
)

SQLITE_TRIGGER = (
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END",
    f"CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event WHEN OLD.seq > {_COVERED} "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END",
)


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column(
            "seq", sa.BigInteger(), autoincrement=False, nullable=False, comment="position in the hash chain"
        ),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="access | checkpoint"),
        sa.Column("time", UtcDateTime(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("actor_subject", sa.String(length=255), nullable=True),
        sa.Column("actor_pid", sa.String(length=32), nullable=True),
        sa.Column("actor_hpr", sa.String(length=32), nullable=True),
        sa.Column("actor_name", sa.String(length=255), nullable=True),
        sa.Column("client_id", sa.String(length=255), nullable=True),
        sa.Column("client_name", sa.String(length=255), nullable=True),
        sa.Column("orgnr_parent", sa.String(length=32), nullable=True),
        sa.Column("orgnr_child", sa.String(length=32), nullable=True),
        sa.Column("patient_id", sa.String(length=255), nullable=True),
        sa.Column("patient_namespace", sa.String(length=255), nullable=True),
        sa.Column(
            "ehr_id", sa.Uuid(), nullable=True, comment="no foreign key: the trail outlives a deleted EHR"
        ),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("targets", JsonDocument(), nullable=False, comment="composition/version uids touched"),
        sa.Column("basis", sa.String(length=32), nullable=True, comment="why access was allowed (or denied)"),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("emergency_code", sa.String(length=64), nullable=True),
        sa.Column("emergency_text", sa.Text(), nullable=True),
        sa.Column("consent_override", sa.Boolean(), nullable=False),
        sa.Column(
            "outcome", sa.String(length=16), nullable=False, comment="success | denied | failed | checkpoint"
        ),
        sa.Column("status", sa.Integer(), nullable=True, comment="HTTP status, when known at writing"),
        sa.Column(
            "internal",
            sa.Boolean(),
            nullable=False,
            comment="system-internal: not in the patient's access log",
        ),
        sa.Column(
            "checkpoint_seq", sa.BigInteger(), nullable=True, comment="checkpoint: last purged position"
        ),
        sa.Column(
            "checkpoint_hash",
            sa.String(length=64),
            nullable=True,
            comment="checkpoint: hash at that position",
        ),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_event")),
        comment="append-only, hash-chained audit trail (cdr.security.audit)",
    )
    op.create_index(op.f("ix_audit_event_ehr_id_time"), "audit_event", ["ehr_id", "time"], unique=False)
    op.create_index(op.f("ix_audit_event_time"), "audit_event", ["time"], unique=False)
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
        comment="the newest position and hash of the audit chain: removing the chain's tail is detected",
    )
    op.create_table(
        "care_relation",
        sa.Column("relation_id", sa.Uuid(), nullable=False),
        sa.Column("ehr_id", sa.Uuid(), nullable=False),
        sa.Column(
            "hpr_number",
            sa.String(length=32),
            nullable=True,
            comment="the health professional (HPR), or NULL",
        ),
        sa.Column(
            "organisation",
            sa.String(length=32),
            nullable=True,
            comment="the organisation or unit number, or NULL",
        ),
        sa.Column("valid_from", UtcDateTime(), nullable=False),
        sa.Column("valid_to", UtcDateTime(), nullable=True, comment="end of the validity period; NULL: open"),
        sa.Column("ended_at", UtcDateTime(), nullable=True, comment="when the relation was ended early"),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ehr_id"], ["ehr.ehr_id"], name=op.f("fk_care_relation_ehr"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("relation_id", name=op.f("pk_care_relation")),
        comment="tjenstlig behov: who may read an EHR, and for how long",
    )
    op.create_index(op.f("ix_care_relation_ehr_id"), "care_relation", ["ehr_id"], unique=False)
    op.create_index(op.f("ix_care_relation_hpr_number"), "care_relation", ["hpr_number"], unique=False)
    op.create_index(op.f("ix_care_relation_organisation"), "care_relation", ["organisation"], unique=False)
    op.create_table(
        "emergency_grant",
        sa.Column("grant_id", sa.Uuid(), nullable=False),
        sa.Column("ehr_id", sa.Uuid(), nullable=False),
        sa.Column("actor_subject", sa.String(length=255), nullable=False),
        sa.Column("actor_hpr", sa.String(length=32), nullable=True),
        sa.Column("reason_code", sa.String(length=64), nullable=False),
        sa.Column("reason_text", sa.Text(), nullable=False),
        sa.Column("granted_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ehr_id"], ["ehr.ehr_id"], name=op.f("fk_emergency_grant_ehr"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("grant_id", name=op.f("pk_emergency_grant")),
        comment="break-glass (akutt/nødrett) access: recorded, flagged and time-limited",
    )
    op.create_index(
        op.f("ix_emergency_grant_ehr_id_actor_subject"),
        "emergency_grant",
        ["ehr_id", "actor_subject"],
        unique=False,
    )
    op.create_table(
        "patient_control",
        sa.Column("control_id", sa.Uuid(), nullable=False),
        sa.Column("ehr_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="restriction | block | consent"),
        sa.Column(
            "target_kind",
            sa.String(length=16),
            nullable=True,
            comment="restriction: ehr | composition | template",
        ),
        sa.Column(
            "target", sa.String(length=255), nullable=True, comment="composition object id or template id"
        ),
        sa.Column(
            "party_kind",
            sa.String(length=16),
            nullable=True,
            comment="everyone | organisation | unit | hpr | pid",
        ),
        sa.Column("party", sa.String(length=255), nullable=True),
        sa.Column(
            "overrides", sa.Uuid(), nullable=True, comment="consent: the restriction it lifts (NULL: all)"
        ),
        sa.Column("valid_from", UtcDateTime(), nullable=False),
        sa.Column("valid_to", UtcDateTime(), nullable=True),
        sa.Column("lifted_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ehr_id"], ["ehr.ehr_id"], name=op.f("fk_patient_control_ehr"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("control_id", name=op.f("pk_patient_control")),
        comment="the patient's restrictions (sperring), blocks of named personnel and consents",
    )
    op.create_index(op.f("ix_patient_control_ehr_id"), "patient_control", ["ehr_id"], unique=False)

    statements = POSTGRES_TRIGGER if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGER
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS cdr_audit_append_only()")
    op.drop_index(op.f("ix_patient_control_ehr_id"), table_name="patient_control")
    op.drop_table("patient_control")
    op.drop_index(op.f("ix_emergency_grant_ehr_id_actor_subject"), table_name="emergency_grant")
    op.drop_table("emergency_grant")
    op.drop_index(op.f("ix_care_relation_organisation"), table_name="care_relation")
    op.drop_index(op.f("ix_care_relation_hpr_number"), table_name="care_relation")
    op.drop_index(op.f("ix_care_relation_ehr_id"), table_name="care_relation")
    op.drop_table("care_relation")
    op.drop_table("audit_head")
    op.drop_index(op.f("ix_audit_event_time"), table_name="audit_event")
    op.drop_index(op.f("ix_audit_event_ehr_id_time"), table_name="audit_event")
    op.drop_table("audit_event")
