"""The compiled FLAT read plan of a template: what the reader decides per key shape, decided once.

Every composition of a template spells its keys the same way, so what the reader works out for a step
(which web template child a FLAT id names, leniently folded or not; the RM steps folded away above it; the
concrete RM type to build; its default name in a language) and for an RM object it finishes (its class,
node id, ``archetype_details``, whether type defaults apply, its empty attribute values) is compiled here on
first use and kept on the template's :class:`~.flat_schema.FlatSchema`. Reading a document is then one walk
over its keys grouped by prefix, with dictionary lookups where the schema walk used to scan, fold ids and
slice step lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cdr.formats.flat_schema import FlatSchema, SchemaNode, Step
from cdr.rm import RMObject
from cdr.rm.base import RM_TYPES, empty_values, rm_field_map

__all__ = ["CONCRETE", "FinishPlan", "NodePlan", "ReadPlan", "read_plan"]

CONCRETE = {"EVENT": "POINT_EVENT", "ITEM_STRUCTURE": "ITEM_TREE", "PARTY_PROXY": "PARTY_IDENTIFIED"}
"""Abstract RM types a web template node may name, and what the reader builds for them."""

_MISSING: Any = object()
_STEP_CACHE_LIMIT = 512  # per node: what a document of unknown ids could otherwise grow without bound

STRUCTURE, EVENT, ELEMENT, VALUE = range(4)
"""Node kinds: an RM object built from child nodes; an EVENT (point or interval, decided per instance by
what the document gives); a value standing for its ELEMENT; any other value."""


class NodePlan:
    """One web template node compiled for reading: its kind, RM steps and child lookup by FLAT id."""

    __slots__ = (
        "_by_step",
        "_children",
        "_names",
        "constraint",
        "draft_type",
        "element_constraint",
        "folded",
        "folded_key",
        "kind",
        "last_attribute",
        "order",
        "snode",
    )

    def __init__(self, snode: SchemaNode, order: int) -> None:
        self.snode = snode
        self.order = order  # position among the parent's children: instances are built in template order
        depth = snode.instance_depth
        steps = snode.steps
        self.folded: tuple[Step, ...] = steps[: depth - 1] if depth else ()
        # the folded objects' steps as one key, so that a parent finds the innermost with a single lookup
        self.folded_key = tuple((s.attribute, s.node_id, s.name) for s in self.folded)
        self.last_attribute = steps[depth - 1].attribute if depth else ""
        self.constraint = snode.constraint
        self.element_constraint = steps[depth - 1].constraint if snode.element_leaf else None
        if snode.structural:
            self.kind = EVENT if snode.rm_type == "EVENT" else STRUCTURE
        else:
            self.kind = ELEMENT if snode.element_leaf else VALUE
        self.draft_type = CONCRETE.get(snode.rm_type, snode.rm_type)
        self._by_step: dict[str, NodePlan | None] = {}
        self._children: dict[str, NodePlan] = {}
        self._names: dict[str, str | None] = {}

    def child(self, step: str) -> NodePlan | None:
        """The child node a FLAT step names (:meth:`SchemaNode.child_for`, remembered per spelling)."""
        found = self._by_step.get(step, _MISSING)
        if found is _MISSING:
            snode = self.snode.child_for(step)
            found = None if snode is None else self._child_plan(snode)
            if len(self._by_step) < _STEP_CACHE_LIMIT:
                self._by_step[step] = found
        return found

    def _child_plan(self, snode: SchemaNode) -> NodePlan:
        found = self._children.get(snode.id)
        if found is None:
            order = list(self.snode.children).index(snode.id)
            found = self._children[snode.id] = NodePlan(snode, order)
        return found

    def name(self, language: str) -> str | None:
        """The web template name of the node in ``language`` (the default name of what it builds)."""
        found = self._names.get(language, _MISSING)
        if found is _MISSING:
            found = self._names[language] = self.snode.localized_name(language)
        return found


class FinishPlan(NamedTuple):
    """How to finish a draft of one RM type and constraint: its class and which defaults apply."""

    cls: type[RMObject]
    empty: dict[str, Any]  # every attribute of ``cls`` as None: copied to start an instance's values
    locatable: bool
    node_id: str | None
    details: bool  # an archetype root: ``archetype_details``
    type_defaults: bool  # :meth:`~.flat_defaults.Defaults.for_type` has something for the type


def finish_plan(rm_type: str, node_id: str | None, details: bool, type_defaults: bool) -> FinishPlan:
    cls = RM_TYPES[rm_type]
    return FinishPlan(
        cls, empty_values(cls), "archetype_node_id" in rm_field_map(cls), node_id, details, type_defaults
    )


@dataclass(slots=True, eq=False)
class ReadPlan:
    """The compiled read plan of one template: its root node plan and what finishing objects needs.

    ``finish`` is keyed by RM type and constraint identity, ``names`` (default name parts) by constraint
    identity, text and language; both fill as documents are read.
    """

    schema: FlatSchema
    root: NodePlan
    finish: dict[tuple[str, int], FinishPlan] = field(default_factory=dict)
    names: dict[tuple[int, str, str], tuple[str, tuple[str, str] | None]] = field(default_factory=dict)


def read_plan(schema: FlatSchema) -> ReadPlan:
    """The read plan of ``schema`` (compiled on first use, then kept on the schema)."""
    found = schema.read_plan
    if found is None:
        found = schema.read_plan = ReadPlan(schema, NodePlan(schema.root, 0))
    return found
