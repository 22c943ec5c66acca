"""Initial schema: EHRs, contributions, versioned objects and their versions, nodes, folder items, templates.

Revision ID: 0001
Revises: -
Create Date: 2026-11-26 09:37:24.465088
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cdr.storage.types import JsonDocument, UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ehr",
        sa.Column("ehr_id", sa.Uuid(), nullable=False),
        sa.Column("system_id", sa.String(length=255), nullable=False),
        sa.Column("time_created", UtcDateTime(), nullable=False),
        sa.Column("ehr_status_id", sa.Uuid(), nullable=True, comment="versioned object id of the EHR_STATUS"),
        sa.Column("directory_id", sa.Uuid(), nullable=True, comment="versioned object id of the root FOLDER"),
        sa.PrimaryKeyConstraint("ehr_id", name=op.f("pk_ehr")),
    )
    op.create_table(
        "template",
        sa.Column("template_id", sa.String(length=255), nullable=False),
        sa.Column("concept", sa.Text(), nullable=False),
        sa.Column(
            "archetype_id",
            sa.String(length=255),
            nullable=False,
            comment="archetype id of the template's root",
        ),
        sa.Column("opt", sa.Text(), nullable=False, comment="the OPT 1.4 XML as uploaded"),
        sa.Column("uploaded", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("template_id", name=op.f("pk_template")),
    )
    op.create_table(
        "contribution",
        sa.Column("ehr_id", sa.Uuid(), nullable=False),
        sa.Column("contribution_id", sa.Uuid(), nullable=False),
        sa.Column("system_id", sa.String(length=255), nullable=False),
        sa.Column("time_committed", UtcDateTime(), nullable=False),
        sa.Column(
            "change_type", sa.String(length=8), nullable=False, comment="openEHR 'audit change type' code"
        ),
        sa.Column("committer", JsonDocument(), nullable=False, comment="PARTY_PROXY, canonical JSON"),
        sa.Column("description", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ehr_id"], ["ehr.ehr_id"], name=op.f("fk_contribution_ehr"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ehr_id", "contribution_id", name=op.f("pk_contribution")),
    )
    op.create_table(
        "ehr_subject",
        sa.Column("subject_namespace", sa.String(length=255), nullable=False),
        sa.Column("subject_id", sa.String(length=255), nullable=False),
        sa.Column("ehr_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ehr_id"], ["ehr.ehr_id"], name=op.f("fk_ehr_subject_ehr"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("subject_namespace", "subject_id", name=op.f("pk_ehr_subject")),
        sa.UniqueConstraint("ehr_id", name=op.f("uq_ehr_subject_ehr_id")),
        comment="EHR_STATUS.subject.external_ref (namespace, id) of the latest status: one EHR per subject",
    )
    op.create_table(
        "versioned_object",
        sa.Column("ehr_id", sa.Uuid(), nullable=False),
        sa.Column("vo_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("time_created", UtcDateTime(), nullable=False),
        sa.Column(
            "latest_version",
            sa.Integer(),
            nullable=False,
            comment="optimistic lock: number of the newest version",
        ),
        sa.ForeignKeyConstraint(
            ["ehr_id"], ["ehr.ehr_id"], name=op.f("fk_versioned_object_ehr"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ehr_id", "vo_id", name=op.f("pk_versioned_object")),
    )
    op.create_table(
        "object_version",
        sa.Column("ehr_id", sa.Uuid(), nullable=False),
        sa.Column("vo_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("system_id", sa.String(length=255), nullable=False),
        sa.Column("contribution_id", sa.Uuid(), nullable=False),
        sa.Column("preceding_version_uid", sa.String(length=510), nullable=True),
        sa.Column(
            "lifecycle_state",
            sa.String(length=8),
            nullable=False,
            comment="openEHR 'version lifecycle state' code",
        ),
        sa.Column(
            "change_type", sa.String(length=8), nullable=False, comment="openEHR 'audit change type' code"
        ),
        sa.Column(
            "time_committed",
            UtcDateTime(),
            nullable=False,
            comment="start of the period this version is current",
        ),
        sa.Column(
            "superseded_at", UtcDateTime(), nullable=True, comment="end of that period; NULL while latest"
        ),
        sa.Column("latest", sa.Boolean(), nullable=False),
        sa.Column("committer", JsonDocument(), nullable=False, comment="PARTY_PROXY, canonical JSON"),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("template_id", sa.String(length=255), nullable=True),
        sa.Column(
            "archetype_id",
            sa.String(length=255),
            nullable=True,
            comment="archetype_node_id of the data's root",
        ),
        sa.Column(
            "data", JsonDocument(), nullable=True, comment="canonical JSON of the data; NULL when deleted"
        ),
        sa.ForeignKeyConstraint(
            ["ehr_id", "contribution_id"],
            ["contribution.ehr_id", "contribution.contribution_id"],
            name=op.f("fk_object_version_contribution"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ehr_id", "vo_id"],
            ["versioned_object.ehr_id", "versioned_object.vo_id"],
            name=op.f("fk_object_version_versioned_object"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ehr_id", "vo_id", "version", name=op.f("pk_object_version")),
    )
    op.create_index(
        op.f("ix_object_version_archetype_id_latest"),
        "object_version",
        ["archetype_id", "latest"],
        unique=False,
    )
    op.create_index(
        op.f("ix_object_version_ehr_id_contribution_id"),
        "object_version",
        ["ehr_id", "contribution_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_object_version_ehr_id_kind_latest"),
        "object_version",
        ["ehr_id", "kind", "latest"],
        unique=False,
    )
    op.create_index(op.f("ix_object_version_template_id"), "object_version", ["template_id"], unique=False)
    op.create_table(
        "node",
        sa.Column("ehr_id", sa.Uuid(), nullable=False),
        sa.Column("vo_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "num", sa.Integer(), nullable=False, comment="preorder number in the version's tree, root 0"
        ),
        sa.Column(
            "last_num", sa.Integer(), nullable=False, comment="num of the last descendant (num for a leaf)"
        ),
        sa.Column("parent_num", sa.Integer(), nullable=True),
        sa.Column("rm_type", sa.String(length=64), nullable=False),
        sa.Column("archetype_node_id", sa.String(length=255), nullable=False),
        sa.Column(
            "archetype_id",
            sa.String(length=255),
            nullable=True,
            comment="the nearest archetype root at or above",
        ),
        sa.Column("name", sa.Text(), nullable=True, comment="name/value"),
        sa.Column(
            "path",
            sa.Text(),
            nullable=False,
            comment="AQL path from the version's root: /content[...]/data[at0001]",
        ),
        sa.Column(
            "archetype_path", sa.Text(), nullable=False, comment="AQL path from the nearest archetype root"
        ),
        sa.Column(
            "json_path",
            sa.Text(),
            nullable=False,
            comment="SQL/JSON path into object_version.data: $.content[0]",
        ),
        sa.Column(
            "data", JsonDocument(), nullable=False, comment="the node without its LOCATABLE descendants"
        ),
        sa.Column(
            "value_type",
            sa.String(length=32),
            nullable=True,
            comment="RM type of the leaf value (see decompose)",
        ),
        sa.Column("num_value", sa.Double(), nullable=True),
        sa.Column("text_value", sa.String(length=255), nullable=True),
        sa.Column("code_string", sa.String(length=255), nullable=True),
        sa.Column("terminology", sa.String(length=255), nullable=True),
        sa.Column("units", sa.String(length=64), nullable=True),
        sa.Column("time_value", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ehr_id", "vo_id", "version"],
            ["object_version.ehr_id", "object_version.vo_id", "object_version.version"],
            name=op.f("fk_node_object_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ehr_id", "vo_id", "version", "num", name=op.f("pk_node")),
    )
    op.create_index(
        op.f("ix_node_archetype_node_id_ehr_id"), "node", ["archetype_node_id", "ehr_id"], unique=False
    )
    op.create_index(
        "ix_node_code_string",
        "node",
        ["archetype_id", "archetype_node_id", "code_string"],
        unique=False,
        postgresql_where=sa.text("code_string IS NOT NULL"),
        sqlite_where=sa.text("code_string IS NOT NULL"),
    )
    op.create_index(
        "ix_node_num_value",
        "node",
        ["archetype_id", "archetype_node_id", "num_value"],
        unique=False,
        postgresql_where=sa.text("num_value IS NOT NULL"),
        sqlite_where=sa.text("num_value IS NOT NULL"),
    )
    op.create_index(
        "ix_node_text_value",
        "node",
        ["archetype_id", "archetype_node_id", "text_value"],
        unique=False,
        postgresql_where=sa.text("text_value IS NOT NULL"),
        sqlite_where=sa.text("text_value IS NOT NULL"),
    )
    op.create_index(
        "ix_node_time_value",
        "node",
        ["archetype_id", "archetype_node_id", "time_value"],
        unique=False,
        postgresql_where=sa.text("time_value IS NOT NULL"),
        sqlite_where=sa.text("time_value IS NOT NULL"),
    )
    op.create_table(
        "folder_item",
        sa.Column("ehr_id", sa.Uuid(), nullable=False),
        sa.Column("vo_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("num", sa.Integer(), nullable=False, comment="the FOLDER node"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.String(length=510), nullable=False, comment="OBJECT_REF.id.value"),
        sa.Column(
            "target_vo_id", sa.Uuid(), nullable=True, comment="the versioned object id in target_id, if any"
        ),
        sa.Column("target_type", sa.String(length=64), nullable=False),
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["ehr_id", "vo_id", "version", "num"],
            ["node.ehr_id", "node.vo_id", "node.version", "node.num"],
            name=op.f("fk_folder_item_node"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ehr_id", "vo_id", "version", "num", "position", name=op.f("pk_folder_item")),
    )
    op.create_index(
        op.f("ix_folder_item_ehr_id_target_vo_id"), "folder_item", ["ehr_id", "target_vo_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("folder_item")
    op.drop_table("node")
    op.drop_table("object_version")
    op.drop_table("versioned_object")
    op.drop_table("ehr_subject")
    op.drop_table("contribution")
    op.drop_table("template")
    op.drop_table("ehr")
