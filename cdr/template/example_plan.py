"""The generation plan of a template: its constraint tree compiled into :mod:`.example_nodes`.

Compiling does everything that depends only on the template (concrete RM classes, names in the chosen
language, code lists, ranges, which RM attributes to fill and how), so that making one composition is a walk
of plain Python objects that only draws counts, alternatives and values; the one plan serves all three modes
of :class:`~cdr.template.example_draw.Mode`. Compiling also settles what cannot be made whole:

* archetype slots the template does not fill are left empty (a slot names archetypes, not content), and an
  optional node whose required part is such a slot is left out; where the template requires content and
  offers only CLUSTER slots, one CLUSTER of an admitted (or synthetic) archetype is made;
* same-id siblings that data cannot tell apart by name are not both made;
* item structures with nothing to put in them are left out unless required;
* internal references are followed once per branch (a recursive structure is not expanded inside itself).
"""

from __future__ import annotations

from typing import Any

from cdr.rm import Archetyped, ArchetypeId, Cluster, Element, ItemStructure, TemplateId, construct
from cdr.rm.base import RMObject, rm_fields
from cdr.rm.identification import ARCHETYPE_ID_PATTERN
from cdr.template.aom import (
    ArchetypeInternalRef,
    ArchetypeSlot,
    CArchetypeRoot,
    CAttribute,
    CBoolean,
    CComplexObject,
    CDomainType,
    CDuration,
    CInteger,
    CMultipleAttribute,
    CObject,
    ConstraintRef,
    CPrimitive,
    CPrimitiveObject,
    CReal,
    CString,
    CTemporal,
    OperationalTemplate,
)
from cdr.template.example_draw import Draw
from cdr.template.example_nodes import UNBOUNDED, AttrNode, Child, ChoiceNode, Node, ObjectNode, ValueNode
from cdr.template.example_numbers import number_spec
from cdr.template.example_regex import example_string
from cdr.template.example_rm import concrete_types, extras_for, fills_for, post_hooks_for
from cdr.template.example_temporal import date_time_text, duration_options, duration_text
from cdr.template.example_text import Maker, Site, dv_text, free_text, string_maker
from cdr.template.example_values import is_value_type, value_maker

__all__ = ["CARRIED", "compile_plan", "primitive_maker"]

CARRIED = {("COMPOSITION", "context"), ("HISTORY", "events"), ("ISM_TRANSITION", "careflow_step")}
"""Attributes made even where the template leaves them optional: an event composition has a context, a
HISTORY needs an event (RM ``Events_valid``), an ACTION names its careflow step (the template's states are
given per step), and an ELEMENT shows a value rather than a null flavour."""


# ------------------------------------------------------------------------------------------- compiling


def primitive_maker(item: CPrimitive | None) -> Maker:
    """Values of a primitive attribute (strings, numbers, booleans, ISO 8601 texts) under a C_PRIMITIVE."""
    if isinstance(item, CString) or item is None:
        return string_maker(item, lambda draw: "example")
    if isinstance(item, CInteger | CReal):
        integral = isinstance(item, CInteger)
        spec = number_spec(item, 0 if integral else 1, (0.0, None))

        def number(draw: Draw) -> float | int:
            x = spec.canonical() if draw.rng is None else spec.draw(draw.rng)
            return int(x) if integral else x

        return number
    if isinstance(item, CBoolean):
        allowed = [v for v in (True, False) if item.is_valid(v)] or [True]
        return lambda draw: allowed[0] if draw.rng is None else draw.rng.choice(allowed)
    if isinstance(item, CDuration):
        options = duration_options(item)
        return lambda draw: duration_text(options, draw.rng)
    if isinstance(item, CTemporal):
        return lambda draw: date_time_text(draw.moment, item)
    return lambda draw: "example"


