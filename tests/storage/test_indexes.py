"""The key look-ups run on the intended indexes (EXPLAIN on PostgreSQL, EXPLAIN QUERY PLAN on SQLite).

PostgreSQL is asked with sequential scans disabled, which makes it show whether an index *can* serve the query
(on a few test rows a sequential scan would otherwise always win); SQLite plans without statistics anyway.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cdr.storage import Audit, Storage, VersionChange
from cdr.storage import schema as t
from tests.storage.data import CORPUS_COMPOSITIONS, corpus_document, shipped

BP = "openEHR-EHR-OBSERVATION.blood_pressure.v2"
ENCOUNTER = "openEHR-EHR-COMPOSITION.encounter.v1"
n, ov = t.node, t.object_version
EHR = uuid.UUID(int=1)  # stands for the first loaded EHR's id in the queries
EHRS = 60


def containment() -> sa.Select[Any]:
    """ELEMENTs inside a blood pressure OBSERVATION of one EHR: the AQL CONTAINS join."""
    a, b = n.alias("a"), n.alias("b")
    return (
        sa.select(b.c.num_value)
        .select_from(
            a.join(
                b,
                sa.and_(
                    b.c.ehr_id == a.c.ehr_id,
                    b.c.vo_id == a.c.vo_id,
                    b.c.version == a.c.version,
                    b.c.num > a.c.num,
                    b.c.num <= a.c.last_num,
                ),
            )
        )
        .where(a.c.ehr_id == EHR, a.c.archetype_node_id == BP, b.c.rm_type == "ELEMENT")
    )


QUERIES: dict[str, tuple[Callable[[], sa.Select[Any]], str]] = {
    "latest compositions of one EHR": (
        lambda: sa.select(ov.c.vo_id).where(
            ov.c.ehr_id == EHR, ov.c.kind == "COMPOSITION", ov.c.latest == sa.true()
        ),
        "ix_object_version_ehr_id_kind_latest",
    ),
    "a version by uid": (
        lambda: sa.select(ov.c.data).where(ov.c.ehr_id == EHR, ov.c.vo_id == EHR, ov.c.version == 2),
        "pk_object_version",
    ),
    "archetype roots in all EHRs": (
        lambda: sa.select(n.c.vo_id).where(n.c.archetype_node_id == BP),
        "ix_node_archetype_node_id_ehr_id",
    ),
    "archetype roots in one EHR": (
        lambda: sa.select(n.c.vo_id).where(n.c.archetype_node_id == BP, n.c.ehr_id == EHR),
        "ix_node_archetype_node_id_ehr_id",
    ),
    "containment range": (containment, "pk_node"),
    "versions by template": (
        lambda: sa.select(ov.c.vo_id).where(ov.c.template_id == "kommunal_vitalparametre_news2.nb.v1"),
        "ix_object_version_template_id",
    ),
    "EHR by subject": (
        lambda: sa.select(t.ehr_subject.c.ehr_id).where(
            t.ehr_subject.c.subject_namespace == "ns", t.ehr_subject.c.subject_id == "p1"
        ),
        "pk_ehr_subject",
    ),
    "magnitude above": (
        lambda: sa.select(n.c.vo_id).where(
            n.c.archetype_id == BP, n.c.archetype_node_id == "at0004", n.c.num_value > 140
        ),
        "ix_node_num_value",
    ),
    "coded value": (
        lambda: sa.select(n.c.vo_id).where(
            n.c.archetype_id == BP, n.c.archetype_node_id == "at0008", n.c.code_string == "at1001"
        ),
        "ix_node_code_string",
    ),
    "text value": (
        lambda: sa.select(n.c.vo_id).where(
            n.c.archetype_id == BP, n.c.archetype_node_id == "at0033", n.c.text_value == "sittende"
        ),
        "ix_node_text_value",
    ),
    "compositions by start time, ordered": (
        lambda: (
            sa.select(n.c.vo_id)
            .where(
                n.c.archetype_id == ENCOUNTER,
                n.c.archetype_node_id == ENCOUNTER,
                n.c.time_value >= dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
            )
            .order_by(n.c.time_value.desc())
            .limit(10)
        ),
        "ix_node_time_value",
    ),
    "folders listing a composition": (
        lambda: sa.select(t.folder_item.c.vo_id).where(
            t.folder_item.c.ehr_id == EHR, t.folder_item.c.target_vo_id == EHR
        ),
        "ix_folder_item_ehr_id_target_vo_id",
    ),
}


def plan_postgresql(conn: Connection, sql: str) -> tuple[set[str], set[str]]:
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    raw = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}").scalar_one()
    plan = raw if isinstance(raw, list) else json.loads(raw)
    nodes, indexes = set(), set()
    stack = [plan[0]["Plan"]]
    while stack:
        node = stack.pop()
        nodes.add(node["Node Type"])
        if "Index Name" in node:
            indexes.add(node["Index Name"])
        stack.extend(node.get("Plans", []))
    return nodes, indexes


def plan_sqlite(conn: Connection, sql: str) -> tuple[set[str], set[str]]:
    details = [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    nodes = {"Seq Scan" for d in details if d.startswith("SCAN ") and "INDEX" not in d}
    indexes = set()
    for d in details:
        if " INDEX " in d:
            indexes.add(d.split(" INDEX ")[1].split(" ")[0])
        if "PRIMARY KEY" in d:
            table = d.split(" ")[1]
            indexes.add(f"pk_{table}")
    return nodes, indexes


def load(storage: Storage) -> uuid.UUID:
    """Enough real data for the planners to prefer selective indexes: corpus compositions over many EHRs."""
    corpus = [corpus_document(rel) for rel in CORPUS_COMPOSITIONS]
    ehr_ids = []
    for i in range(EHRS):
        ehr_id = storage.ehrs.create(Audit.by("x"))[0].ehr_id
        docs = [corpus[(3 * i + k) % len(corpus)] for k in range(3)]
        if i % 5 == 0:
            docs.append(shipped("valid_normal.json"))
        changes = [VersionChange("COMPOSITION", "creation", doc, object_id=uuid.uuid4()) for doc in docs]
        storage.contributions.commit(ehr_id, changes, Audit.by("x"))
        ehr_ids.append(ehr_id)
    return ehr_ids[0]


@pytest.mark.corpus
def test_key_lookups_use_their_index(storage: Storage) -> None:
    ehr_id = load(storage)
    dialect = storage.engine.dialect
    wrong = []
    with storage.engine.connect() as conn, conn.begin():
        conn.exec_driver_sql("ANALYZE")
        for name, (build, index) in QUERIES.items():
            query = build()
            sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
            sql = sql.replace(_literal(EHR, dialect), _literal(ehr_id, dialect))
            nodes, indexes = (plan_postgresql if dialect.name == "postgresql" else plan_sqlite)(conn, sql)
            expected = _sqlite_name(index) if dialect.name == "sqlite" else index
            if (
                expected not in indexes
                or "Seq Scan" in nodes
                or (name.endswith("ordered") and "Sort" in nodes)
            ):
                wrong.append((name, expected, sorted(nodes), sorted(indexes)))
    assert wrong == []


def _literal(value: uuid.UUID, dialect: sa.Dialect) -> str:
    return str(sa.literal(value, sa.Uuid).compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _sqlite_name(index: str) -> str:
    """SQLite names the index of a composite primary key sqlite_autoindex_<table>_1."""
    return f"sqlite_autoindex_{index[3:]}_1" if index.startswith("pk_") else index
