"""RM common.change_control: versions, contributions and versioned objects."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from cdr.rm.base import RMObject, mandatory, optional

if TYPE_CHECKING:
    from cdr.rm.archetyped import Locatable
    from cdr.rm.data_types.date_time import DvDateTime
    from cdr.rm.data_types.text import DvCodedText
    from cdr.rm.generic import Attestation, AuditDetails
    from cdr.rm.identification import HierObjectId, ObjectRef, ObjectVersionId


class Version(RMObject):
    """One version of a versioned object, committed in a contribution."""

    rm_abstract: ClassVar[bool] = True

    contribution: ObjectRef | None = mandatory(description="The CONTRIBUTION this version was committed in.")
    commit_audit: AuditDetails | None = mandatory()
    signature: str | None = optional("OpenPGP signature of the version.")


class OriginalVersion(Version):
    """A version created locally; ``data`` is the versioned content (a COMPOSITION, EHR_STATUS, FOLDER...)."""

    uid: ObjectVersionId | None = mandatory()
    data: Locatable | None = optional("The content; absent for a deletion.")
    preceding_version_uid: ObjectVersionId | None = None
    other_input_version_uids: list[ObjectVersionId] | None = None
    attestations: list[Attestation] | None = None
    lifecycle_state: DvCodedText | None = mandatory(description="openEHR 'version lifecycle state'.")


class ImportedVersion(Version):
    """A version copied from another system, wrapping the original."""

    item: OriginalVersion | None = mandatory()


class Contribution(RMObject):
    """The set of versions committed together, with one audit."""

    uid: HierObjectId | None = mandatory()
    versions: list[ObjectRef] | None = mandatory()
    audit: AuditDetails | None = mandatory()


class VersionedObject(RMObject):
    """Container of all versions of one object; the versions themselves are stored separately."""

    uid: HierObjectId | None = mandatory()
    owner_id: ObjectRef | None = mandatory(description="The owning EHR (or other container).")
    time_created: DvDateTime | None = mandatory()
