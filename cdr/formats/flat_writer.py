"""Canonical COMPOSITION -> FLAT (simSDT).

The composition is walked along the template's FLAT schema: for each web template node the RM objects it
stands for are found by following the node's steps (through the folded HISTORY, ITEM_TREE, EVENT...), and
written with the codecs. RM attributes the web template does not show are written as ``_attr`` steps unless
they equal what the reader would fill in by default (:mod:`.flat_defaults`), so that FLAT -> canonical gives
the composition back. Nodes of multiple occurrence get an index on every instance (``any_event:0``).
"""

from __future__ import annotations

import logging
from typing import Any

from cdr.errors import FormatError
from cdr.formats import flat_datatypes as _datatypes  # noqa: F401  (registers the data value codecs)
from cdr.formats import flat_parties as _parties  # noqa: F401  (registers party and reference codecs)
from cdr.formats.canonical_json import to_json
from cdr.formats.flat_codec import base_type, flat_name, write_object
from cdr.formats.flat_defaults import STRUCTURE_OWNERS, Defaults, mandatory_structure
from cdr.formats.flat_keys import FlatNode, render_flat
from cdr.formats.flat_schema import FlatSchema, SchemaNode, flat_schema
from cdr.formats.flat_slots import slot_fillers
from cdr.rm import Composition, RMObject
from cdr.rm.base import is_rm_subtype, rm_fields
from cdr.template.aom import OperationalTemplate

__all__ = ["composition_to_flat", "composition_to_tree"]

log = logging.getLogger(__name__)

