"""RM data_structures: item structures (tree, list, single, table), items, and event histories."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from cdr.rm.archetyped import Locatable
from cdr.rm.base import mandatory, optional

if TYPE_CHECKING:
    from cdr.rm.data_types.basic import DataValue
    from cdr.rm.data_types.date_time import DvDateTime, DvDuration
    from cdr.rm.data_types.text import DvCodedText, DvText


class DataStructure(Locatable):
    """Root of the data structures."""

    rm_abstract: ClassVar[bool] = True


class ItemStructure(DataStructure):
    """A structure of ITEMs: tree, list, single or table."""

    rm_abstract: ClassVar[bool] = True


class Item(Locatable):
    """A node of an item structure: CLUSTER or ELEMENT."""

    rm_abstract: ClassVar[bool] = True


class Cluster(Item):
    """A group of items."""

    items: list[Item] | None = mandatory()


class Element(Item):
    """A leaf holding a data value, or a null flavour saying why there is none."""

    value: DataValue | None = None
    null_flavour: DvCodedText | None = optional("openEHR 'null flavours': no information, unknown, masked...")
    null_reason: DvText | None = optional("Why the value is null (RM 1.1.0).")


class ItemSingle(ItemStructure):
    """A structure holding exactly one element."""

    item: Element | None = mandatory()


class ItemList(ItemStructure):
    """A flat list of elements."""

    items: list[Element] | None = None


class ItemTree(ItemStructure):
    """A tree of clusters and elements."""

    items: list[Item] | None = None


class ItemTable(ItemStructure):
    """A table: each row is a CLUSTER whose items are the columns."""

    rows: list[Cluster] | None = None


class Event(Locatable):
    """One event of a HISTORY: data (and state) at a point or over an interval of time."""

    rm_abstract: ClassVar[bool] = True

    time: DvDateTime | None = mandatory()
    data: ItemStructure | None = mandatory()
    state: ItemStructure | None = None


class PointEvent(Event):
    """An event at an instant."""


class IntervalEvent(Event):
    """An event over the interval ending at ``time``, summarised by ``math_function`` (mean, max...)."""

    width: DvDuration | None = mandatory()
    sample_count: int | None = None
    math_function: DvCodedText | None = mandatory(description="openEHR 'event math function'.")


class History(DataStructure):
    """A series of events from ``origin``, periodic when ``period`` is set."""

    origin: DvDateTime | None = mandatory()
    period: DvDuration | None = None
    duration: DvDuration | None = None
    events: list[Event] | None = None
    summary: ItemStructure | None = None
