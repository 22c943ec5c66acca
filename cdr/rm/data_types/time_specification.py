"""RM data_types.time_specification: repeating and general timing given in HL7 formalisms."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from cdr.rm.base import mandatory
from cdr.rm.data_types.basic import DataValue

if TYPE_CHECKING:
    from cdr.rm.data_types.encapsulated import DvParsable


class DvTimeSpecification(DataValue):
    """A time specification as a parsable expression."""

    rm_abstract: ClassVar[bool] = True

    value: DvParsable | None = mandatory()


class DvPeriodicTimeSpecification(DvTimeSpecification):
    """A periodic time (HL7 PIVL or EIVL formalism)."""


class DvGeneralTimeSpecification(DvTimeSpecification):
    """A general time specification (HL7 GTS formalism)."""
