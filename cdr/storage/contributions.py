"""CONTRIBUTION store: several versions committed together, all or nothing, under one audit."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cdr.errors import InvalidInput, NotFound
from cdr.storage import schema as t
from cdr.storage.engine import read_transaction, write_transaction
from cdr.storage.records import CHANGE_TYPE, Audit, AuditDetails, ContributionRecord, VersionRecord, code_of
from cdr.storage.versioning import VersionChange, commit_version
from cdr.storage.write_path import insert_contribution


def require_ehr(conn: Connection, ehr_id: uuid.UUID) -> None:
    """:class:`NotFound` unless the EHR exists."""
    if conn.execute(sa.select(t.ehr.c.ehr_id).where(t.ehr.c.ehr_id == ehr_id)).first() is None:
        raise NotFound(f"EHR {ehr_id} not found")


def commit_contribution(
    conn: Connection,
    *,
    ehr_id: uuid.UUID,
    changes: Sequence[VersionChange],
    audit: Audit,
    system_id: str,
    change_type: str | None = None,
    contribution_id: uuid.UUID | None = None,
) -> tuple[ContributionRecord, list[VersionRecord]]:
    """Write a contribution and its versions in the caller's transaction.

    The contribution's change type is ``change_type``, else that of its versions when they agree, else
    'modification' (EHRbase does the same for mixed contributions).
    """
    if not changes:
        raise InvalidInput("a contribution needs at least one version")
    now = dt.datetime.now(dt.UTC)
    contribution_id = contribution_id or uuid.uuid4()
    codes = {code_of(CHANGE_TYPE, c.change_type) for c in changes}
    code = code_of(CHANGE_TYPE, change_type) if change_type else codes.pop() if len(codes) == 1 else "251"
    details = AuditDetails(system_id, now, code, audit.committer, audit.description)
    row = _contribution_row(ehr_id, contribution_id, details)
    alone = len(changes) == 1  # its row goes in with the version's first write: on PostgreSQL one statement
    if not alone:
        insert_contribution(conn, row)
    versions = [
        commit_version(
            conn,
            ehr_id=ehr_id,
            change=change,
            contribution_id=contribution_id,
            audit=change.audit or audit,
            system_id=system_id,
            now=now,
            contribution=row if alone else None,
        )
        for change in changes
    ]
    record = ContributionRecord(ehr_id, contribution_id, details, tuple(v.uid for v in versions))
    return record, versions


def _contribution_row(ehr_id: uuid.UUID, contribution_id: uuid.UUID, details: AuditDetails) -> dict[str, Any]:
    """The ``contribution`` row (:data:`~cdr.storage.write_path.CONTRIBUTION_COLUMNS`)."""
    return {
        "ehr_id": ehr_id,
        "contribution_id": contribution_id,
        "system_id": details.system_id,
        "time_committed": details.time_committed,
        "change_type": details.change_type,
        "committer": details.committer,
        "description": details.description,
    }


class ContributionStore:
    """Commit and read CONTRIBUTIONs."""

    def __init__(self, engine: Engine, system_id: str) -> None:
        self.engine = engine
        self.system_id = system_id

    def commit(
        self, ehr_id: uuid.UUID, changes: Sequence[VersionChange], audit: Audit
    ) -> tuple[ContributionRecord, list[VersionRecord]]:
        """Commit every change in one transaction: all versions are stored, or (on any error) none."""
        with write_transaction(self.engine) as conn:
            return commit_contribution(
                conn, ehr_id=ehr_id, changes=changes, audit=audit, system_id=self.system_id
            )

    def get(self, ehr_id: uuid.UUID, contribution_id: uuid.UUID) -> ContributionRecord:
        """A contribution of the EHR; :class:`NotFound` if there is none with that id."""
        c, ov = t.contribution, t.object_version
        with read_transaction(self.engine) as conn:
            row = conn.execute(
                sa.select(c).where(c.c.ehr_id == ehr_id, c.c.contribution_id == contribution_id)
            ).first()
            if row is None:
                raise NotFound(f"contribution {contribution_id} not found in EHR {ehr_id}")
            versions = conn.execute(
                sa.select(ov.c.vo_id, ov.c.system_id, ov.c.version)
                .where(ov.c.ehr_id == ehr_id, ov.c.contribution_id == contribution_id)
                .order_by(ov.c.time_committed, ov.c.kind, ov.c.vo_id)
            ).all()
        audit = AuditDetails(
            row.system_id, row.time_committed, row.change_type, row.committer, row.description
        )
        uids = tuple(f"{v.vo_id}::{v.system_id}::{v.version}" for v in versions)
        return ContributionRecord(ehr_id, contribution_id, audit, uids)

    def list(self, ehr_id: uuid.UUID) -> list[uuid.UUID]:
        """The ids of the EHR's contributions, oldest first."""
        c = t.contribution
        with read_transaction(self.engine) as conn:
            require_ehr(conn, ehr_id)
            query = sa.select(c.c.contribution_id).where(c.c.ehr_id == ehr_id).order_by(c.c.time_committed)
            return list(conn.execute(query).scalars())
