"""RM ehr: the EHR root object, its status and access objects, and their versioned containers."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from cdr.rm.archetyped import Locatable
from cdr.rm.base import RMObject, mandatory
from cdr.rm.change_control import VersionedObject

if TYPE_CHECKING:
    from cdr.rm.data_structures import ItemStructure
    from cdr.rm.data_types.date_time import DvDateTime
    from cdr.rm.generic import PartySelf
    from cdr.rm.identification import HierObjectId, ObjectRef


class Ehr(RMObject):
    """The root of one subject's record: references to its versioned parts."""

    system_id: HierObjectId | None = mandatory()
    ehr_id: HierObjectId | None = mandatory()
    time_created: DvDateTime | None = mandatory()
    contributions: list[ObjectRef] | None = None
    ehr_access: ObjectRef | None = mandatory()
    ehr_status: ObjectRef | None = mandatory()
    directory: ObjectRef | None = None
    folders: list[ObjectRef] | None = None
    compositions: list[ObjectRef] | None = None


class EhrStatus(Locatable):
    """Status of an EHR: its subject and whether it may be queried and modified."""

    subject: PartySelf | None = mandatory()
    is_queryable: bool | None = mandatory()
    is_modifiable: bool | None = mandatory()
    other_details: ItemStructure | None = None


class AccessControlSettings(RMObject):
    """Access control settings of an EHR; the RM leaves the model to implementations."""

    rm_abstract: ClassVar[bool] = True


class EhrAccess(Locatable):
    """Access control settings of an EHR."""

    settings: AccessControlSettings | None = None


class VersionedEhrStatus(VersionedObject):
    """Versioned container of an EHR's EHR_STATUS."""


class VersionedEhrAccess(VersionedObject):
    """Versioned container of an EHR's EHR_ACCESS."""


class VersionedComposition(VersionedObject):
    """Versioned container of one composition."""
