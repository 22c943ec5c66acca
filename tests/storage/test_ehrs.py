"""EHRs and their EHR_STATUS: creation, subject look-up and uniqueness, status versions."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from cdr.errors import Conflict, InvalidInput, NotFound
from cdr.storage import Audit, Storage, VersionChange
from cdr.storage.ehrs import default_ehr_status
from tests.storage.conftest import row_counts
from tests.storage.data import IT, SHIPPED, canonical, corpus_document, corpus_glob

AUDIT = Audit.by("system")
NAMESPACE = "demografi.kommune.example"


def status(subject_id: str | None = None) -> dict[str, Any]:
    doc = canonical(json.loads((SHIPPED / "ehr_status" / "ehr_status_nb.json").read_text()), "EHR_STATUS")
    if subject_id is not None:
        doc["subject"]["external_ref"]["id"]["value"] = subject_id
    return doc


def test_create_with_default_status(storage: Storage) -> None:
    ehr, first = storage.ehrs.create(AUDIT)
    assert storage.ehrs.get(ehr.ehr_id) == ehr
    assert ehr.ehr_status_id == first.vo_id and first.version == 1
    current = storage.ehr_status.current(ehr.ehr_id)
    assert current.data == {**default_ehr_status(), "uid": {"_type": "OBJECT_VERSION_ID", "value": first.uid}}
    assert storage.ehrs.exists(ehr.ehr_id) and not storage.ehrs.exists(uuid.uuid4())


def test_create_with_status_and_find_by_subject(storage: Storage) -> None:
    ehr_id = uuid.uuid4()
    ehr, _ = storage.ehrs.create(AUDIT, ehr_id=ehr_id, status=status())
    assert ehr.ehr_id == ehr_id
    found = storage.ehrs.find_by_subject("5e0d7a51-2c6b-4f0e-9a3d-8b1c7f4e2a90", NAMESPACE)
    assert found is not None and found.ehr_id == ehr_id
    assert storage.ehrs.find_by_subject("5e0d7a51-2c6b-4f0e-9a3d-8b1c7f4e2a90", "elsewhere") is None


def test_one_ehr_per_subject_and_per_id(storage: Storage) -> None:
    ehr, _ = storage.ehrs.create(AUDIT, status=status("p1"))
    before = row_counts(storage.engine)
    with pytest.raises(Conflict):
        storage.ehrs.create(AUDIT, status=status("p1"))
    with pytest.raises(Conflict):
        storage.ehrs.create(AUDIT, ehr_id=ehr.ehr_id)
    assert row_counts(storage.engine) == before  # the EHR row of the refused creation was rolled back


def test_status_versions_move_the_subject(storage: Storage) -> None:
    ehr, v1 = storage.ehrs.create(AUDIT, status=status("p1"))
    other, _ = storage.ehrs.create(AUDIT, status=status("p2"))
    with pytest.raises(Conflict):  # p2 has an EHR already
        storage.ehr_status.update(ehr.ehr_id, v1.uid, status("p2"), AUDIT)
    v2 = storage.ehr_status.update(ehr.ehr_id, v1.uid, status("p3"), AUDIT)
    found = storage.ehrs.find_by_subject("p3", NAMESPACE)
    assert found is not None and found.ehr_id == ehr.ehr_id
    assert storage.ehrs.find_by_subject("p1", NAMESPACE) is None
    assert storage.ehr_status.current(ehr.ehr_id).uid == v2.uid
    at_first = storage.ehr_status.current_at(ehr.ehr_id, v1.commit_audit.time_committed)
    assert at_first.data is not None and at_first.data["subject"]["external_ref"]["id"]["value"] == "p1"
    assert [h.uid for h in storage.ehr_status.history(ehr.ehr_id, ehr.ehr_status_id)] == [v1.uid, v2.uid]  # type: ignore[arg-type]
    assert other.ehr_id != ehr.ehr_id


def test_status_cannot_be_deleted_or_created_twice(storage: Storage) -> None:
    ehr, v1 = storage.ehrs.create(AUDIT)
    with pytest.raises(InvalidInput):
        storage.ehr_status.commit(ehr.ehr_id, VersionChange("EHR_STATUS", "deleted", None, v1.uid), AUDIT)
    with pytest.raises(Conflict):
        storage.ehr_status.commit(ehr.ehr_id, VersionChange("EHR_STATUS", "creation", status("p9")), AUDIT)
    with pytest.raises(NotFound):
        storage.ehr_status.current(uuid.uuid4())
    with pytest.raises(NotFound):
        storage.ehrs.get(uuid.uuid4())


@pytest.mark.corpus
@pytest.mark.parametrize("rel", corpus_glob(f"{IT}/aql/data_load/ehrs/*.json"))
def test_corpus_ehr_status_round_trip(storage: Storage, rel: str) -> None:
    doc = corpus_document(rel, "EHR_STATUS")
    ehr, v1 = storage.ehrs.create(AUDIT, status=doc)
    assert storage.ehr_status.current(ehr.ehr_id).data == {
        **doc,
        "uid": {"_type": "OBJECT_VERSION_ID", "value": v1.uid},
    }
    ref = doc["subject"].get("external_ref")
    if ref is not None:
        found = storage.ehrs.find_by_subject(ref["id"]["value"], ref["namespace"])
        assert found is not None and found.ehr_id == ehr.ehr_id


def test_an_ehr_gets_one_ehr_access_in_its_creation_contribution(storage: Storage) -> None:
    """EHR_ACCESS is stored with the EHR (as EHRbase does) but never as a version: AQL FROM VERSION and the
    version APIs read object_version, which holds only the EHR_STATUS."""
    from cdr.storage import schema as t
    from cdr.storage.engine import read_transaction

    record, status = storage.ehrs.create(Audit.by("Kari Nordmann"))
    assert record.ehr_access_id is not None
    assert storage.ehrs.get(record.ehr_id).ehr_access_id == record.ehr_access_id
    with read_transaction(storage.engine) as conn:
        access = conn.execute(sa.select(t.ehr_access).where(t.ehr_access.c.ehr_id == record.ehr_id)).one()
        kinds = conn.execute(
            sa.select(t.object_version.c.kind).where(t.object_version.c.ehr_id == record.ehr_id)
        )
        assert list(kinds.scalars()) == ["EHR_STATUS"]
    assert access.access_id == record.ehr_access_id
    assert access.contribution_id == status.contribution_id
    assert access.data["_type"] == "EHR_ACCESS"
    assert access.data["uid"]["value"] == f"{record.ehr_access_id}::{storage.system_id}::1"
    storage.ehrs.delete(record.ehr_id)
    with read_transaction(storage.engine) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.ehr_access)).scalar() == 0
