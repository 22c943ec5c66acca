"""Reading versioned objects, shared by EHR_STATUS, COMPOSITION and FOLDER: by version uid, latest, at a time,
the revision history and the versioned object itself."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from cdr.errors import InvalidInput, NotFound
from cdr.storage import VersionRecord, VersionUid
from cdr.storage.versioned_store import VersionedStore


@dataclass(frozen=True, slots=True)
class VersionedObjectView:
    """A VERSIONED_OBJECT: its id, owner EHR, creation time, and versions oldest first."""

    kind: str
    vo_id: uuid.UUID
    ehr_id: uuid.UUID
    versions: list[VersionRecord]

    @property
    def time_created(self) -> dt.datetime:
        return self.versions[0].commit_audit.time_committed


def parse_version_uid(value: str) -> VersionUid:
    """A version uid from a URL or header; :class:`InvalidInput` (400) for ``::-2``, ``::2.0``, non-uuids."""
    uid = VersionUid.parse(value)
    if uid.version < 1:
        raise InvalidInput(f"{value!r}: version numbers start at 1")
    return uid


def parse_object_id(value: str, what: str) -> uuid.UUID:
    """A versioned object id (a uuid); :class:`NotFound` for anything else, since no such object exists."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"{what} {value!r} not found") from None


def version(store: VersionedStore, ehr_id: uuid.UUID, uid: str) -> VersionRecord:
    """A version by uid (a uid of another system is not one of ours: :class:`NotFound`)."""
    return store.get(ehr_id, str(parse_version_uid(uid)))


def at_time_or_latest(
    store: VersionedStore, ehr_id: uuid.UUID, vo_id: uuid.UUID, at: dt.datetime | None
) -> VersionRecord:
    """The version current at ``at``, or the latest one."""
    return store.at_time(ehr_id, vo_id, at) if at is not None else store.latest(ehr_id, vo_id)


def versioned_object(store: VersionedStore, ehr_id: uuid.UUID, vo_id: uuid.UUID) -> VersionedObjectView:
    return VersionedObjectView(store.kind, vo_id, ehr_id, store.history(ehr_id, vo_id))
