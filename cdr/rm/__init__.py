"""The openEHR Reference Model 1.1.0 as pydantic models.

Importing this package defines every RM class, fills :data:`cdr.rm.base.RM_TYPES` and resolves the forward
references between modules. Classes are re-exported here: ``from cdr.rm import DvQuantity``.
"""

from __future__ import annotations

from cdr.rm.archetyped import Archetyped, FeederAudit, FeederAuditDetails, Link, Locatable, Pathable
from cdr.rm.base import (
    RM_TYPES,
    RMField,
    RMObject,
    construct,
    is_rm_subtype,
    rm_class,
    rm_field_map,
    rm_fields,
)
from cdr.rm.change_control import Contribution, ImportedVersion, OriginalVersion, Version, VersionedObject
from cdr.rm.composition import Composition, ContentItem, EventContext, Section
from cdr.rm.data_structures import (
    Cluster,
    DataStructure,
    Element,
    Event,
    History,
    IntervalEvent,
    Item,
    ItemList,
    ItemSingle,
    ItemStructure,
    ItemTable,
    ItemTree,
    PointEvent,
)
from cdr.rm.data_types.basic import DataValue, DvBoolean, DvIdentifier, DvState
from cdr.rm.data_types.date_time import DvDate, DvDateTime, DvDuration, DvTemporal, DvTime
from cdr.rm.data_types.encapsulated import DvEncapsulated, DvMultimedia, DvParsable
from cdr.rm.data_types.quantity import (
    DvAbsoluteQuantity,
    DvAmount,
    DvCount,
    DvInterval,
    DvOrdered,
    DvOrdinal,
    DvProportion,
    DvQuantified,
    DvQuantity,
    DvScale,
    ReferenceRange,
)
from cdr.rm.data_types.text import CodePhrase, DvCodedText, DvParagraph, DvText, TermMapping
from cdr.rm.data_types.time_specification import (
    DvGeneralTimeSpecification,
    DvPeriodicTimeSpecification,
    DvTimeSpecification,
)
from cdr.rm.data_types.uri import DvEhrUri, DvUri
from cdr.rm.directory import Folder, VersionedFolder
from cdr.rm.ehr import (
    AccessControlSettings,
    Ehr,
    EhrAccess,
    EhrStatus,
    VersionedComposition,
    VersionedEhrAccess,
    VersionedEhrStatus,
)
from cdr.rm.entry import (
    Action,
    Activity,
    AdminEntry,
    CareEntry,
    Entry,
    Evaluation,
    GenericEntry,
    Instruction,
    InstructionDetails,
    IsmTransition,
    Observation,
)
from cdr.rm.generic import (
    Attestation,
    AuditDetails,
    Participation,
    PartyIdentified,
    PartyProxy,
    PartyRelated,
    PartySelf,
    RevisionHistory,
    RevisionHistoryItem,
)
from cdr.rm.identification import (
    AccessGroupRef,
    ArchetypeId,
    GenericId,
    HierObjectId,
    LocatableRef,
    ObjectId,
    ObjectRef,
    ObjectVersionId,
    PartyRef,
    TemplateId,
    TerminologyId,
    UidBasedId,
)


def _resolve_forward_references() -> None:
    """Rebuild every class now that all of them exist (annotations name classes of other modules)."""
    namespace = {cls.__name__: cls for cls in RM_TYPES.values()}
    for cls in RM_TYPES.values():
        cls.model_rebuild(force=True, _types_namespace=namespace)


_resolve_forward_references()

__all__ = [
    "RM_TYPES",
    "AccessControlSettings",
    "AccessGroupRef",
    "Action",
    "Activity",
    "AdminEntry",
    "ArchetypeId",
    "Archetyped",
    "Attestation",
    "AuditDetails",
    "CareEntry",
    "Cluster",
    "CodePhrase",
    "Composition",
    "ContentItem",
    "Contribution",
    "DataStructure",
    "DataValue",
    "DvAbsoluteQuantity",
    "DvAmount",
    "DvBoolean",
    "DvCodedText",
    "DvCount",
    "DvDate",
    "DvDateTime",
    "DvDuration",
    "DvEhrUri",
    "DvEncapsulated",
    "DvGeneralTimeSpecification",
    "DvIdentifier",
    "DvInterval",
    "DvMultimedia",
    "DvOrdered",
    "DvOrdinal",
    "DvParagraph",
    "DvParsable",
    "DvPeriodicTimeSpecification",
    "DvProportion",
    "DvQuantified",
    "DvQuantity",
    "DvScale",
    "DvState",
    "DvTemporal",
    "DvText",
    "DvTime",
    "DvTimeSpecification",
    "DvUri",
    "Ehr",
    "EhrAccess",
    "EhrStatus",
    "Element",
    "Entry",
    "Evaluation",
    "Event",
    "EventContext",
    "FeederAudit",
    "FeederAuditDetails",
    "Folder",
    "GenericEntry",
    "GenericId",
    "HierObjectId",
    "History",
    "ImportedVersion",
    "Instruction",
    "InstructionDetails",
    "IntervalEvent",
    "IsmTransition",
    "Item",
    "ItemList",
    "ItemSingle",
    "ItemStructure",
    "ItemTable",
    "ItemTree",
    "Link",
    "Locatable",
    "LocatableRef",
    "ObjectId",
    "ObjectRef",
    "ObjectVersionId",
    "Observation",
    "OriginalVersion",
    "Participation",
    "PartyIdentified",
    "PartyProxy",
    "PartyRef",
    "PartyRelated",
    "PartySelf",
    "Pathable",
    "PointEvent",
    "RMField",
    "RMObject",
    "ReferenceRange",
    "RevisionHistory",
    "RevisionHistoryItem",
    "Section",
    "TemplateId",
    "TermMapping",
    "TerminologyId",
    "UidBasedId",
    "Version",
    "VersionedComposition",
    "VersionedEhrAccess",
    "VersionedEhrStatus",
    "VersionedFolder",
    "VersionedObject",
    "construct",
    "is_rm_subtype",
    "rm_class",
    "rm_field_map",
    "rm_fields",
]
