"""Compositions: round trip of real data, versioning, history, version at time, logical deletion, errors."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from cdr.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from cdr.formats.canonical_form import canonical_form
from cdr.formats.canonical_json import parse_json, to_json
from cdr.rm import Composition
from cdr.storage import Audit, StaleVersion, Storage
from cdr.storage import schema as t
from cdr.storage.decompose import assemble, decompose
from cdr.storage.engine import read_transaction
from cdr.storage.versioning import node_rows
from tests.storage.data import CORONA, CORPUS_COMPOSITIONS, corpus_document, corpus_json, shipped

AUDIT = Audit.by("Kari Nordmann", "test")


def with_uid(doc: dict[str, Any], uid: str) -> dict[str, Any]:
    return {**doc, "uid": {"_type": "OBJECT_VERSION_ID", "value": uid}}


@pytest.fixture
def ehr_id(storage: Storage) -> uuid.UUID:
    return storage.ehrs.create(AUDIT)[0].ehr_id


@pytest.mark.corpus
def test_corpus_compositions_round_trip(storage: Storage, ehr_id: uuid.UUID) -> None:
    """Every corpus composition is stored and read back as the same canonical JSON (in its canonical form:
    one lexical form per value), and so are its nodes."""
    for rel in CORPUS_COMPOSITIONS:
        doc = canonical_form(corpus_document(rel))
        # several corpus files share a uid: give each its own object id
        record = storage.compositions.create(ehr_id, doc, AUDIT, object_id=uuid.uuid4())
        stored = storage.compositions.get(ehr_id, record.uid)
        assert stored.data == with_uid(doc, record.uid), rel
        assert stored.template_id == doc["archetype_details"]["template_id"]["value"]
        with read_transaction(storage.engine) as conn:
            rows = node_rows(conn, ehr_id, record.vo_id, 1)
        assert assemble(rows) == stored.data, rel
        # (PostgreSQL's JSONB reorders keys, so the preorder is that of the document as committed)
        assert [r["path"] for r in rows] == [r.path for r in decompose(with_uid(doc, record.uid))]


@pytest.mark.corpus
def test_rm_object_in_rm_object_out(storage: Storage, ehr_id: uuid.UUID) -> None:
    composition = parse_json(corpus_json(CORONA))
    record = storage.compositions.create(ehr_id, composition, AUDIT)
    back = storage.compositions.latest(ehr_id, record.vo_id).rm()
    assert isinstance(back, Composition)
    assert to_json(back) == with_uid(to_json(composition), record.uid)


def test_typed_leaf_values_are_stored(storage: Storage, ehr_id: uuid.UUID) -> None:
    record = storage.compositions.create(ehr_id, shipped("valid_normal.json"), AUDIT)
    n = t.node
    with read_transaction(storage.engine) as conn:
        rows = conn.execute(
            sa.select(n.c.num_value, n.c.units, n.c.path).where(
                n.c.vo_id == record.vo_id,
                n.c.archetype_id == "openEHR-EHR-OBSERVATION.blood_pressure.v2",
                n.c.num_value > 100,
            )
        ).all()
        start = conn.execute(
            sa.select(n.c.time_value).where(n.c.vo_id == record.vo_id, n.c.num == 0)
        ).scalar()
    assert [(r.num_value, r.units) for r in rows] == [(128.0, "mm[Hg]")]
    assert rows[0].path.endswith("/data[at0001]/events[at0006]/data[at0003]/items[at0004]")
    assert start == dt.datetime(2024, 5, 14, 6, 30, tzinfo=dt.UTC)


def test_versions_history_and_time_travel(storage: Storage, ehr_id: uuid.UUID) -> None:
    store = storage.compositions
    normal, high = shipped("valid_normal.json"), shipped("valid_high_risk.json")
    v1 = store.create(ehr_id, normal, AUDIT)
    v2 = store.update(ehr_id, v1.uid, high, Audit.by("Ola", "worse"))
    assert (v1.version, v2.version, v2.vo_id) == (1, 2, v1.vo_id)
    assert v2.uid == f"{v1.vo_id}::test.cdr::2" and v2.preceding_version_uid == v1.uid
    assert store.latest(ehr_id, v1.vo_id).data == with_uid(high, v2.uid)
    assert store.get(ehr_id, v1.uid).data == with_uid(normal, v1.uid)  # old versions are kept

    t1, t2 = v1.commit_audit.time_committed, v2.commit_audit.time_committed
    assert t1 < t2
    assert store.at_time(ehr_id, v1.vo_id, t1).uid == v1.uid
    assert store.at_time(ehr_id, v1.vo_id, t2 - dt.timedelta(microseconds=1)).uid == v1.uid
    assert store.at_time(ehr_id, v1.vo_id, t2).uid == v2.uid
    with pytest.raises(NotFound):
        store.at_time(ehr_id, v1.vo_id, t1 - dt.timedelta(microseconds=1))

    v3 = store.delete(ehr_id, v2.uid, AUDIT)
    assert v3.deleted and v3.data is None and v3.lifecycle_state == "523"
    latest = store.latest(ehr_id, v1.vo_id)
    assert (latest.uid, latest.deleted, latest.data) == (v3.uid, True, None)
    history = store.history(ehr_id, v1.vo_id)
    assert [h.uid for h in history] == [v1.uid, v2.uid, v3.uid]
    assert [h.commit_audit.change_type for h in history] == ["249", "251", "523"]
    assert [h.latest for h in history] == [False, False, True]
    assert history[0].superseded_at == t2 and history[1].superseded_at == v3.commit_audit.time_committed
    assert store.at_time(ehr_id, v1.vo_id, t2).data == with_uid(high, v2.uid)
    assert store.list_latest(ehr_id) == [] and [r.uid for r in store.list_latest(ehr_id, True)] == [v3.uid]

    version_json = store.get(ehr_id, v2.uid).to_json()
    assert version_json["_type"] == "ORIGINAL_VERSION"
    assert version_json["commit_audit"]["committer"] == {"_type": "PARTY_IDENTIFIED", "name": "Ola"}
    assert version_json["preceding_version_uid"]["value"] == v1.uid
    assert to_json(parse_json(version_json)) == version_json


def test_latest_flag_and_period_agree(storage: Storage, ehr_id: uuid.UUID) -> None:
    v = storage.compositions.create(ehr_id, shipped("valid_minimal.json"), AUDIT)
    for _ in range(3):
        v = storage.compositions.update(ehr_id, v.uid, shipped("valid_minimal.json"), AUDIT)
    ov = t.object_version
    with read_transaction(storage.engine) as conn:
        rows = conn.execute(
            sa.select(ov.c.latest, ov.c.superseded_at).where(ov.c.vo_id == v.vo_id).order_by(ov.c.version)
        ).all()
        n = t.node
        nodes_per_version = conn.execute(
            sa.select(n.c.version, sa.func.count())
            .where(n.c.vo_id == v.vo_id)
            .group_by(n.c.version)
            .order_by(n.c.version)
        ).all()
    assert [(r.latest, r.superseded_at is None) for r in rows] == [(False, False)] * 3 + [(True, True)]
    assert len({count for _, count in nodes_per_version}) == 1 and len(nodes_per_version) == 4


def test_list_latest(storage: Storage, ehr_id: uuid.UUID) -> None:
    a = storage.compositions.create(ehr_id, shipped("valid_normal.json"), AUDIT)
    b = storage.compositions.create(ehr_id, shipped("valid_minimal.json"), AUDIT)
    b2 = storage.compositions.update(ehr_id, b.uid, shipped("valid_high_risk.json"), AUDIT)
    other = storage.ehrs.create(AUDIT)[0].ehr_id
    storage.compositions.create(other, shipped("valid_normal.json"), AUDIT)
    assert [r.uid for r in storage.compositions.list_latest(ehr_id)] == [a.uid, b2.uid]


def test_given_object_id(storage: Storage, ehr_id: uuid.UUID) -> None:
    vo_id = uuid.uuid4()
    record = storage.compositions.create(ehr_id, shipped("valid_minimal.json"), AUDIT, object_id=vo_id)
    assert record.uid == f"{vo_id}::test.cdr::1"
    with pytest.raises(Conflict):
        storage.compositions.create(ehr_id, shipped("valid_minimal.json"), AUDIT, object_id=vo_id)
    # without object_id, the uid in the data names the object
    with pytest.raises(Conflict):
        storage.compositions.create(ehr_id, with_uid(shipped("valid_minimal.json"), f"{vo_id}::x::1"), AUDIT)
    new_id = uuid.uuid4()
    named = storage.compositions.create(
        ehr_id, with_uid(shipped("valid_minimal.json"), f"{new_id}::x::1"), AUDIT
    )
    assert named.uid == f"{new_id}::test.cdr::1"


def test_errors(storage: Storage, ehr_id: uuid.UUID) -> None:
    store, doc = storage.compositions, shipped("valid_minimal.json")
    with pytest.raises(NotFound):
        store.create(uuid.uuid4(), doc, AUDIT)
    v1 = store.create(ehr_id, doc, AUDIT)
    v2 = store.update(ehr_id, v1.uid, doc, AUDIT)
    with pytest.raises(StaleVersion) as stale:
        store.update(ehr_id, v1.uid, doc, AUDIT)
    assert isinstance(stale.value, PreconditionFailed) and stale.value.latest_uid == v2.uid
    with pytest.raises(StaleVersion):
        store.update(ehr_id, f"{v1.vo_id}::other.system::2", doc, AUDIT)
    with pytest.raises(NotFound):
        store.update(ehr_id, f"{uuid.uuid4()}::test.cdr::1", doc, AUDIT)
    with pytest.raises(NotFound):  # right object, wrong EHR
        store.update(storage.ehrs.create(AUDIT)[0].ehr_id, v2.uid, doc, AUDIT)
    with pytest.raises(NotFound):
        store.get(ehr_id, f"{v1.vo_id}::test.cdr::9")
    with pytest.raises(InvalidInput):
        store.get(ehr_id, "not-a-uid")
    with pytest.raises(InvalidInput):
        store.create(ehr_id, shipped("valid_minimal.json") | {"_type": "FOLDER"}, AUDIT)
    v3 = store.delete(ehr_id, v2.uid, AUDIT)
    with pytest.raises(Conflict):
        store.update(ehr_id, v3.uid, doc, AUDIT)
    with pytest.raises(Conflict):
        store.delete(ehr_id, v3.uid, AUDIT)
    assert [h.version for h in store.history(ehr_id, v1.vo_id)] == [1, 2, 3]
