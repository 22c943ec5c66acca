"""RM composition.content.entry: the ENTRY classes that carry clinical statements."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from cdr.rm.archetyped import Locatable, Pathable
from cdr.rm.base import mandatory
from cdr.rm.composition import ContentItem

if TYPE_CHECKING:
    from cdr.rm.data_structures import History, ItemStructure, ItemTree
    from cdr.rm.data_types.date_time import DvDateTime
    from cdr.rm.data_types.encapsulated import DvParsable
    from cdr.rm.data_types.text import CodePhrase, DvCodedText, DvText
    from cdr.rm.generic import Participation, PartyProxy
    from cdr.rm.identification import LocatableRef, ObjectRef


class Entry(ContentItem):
    """A clinical statement about a subject, in one language, with its provider and participations."""

    rm_abstract: ClassVar[bool] = True

    language: CodePhrase | None = mandatory()
    encoding: CodePhrase | None = mandatory(description="IANA character set, e.g. 'UTF-8'.")
    subject: PartyProxy | None = mandatory(description="The subject; PARTY_SELF for the EHR subject.")
    provider: PartyProxy | None = None
    other_participations: list[Participation] | None = None
    workflow_id: ObjectRef | None = None


class CareEntry(Entry):
    """An entry of the clinical problem-solving process, with its protocol and guideline."""

    rm_abstract: ClassVar[bool] = True

    protocol: ItemStructure | None = None
    guideline_id: ObjectRef | None = None


class AdminEntry(Entry):
    """Administrative information (admission, discharge...)."""

    data: ItemStructure | None = mandatory()


class Observation(CareEntry):
    """What was observed or measured, as a history of events."""

    data: History | None = mandatory()
    state: History | None = None


class Evaluation(CareEntry):
    """An assessment, diagnosis or plan: clinical opinion about the subject."""

    data: ItemStructure | None = mandatory()


class Activity(Locatable):
    """One activity an instruction orders, with its timing and the ACTION archetypes that may record it."""

    description: ItemStructure | None = mandatory()
    timing: DvParsable | None = None
    action_archetype_id: str | None = mandatory(description="Regex of ACTION archetype ids fulfilling it.")


class Instruction(CareEntry):
    """An order: activities to be carried out in the future."""

    narrative: DvText | None = mandatory()
    expiry_time: DvDateTime | None = None
    wf_definition: DvParsable | None = None
    activities: list[Activity] | None = None


class IsmTransition(Pathable):
    """A step in the Instruction State Machine (openEHR 'instruction states' / 'instruction transitions')."""

    current_state: DvCodedText | None = mandatory()
    transition: DvCodedText | None = None
    careflow_step: DvCodedText | None = None
    reason: list[DvText] | None = None


class InstructionDetails(Pathable):
    """The instruction activity an ACTION carries out."""

    instruction_id: LocatableRef | None = mandatory()
    activity_id: str | None = mandatory(description="Path of the ACTIVITY, e.g. 'activities[at0001]'.")
    wf_details: ItemStructure | None = None


class Action(CareEntry):
    """Something done, recorded against the ISM, possibly for an instruction."""

    time: DvDateTime | None = mandatory()
    description: ItemStructure | None = mandatory()
    ism_transition: IsmTransition | None = mandatory()
    instruction_details: InstructionDetails | None = None


class GenericEntry(ContentItem):
    """Data in a non-openEHR model (integration), as an item tree."""

    data: ItemTree | None = mandatory()
