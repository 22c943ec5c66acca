"""What the stores take and return: frozen dataclasses, with their canonical JSON where the RM has one."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from cdr.errors import InvalidInput, PreconditionFailed
from cdr.formats.canonical_json import parse_json
from cdr.json_codec import loads
from cdr.rm.base import RMObject
from cdr.terminology import code_for_rubric, rubric

JsonObject = dict[str, Any]

MAX_VERSION = 2**31 - 1
"""The largest version number a version can have: the stores' ``version`` columns are 32-bit integers."""
_VERSION_NUMBER = re.compile(r"-?[0-9]+")

CHANGE_TYPE = "audit change type"
LIFECYCLE_STATE = "version lifecycle state"
CREATION, AMENDMENT, MODIFICATION, DELETED = "249", "250", "251", "523"
COMPLETE, INCOMPLETE = "532", "553"


def code_of(group: str, code_or_rubric: str) -> str:
    """The openEHR code for a code or an English rubric of ``group`` (``"deleted"`` -> ``"523"``)."""
    if rubric(code_or_rubric, group) is not None:
        return code_or_rubric
    code = code_for_rubric(group, code_or_rubric)
    if code is None:
        raise InvalidInput(f"{code_or_rubric!r} is not in the openEHR group {group!r}")
    return code


def coded_text(code: str, group: str) -> JsonObject:
    """The DV_CODED_TEXT of an openEHR code, with its English rubric."""
    return {
        "_type": "DV_CODED_TEXT",
        "value": rubric(code, group) or code,
        "defining_code": {
            "_type": "CODE_PHRASE",
            "terminology_id": {"_type": "TERMINOLOGY_ID", "value": "openehr"},
            "code_string": code,
        },
    }


def instant_text(moment: dt.datetime) -> str:
    """ISO 8601 extended, UTC, milliseconds, as EHRbase writes time_committed."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class VersionUid:
    """An OBJECT_VERSION_ID ``object_id::creating_system_id::version_tree_id`` (trunk versions only)."""

    object_id: uuid.UUID
    system_id: str
    version: int

    @classmethod
    def parse(cls, value: str) -> VersionUid:
        """Read a version uid; :class:`~cdr.errors.InvalidInput` if it is not one."""
        parts = value.split("::")
        try:
            if len(parts) != 3 or not parts[1] or not _VERSION_NUMBER.fullmatch(parts[2]):
                raise ValueError(value)  # int() alone would take "+1", " 1", "1_0" and non-ASCII digits
            uid = cls(uuid.UUID(parts[0]), parts[1], int(parts[2]))
        except ValueError:
            raise InvalidInput(f"{value!r} is not a version uid (object_id::system_id::version)") from None
        if uid.version > MAX_VERSION:  # the database would refuse the number itself (a 500)
            raise InvalidInput(f"{value!r}: version {uid.version} is beyond the largest one ({MAX_VERSION})")
        return uid

    def __str__(self) -> str:
        return f"{self.object_id}::{self.system_id}::{self.version}"


class StaleVersion(PreconditionFailed):
    """The preceding version given is not the latest one; ``latest_uid`` is."""

    def __init__(self, message: str, latest_uid: str) -> None:
        super().__init__(message)
        self.latest_uid = latest_uid


@dataclass(frozen=True, slots=True)
class Audit:
    """Who commits and why: the caller's part of AUDIT_DETAILS (the store adds system, time, change type)."""

    committer: JsonObject
    description: str | None = None

    @classmethod
    def by(cls, name: str, description: str | None = None) -> Audit:
        """An audit whose committer is a PARTY_IDENTIFIED with only a name."""
        return cls({"_type": "PARTY_IDENTIFIED", "name": name}, description)


