"""EHR store: create an EHR (with its first EHR_STATUS), read it, find it by subject."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from cdr.errors import Conflict, NotFound
from cdr.rm.base import RMObject
from cdr.storage import schema as t
from cdr.storage.contributions import commit_contribution
from cdr.storage.engine import read_transaction, writing
from cdr.storage.records import Audit, EhrRecord, JsonObject, VersionRecord
from cdr.storage.versioning import VersionChange
from cdr.storage.write_path import new_rows_only


def default_ehr_status() -> JsonObject:
    """The EHR_STATUS an EHR gets when none is given (as EHRbase creates it): queryable, modifiable."""
    return {
        "_type": "EHR_STATUS",
        "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
        "name": {"_type": "DV_TEXT", "value": "EHR Status"},
        "subject": {"_type": "PARTY_SELF"},
        "is_queryable": True,
        "is_modifiable": True,
    }


def ehr_access_document(access_id: uuid.UUID, system_id: str) -> JsonObject:
    """The EHR_ACCESS an EHR gets at creation (as EHRbase creates it): no settings, version 1."""
    return {
        "_type": "EHR_ACCESS",
        "name": {"_type": "DV_TEXT", "value": "EHR access"},
        "archetype_node_id": "openEHR-EHR-EHR_ACCESS.generic.v1",
        "uid": {"_type": "OBJECT_VERSION_ID", "value": f"{access_id}::{system_id}::1"},
    }


# Children first, so that the deletion does not depend on the database enforcing ON DELETE CASCADE; every
# table carries ehr_id (the distribution column), so each is one indexed statement.
_EHR_TABLES = (
    t.item_tag,
    t.ehr_access,
    t.folder_item,
    t.node,
    t.object_version,
    t.versioned_object,
    t.contribution,
    t.ehr_subject,
)


def _record(row: Row[Any]) -> EhrRecord:
    return EhrRecord(
        row.ehr_id, row.system_id, row.time_created, row.ehr_status_id, row.directory_id, row.access_id
    )


def _select_ehr() -> sa.Select[Any]:
    """The EHR row with its EHR_ACCESS id: one statement."""
    e, a = t.ehr, t.ehr_access
    return sa.select(e, a.c.access_id).outerjoin(a, a.c.ehr_id == e.c.ehr_id)


class EhrStore:
    """EHR roots. The EHR_STATUS is versioned: see :class:`~cdr.storage.ehr_status.EhrStatusStore`."""

    def __init__(self, engine: Engine, system_id: str) -> None:
        self.engine = engine
        self.system_id = system_id

    def create(
        self,
        audit: Audit,
        *,
        ehr_id: uuid.UUID | None = None,
        status: RMObject | JsonObject | None = None,
        conn: Connection | None = None,
    ) -> tuple[EhrRecord, VersionRecord]:
        """A new EHR, version 1 of its EHR_STATUS and its EHR_ACCESS, in one contribution and one transaction
        (``conn``'s, when given, so that the caller's access record commits with the EHR).

        :class:`~cdr.errors.Conflict` if ``ehr_id`` is taken or the status's subject has an EHR already.
        """
        ehr_id = ehr_id or uuid.uuid4()
        now = dt.datetime.now(dt.UTC)
        with writing(self.engine, conn) as conn:
            # the key decides, also between two requests creating the same EHR at once (the second waits
            # for the first to commit, then inserts nothing)
            row = dict(ehr_id=ehr_id, system_id=self.system_id, time_created=now)
            created = conn.execute(new_rows_only(conn, t.ehr).values(row).returning(t.ehr.c.ehr_id)).first()
            if created is None:
                raise Conflict(f"EHR {ehr_id} already exists")
            change = VersionChange(
                "EHR_STATUS", "creation", status if status is not None else default_ehr_status()
            )
            contribution, versions = commit_contribution(
                conn, ehr_id=ehr_id, changes=[change], audit=audit, system_id=self.system_id
            )
            access_id = uuid.uuid4()
            conn.execute(
                sa.insert(t.ehr_access).values(
                    ehr_id=ehr_id,
                    access_id=access_id,
                    system_id=self.system_id,
                    contribution_id=contribution.contribution_id,
                    time_committed=contribution.audit.time_committed,
                    data=ehr_access_document(access_id, self.system_id),
                )
            )
        record = EhrRecord(ehr_id, self.system_id, now, versions[0].vo_id, None, access_id)
        return record, versions[0]

    def get(self, ehr_id: uuid.UUID) -> EhrRecord:
        """The EHR; :class:`~cdr.errors.NotFound` if there is none."""
        with read_transaction(self.engine) as conn:
            row = conn.execute(_select_ehr().where(t.ehr.c.ehr_id == ehr_id)).first()
        if row is None:
            raise NotFound(f"EHR {ehr_id} not found")
        return _record(row)

    def exists(self, ehr_id: uuid.UUID) -> bool:
        with read_transaction(self.engine) as conn:
            return conn.execute(sa.select(t.ehr.c.ehr_id).where(t.ehr.c.ehr_id == ehr_id)).first() is not None

    def find_by_subject(self, subject_id: str, namespace: str) -> EhrRecord | None:
        """The EHR whose current EHR_STATUS subject has this external_ref id and namespace."""
        e, s = t.ehr, t.ehr_subject
        query = (
            _select_ehr()
            .join(s, s.c.ehr_id == e.c.ehr_id)
            .where(s.c.subject_namespace == namespace, s.c.subject_id == subject_id)
        )
        with read_transaction(self.engine) as conn:
            row = conn.execute(query).first()
        return None if row is None else _record(row)

    def delete(self, ehr_id: uuid.UUID, conn: Connection | None = None) -> None:
        """Remove the EHR, its versions of every kind, contributions and subject, physically, in one
        transaction (``conn``'s when given). :class:`~cdr.errors.NotFound` if there is no such EHR.

        Irreversible: for erasure requests and test clean-up; logical deletion is the versioned DELETE.
        """
        with writing(self.engine, conn) as conn:
            found = conn.execute(sa.select(t.ehr.c.ehr_id).where(t.ehr.c.ehr_id == ehr_id).with_for_update())
            if found.first() is None:
                raise NotFound(f"EHR {ehr_id} not found")
            for table in _EHR_TABLES:
                conn.execute(sa.delete(table).where(table.c.ehr_id == ehr_id))
            conn.execute(sa.delete(t.ehr).where(t.ehr.c.ehr_id == ehr_id))