class _Compiler:
    def __init__(
        self,
        opt: OperationalTemplate,
        language: str,
        settings_rm_version: str,
        reference_codes: tuple[tuple[str, str, str, str], ...] = (),
    ) -> None:
        self.opt = opt
        self.language = language
        self.rm_version = settings_rm_version
        self.reference_codes = reference_codes
        self.memo: dict[int, Node] = {}

    def label(self, c: CObject) -> str:
        return c.text(self.language) or c.node_id or c.rm_type_name.lower()

    def child(self, c: CObject, owner: type[RMObject], attribute: str, owner_label: str) -> Child | None:
        target = c
        recursive = False
        if isinstance(c, ArchetypeInternalRef):
            recursive = True
            found = c.target
            if found is None:
                return None
            target = found
        if isinstance(target, ArchetypeSlot):
            return None
        node = self.node(target, owner, attribute, owner_label)
        if node is None:
            return None
        occ = c.occurrences
        low = occ.lower or 0 if occ is not None else 0
        high = UNBOUNDED if occ is None or occ.upper is None else occ.upper
        if occ is None:
            low, high = 1, 1
        return Child(node, low, high, id(target), recursive)

    def node(self, c: CObject, owner: type[RMObject], attribute: str, owner_label: str) -> Node | None:
        if isinstance(c, CPrimitiveObject):
            return ValueNode(primitive_maker(c.item))
        rm_type = c.rm_type_name
        if isinstance(c, CDomainType | ConstraintRef) or is_value_type(rm_type):
            site = Site(
                owner.rm_type, attribute, owner_label, self.language, c.archetype_root, self.reference_codes
            )
            return ValueNode(value_maker(c, rm_type, site))
        if not isinstance(c, CComplexObject):
            return None
        found = self.memo.get(id(c))
        if found is not None:
            return found
        constrained = {a.rm_attribute_name for a in c.attributes}
        archetype_id = c.archetype_id if isinstance(c, CArchetypeRoot) else None
        classes = concrete_types(rm_type, constrained, archetype_id)
        if not classes:
            return None
        if len(classes) == 1:
            obj = ObjectNode(classes[0], id(c))
            self.memo[id(c)] = obj
            self.fill(obj, c)
            return obj
        choice = ChoiceNode([])
        self.memo[id(c)] = choice
        for cls in classes:
            option = ObjectNode(cls, id(c))
            self.fill(option, c)
            choice.options.append(option)
        # a repeatable EVENT shows one more than its kinds, cycling (POINT, INTERVAL, POINT), as EHRbase's
        # example generator sizes a choice (openEHR_SDK ExampleGeneratorConfig: choices + 1)
        choice.variants = len(classes) + (1 if rm_type == "EVENT" else 0)
        return choice

    def fill(self, obj: ObjectNode, c: CComplexObject) -> None:
        cls = obj.cls
        fields = {f.name: f for f in rm_fields(cls)}
        label = self.label(c)
        if "archetype_node_id" in fields:
            obj.node_id = c.archetype_id if isinstance(c, CArchetypeRoot) else (c.node_id or "at0000")
            obj.name = self.name_maker(c, cls, label)
        if isinstance(c, CArchetypeRoot) and "archetype_details" in fields:
            obj.details = self.details_maker(c)
        covered: set[str] = set()
        for attr in c.attributes:
            name = attr.rm_attribute_name
            if name not in fields or name in ("name", "archetype_node_id"):
                continue
            if attr.existence is not None and attr.existence.upper == 0:
                covered.add(name)  # not allowed: never filled
                continue
            node = self.attribute(attr, cls, label, fields[name].required)
            if node.children:
                obj.attributes.append(node)
                obj.variants = max(obj.variants, len(node.children) if not node.multiple else 1)
                covered.add(name)
            elif attr.children and node.required:
                obj.blocked = True
        obj.fills = fills_for(cls, covered, label, self.language)
        obj.extras = extras_for(cls, covered, label, self.language)
        value_attr = c.attribute("value")
        value_required = value_attr is not None and value_attr.is_required()
        obj.hooks = list(post_hooks_for(cls, self.language, value_required))

    def attribute(self, attr: CAttribute, owner: type[RMObject], label: str, rm_required: bool) -> AttrNode:
        name = attr.rm_attribute_name
        ex = attr.existence
        required = (ex.lower or 0) > 0 if ex is not None else rm_required
        if (owner.rm_type, name) in CARRIED or (issubclass(owner, Element) and name == "value"):
            required = True
        multiple = isinstance(attr, CMultipleAttribute)
        node = AttrNode(name, multiple, required)
        node.filled = issubclass(owner, ItemStructure) and name in ("items", "rows")
        if isinstance(attr, CMultipleAttribute) and attr.cardinality is not None:
            card = attr.cardinality.interval
            node.card_low = card.lower or 0
            node.card_high = UNBOUNDED if card.upper is None else card.upper
        made: list[tuple[CObject, Child]] = []
        for c in attr.children:
            child = self.child(c, owner, name, label)
            if child is not None:
                node.children.append(child)
                made.append((c, child))
        if multiple:
            _rename_clashes(made, self.language)
        if not node.children and node.required:
            slot_child = self.slot_filler(attr)
            if slot_child is not None:
                node.children.append(slot_child)
        if not multiple:
            node.children.sort(key=lambda ch: ch.high == 0)
            node.children = [ch for ch in node.children if ch.high > 0] or node.children
        return node

    def slot_filler(self, attr: CAttribute) -> Child | None:
        """Content for an attribute the template requires but offers only CLUSTER slots for: one CLUSTER of a
        synthetic archetype the slot admits, holding one text ELEMENT (checked against the RM only)."""
        rm_version = self.rm_version
        for slot in attr.children:
            if not isinstance(slot, ArchetypeSlot) or slot.rm_type_name not in ("CLUSTER", "ITEM"):
                continue
            archetype_id = _admitted_id(slot)
            if archetype_id is None:
                continue
            label = self.label(slot)

            def make(draw: Draw, archetype_id: str = archetype_id, label: str = label) -> Cluster:
                text = dv_text(free_text(draw))
                element = construct(
                    Element, {"archetype_node_id": "at0001", "name": dv_text(label), "value": text}
                )
                archetype = construct(ArchetypeId, {"value": archetype_id})
                details = construct(Archetyped, {"archetype_id": archetype, "rm_version": rm_version})
                return construct(
                    Cluster,
                    {
                        "archetype_node_id": archetype_id,
                        "name": dv_text(label),
                        "archetype_details": details,
                        "items": [element],
                    },
                )

            occ = slot.occurrences
            high = UNBOUNDED if occ is None or occ.upper is None else occ.upper
            return Child(ValueNode(make), 1, max(1, high), id(slot))
        return None

    def name_maker(self, c: CComplexObject, cls: type[RMObject], label: str) -> Maker:
        attr = c.attribute("name")
        for constraint in attr.children if attr is not None else []:
            if isinstance(constraint, CComplexObject) and (
                _constrains_name(constraint) or constraint.rm_type_name == "DV_CODED_TEXT"
            ):
                site = Site(cls.rm_type, "name", label, self.language, c.archetype_root)
                return value_maker(constraint, constraint.rm_type_name, site)
        return lambda draw: dv_text(label)

    def details_maker(self, c: CArchetypeRoot) -> Maker:
        archetype_id = c.archetype_id
        template_id = self.opt.template_id if c is self.opt.definition else None
        rm_version = self.rm_version

        def make(draw: Draw) -> Archetyped:
            values: dict[str, Any] = {
                "archetype_id": construct(ArchetypeId, {"value": archetype_id}),
                "rm_version": rm_version,
            }
            if template_id is not None:
                values["template_id"] = construct(TemplateId, {"value": template_id})
            return construct(Archetyped, values)

        return make


