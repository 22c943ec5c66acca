"""RM common.generic: parties, participations, audits, attestations and revision history."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from cdr.rm.base import RMObject, mandatory, optional

if TYPE_CHECKING:
    from cdr.rm.data_types.basic import DvIdentifier
    from cdr.rm.data_types.date_time import DvDateTime
    from cdr.rm.data_types.encapsulated import DvMultimedia
    from cdr.rm.data_types.quantity import DvInterval
    from cdr.rm.data_types.text import DvCodedText, DvText
    from cdr.rm.data_types.uri import DvEhrUri
    from cdr.rm.identification import ObjectVersionId, PartyRef


class PartyProxy(RMObject):
    """A party (person, organisation, device) as the EHR refers to it, optionally by demographic reference."""

    rm_abstract: ClassVar[bool] = True

    external_ref: PartyRef | None = optional("Reference to the party in a demographic service.")


class PartySelf(PartyProxy):
    """The subject of the EHR, without identifying them inside the record."""


class PartyIdentified(PartyProxy):
    """A party identified by name and/or identifiers."""

    name: str | None = None
    identifiers: list[DvIdentifier] | None = None


class PartyRelated(PartyIdentified):
    """A party identified together with their relationship to the subject (openEHR 'subject relationship')."""

    relationship: DvCodedText | None = mandatory()


class Participation(RMObject):
    """A party's participation in an activity: in what function, how, and when."""

    function: DvText | None = mandatory(description="Function of the party, e.g. 'performer'.")
    performer: PartyProxy | None = mandatory()
    time: DvInterval | None = optional("Interval of DV_DATE_TIME the participation took place in.")
    mode: DvCodedText | None = optional("openEHR 'participation mode', e.g. 'face-to-face communication'.")


class AuditDetails(RMObject):
    """Who committed a change, where, when, and of which kind (openEHR 'audit change type')."""

    system_id: str | None = mandatory()
    committer: PartyProxy | None = mandatory()
    time_committed: DvDateTime | None = mandatory()
    change_type: DvCodedText | None = mandatory()
    description: DvText | None = None


class Attestation(AuditDetails):
    """An attestation (e.g. signature) of some content, with its reason."""

    attested_view: DvMultimedia | None = None
    proof: str | None = optional("Proof of attestation, e.g. an OpenPGP signature block.")
    items: list[DvEhrUri] | None = None
    reason: DvText | None = mandatory()
    is_pending: bool | None = mandatory()


class RevisionHistoryItem(RMObject):
    """The audits of one version."""

    version_id: ObjectVersionId | None = mandatory()
    audits: list[AuditDetails] | None = mandatory()


class RevisionHistory(RMObject):
    """The revision history of a versioned object, oldest first."""

    items: list[RevisionHistoryItem] | None = mandatory()
