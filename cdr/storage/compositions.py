"""COMPOSITION store: versioned compositions of an EHR."""

from __future__ import annotations

import uuid

from cdr.rm.base import RMObject
from cdr.storage import versioning
from cdr.storage.engine import read_transaction
from cdr.storage.records import COMPLETE, Audit, JsonObject, VersionRecord
from cdr.storage.versioned_store import VersionedStore


class CompositionStore(VersionedStore):
    """Create, update, delete (logically) and read compositions; every version is kept.

    Errors: :class:`~cdr.errors.NotFound` (no such EHR or composition),
    :class:`~cdr.storage.records.StaleVersion` (a :class:`~cdr.errors.PreconditionFailed`: the preceding
    version is not the latest),
    :class:`~cdr.errors.Conflict` (the object id exists already; the composition is deleted).
    """

    kind = "COMPOSITION"

    def create(
        self,
        ehr_id: uuid.UUID,
        composition: RMObject | JsonObject,
        audit: Audit,
        *,
        object_id: uuid.UUID | None = None,
        lifecycle_state: str = COMPLETE,
    ) -> VersionRecord:
        """Store version 1 of a new composition; its ``uid`` becomes ``object_id::system_id::1``."""
        return self._create(ehr_id, composition, audit, object_id, lifecycle_state)

    def update(
        self,
        ehr_id: uuid.UUID,
        preceding_version_uid: str,
        composition: RMObject | JsonObject,
        audit: Audit,
        *,
        lifecycle_state: str = COMPLETE,
    ) -> VersionRecord:
        """Store the next version after ``preceding_version_uid``, which must be the latest."""
        return self._update(ehr_id, preceding_version_uid, composition, audit, lifecycle_state)

    def delete(self, ehr_id: uuid.UUID, preceding_version_uid: str, audit: Audit) -> VersionRecord:
        """Logically delete: a new version with change type 'deleted' and no data."""
        return self._delete(ehr_id, preceding_version_uid, audit)

    def list_latest(self, ehr_id: uuid.UUID, include_deleted: bool = False) -> list[VersionRecord]:
        """The latest version of every composition of the EHR, without data."""
        with read_transaction(self.engine) as conn:
            return versioning.latest_of_kind(conn, ehr_id, self.kind, include_deleted)
