"""FOLDER store: an EHR's directory (root FOLDER), versioned; its OBJECT_REFs indexed in ``folder_item``."""

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


class DirectoryStore(VersionedStore):
    """Create, update, delete and read the directory; at most one live directory per EHR."""

    kind = "FOLDER"

    def directory_id(self, ehr_id: uuid.UUID) -> uuid.UUID:
        """The versioned object id of the EHR's directory; :class:`NotFound` if it has none."""
        with read_transaction(self.engine) as conn:
            row = conn.execute(sa.select(t.ehr.c.directory_id).where(t.ehr.c.ehr_id == ehr_id)).first()
        if row is None:
            raise NotFound(f"EHR {ehr_id} not found")
        if row.directory_id is None:
            raise NotFound(f"EHR {ehr_id} has no directory")
        return uuid.UUID(str(row.directory_id))

    def create(
        self,
        ehr_id: uuid.UUID,
        folder: RMObject | JsonObject,
        audit: Audit,
        *,
        object_id: uuid.UUID | None = None,
    ) -> VersionRecord:
        """Store the EHR's directory; :class:`~cdr.errors.Conflict` if it has a live one."""
        return self._create(ehr_id, folder, audit, object_id, COMPLETE)

    def update(
        self, ehr_id: uuid.UUID, preceding_version_uid: str, folder: RMObject | JsonObject, audit: Audit
    ) -> VersionRecord:
        return self._update(ehr_id, preceding_version_uid, folder, audit, COMPLETE)

    def delete(self, ehr_id: uuid.UUID, preceding_version_uid: str, audit: Audit) -> VersionRecord:
        return self._delete(ehr_id, preceding_version_uid, audit)

    def current(self, ehr_id: uuid.UUID) -> VersionRecord:
        """The latest version of the EHR's directory (may be a deletion)."""
        return self.latest(ehr_id, self.directory_id(ehr_id))

    def current_at(self, ehr_id: uuid.UUID, at: dt.datetime) -> VersionRecord:
        with read_transaction(self.engine) as conn:
            return versioning.get_at_time(conn, ehr_id, self.kind, self.directory_id(ehr_id), at)

    def folders_containing(self, ehr_id: uuid.UUID, target_vo_id: uuid.UUID) -> list[str]:
        """AQL paths of the folders of the latest directory version that list the object ``target_vo_id``."""
        fi, n, ov = t.folder_item, t.node, t.object_version
        query = (
            sa.select(n.c.num, n.c.path)
            .select_from(
                fi.join(
                    n,
                    sa.and_(
                        n.c.ehr_id == fi.c.ehr_id,
                        n.c.vo_id == fi.c.vo_id,
                        n.c.version == fi.c.version,
                        n.c.num == fi.c.num,
                    ),
                ).join(
                    ov,
                    sa.and_(
                        ov.c.ehr_id == fi.c.ehr_id, ov.c.vo_id == fi.c.vo_id, ov.c.version == fi.c.version
                    ),
                )
            )
            .where(fi.c.ehr_id == ehr_id, fi.c.target_vo_id == target_vo_id, ov.c.latest == sa.true())
            .order_by(n.c.num)
            .distinct()
        )
        with read_transaction(self.engine) as conn:
            return [row.path for row in conn.execute(query)]
