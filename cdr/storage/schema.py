"""The relational schema, in SQLAlchemy Core: one :data:`metadata`, the same on PostgreSQL and SQLite.

Aggregates and their tables (every table but ``template`` carries ``ehr_id``, the future distribution column,
see ``docs/scale.md``):

``ehr``, ``ehr_subject``
    The EHR root, and the unique (namespace, id) of its subject, kept from the latest EHR_STATUS.
``contribution``
    One row per CONTRIBUTION, with its AUDIT_DETAILS in columns.
``ehr_access``
    The EHR's one EHR_ACCESS (version 1, written in the EHR's creation contribution, as EHRbase does). It has
    no API that changes it, so it is a row of its own rather than a versioned object: ``object_version`` holds
    only what AQL ``FROM VERSION`` and the version APIs should return.
``versioned_object``, ``object_version``
    Every versioned object (COMPOSITION, EHR_STATUS, FOLDER) and every ORIGINAL_VERSION of it. A version's uid
    is ``vo_id::system_id::version``. ``latest`` marks the newest version and ``[time_committed,
    superseded_at)`` is the period in which a version was the current one, so "the version at time t" is a
    range check. A logical deletion is a version with ``change_type`` 523 (deleted), lifecycle state 523 and
    no ``data``. ``versioned_object.latest_version`` is the optimistic lock: a commit moves it from n to n+1
    with a conditional UPDATE, so of two commits on the same preceding version exactly one wins.
``node``
    The version's data decomposed into one row per LOCATABLE (see :mod:`cdr.storage.decompose`), so that AQL
    CONTAINS is a nested-set range check (``a.num < b.num <= a.last_num`` within one version) and WHERE and
    ORDER BY on leaf values use the typed ``*_value`` columns and their indexes.
``folder_item``
    The OBJECT_REFs a FOLDER node lists, so that ``FOLDER f CONTAINS COMPOSITION c`` is a join.
``template``
    Operational templates (a reference table: the same on every shard).
``stored_query``
    Stored AQL queries by qualified name and SemVer (a reference table, like ``template``); the version is
    kept as three integers so that "the latest 1.2.x" is an ``ORDER BY`` in SQL.
``item_tag``
    ITEM_TAGs: a key, an optional value and path, on a COMPOSITION or EHR_STATUS version or versioned object.
    Tags are annotations, not versioned content: a PUT replaces the target's list.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Sequence,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from cdr.storage.types import JsonDocument, UtcDateTime

# Names for every constraint and index, so that migrations and metadata agree on both dialects.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

ID = 255  # identifiers: system ids, archetype ids, template ids, subject ids
CODE_LENGTH = ID
"""``node.code_string`` and ``node.terminology``; a longer one is stored as its key (see leaf_values)."""
UNITS_LENGTH = 64
"""``node.units``; longer units likewise."""
TEXT_VALUE_LENGTH = 255
"""``node.text_value`` holds at most this many characters of a text, so that it stays indexable (PostgreSQL
B-tree entries are limited to about 2.7 kB). Equality with a shorter literal is exact on the column; a longer
literal must also be compared with the full text in ``node.data``."""

KINDS = ("COMPOSITION", "EHR_STATUS", "FOLDER")
"""``versioned_object.kind``: the RM type of the versioned data."""

ehr = Table(
    "ehr",
    metadata,
    Column("ehr_id", Uuid, primary_key=True),
    Column("system_id", String(ID), nullable=False),
    Column("time_created", UtcDateTime, nullable=False),
    Column("ehr_status_id", Uuid, nullable=True, comment="versioned object id of the EHR_STATUS"),
    Column("directory_id", Uuid, nullable=True, comment="versioned object id of the root FOLDER"),
)

ehr_subject = Table(
    "ehr_subject",
    metadata,
    Column("subject_namespace", String(ID), nullable=False),
    Column("subject_id", String(ID), nullable=False),
    Column("ehr_id", Uuid, nullable=False),
    PrimaryKeyConstraint("subject_namespace", "subject_id"),
    ForeignKeyConstraint(["ehr_id"], ["ehr.ehr_id"], ondelete="CASCADE"),
    UniqueConstraint("ehr_id"),
    comment="EHR_STATUS.subject.external_ref (namespace, id) of the latest status: one EHR per subject",
)

contribution = Table(
    "contribution",
    metadata,
    Column("ehr_id", Uuid, nullable=False),
    Column("contribution_id", Uuid, nullable=False),
    Column("system_id", String(ID), nullable=False),
    Column("time_committed", UtcDateTime, nullable=False),
    Column("change_type", String(8), nullable=False, comment="openEHR 'audit change type' code"),
    Column("committer", JsonDocument, nullable=False, comment="PARTY_PROXY, canonical JSON"),
    Column("description", Text, nullable=True),
    PrimaryKeyConstraint("ehr_id", "contribution_id"),
    ForeignKeyConstraint(["ehr_id"], ["ehr.ehr_id"], ondelete="CASCADE"),
)

ehr_access = Table(
    "ehr_access",
    metadata,
    Column("ehr_id", Uuid, primary_key=True),
    Column("access_id", Uuid, nullable=False, comment="versioned object id of the EHR_ACCESS"),
    Column("system_id", String(ID), nullable=False),
    Column("contribution_id", Uuid, nullable=False, comment="the EHR's creation contribution"),
    Column("time_committed", UtcDateTime, nullable=False),
    Column("data", JsonDocument, nullable=False, comment="EHR_ACCESS, canonical JSON"),
    ForeignKeyConstraint(["ehr_id"], ["ehr.ehr_id"], ondelete="CASCADE"),
    ForeignKeyConstraint(
        ["ehr_id", "contribution_id"],
        ["contribution.ehr_id", "contribution.contribution_id"],
        ondelete="CASCADE",
    ),
    comment="the one EHR_ACCESS of an EHR, kept out of object_version so AQL FROM VERSION never sees it",
)

versioned_object = Table(
    "versioned_object",
    metadata,
    Column("ehr_id", Uuid, nullable=False),
    Column("vo_id", Uuid, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("time_created", UtcDateTime, nullable=False),
    Column(
        "latest_version", Integer, nullable=False, comment="optimistic lock: number of the newest version"
    ),
    PrimaryKeyConstraint("ehr_id", "vo_id"),
    ForeignKeyConstraint(["ehr_id"], ["ehr.ehr_id"], ondelete="CASCADE"),
    # a versioned object id is unique in the system, but the key leads with ehr_id (sharding by EHR): a
    # creation with an id of the client's own is checked across EHRs through this index (see versioning)
    Index(None, "vo_id"),
)

object_version = Table(
    "object_version",
    metadata,
    Column("ehr_id", Uuid, nullable=False),
    Column("vo_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("system_id", String(ID), nullable=False),
    Column("contribution_id", Uuid, nullable=False),
    Column("preceding_version_uid", String(2 * ID), nullable=True),
    Column("lifecycle_state", String(8), nullable=False, comment="openEHR 'version lifecycle state' code"),
    Column("change_type", String(8), nullable=False, comment="openEHR 'audit change type' code"),
    Column(
        "time_committed", UtcDateTime, nullable=False, comment="start of the period this version is current"
    ),
    Column("superseded_at", UtcDateTime, nullable=True, comment="end of that period; NULL while latest"),
    Column("latest", Boolean, nullable=False),
    Column("committer", JsonDocument, nullable=False, comment="PARTY_PROXY, canonical JSON"),
    Column("description", Text, nullable=True),
    Column("template_id", String(ID), nullable=True),
    Column("archetype_id", String(ID), nullable=True, comment="archetype_node_id of the data's root"),
    Column("data", JsonDocument, nullable=True, comment="canonical JSON of the data; NULL when deleted"),
    PrimaryKeyConstraint("ehr_id", "vo_id", "version"),
    ForeignKeyConstraint(
        ["ehr_id", "vo_id"], ["versioned_object.ehr_id", "versioned_object.vo_id"], ondelete="CASCADE"
    ),
    ForeignKeyConstraint(
        ["ehr_id", "contribution_id"],
        ["contribution.ehr_id", "contribution.contribution_id"],
        ondelete="CASCADE",
    ),
    Index(None, "ehr_id", "kind", "latest"),
    Index(None, "ehr_id", "contribution_id"),
    Index(None, "template_id"),
    Index(None, "archetype_id", "latest"),
)

node = Table(
    "node",
    metadata,
    Column("ehr_id", Uuid, nullable=False),
    Column("vo_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("num", Integer, nullable=False, comment="preorder number in the version's tree, root 0"),
    Column("last_num", Integer, nullable=False, comment="num of the last descendant (num for a leaf)"),
    Column("parent_num", Integer, nullable=True),
    Column("rm_type", String(64), nullable=False),
    Column("archetype_node_id", String(ID), nullable=False),
    Column("archetype_id", String(ID), nullable=True, comment="the nearest archetype root at or above"),
    Column("name", Text, nullable=True, comment="name/value"),
    Column(
        "path", Text, nullable=False, comment="AQL path from the version's root: /content[...]/data[at0001]"
    ),
    Column("archetype_path", Text, nullable=False, comment="AQL path from the nearest archetype root"),
    Column("json_path", Text, nullable=False, comment="SQL/JSON path into object_version.data: $.content[0]"),
    Column("data", JsonDocument, nullable=False, comment="the node without its LOCATABLE descendants"),
    Column("value_type", String(32), nullable=True, comment="RM type of the leaf value (see decompose)"),
    Column("num_value", Double, nullable=True),
    Column("text_value", String(TEXT_VALUE_LENGTH), nullable=True),
    Column("code_string", String(CODE_LENGTH), nullable=True),
    Column("terminology", String(CODE_LENGTH), nullable=True),
    Column("units", String(UNITS_LENGTH), nullable=True),
    Column("time_value", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("ehr_id", "vo_id", "version", "num"),
    # no foreign key to object_version: derived rows, written only by the commit path with their version and
    # deleted only with the EHR; checking ~80 rows per commit one by one cost ~1 ms (migration 0005)
    Index(None, "archetype_node_id", "ehr_id"),
)

# Leaf-value indexes: (archetype, node, value), partial so that nodes without such a value cost nothing.
for _column in ("num_value", "text_value", "code_string", "time_value"):
    _where = node.c[_column].is_not(None)
    Index(
        f"ix_node_{_column}",
        node.c.archetype_id,
        node.c.archetype_node_id,
        node.c[_column],
        postgresql_where=_where,
        sqlite_where=_where,
    )

folder_item = Table(
    "folder_item",
    metadata,
    Column("ehr_id", Uuid, nullable=False),
    Column("vo_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("num", Integer, nullable=False, comment="the FOLDER node"),
    Column("position", Integer, nullable=False),
    Column("target_id", String(2 * ID), nullable=False, comment="OBJECT_REF.id.value"),
    Column("target_vo_id", Uuid, nullable=True, comment="the versioned object id in target_id, if any"),
    Column("target_type", String(64), nullable=False),
    Column("namespace", String(ID), nullable=False),
    PrimaryKeyConstraint("ehr_id", "vo_id", "version", "num", "position"),
    ForeignKeyConstraint(
        ["ehr_id", "vo_id", "version", "num"],
        ["node.ehr_id", "node.vo_id", "node.version", "node.num"],
        ondelete="CASCADE",
    ),
    Index(None, "ehr_id", "target_vo_id"),
)

template = Table(
    "template",
    metadata,
    Column("template_id", String(ID), primary_key=True),
    Column("concept", Text, nullable=False),
    Column("archetype_id", String(ID), nullable=False, comment="archetype id of the template's root"),
    Column("opt", Text, nullable=False, comment="the OPT 1.4 XML as uploaded"),
    Column("uploaded", UtcDateTime, nullable=False),
)

stored_query = Table(
    "stored_query",
    metadata,
    Column("name", String(ID), nullable=False, comment="qualified query name: [namespace::]query-name"),
    Column("major", Integer, nullable=False),
    Column("minor", Integer, nullable=False),
    Column("patch", Integer, nullable=False),
    Column("query_type", String(16), nullable=False, comment="query language, 'AQL'"),
    Column("q", Text, nullable=False, comment="the query text as stored"),
    Column("saved", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("name", "major", "minor", "patch"),
    comment="ITS-REST stored queries (DEFINITION API); a version, once stored, never changes",
)

item_tag = Table(
    "item_tag",
    metadata,
    Column("ehr_id", Uuid, nullable=False),
    Column("target_vo_id", Uuid, nullable=False, comment="the tagged COMPOSITION or EHR_STATUS object"),
    Column("target_version", Integer, nullable=False, comment="the tagged version; 0: the versioned object"),
    Column("target_type", String(32), nullable=False, comment="COMPOSITION or EHR_STATUS"),
    Column("target_uid", String(2 * ID), nullable=False, comment="the target's uid as ITS-REST names it"),
    Column("key", String(ID), nullable=False),
    Column("target_path", Text, nullable=False, comment="path within the target; '' for the whole target"),
    Column("value", Text, nullable=True),
    Column("tag_id", Uuid, nullable=False, comment="the tag's own id"),
    PrimaryKeyConstraint("ehr_id", "target_vo_id", "target_version", "key", "target_path"),
    Index(None, "ehr_id", "key"),
    Index(None, "ehr_id", "tag_id", unique=True),
    comment="ITEM_TAG: key/value tags of a VERSION or VERSIONED_OBJECT (ITS-REST tags), not versioned",
)

# --- security: care relations, patient controls, emergency grants, the audit trail (cdr.security) ---

care_relation = Table(
    "care_relation",
    metadata,
    Column("relation_id", Uuid, primary_key=True),
    Column("ehr_id", Uuid, nullable=False),
    Column("hpr_number", String(32), nullable=True, comment="the health professional (HPR), or NULL"),
    Column("organisation", String(32), nullable=True, comment="the organisation or unit number, or NULL"),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_to", UtcDateTime, nullable=True, comment="end of the validity period; NULL: open"),
    Column("ended_at", UtcDateTime, nullable=True, comment="when the relation was ended early"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(ID), nullable=False),
    Column("reason", Text, nullable=True),
    ForeignKeyConstraint(["ehr_id"], ["ehr.ehr_id"], ondelete="CASCADE"),
    Index(None, "ehr_id"),
    Index(None, "hpr_number"),
    Index(None, "organisation"),
    comment="tjenstlig behov: who may read an EHR, and for how long",
)

patient_control = Table(
    "patient_control",
    metadata,
    Column("control_id", Uuid, primary_key=True),
    Column("ehr_id", Uuid, nullable=False),
    Column("kind", String(16), nullable=False, comment="restriction | block | consent"),
    Column("target_kind", String(16), nullable=True, comment="restriction: ehr | composition | template"),
    Column("target", String(ID), nullable=True, comment="composition object id or template id"),
    Column("party_kind", String(16), nullable=True, comment="everyone | organisation | unit | hpr | pid"),
    Column("party", String(ID), nullable=True),
    Column("overrides", Uuid, nullable=True, comment="consent: the restriction it lifts (NULL: all)"),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_to", UtcDateTime, nullable=True),
    Column("lifted_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(ID), nullable=False),
    Column("note", Text, nullable=True),
    ForeignKeyConstraint(["ehr_id"], ["ehr.ehr_id"], ondelete="CASCADE"),
    Index(None, "ehr_id"),
    comment="the patient's restrictions (sperring), blocks of named personnel and consents",
)

emergency_grant = Table(
    "emergency_grant",
    metadata,
    Column("grant_id", Uuid, primary_key=True),
    Column("ehr_id", Uuid, nullable=False),
    Column("actor_subject", String(ID), nullable=False),
    Column("actor_hpr", String(32), nullable=True),
    Column("reason_code", String(64), nullable=False),
    Column("reason_text", Text, nullable=False),
    Column("granted_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    ForeignKeyConstraint(["ehr_id"], ["ehr.ehr_id"], ondelete="CASCADE"),
    Index(None, "ehr_id", "actor_subject"),
    comment="break-glass (akutt/nødrett) access: recorded, flagged and time-limited",
)

audit_event = Table(
    "audit_event",
    metadata,
    Column(
        "seq",
        BigInteger,
        primary_key=True,
        autoincrement=False,
        comment="the record's number, in the order of appending (PostgreSQL: audit_event_seq)",
    ),
    Column("kind", String(16), nullable=False, comment="access | checkpoint"),
    Column("time", UtcDateTime, nullable=False),
    Column("request_id", String(64), nullable=True),
    Column("actor_subject", String(ID), nullable=True),
    Column("actor_pid", String(32), nullable=True),
    Column("actor_hpr", String(32), nullable=True),
    Column("actor_name", String(ID), nullable=True),
    Column("client_id", String(ID), nullable=True),
    Column("client_name", String(ID), nullable=True),
    Column("orgnr_parent", String(32), nullable=True),
    Column("orgnr_child", String(32), nullable=True),
    Column("patient_id", String(ID), nullable=True),
    Column("patient_namespace", String(ID), nullable=True),
    Column("ehr_id", Uuid, nullable=True, comment="no foreign key: the trail outlives a deleted EHR"),
    Column("operation", String(32), nullable=False),
    Column("method", String(8), nullable=True),
    Column("path", Text, nullable=True),
    Column("targets", JsonDocument, nullable=False, comment="composition/version uids touched"),
    Column("basis", String(32), nullable=True, comment="why access was allowed (or denied)"),
    Column("purpose", Text, nullable=True),
    Column("emergency", Boolean, nullable=False),
    Column("emergency_code", String(64), nullable=True),
    Column("emergency_text", Text, nullable=True),
    Column("consent_override", Boolean, nullable=False),
    Column("outcome", String(16), nullable=False, comment="success | denied | failed | checkpoint"),
    Column("status", Integer, nullable=True, comment="HTTP status, when known at writing"),
    Column("internal", Boolean, nullable=False, comment="system-internal: not in the patient's access log"),
    Column("checkpoint_seq", BigInteger, nullable=True, comment="checkpoint: last purged position"),
    Column("checkpoint_hash", String(64), nullable=True, comment="checkpoint: hash at that position"),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column(
        "chain",
        Uuid,
        nullable=False,
        comment="the hash chain that holds the record: its EHR's id, else a system chain",
    ),
    Column("position", BigInteger, nullable=False, comment="position in its chain: 1, 2, ... without gaps"),
    Index(None, "ehr_id", "time"),
    Index(None, "time"),
    Index(None, "chain", "position", unique=True),
    comment="append-only, hash-chained audit trail (cdr.security.audit)",
)

# what a chain's checkpoints cover, looked up by the append-only triggers for each row a purge deletes
Index(
    "ix_audit_event_checkpoint",
    audit_event.c.chain,
    audit_event.c.checkpoint_seq,
    postgresql_where=audit_event.c.kind == "checkpoint",
    sqlite_where=audit_event.c.kind == "checkpoint",
)

audit_event_seq = Sequence("audit_event_seq", metadata=metadata, start=1)
"""Numbers ``audit_event.seq`` on PostgreSQL (SQLite, whose writers take turns, numbers max + 1)."""

audit_ehr = Table(
    "audit_ehr",
    metadata,
    Column("ehr_id", Uuid, primary_key=True, comment="no foreign key: the trail outlives a deleted EHR"),
    Column("audit_seq", BigInteger, primary_key=True, comment="the audit_event that names this EHR"),
    Index(None, "audit_seq"),
    comment="the EHRs an audit record names besides its own ehr_id (an AQL query's result), for the "
    "patient's access log; the record's hash covers them",
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Uuid, primary_key=True, comment="the chain (audit_event.chain)"),
    Column("seq", BigInteger, nullable=False, comment="the chain's newest position (0: started, empty)"),
    Column("hash", String(64), nullable=False),
    comment="the newest position and hash of each audit chain: removing a chain's tail is detected",
)