def _constrains_name(c: CComplexObject) -> bool:
    """Whether a name constraint fixes the name (a list or pattern of strings, or codes)."""
    for attr in c.attributes:
        for child in attr.children:
            if isinstance(child, CPrimitiveObject) and isinstance(child.item, CString):
                if child.item.list or (child.item.pattern and child.item.pattern not in (".*", "^.*$")):
                    return True
            elif not isinstance(child, CPrimitiveObject) and getattr(child, "code_list", None):
                return True
    return False


SYNTHETIC_CLUSTER = "openEHR-EHR-CLUSTER.cdr_example.v0"
"""The archetype id given to content made for a slot that admits any CLUSTER."""


def _admitted_id(slot: ArchetypeSlot) -> str | None:
    """An archetype id the slot admits: from its include patterns, else the synthetic one."""
    candidates = [example_string(p) for a in slot.includes for p in a.patterns if p not in (".*", "^.*$")]
    for candidate in [*candidates, SYNTHETIC_CLUSTER]:
        if candidate is None or (m := ARCHETYPE_ID_PATTERN.match(candidate)) is None:
            continue
        if m.group("rm_entity") == "CLUSTER" and slot.admits(candidate):
            return candidate
    return None


def _fixed_names(c: CObject, language: str) -> set[str]:
    """The names a constraint's name constraint allows (strings of a list, texts of listed codes)."""
    out: set[str] = set()
    attr = c.attribute("name") if isinstance(c, CComplexObject) else None
    for constraint in attr.children if attr is not None else []:
        if not isinstance(constraint, CComplexObject):
            continue
        for sub in constraint.attributes:
            for child in sub.children:
                if isinstance(child, CPrimitiveObject) and isinstance(child.item, CString):
                    out.update(child.item.list)
                elif (codes := getattr(child, "code_list", None)) and child.archetype_root is not None:
                    out.update(t for code in codes if (t := child.archetype_root.term_text(code, language)))
    return out


