"""RM common.archetyped: LOCATABLE, the root of every archetypable node, and its companions."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from cdr.rm.base import RMObject, mandatory, optional

if TYPE_CHECKING:
    from cdr.rm.data_structures import ItemStructure
    from cdr.rm.data_types.basic import DvIdentifier
    from cdr.rm.data_types.date_time import DvDateTime
    from cdr.rm.data_types.encapsulated import DvEncapsulated
    from cdr.rm.data_types.text import DvText
    from cdr.rm.data_types.uri import DvEhrUri
    from cdr.rm.generic import PartyIdentified, PartyProxy
    from cdr.rm.identification import ArchetypeId, TemplateId, UidBasedId


class Pathable(RMObject):
    """Objects addressable by an archetype path."""

    rm_abstract: ClassVar[bool] = True


class Locatable(Pathable):
    """An archetypable node: a name, an archetype node id and, at archetype roots, archetype details."""

    rm_abstract: ClassVar[bool] = True

    archetype_node_id: str | None = mandatory(
        xml_attribute=True, description="at-code, or the archetype id at an archetype root."
    )
    name: DvText | None = mandatory()
    uid: UidBasedId | None = optional("Optional globally unique id of this node.")
    links: list[Link] | None = None
    archetype_details: Archetyped | None = optional("Present exactly at archetype roots.")
    feeder_audit: FeederAudit | None = optional("Audit of the feeder system the data came from.")


class Archetyped(RMObject):
    """Archetype and template that govern an archetype root, with the RM release the data follows."""

    archetype_id: ArchetypeId | None = mandatory()
    template_id: TemplateId | None = optional("Set at the root of a templated structure (composition).")
    rm_version: str | None = mandatory(description="RM release of the data, e.g. '1.1.0'.")


class Link(RMObject):
    """A typed link from one LOCATABLE to another, by ``ehr:`` URI."""

    meaning: DvText | None = mandatory()
    type: DvText | None = mandatory()
    target: DvEhrUri | None = mandatory()


class FeederAudit(RMObject):
    """Audit of data that came from a feeder system, with the ids it had there."""

    originating_system_item_ids: list[DvIdentifier] | None = None
    feeder_system_item_ids: list[DvIdentifier] | None = None
    original_content: DvEncapsulated | None = optional("The content as the feeder system sent it.")
    originating_system_audit: FeederAuditDetails | None = mandatory()
    feeder_system_audit: FeederAuditDetails | None = None


class FeederAuditDetails(RMObject):
    """Who, where and when for one system in a feeder chain."""

    system_id: str | None = mandatory()
    location: PartyIdentified | None = None
    provider: PartyIdentified | None = None
    subject: PartyProxy | None = None
    time: DvDateTime | None = None
    version_id: str | None = optional("The version of the item in the originating system.")
    other_details: ItemStructure | None = None
