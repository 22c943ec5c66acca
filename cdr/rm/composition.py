"""RM composition: the COMPOSITION, its clinical context, and the content-item hierarchy root and SECTION."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from cdr.rm.archetyped import Locatable, Pathable
from cdr.rm.base import mandatory, optional

if TYPE_CHECKING:
    from cdr.rm.data_structures import ItemStructure
    from cdr.rm.data_types.date_time import DvDateTime
    from cdr.rm.data_types.text import CodePhrase, DvCodedText
    from cdr.rm.generic import Participation, PartyIdentified, PartyProxy


class ContentItem(Locatable):
    """Anything that can be content of a composition: sections and entries."""

    rm_abstract: ClassVar[bool] = True


class Section(ContentItem):
    """A navigational heading grouping entries and sub-sections."""

    items: list[ContentItem] | None = None


class EventContext(Pathable):
    """The clinical session a composition records: when, where, in which setting and with whom."""

    start_time: DvDateTime | None = mandatory()
    end_time: DvDateTime | None = None
    location: str | None = optional("The actual location, e.g. a ward or room name.")
    setting: DvCodedText | None = mandatory(description="openEHR 'setting', e.g. 'primary medical care'.")
    other_context: ItemStructure | None = None
    health_care_facility: PartyIdentified | None = None
    participations: list[Participation] | None = None


class Composition(Locatable):
    """The unit of commit and change in an EHR: content written by one composer in one context."""

    language: CodePhrase | None = mandatory(description="ISO 639-1 language of the composition.")
    territory: CodePhrase | None = mandatory(description="ISO 3166-1 country where it was authored.")
    category: DvCodedText | None = mandatory(description="openEHR 'composition category'.")
    composer: PartyProxy | None = mandatory()
    context: EventContext | None = optional("Absent for persistent compositions.")
    content: list[ContentItem] | None = None
