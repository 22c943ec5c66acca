"""The part every versioned aggregate's store shares: one-version commits and the version reads."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

from sqlalchemy.engine import Engine

from cdr.rm.base import RMObject
from cdr.storage import versioning
from cdr.storage.contributions import commit_contribution
from cdr.storage.engine import read_transaction, write_transaction
from cdr.storage.records import Audit, JsonObject, VersionRecord, VersionUid
from cdr.storage.versioning import VersionChange


class VersionedStore:
    """Reads and single-version commits for the versioned objects of one ``kind``.

    Every commit is its own transaction with its own CONTRIBUTION (as ITS-REST's PUT/POST/DELETE are);
    several versions in one contribution go through :class:`~cdr.storage.contributions.ContributionStore`.
    """

    kind: ClassVar[str]

    def __init__(self, engine: Engine, system_id: str) -> None:
        self.engine = engine
        self.system_id = system_id

    def commit(self, ehr_id: uuid.UUID, change: VersionChange, audit: Audit) -> VersionRecord:
        """Commit one version in a contribution of its own."""
        with write_transaction(self.engine) as conn:
            _, versions = commit_contribution(
                conn, ehr_id=ehr_id, changes=[change], audit=audit, system_id=self.system_id
            )
        return versions[0]

    def get(self, ehr_id: uuid.UUID, version_uid: str) -> VersionRecord:
        """A version by its uid (``object_id::system_id::n``); :class:`~cdr.errors.NotFound` if absent."""
        with read_transaction(self.engine) as conn:
            return versioning.get_version(conn, ehr_id, self.kind, VersionUid.parse(version_uid))

    def latest(self, ehr_id: uuid.UUID, vo_id: uuid.UUID) -> VersionRecord:
        """The latest version of a versioned object, which may be a deletion (``.deleted``)."""
        with read_transaction(self.engine) as conn:
            return versioning.get_latest(conn, ehr_id, self.kind, vo_id)

    def at_time(self, ehr_id: uuid.UUID, vo_id: uuid.UUID, at: dt.datetime) -> VersionRecord:
        """The version current at ``at`` (an aware datetime); may be a deletion."""
        with read_transaction(self.engine) as conn:
            return versioning.get_at_time(conn, ehr_id, self.kind, vo_id, at)

    def history(self, ehr_id: uuid.UUID, vo_id: uuid.UUID, with_data: bool = False) -> list[VersionRecord]:
        """Every version of a versioned object, oldest first (REVISION_HISTORY)."""
        with read_transaction(self.engine) as conn:
            return versioning.history(conn, ehr_id, self.kind, vo_id, with_data)

    def _create(
        self,
        ehr_id: uuid.UUID,
        data: RMObject | JsonObject,
        audit: Audit,
        object_id: uuid.UUID | None,
        lifecycle_state: str,
    ) -> VersionRecord:
        change = VersionChange(
            self.kind, "creation", data, object_id=object_id, lifecycle_state=lifecycle_state
        )
        return self.commit(ehr_id, change, audit)

    def _update(
        self,
        ehr_id: uuid.UUID,
        preceding_version_uid: str,
        data: RMObject | JsonObject,
        audit: Audit,
        lifecycle_state: str,
    ) -> VersionRecord:
        change = VersionChange(
            self.kind, "modification", data, preceding_version_uid, lifecycle_state=lifecycle_state
        )
        return self.commit(ehr_id, change, audit)

    def _delete(self, ehr_id: uuid.UUID, preceding_version_uid: str, audit: Audit) -> VersionRecord:
        return self.commit(ehr_id, VersionChange(self.kind, "deleted", None, preceding_version_uid), audit)
