"""EHR_STATUS store: the one versioned status of each EHR (created with the EHR, never deleted)."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa

from cdr.errors import NotFound
from cdr.rm.base import RMObject
from cdr.storage import schema as t
from cdr.storage import versioning
from cdr.storage.engine import read_transaction
from cdr.storage.records import COMPLETE, Audit, JsonObject, VersionRecord
from cdr.storage.versioned_store import VersionedStore


class EhrStatusStore(VersionedStore):
    """Update and read an EHR's EHR_STATUS; a changed subject is checked to be unique across EHRs."""

    kind = "EHR_STATUS"

    def status_id(self, ehr_id: uuid.UUID) -> uuid.UUID:
        """The versioned object id of the EHR's status; :class:`NotFound` if no such EHR."""
        with read_transaction(self.engine) as conn:
            status_id = conn.execute(sa.select(t.ehr.c.ehr_status_id).where(t.ehr.c.ehr_id == ehr_id)).first()
        if status_id is None or status_id[0] is None:
            raise NotFound(f"EHR {ehr_id} not found")
        return uuid.UUID(str(status_id[0]))

    def current(self, ehr_id: uuid.UUID) -> VersionRecord:
        """The latest EHR_STATUS version of the EHR."""
        return self.latest(ehr_id, self.status_id(ehr_id))

    def current_at(self, ehr_id: uuid.UUID, at: dt.datetime) -> VersionRecord:
        """The EHR_STATUS version that was current at ``at``."""
        with read_transaction(self.engine) as conn:
            return versioning.get_at_time(conn, ehr_id, self.kind, self.status_id(ehr_id), at)

    def update(
        self,
        ehr_id: uuid.UUID,
        preceding_version_uid: str,
        status: RMObject | JsonObject,
        audit: Audit,
        *,
        lifecycle_state: str = COMPLETE,
    ) -> VersionRecord:
        """Store the next status version; :class:`~cdr.errors.Conflict` if its subject has another EHR."""
        return self._update(ehr_id, preceding_version_uid, status, audit, lifecycle_state)
