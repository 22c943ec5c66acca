"""The directory: a versioned FOLDER tree per EHR, its items indexed for FOLDER CONTAINS COMPOSITION."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from cdr.errors import Conflict, NotFound
from cdr.storage import Audit, Storage
from tests.storage.data import SDK, corpus_document, corpus_glob, shipped

AUDIT = Audit.by("system")


def folder(name: str, items: list[str] = (), folders: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    doc: dict[str, Any] = {
        "_type": "FOLDER",
        "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1",
        "name": {"_type": "DV_TEXT", "value": name},
    }
    if items:
        doc["items"] = [
            {
                "_type": "OBJECT_REF",
                "id": {"_type": "HIER_OBJECT_ID", "value": item},
                "namespace": "local",
                "type": "VERSIONED_COMPOSITION",
            }
            for item in items
        ]
    if folders:
        doc["folders"] = list(folders)
    return doc


def test_directory_versions_and_items(storage: Storage) -> None:
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    c1 = storage.compositions.create(ehr_id, shipped("valid_normal.json"), AUDIT)
    c2 = storage.compositions.create(ehr_id, shipped("valid_minimal.json"), AUDIT)
    v1 = storage.directory.create(ehr_id, folder("root", folders=[folder("visits", [str(c1.vo_id)])]), AUDIT)
    assert storage.ehrs.get(ehr_id).directory_id == v1.vo_id
    assert storage.directory.folders_containing(ehr_id, c1.vo_id) == [
        "/folders[openEHR-EHR-FOLDER.generic.v1]"
    ]
    v2 = storage.directory.update(
        ehr_id,
        v1.uid,
        folder("root", [str(c2.vo_id)], [folder("visits", [f"{c1.vo_id}::test.cdr::1"])]),
        AUDIT,
    )
    assert storage.directory.folders_containing(ehr_id, c2.vo_id) == ["/"]
    assert storage.directory.folders_containing(ehr_id, c1.vo_id) == [
        "/folders[openEHR-EHR-FOLDER.generic.v1]"
    ]
    assert storage.directory.current(ehr_id).uid == v2.uid
    assert storage.directory.current_at(ehr_id, v1.commit_audit.time_committed).uid == v1.uid

    with pytest.raises(Conflict):
        storage.directory.create(ehr_id, folder("second root"), AUDIT)
    v3 = storage.directory.delete(ehr_id, v2.uid, AUDIT)
    assert (
        storage.directory.current(ehr_id).deleted
        and storage.directory.folders_containing(ehr_id, c2.vo_id) == []
    )
    # once deleted, a new directory may be created
    new = storage.directory.create(ehr_id, folder("new root"), AUDIT)
    assert storage.ehrs.get(ehr_id).directory_id == new.vo_id != v3.vo_id


def test_no_directory(storage: Storage) -> None:
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    with pytest.raises(NotFound):
        storage.directory.current(ehr_id)
    with pytest.raises(NotFound):
        storage.directory.current(uuid.uuid4())


@pytest.mark.corpus
@pytest.mark.parametrize(
    "rel",
    [
        p
        for p in corpus_glob(f"{SDK}/folder/canonical_json/*.json")
        if not p.endswith("folder_with_items.json")
    ],
)
def test_corpus_folders_round_trip(storage: Storage, rel: str) -> None:
    doc = corpus_document(rel, "FOLDER")
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    v1 = storage.directory.create(ehr_id, doc, AUDIT)
    assert storage.directory.current(ehr_id).data == {
        **doc,
        "uid": {"_type": "OBJECT_VERSION_ID", "value": v1.uid},
    }
