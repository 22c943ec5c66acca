"""RM data_types.quantity: ordered values, intervals and quantities."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from cdr.rm.base import RMObject, mandatory, optional
from cdr.rm.data_types.basic import DataValue

if TYPE_CHECKING:
    from cdr.rm.data_types.text import CodePhrase, DvCodedText, DvText


class DvOrdered(DataValue):
    """Values with a natural order; may carry a normal range and other reference ranges."""

    rm_abstract: ClassVar[bool] = True

    normal_range: DvInterval | None = optional("The normal range for this value (an interval of its type).")
    other_reference_ranges: list[ReferenceRange] | None = None
    normal_status: CodePhrase | None = optional("Code from 'openehr_normal_statuses' (HHH..N..LLL).")


class DvInterval(DataValue):
    """An interval of ordered values (DV_INTERVAL<T: DV_ORDERED>); an absent limit is unbounded."""

    lower: DvOrdered | None = None
    upper: DvOrdered | None = None
    lower_included: bool | None = None
    upper_included: bool | None = None
    lower_unbounded: bool | None = mandatory()
    upper_unbounded: bool | None = mandatory()


class ReferenceRange(RMObject):
    """A named range (e.g. 'critical') for an ordered value."""

    meaning: DvText | None = mandatory()
    range: DvInterval | None = mandatory()


class DvOrdinal(DvOrdered):
    """An integer rank with a coded symbol, e.g. 1 = 'mild', 2 = 'moderate'."""

    value: int | None = mandatory()
    symbol: DvCodedText | None = mandatory()


class DvScale(DvOrdered):
    """Like DV_ORDINAL but with a real value, e.g. a score that may be 1.5."""

    value: float | None = mandatory()
    symbol: DvCodedText | None = mandatory()


class DvQuantified(DvOrdered):
    """Ordered values with a magnitude; ``magnitude_status`` says whether it is exact or a bound."""

    rm_abstract: ClassVar[bool] = True

    magnitude_status: str | None = optional("One of '=', '<', '>', '<=', '>=', '~'.")


class DvAmount(DvQuantified):
    """Quantified values that can be added and subtracted; ``accuracy`` is +/- the magnitude or a percent."""

    rm_abstract: ClassVar[bool] = True

    accuracy: float | None = None
    accuracy_is_percent: bool | None = None


class DvQuantity(DvAmount):
    """A measured amount with UCUM units and optional precision (decimal places, -1 = unlimited)."""

    magnitude: float | None = mandatory()
    units: str | None = mandatory(description="UCUM units, e.g. 'mm[Hg]', 'kg/m2'.")
    precision: int | None = optional("Decimal places; 0 means an integral quantity, -1 no limit.")
    units_system: str | None = optional("URI of the units system when it is not UCUM.")
    units_display_name: str | None = None
    # RM 1.1.0 added DV_QUANTITY.property (ITS-JSON has it, the 1.1.0 XSD does not): declared last so that
    # XML written in field order stays schema-valid when it is absent.
    property: CodePhrase | None = optional("The physical property measured (openEHR 'property' group).")


class DvCount(DvAmount):
    """A count of things: an integer magnitude."""

    magnitude: int | None = mandatory()


class DvProportion(DvAmount):
    """A ratio ``numerator/denominator`` whose ``type`` (PROPORTION_KIND) says how to read it."""

    numerator: float | None = mandatory()
    denominator: float | None = mandatory()
    type: int | None = mandatory(description="0 ratio, 1 unitary, 2 percent, 3 fraction, 4 integer fraction.")
    precision: int | None = optional("Decimal places of numerator and denominator; 0 means integral.")


class DvAbsoluteQuantity(DvQuantified):
    """Quantities on an absolute scale (points in time); differences are DV_AMOUNTs."""

    rm_abstract: ClassVar[bool] = True


PK_RATIO, PK_UNITARY, PK_PERCENT, PK_FRACTION, PK_INTEGER_FRACTION = range(5)
"""PROPORTION_KIND codes."""
