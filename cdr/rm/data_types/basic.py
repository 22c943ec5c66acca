"""RM data_types.basic: the DATA_VALUE root and the simplest values."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from cdr.rm.base import RMObject, mandatory, optional

if TYPE_CHECKING:
    from cdr.rm.data_types.text import DvCodedText


class DataValue(RMObject):
    """Root of all data value types."""

    rm_abstract: ClassVar[bool] = True


class DvBoolean(DataValue):
    """A yes/no value; use DV_CODED_TEXT where the answer may be 'unknown'."""

    value: bool | None = mandatory()


class DvState(DataValue):
    """A state in a state machine, coded, with whether it is terminal."""

    value: DvCodedText | None = mandatory()
    is_terminal: bool | None = mandatory()


class DvIdentifier(DataValue):
    """An identifier issued by an authority to a real-world entity (patient number, device serial)."""

    issuer: str | None = optional("Authority that issued the identifier.")
    assigner: str | None = optional("Organisation that assigned the id to the item.")
    id: str | None = mandatory(description="The identifier value.")
    type: str | None = optional("Kind of identifier, e.g. 'prescription', 'SSN'.")
