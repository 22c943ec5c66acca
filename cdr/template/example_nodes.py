"""The nodes of a generation plan: what makes one RM object, how many members an attribute gets.

Built by :mod:`.example_plan`, walked once per composition. The mode of the :class:`Draw` decides the counts
and choices:

* how many of a child an attribute gets: MINIMAL its lower occurrences; MAXIMAL every optional node once and
  repeating ones up to ``max_repeats`` (more where an ELEMENT has more value types to show); RANDOM optional
  ones with ``optional_rate`` and repeats 1..``max_repeats``; container cardinality and required existence
  are then restored;
* which alternative a single attribute takes: the first, the *n*-th for the *n*-th repeat (so repeated
  ELEMENTs show each of their value types), or a random one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from cdr.rm import construct
from cdr.rm.base import RMObject
from cdr.template.example_draw import Draw
from cdr.template.example_text import Maker

__all__ = ["UNBOUNDED", "AttrNode", "Child", "ChoiceNode", "Node", "ObjectNode", "ValueNode"]

UNBOUNDED = 1 << 30
"""The ``high`` of a child whose occurrences have no upper bound."""


class Node(ABC):
    """Something that makes the RM object for one constraint; ``variants`` counts its ELEMENT choices."""

    __slots__ = ("variants",)

    def __init__(self) -> None:
        self.variants = 1

    @abstractmethod
    def make(self, draw: Draw, variant: int) -> Any:
        """The RM object (or value) for this constraint, drawn with ``draw``; ``variant`` picks a choice."""


class ValueNode(Node):
    """A data value, code phrase or primitive: one maker from :mod:`.example_values`."""

    __slots__ = ("maker",)

    def __init__(self, maker: Maker) -> None:
        super().__init__()
        self.maker = maker

    def make(self, draw: Draw, variant: int) -> Any:
        return self.maker(draw)


class ChoiceNode(Node):
    """One constraint that several concrete RM classes satisfy (EVENT: POINT_EVENT or INTERVAL_EVENT)."""

    __slots__ = ("options",)

    def __init__(self, options: list[Node]) -> None:
        super().__init__()
        self.options = options

    def make(self, draw: Draw, variant: int) -> Any:
        options = self.options
        if draw.rng is not None:
            return draw.rng.choice(options).make(draw, 0)
        return options[variant % len(options) if draw.rich else 0].make(draw, variant // len(options))


@dataclass(slots=True)
class Child:
    """A child constraint of an attribute with its occurrences (``high`` is :data:`UNBOUNDED` when open)."""

    node: Node
    low: int
    high: int
    key: int
    recursive: bool = False
    viable: bool = True
    shadowed: bool = False  # an earlier same-id sibling claims all its names: data cannot tell them apart
    hollow: bool = False  # an item structure with nothing the template lets us put in it


@dataclass(slots=True)
class AttrNode:
    """One template-constrained attribute: its children and how many members it must have."""

    name: str
    multiple: bool
    required: bool
    card_low: int = 0
    card_high: int = UNBOUNDED
    children: list[Child] = field(default_factory=list)
    usable: list[Child] = field(default_factory=list)  # the viable children (set when the plan is complete)
    filled: bool = False  # the items of an item structure: RANDOM and MAXIMAL put at least one in

    def make(self, draw: Draw, variant: int) -> Any:
        if not self.children:
            return None
        if self.multiple:
            return self._members(draw)
        return self._single(draw, variant)

    def _single(self, draw: Draw, variant: int) -> Any:
        rng = draw.rng
        if not self.required:
            if rng is not None:
                if rng.random() >= draw.settings.optional_rate:
                    return None
            elif not draw.rich:
                return None
        # a required attribute whose constraints cannot be made whole still gets one (showing what is missing)
        children = self.usable or (self.children if self.required else [])
        if not self.required:
            children = [c for c in children if not c.hollow]
        if not children:
            return None
        if rng is not None:
            chosen = rng.choice(children)
        else:
            chosen = children[variant % len(children)] if draw.rich else children[0]
        if chosen.recursive and draw.stack.count(chosen.key) > 1:
            return None
        return chosen.node.make(draw, variant)

    def _counts(self, draw: Draw) -> list[int]:
        rng = draw.rng
        settings = draw.settings
        cap = max(1, settings.max_repeats)
        counts = []
        for child in self.children:
            low, high = child.low, child.high
            if child.recursive and child.key in draw.stack:
                counts.append(low if draw.stack.count(child.key) < 2 else 0)
                continue
            if not child.viable or child.hollow:
                counts.append(low)  # a required child that cannot be made whole still shows what is missing
                continue
            if rng is not None:
                top = max(low, min(high, cap))
                if low > 0:
                    n = rng.randint(low, top)
                elif high > 0 and rng.random() < settings.optional_rate:
                    n = rng.randint(1, max(1, top))
                else:
                    n = 0
            elif draw.rich:
                n = 0 if high == 0 else max(low, min(high, max(cap if high > 1 else 1, child.node.variants)))
            else:
                n = low
            counts.append(n)
        self._fit(counts, self.required or (self.filled and (rng is not None or draw.rich)))
        return counts

    def _fit(self, counts: list[int], non_empty: bool) -> None:
        """Bring the total within the cardinality (and to one at least where it must not be empty)."""
        need = max(self.card_low, 1 if non_empty else 0)
        total = sum(counts)
        children = self.children
        while total < need:
            grow = next((i for i, c in enumerate(children) if c.viable and 0 < counts[i] < c.high), None)
            if grow is None:
                grow = next(
                    (i for i, c in enumerate(children) if c.viable and not c.hollow and counts[i] < c.high),
                    None,
                )
            if grow is None:
                break
            counts[grow] += 1
            total += 1
        while total > self.card_high:
            shrink = next((i for i in reversed(range(len(children))) if counts[i] > children[i].low), None)
            if shrink is None:
                break
            counts[shrink] -= 1
            total -= 1

    def _members(self, draw: Draw) -> list[Any] | None:
        items: list[Any] = []
        for child, n in zip(self.children, self._counts(draw), strict=True):
            node = child.node
            for j in range(n):
                made = node.make(draw, j)
                if made is not None:
                    items.append(made)
        return items or None


class ObjectNode(Node):
    """A complex RM object: node id, name and archetype details, then attributes, RM fills and extras."""

    __slots__ = (
        "attributes",
        "blocked",
        "cls",
        "details",
        "extras",
        "fills",
        "hooks",
        "key",
        "name",
        "node_id",
    )

    def __init__(self, cls: type[RMObject], key: int) -> None:
        super().__init__()
        self.cls = cls
        self.key = key
        self.node_id: str | None = None
        self.name: Maker | None = None
        self.details: Maker | None = None
        self.attributes: list[AttrNode] = []
        self.fills: list[tuple[str, Maker]] = []
        self.extras: list[tuple[str, Any]] = []
        self.hooks: list[Any] = []
        self.blocked = False  # a required attribute's constraints are all unfilled slots

    def make(self, draw: Draw, variant: int) -> RMObject:
        draw.stack.append(self.key)
        values: dict[str, Any] = {}
        if self.node_id is not None:
            values["archetype_node_id"] = self.node_id
            values["name"] = self.name(draw) if self.name is not None else None
        if self.details is not None:
            values["archetype_details"] = self.details(draw)
        for attr in self.attributes:
            made = attr.make(draw, variant)
            if made is not None:
                values[attr.name] = made
        for name, maker in self.fills:
            if not values.get(name):
                values[name] = maker(draw)
        for name, extra in self.extras:
            if name not in values:
                made = extra(draw, values)
                if made is not None:
                    values[name] = made
        for hook in self.hooks:
            hook(draw, values)
        draw.stack.pop()
        return construct(self.cls, values)