def _rename_clashes(made: list[tuple[CObject, Child]], language: str) -> None:
    """Give a sibling with a free name a name no same-id sibling's name constraint claims.

    Data is matched to same-id siblings by name (as EHRbase does); a free-named node whose term text is the
    fixed name of a renamed copy (templates rename copies of one archetype) would be taken for that copy.
    """
    by_id: dict[str, list[tuple[CObject, Child]]] = {}
    for c, child in made:
        key = c.archetype_id if isinstance(c, CArchetypeRoot) else c.node_id
        if key:
            by_id.setdefault(key, []).append((c, child))
    for group in by_id.values():
        if len(group) < 2:
            continue
        claimed = set().union(*(_fixed_names(c, language) for c, _ in group))
        earlier: set[str] = set()
        for c, child in group:
            names = _fixed_names(c, language)
            if names and names <= earlier:
                child.shadowed = True
            earlier |= names
        for c, child in group:
            node = child.node
            if not isinstance(node, ObjectNode) or _fixed_names(c, language):
                continue
            label = c.text(language) or c.node_id
            if label in claimed:
                new_label = f"{label} ({c.node_id})" if c.node_id else f"{label} (other)"
                node.name = lambda draw, text=new_label: dv_text(text)


def _settle(root: Node) -> None:
    """Mark which children can be made whole (no required part left to an unfilled slot)."""
    state: dict[int, bool] = {}

    def viable(node: Node) -> bool:
        if isinstance(node, ChoiceNode):
            return any([viable(option) for option in node.options])
        if not isinstance(node, ObjectNode):
            return True
        key = id(node)
        if key in state:
            return state[key]
        state[key] = True  # assumed while its own subtree is settled (recursive structures)
        ok = not node.blocked
        for attr in node.attributes:
            for child in attr.children:
                child.viable = viable(child.node) and not child.shadowed
                child.hollow = _hollow(child.node)
            attr.usable = [child for child in attr.children if child.viable]
            if (attr.required and not attr.usable) or any(c.low > 0 and not c.viable for c in attr.children):
                ok = False
        state[key] = ok
        return ok

    viable(root)


def _hollow(node: Node) -> bool:
    """An item structure whose items the template gives nothing to make (optional ones are left out: a
    structure without any item says nothing and has no FLAT form)."""
    if not isinstance(node, ObjectNode) or not issubclass(node.cls, ItemStructure):
        return False
    return not any(a.children for a in node.attributes if a.name in ("items", "rows", "item"))


class NoExample(ValueError):
    """A template of which nothing can be instantiated (its root allows no occurrence, or no concrete RM
    class fits it)."""


def compile_plan(
    opt: OperationalTemplate,
    language: str,
    rm_version: str = "1.1.0",
    reference_codes: tuple[tuple[str, str, str, str], ...] = (),
) -> Node:
    """The root node of the generation plan of ``opt``, with names and texts in ``language``
    (``reference_codes``: see :class:`~cdr.template.example_draw.ExampleSettings`)."""
    compiler = _Compiler(opt, language, rm_version, reference_codes)
    root = opt.definition
    classes = concrete_types(root.rm_type_name, set(), root.archetype_id)
    owner = classes[0] if classes else RMObject
    node = compiler.node(root, owner, "", compiler.label(root))
    if node is None:
        raise NoExample(f"template {opt.template_id} has no instantiable root: no example can be made of it")
    _settle(node)
    return node