_ELEMENT_EXTRAS = ("uid", "links", "feeder_audit", "null_flavour", "null_reason")
_NEVER = frozenset({"archetype_node_id"})
_PLAIN_STEPS = {"INTERVAL_EVENT": ("width", "math_function", "sample_count")}
"""RM attributes EHRbase writes as plain steps although the web template has no node for them."""
_AS_EXTRA = {"ACTION": frozenset({"instruction_details"})}
"""RM attributes EHRbase writes as ``_attr`` steps although the web template has nodes below them: an
ACTION's instruction details go as ``_instruction_details|composition_uid``, ``|path``, ``|activity_id``
(every FLAT document of EHRbase's suites and SDK), not through the ``activity_id`` / ``instruction_id``
nodes, which the reader still takes."""


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, RMObject) and isinstance(b, RMObject):
        return bool(to_json(a) == to_json(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)


class _Writer:
    def __init__(self, schema: FlatSchema, defaults: Defaults) -> None:
        self.schema = schema
        self.defaults = defaults
        self.reached: set[int] = set()  # objects found along web template node steps
        self.whole: set[int] = set()  # objects written out with everything below them
        self.owners: dict[int, tuple[RMObject, Any]] = {}  # owners of mandatory structures, constraints
        self.omitted: dict[int, str] = {}  # open-slot content left out (flat_slots), by path

    def owner(self, obj: Any, constraint: Any) -> None:
        """Note an object that may own an RM-mandatory structure the reader rebuilds when empty."""
        if getattr(obj, "rm_type", None) in STRUCTURE_OWNERS:
            self.owners[id(obj)] = (obj, constraint)

    def rebuilt_structures(self) -> None:
        """Empty mandatory structures (``EVENT.data`` without items...) count as written: the reader rebuilds
        them, exactly so, from the template (:func:`~.flat_defaults.mandatory_structure`)."""
        for obj, constraint in self.owners.values():
            for attribute in STRUCTURE_OWNERS[obj.rm_type]:
                value = getattr(obj, attribute, None)
                if value is None or id(value) in self.reached:
                    continue
                found = mandatory_structure(constraint, attribute)
                if found is not None and self._is_rebuilt(value, *found):
                    self.reached.add(id(value))

    def _is_rebuilt(self, value: RMObject, rm_type: str, constraint: Any) -> bool:
        node_id = getattr(value, "archetype_node_id", None)
        if value.rm_type != rm_type or node_id != self.defaults.archetype_node_id(constraint):
            return False
        name = self.defaults.node_name(constraint, None)
        if name is None or not _same(
            getattr(value, "name", None), self.defaults.name_value(constraint, name)
        ):
            return False
        rest = (v for k, v in value.__dict__.items() if k not in ("archetype_node_id", "name"))
        return all(v is None or self._nothing_left(v) for v in rest)

    def _nothing_left(self, value: Any) -> bool:
        """An empty list, or one holding only open-slot content that is left out."""
        return isinstance(value, list) and all(id(v) in self.omitted for v in value)

    def object_node(self, snode: SchemaNode, obj: RMObject, fnode: FlatNode) -> None:
        consumed: set[int] = set()
        claimed = self._named_claims(obj, snode)
        as_extra = _AS_EXTRA.get(obj.rm_type, frozenset())
        for cid, child in snode.children.items():
            if child.steps and child.steps[0].attribute in as_extra:
                continue
            free = consumed if _named(child) else consumed | claimed
            instances = [o for o in self.find(obj, child) if id(o) not in free]
            instances = [o for o in instances if self._accepts(snode, child, o)]
            if child.multiple:
                fnode.multi.add(cid)
            elif len(instances) > 1:
                raise FormatError(
                    fnode.key, f"'{cid}' occurs at most once but the composition has {len(instances)}"
                )
            for index, inst in enumerate(instances):
                consumed.add(id(inst))
                self.reached.add(id(inst))
                target = fnode.child(cid, index)
                self.instance(child, inst, target)
                if target.is_empty() and getattr(inst, "name", None) is not None:
                    # an object with nothing but defaults (an empty SECTION, an ELEMENT without value)
                    # exists in FLAT only by some key: its name, stated explicitly
                    write_object(inst.name, target.child("_name"), explicit_type="DV_TEXT")
        covered = {c.steps[0].attribute for c in snode.children.values() if c.steps} - as_extra
        constraint = snode.constraint if snode.steps else self.schema.opt.definition  # the root has no steps
        self.owner(obj, constraint)
        self.extras(obj, fnode, covered, snode.localized_name(self.defaults.language), constraint)
        history = getattr(obj, "data", None) if obj.rm_type == "OBSERVATION" else None
        if history is not None and history.origin is not None:
            expected = self.defaults.for_type("HISTORY", None, history.__dict__).get("origin")
            if not _same(history.origin, expected):
                write_object(history.origin, fnode.child("history_origin"))

    def _named_claims(self, obj: RMObject, snode: SchemaNode) -> set[int]:
        """The objects that siblings selected by name claim (``height.v1`` named 'Paternal height'), so
        that the sibling with the same archetype and no name predicate does not take them as well: the web
        template gives such same-archetype siblings distinct ids by name."""
        claimed: set[int] = set()
        for child in snode.children.values():
            if _named(child):
                claimed.update(id(o) for o in self.find(obj, child))
        return claimed

    def find(self, obj: RMObject, snode: SchemaNode) -> list[Any]:
        """The RM objects (or values) that are the instances of ``snode`` below ``obj``."""
        current: list[Any] = [obj]
        steps = snode.steps[: snode.instance_depth]
        last = steps[-1] if steps else None
        for step in steps:
            found: list[Any] = []
            for owner in current:
                value = getattr(owner, step.attribute, None)
                items = value if isinstance(value, list) else [] if value is None else [value]
                found.extend(o for o in items if step.matches(o))
            current = found
            if step is not last:
                for o in found:
                    self.reached.add(id(o))
                    self.owner(o, step.constraint)
        return current

    def _accepts(self, parent: SchemaNode, snode: SchemaNode, obj: Any) -> bool:
        """Type filter where siblings share the same steps (choices, ``<type>_value`` nodes)."""
        target = getattr(obj, "value", None) if snode.element_leaf else obj
        if not isinstance(target, RMObject):
            return True
        expected = base_type(snode.rm_type)
        if target.rm_type == expected:
            return True
        siblings = [c for c in parent.children.values() if c is not snode and c.steps == snode.steps]
        if any(base_type(c.rm_type) == target.rm_type for c in siblings):
            return False  # a rival node of the value's own type takes it
        if expected == "DV_CODED_TEXT" and target.rm_type == "DV_TEXT":
            return True
        if is_rm_subtype(target.rm_type, expected) or expected in ("PARTY_PROXY", "EVENT"):
            return True
        # a value of another type at a node of one data type, which the ehrbase validation profile accepts
        # (as EHRbase does): the node's own key, the value written with its ``|_type``
        return snode.element_leaf and not siblings

    def instance(self, snode: SchemaNode, inst: Any, fnode: FlatNode) -> None:
        if snode.structural:
            self.object_node(snode, inst, fnode)
            return
        if snode.element_leaf:
            value = inst.value
            if value is not None:
                self.value(snode, value, fnode)
            self.extras(
                inst,
                fnode,
                {"value"},
                snode.localized_name(self.defaults.language),
                snode.steps[-2].constraint,
            )
            return
        self.value(snode, inst, fnode)

    def value(self, snode: SchemaNode, value: Any, fnode: FlatNode) -> None:
        if not isinstance(value, RMObject):
            fnode.value, fnode.has_value = value, True
            return
        self.whole.add(id(value))
        if snode.id == "subject" and value.rm_type == "PARTY_SELF" and _plain_self(value):
            return  # the reader's default subject; EHRbase does not write it either
        if base_type(snode.rm_type) == "DV_CODED_TEXT" and value.rm_type == "DV_TEXT":
            write_object(value, fnode)
            fnode.attrs = {"other": fnode.value, **fnode.attrs}
            fnode.value, fnode.has_value = None, False
            return
        write_object(value, fnode, explicit_type=snode.rm_type)

    def extras(
        self, obj: RMObject, fnode: FlatNode, covered: set[str], default_name: str | None, constraint: Any
    ) -> None:
        """RM attributes the web template does not show, written as ``_attr`` where not defaults."""
        values = obj.__dict__
        defaults = self.defaults.for_type(obj.rm_type, constraint, values)
        for f in rm_fields(type(obj)):
            name = f.name
            value = values.get(name)
            if name in covered or name in _NEVER or value is None or (f.is_list and not value):
                continue
            if name == "name":
                expected = self.defaults.node_name(constraint, default_name)
                if expected is not None and _same(value, self.defaults.name_value(constraint, expected)):
                    continue
            elif name == "archetype_details":
                if _same_archetype(value, self.defaults.archetype_details(constraint, obj.rm_type)):
                    continue
            elif name in defaults and _same(value, defaults[name]):
                continue
            if name == "origin" and obj.rm_type == "HISTORY":
                continue
            step = ("" if name in _PLAIN_STEPS.get(obj.rm_type, ()) else "_") + flat_name(name)
            if f.is_object:
                self.whole.update(id(v) for v in (value if f.is_list else [value]))
            if not f.is_object and not isinstance(value, str):
                fnode.attrs[name] = value
                continue
            if not f.is_object:
                fnode.child(step).value = value
                fnode.child(step).has_value = True
            elif f.is_list:
                fnode.multi.add(step)
                for i, item in enumerate(value):
                    write_object(item, fnode.child(step, i), explicit_type=f.target.rm_type)  # type: ignore[attr-defined]
            else:
                write_object(value, fnode.child(step), explicit_type=f.target.rm_type)  # type: ignore[attr-defined]


def _named(snode: SchemaNode) -> bool:
    """Whether a node selects its objects by name as well (``[openEHR-...height.v1 and name/value='x']``)."""
    return any(step.name is not None for step in snode.steps[: snode.instance_depth])


def _same_archetype(value: Any, expected: Any) -> bool:
    """Archetype details that differ from the default in ``rm_version`` only are not written."""
    if expected is None:
        return False
    return _same(value.archetype_id, expected.archetype_id) and _same(value.template_id, expected.template_id)


def _plain_self(value: RMObject) -> bool:
    return all(v is None or v == [] for v in value.__dict__.values())


def _plain_text(value: RMObject) -> bool:
    return all(v is None or v == [] for k, v in value.__dict__.items() if k != "value")


def composition_to_tree(
    comp: Composition, opt: OperationalTemplate, omitted: list[str] | None = None
) -> FlatNode:
    """The key tree of a composition (shared by the FLAT and STRUCTURED writers).

    Content of an open slot (an archetype the template does not contain) has no key and is left out, as
    EHRbase does; its data paths are added to ``omitted`` and logged. Anything else without a key raises.
    """
    schema = flat_schema(opt)
    language = comp.language.code_string if comp.language is not None and comp.language.code_string else None
    defaults = Defaults(opt, language or opt.default_language, compare=True)
    context = comp.context
    if context is not None and context.start_time is not None:
        defaults.start_time = context.start_time.value
    root = FlatNode("")
    writer = _Writer(schema, defaults)
    writer.reached.add(id(comp))
    writer.object_node(schema.root, comp, root.child(schema.root.id))
    writer.rebuilt_structures()
    lost = _unplaced(comp, "", writer.reached, writer.whole)
    if lost is not None:
        writer.omitted = slot_fillers(comp, opt)  # only when needed: a second walk of the composition
        writer.rebuilt_structures()
        lost = _unplaced(comp, "", writer.reached, writer.whole | set(writer.omitted))
    if lost is not None:
        path, obj = lost
        raise FormatError(
            path or "/",
            f"{obj.rm_type} {getattr(obj, 'archetype_node_id', '')!r} matches no web template node of "
            f"template {opt.template_id!r} (not in the template, or another name or data type): "
            "FLAT has no key for it",
        )
    if writer.omitted:
        paths = sorted(writer.omitted.values())
        log.warning("template %r has no FLAT key for open-slot content, left out: %s", opt.template_id, paths)
        if omitted is not None:
            omitted.extend(paths)
    return root


def _unplaced(obj: RMObject, path: str, reached: set[int], whole: set[int]) -> tuple[str, RMObject] | None:
    """The first LOCATABLE the writer did not reach (data FLAT cannot carry), with its path.

    Objects written out whole (``_attr`` extras, data values) carry everything below them.
    """
    if id(obj) in whole:
        return None
    if id(obj) not in reached and is_rm_subtype(obj.rm_type, "LOCATABLE"):
        return path, obj
    for f in rm_fields(type(obj)):
        if not f.is_object:
            continue
        value = getattr(obj, f.name)
        items = value if isinstance(value, list) else [] if value is None else [value]
        for item in items:
            if isinstance(item, RMObject):
                node_id = getattr(item, "archetype_node_id", None)
                step = f"{path}/{f.name}" + (f"[{node_id}]" if node_id else "")
                found = _unplaced(item, step, reached, whole)
                if found is not None:
                    return found
    return None


def composition_to_flat(
    comp: Composition, opt: OperationalTemplate, omitted: list[str] | None = None
) -> dict[str, Any]:
    """A canonical COMPOSITION of template ``opt`` as a FLAT (simSDT) document (open-slot content left out
    and its paths added to ``omitted``: :func:`composition_to_tree`)."""
    return render_flat(composition_to_tree(comp, opt, omitted))
