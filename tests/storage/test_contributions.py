"""Contributions: several versions in one transaction, all or nothing."""

from __future__ import annotations

import uuid

import pytest

from cdr.errors import Conflict, InvalidInput, NotFound
from cdr.storage import Audit, StaleVersion, Storage, VersionChange
from tests.storage.conftest import row_counts
from tests.storage.data import shipped

AUDIT = Audit.by("Kari Nordmann", "contribution test")


def test_several_versions_in_one_contribution(storage: Storage) -> None:
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    existing = storage.compositions.create(ehr_id, shipped("valid_minimal.json"), AUDIT)
    record, versions = storage.contributions.commit(
        ehr_id,
        [
            VersionChange("COMPOSITION", "creation", shipped("valid_normal.json")),
            VersionChange("COMPOSITION", "modification", shipped("valid_high_risk.json"), existing.uid),
            VersionChange(
                "FOLDER",
                "creation",
                {
                    "_type": "FOLDER",
                    "archetype_node_id": "openEHR-EHR-FOLDER.generic.v1",
                    "name": {"_type": "DV_TEXT", "value": "root"},
                },
            ),
        ],
        AUDIT,
    )
    assert [v.version for v in versions] == [1, 2, 1]
    assert {v.contribution_id for v in versions} == {record.contribution_id}
    assert record.audit.change_type == "251"  # mixed change types: modification
    stored = storage.contributions.get(ehr_id, record.contribution_id)
    assert set(stored.version_uids) == {v.uid for v in versions}
    assert stored.to_json()["audit"]["committer"]["name"] == "Kari Nordmann"
    assert storage.contributions.list(ehr_id)[-1] == record.contribution_id
    assert len(storage.contributions.list(ehr_id)) == 3  # EHR creation, the composition, this one
    with pytest.raises(NotFound):
        storage.contributions.get(ehr_id, uuid.uuid4())


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (
            lambda uid: VersionChange("COMPOSITION", "modification", shipped("valid_normal.json"), uid),
            StaleVersion,
        ),
        (
            lambda uid: VersionChange("COMPOSITION", "creation", shipped("valid_normal.json"), object_id=uid),
            Conflict,
        ),
        (
            lambda uid: VersionChange("COMPOSITION", "modification", None, f"{uuid.uuid4()}::x::1"),
            InvalidInput,
        ),
        (lambda uid: VersionChange("EHR_STATUS", "creation", {"_type": "EHR_STATUS"}), Conflict),
    ],
)
def test_a_failing_version_leaves_no_rows(storage: Storage, bad: object, error: type[Exception]) -> None:
    """The first versions of the contribution are written, then one fails: nothing of it may remain."""
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    v1 = storage.compositions.create(ehr_id, shipped("valid_minimal.json"), AUDIT)
    v2 = storage.compositions.update(ehr_id, v1.uid, shipped("valid_minimal.json"), AUDIT)
    before = row_counts(storage.engine)
    failing = bad(v1.uid if error is StaleVersion else v1.vo_id)  # type: ignore[operator]
    with pytest.raises(error):
        storage.contributions.commit(
            ehr_id,
            [
                VersionChange("COMPOSITION", "creation", shipped("valid_normal.json")),
                VersionChange("COMPOSITION", "modification", shipped("valid_high_risk.json"), v2.uid),
                failing,
            ],
            AUDIT,
        )
    assert row_counts(storage.engine) == before
    assert storage.compositions.latest(ehr_id, v1.vo_id).uid == v2.uid


def test_empty_contributions_and_unknown_ehrs_are_refused(storage: Storage) -> None:
    ehr_id = storage.ehrs.create(AUDIT)[0].ehr_id
    with pytest.raises(InvalidInput):
        storage.contributions.commit(ehr_id, [], AUDIT)
    with pytest.raises(NotFound):
        storage.contributions.commit(
            uuid.uuid4(), [VersionChange("COMPOSITION", "creation", shipped("valid_normal.json"))], AUDIT
        )
    with pytest.raises(NotFound):
        storage.contributions.list(uuid.uuid4())