@dataclass(frozen=True, slots=True)
class AuditDetails:
    """A stored AUDIT_DETAILS."""

    system_id: str
    time_committed: dt.datetime
    change_type: str
    committer: JsonObject
    description: str | None = None

    def to_json(self) -> JsonObject:
        doc: JsonObject = {
            "_type": "AUDIT_DETAILS",
            "system_id": self.system_id,
            "time_committed": {"_type": "DV_DATE_TIME", "value": instant_text(self.time_committed)},
            "change_type": coded_text(self.change_type, CHANGE_TYPE),
            "committer": self.committer,
        }
        if self.description is not None:
            doc["description"] = {"_type": "DV_TEXT", "value": self.description}
        return doc


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One stored ORIGINAL_VERSION of a COMPOSITION, EHR_STATUS or FOLDER; ``data`` is ``None`` if deleted.

    ``document`` is the data, or the JSON text it was read as, UTF-8 encoded (a read by version uid on
    PostgreSQL, whose answer in canonical JSON is then that text: parsing 40 kB only to write them again was
    a tenth of the read's CPU); :attr:`data` parses it on first use."""

    ehr_id: uuid.UUID
    vo_id: uuid.UUID
    version: int
    kind: str
    system_id: str
    contribution_id: uuid.UUID
    preceding_version_uid: str | None
    lifecycle_state: str
    commit_audit: AuditDetails
    superseded_at: dt.datetime | None
    template_id: str | None
    document: JsonObject | bytes | None = field(repr=False)

    @property
    def data(self) -> JsonObject | None:
        """The version's data (``None`` for a deletion)."""
        value = self.document
        if isinstance(value, bytes):
            value = loads(value)
            object.__setattr__(self, "document", value)  # parsed once
        return value

    @property
    def json_text(self) -> bytes | None:
        """The data's JSON text as it was read (UTF-8), if it has not been parsed (see ``document``)."""
        return self.document if isinstance(self.document, bytes) else None

    @property
    def uid(self) -> str:
        return f"{self.vo_id}::{self.system_id}::{self.version}"

    @property
    def latest(self) -> bool:
        return self.superseded_at is None

    @property
    def deleted(self) -> bool:
        return self.commit_audit.change_type == DELETED

    def rm(self) -> RMObject | None:
        """The data as an RM object (``None`` for a deletion)."""
        return None if self.data is None else parse_json(self.data)

    def to_json(self) -> JsonObject:
        """The canonical JSON of this ORIGINAL_VERSION."""
        doc: JsonObject = {
            "_type": "ORIGINAL_VERSION",
            "contribution": object_ref(self.contribution_id, "CONTRIBUTION"),
            "commit_audit": self.commit_audit.to_json(),
            "uid": {"_type": "OBJECT_VERSION_ID", "value": self.uid},
        }
        if self.data is not None:
            doc["data"] = self.data
        if self.preceding_version_uid is not None:
            doc["preceding_version_uid"] = {"_type": "OBJECT_VERSION_ID", "value": self.preceding_version_uid}
        doc["lifecycle_state"] = coded_text(self.lifecycle_state, LIFECYCLE_STATE)
        return doc


def object_ref(object_id: uuid.UUID | str, ref_type: str, id_type: str = "HIER_OBJECT_ID") -> JsonObject:
    """An OBJECT_REF in the local namespace."""
    return {
        "_type": "OBJECT_REF",
        "id": {"_type": id_type, "value": str(object_id)},
        "namespace": "local",
        "type": ref_type,
    }


@dataclass(frozen=True, slots=True)
class ContributionRecord:
    """A stored CONTRIBUTION: its audit and the uids of the versions it committed, in commit order."""

    ehr_id: uuid.UUID
    contribution_id: uuid.UUID
    audit: AuditDetails
    version_uids: tuple[str, ...]

    def to_json(self) -> JsonObject:
        return {
            "_type": "CONTRIBUTION",
            "uid": {"_type": "HIER_OBJECT_ID", "value": str(self.contribution_id)},
            "versions": [object_ref(uid, "VERSION", "OBJECT_VERSION_ID") for uid in self.version_uids],
            "audit": self.audit.to_json(),
        }


@dataclass(frozen=True, slots=True)
class EhrRecord:
    """A stored EHR root."""

    ehr_id: uuid.UUID
    system_id: str
    time_created: dt.datetime
    ehr_status_id: uuid.UUID | None
    directory_id: uuid.UUID | None
    ehr_access_id: uuid.UUID | None = None
    """versioned object id of the EHR_ACCESS (``None`` only while an EHR is being created)"""


@dataclass(frozen=True, slots=True)
class TemplateRecord:
    """A stored operational template (its XML is fetched separately: it is large)."""

    template_id: str
    concept: str
    archetype_id: str
    uploaded: dt.datetime
