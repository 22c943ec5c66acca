"""FLAT (simSDT) -> canonical COMPOSITION.

The document is split into a key tree (:mod:`.flat_keys`) and walked along the template's compiled read plan
(:mod:`.flat_plan`, over the FLAT schema of :mod:`.flat_schema`): each schema node's instances become RM
objects, the objects the web template folds away (HISTORY, ITEM_TREE, a single EVENT, the ELEMENT around a
value) are created once per parent and shared, values are read by the codecs (:mod:`.flat_datatypes`,
:mod:`.flat_parties`), and ``_attr`` steps set RM attributes the web template does not show. Missing values
the template or ``ctx/`` fix are filled in (:mod:`.flat_defaults`). A key that matches nothing is a
:class:`FormatError` naming it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cdr.errors import FormatError
from cdr.formats import flat_datatypes as _datatypes  # noqa: F401  (registers the data value codecs)
from cdr.formats import flat_parties as _parties  # noqa: F401  (registers party and reference codecs)
from cdr.formats.flat_codec import ReadContext, Take, convert, read_object, rm_attribute
from cdr.formats.flat_ctx import parse_ctx
from cdr.formats.flat_datatypes import coded_text
from cdr.formats.flat_defaults import STRUCTURE_OWNERS, Defaults, has_type_defaults, mandatory_structure
from cdr.formats.flat_keys import FlatNode, parse_flat
from cdr.formats.flat_plan import (
    CONCRETE,
    ELEMENT,
    EVENT,
    VALUE,
    FinishPlan,
    NodePlan,
    ReadPlan,
    finish_plan,
    read_plan,
)
from cdr.formats.flat_schema import SchemaNode, Step, flat_schema
from cdr.rm import Composition, DvCodedText, DvText, RMObject
from cdr.rm.base import RM_TYPES, RMField, assemble, construct, empty_values, rm_field_map
from cdr.template.aom import CObject, OperationalTemplate

__all__ = ["flat_to_composition", "tree_to_composition"]

_FIELDS: dict[str, dict[str, RMField]] = {}
_TEXT_EMPTY = empty_values(DvText)


class Draft:
    """An RM object under construction: attribute values, and the folded objects shared below it."""

    __slots__ = ("constraint", "name", "rm_type", "shared", "values")

    def __init__(self, rm_type: str, constraint: CObject | None, name: str | None = None) -> None:
        self.rm_type = rm_type
        self.constraint = constraint
        self.name = name  # default name (web template name in the composition language)
        self.values: dict[str, Any] = {}
        self.shared: dict[Any, Draft] = {}  # by step (attribute, node id, name), and by chain of steps

    def add(self, attribute: str, value: Any, key: str) -> None:
        fields = _FIELDS.get(self.rm_type)
        if fields is None:
            fields = _FIELDS[self.rm_type] = rm_field_map(RM_TYPES[self.rm_type])
        f = fields.get(attribute)
        if f is None:
            raise FormatError(key, f"{self.rm_type} has no attribute '{attribute}'")
        if f.is_list:
            self.values.setdefault(attribute, []).append(value)
        elif attribute in self.values:
            raise FormatError(key, f"'{attribute}' of {self.rm_type} is given twice")
        else:
            self.values[attribute] = value

    def folded(self, step: Step, key: str, defaults: Defaults) -> Draft:
        """The single folded object a step leads to (created on first use)."""
        slot = (step.attribute, step.node_id, step.name)
        found = self.shared.get(slot)
        if found is None:
            rm_type = _step_type(self.rm_type, step, key)
            name = step.name or defaults.node_name(step.constraint, None)
            found = self.shared[slot] = Draft(rm_type, step.constraint, name)
            self.add(step.attribute, found, key)
        return found


def _step_type(owner: str, step: Step, key: str) -> str:
    if step.constraint is not None:
        rm_type = step.constraint.rm_type_name
    else:
        f = rm_field_map(RM_TYPES[owner]).get(step.attribute)
        if f is None or not f.is_object:
            raise FormatError(key, f"{owner} has no object attribute '{step.attribute}'")
        rm_type = f.target.rm_type  # type: ignore[attr-defined]
    rm_type = CONCRETE.get(rm_type, rm_type)
    cls = RM_TYPES.get(rm_type)
    if cls is None or cls.rm_abstract:
        raise FormatError(key, f"cannot build an abstract {rm_type}")
    return rm_type


class _Reader:
    """One document's read along the template's compiled :class:`~.flat_plan.ReadPlan`."""

    def __init__(self, plan: ReadPlan, defaults: Defaults) -> None:
        self.defaults = defaults
        self.language = defaults.language
        self.ctx: ReadContext = defaults.rctx
        self.root = plan.root
        self.plans = plan.finish
        self.names = plan.names

    def object_node(self, nplan: NodePlan, fnode: FlatNode, draft: Draft) -> None:
        """Fill ``draft`` (the object of a structural node) from its flat node.

        Children the template knows are built in template order whatever the key order (then in the
        order the document spells them, then by index); the other steps are RM attributes (``_attr``)
        or mistakes, which :class:`Take` reports by key.
        """
        extras: dict[str, dict[int, FlatNode]] | None = None
        if fnode.children:
            known: list[tuple[NodePlan, dict[int, FlatNode]]] = []
            for step, by_index in fnode.children.items():
                child = nplan.child(step)
                if child is None:
                    if extras is None:
                        extras = {}
                    extras[step] = by_index
                else:
                    known.append((child, by_index))
            if len(known) > 1:
                known.sort(key=_template_order)
            for child, by_index in known:
                if len(by_index) == 1:
                    for inst in by_index.values():
                        self.place(child, inst, draft)
                else:
                    for index in sorted(by_index):
                        self.place(child, by_index[index], draft)
        if extras is not None or fnode.attrs or fnode.has_value:
            take = Take(fnode, extras or {})
            self.structural_extras(take, draft)
            self.rm_attributes(take, draft)
            take.finish()

    def structural_extras(self, take: Take, draft: Draft) -> None:
        """``|attr`` primitives of the node's object and an OBSERVATION's ``history_origin``."""
        if take.node.attrs:  # most structural nodes have no ``|attr``: skip the field scan
            fields = rm_field_map(RM_TYPES[draft.rm_type])
            for suffix in list(take.node.attrs):
                f = fields.get(suffix)
                if f is not None and not f.is_object and take.has(suffix):
                    draft.add(suffix, convert(f.target, take.attr(suffix), take.key + "|" + suffix), take.key)
        origin = take.child("history_origin") if "history_origin" in take.node.children else None
        if origin is not None:
            history = draft.values.get("data")
            if draft.rm_type != "OBSERVATION" or not isinstance(history, Draft):
                raise FormatError(origin.key, "'history_origin' needs an OBSERVATION with events")
            history.values["origin"] = read_object(origin, self.ctx, "DV_DATE_TIME")

    def rm_attributes(self, take: Take, draft: Draft) -> None:
        """``_attr`` steps (and plain RM attribute names) not shown by the web template."""
        cls = RM_TYPES[draft.rm_type]
        for step in take.remaining_children():
            attribute = rm_attribute(cls, step)
            if attribute is None:
                continue
            f = rm_field_map(cls)[attribute]
            for inst in take.children(step):
                if not f.is_object:
                    value = convert(f.target, inst.value, inst.key) if inst.has_value else None
                    Take(inst).value()
                    if inst.attrs or inst.children:
                        raise FormatError(inst.key, f"'{attribute}' is a plain value")
                else:
                    value = read_object(inst, self.ctx, f.target.rm_type)  # type: ignore[attr-defined]
                if attribute == "name":
                    draft.values["name"] = value
                else:
                    draft.add(attribute, value, inst.key)

    def place(self, nplan: NodePlan, fnode: FlatNode, parent: Draft) -> None:
        """Build one instance of a node and hang it below ``parent`` along the node's steps."""
        owner = parent
        if nplan.folded:
            found = parent.shared.get(nplan.folded_key)
            if found is None:  # the first of its siblings below this parent: build the folded objects
                for step in nplan.folded:
                    owner = owner.folded(step, fnode.key, self.defaults)
                parent.shared[nplan.folded_key] = owner
            else:
                owner = found
        kind = nplan.kind
        snode = nplan.snode
        if kind == VALUE:
            value = read_object(fnode, self.ctx, snode.rm_type, nplan.constraint)
            if value is not None:
                owner.add(nplan.last_attribute, apply_code_label(value, snode), fnode.key)
        elif kind == ELEMENT:
            owner.add(nplan.last_attribute, self.element(nplan, fnode), fnode.key)
        elif "raw" in fnode.attrs:
            owner.add(nplan.last_attribute, read_object(fnode, self.ctx, snode.rm_type), fnode.key)
        else:
            rm_type = _event_type(fnode) if kind == EVENT else nplan.draft_type
            draft = Draft(rm_type, nplan.constraint, nplan.name(self.language))
            self.object_node(nplan, fnode, draft)
            owner.add(nplan.last_attribute, draft, fnode.key)

    def element(self, nplan: NodePlan, fnode: FlatNode) -> Draft | RMObject:
        """The ELEMENT a value node stands for: built at once unless ``_attr`` steps set more of it."""
        snode = nplan.snode
        name = nplan.name(self.language)
        if not fnode.children:  # the common case: no ELEMENT attributes, so no draft to finish later
            values: dict[str, Any] = {}
            if fnode.has_value or fnode.attrs:
                value = read_object(fnode, self.ctx, snode.rm_type, nplan.constraint)
                if value is not None:
                    values["value"] = apply_code_label(value, snode)
            return self.complete("ELEMENT", nplan.element_constraint, name, values)
        element = Draft("ELEMENT", nplan.element_constraint, name)
        value_node, element_node = _split_element(fnode)
        if not _only_null(value_node):  # an element may hold just a null flavour
            value = read_object(value_node, self.ctx, snode.rm_type, nplan.constraint)
            if value is not None:
                element.values["value"] = apply_code_label(value, snode)
        take = Take(element_node)
        self.rm_attributes(take, element)
        take.finish()
        return element

    # ---------------------------------------------------------------------------------- finishing

    def finish(self, draft: Draft) -> RMObject:
        """The RM object of a draft and of the drafts below it (the draft's values are used up)."""
        if draft.rm_type in STRUCTURE_OWNERS:
            self.mandatory_structures(draft)
        values = draft.values
        for attribute, value in values.items():  # replaced in place: no key is added or removed
            kind = type(value)
            if kind is Draft:
                values[attribute] = self.finish(value)
            elif kind is list:
                values[attribute] = [self.finish(v) if type(v) is Draft else v for v in value]
        return self.complete(draft.rm_type, draft.constraint, draft.name, values)

    def complete(
        self, rm_type: str, constraint: CObject | None, name: str | None, values: dict[str, Any]
    ) -> RMObject:
        """The RM object from its read ``values`` and the defaults its type and constraint call for.

        The defaults see every attribute, ``None`` where the document gives nothing.
        """
        plan = self.plan(rm_type, constraint)
        data = plan.empty.copy()
        given = set()
        for attribute, value in values.items():
            if value is not None:
                data[attribute] = value
                given.add(attribute)
        if plan.locatable:
            if "archetype_node_id" not in given and plan.node_id is not None:
                data["archetype_node_id"] = plan.node_id
                given.add("archetype_node_id")
            if "name" not in given and name is not None:
                data["name"] = self.name_value(constraint, name)
                given.add("name")
            if plan.details and "archetype_details" not in given:
                data["archetype_details"] = self.defaults.archetype_details(constraint, rm_type)
                given.add("archetype_details")
        if plan.type_defaults:
            for attribute, value in self.defaults.for_type(rm_type, constraint, data).items():
                if value is not None and data.get(attribute) is None:
                    data[attribute] = value
                    given.add(attribute)
        return assemble(plan.cls, data, given)

    def name_value(self, constraint: CObject | None, text: str) -> RMObject:
        """The default name (:meth:`Defaults.name_value`), its parts worked out once per template."""
        key = (id(constraint), text, self.language)
        parts = self.names.get(key)
        if parts is None:
            name = self.defaults.name_value(constraint, text)
            phrase = getattr(name, "defining_code", None)
            parts = self.names[key] = (
                name.value,  # type: ignore[attr-defined]
                None if phrase is None else (phrase.terminology_id.value, phrase.code_string),
            )
        if parts[1] is None:  # most names: a DV_TEXT, built directly (one per LOCATABLE read)
            data = _TEXT_EMPTY.copy()
            data["value"] = parts[0]
            return assemble(DvText, data, {"value"})
        return coded_text(parts[0], *parts[1])

    def plan(self, rm_type: str, constraint: CObject | None) -> FinishPlan:
        """What finishing an object of this type and constraint needs, worked out once per template."""
        key = (rm_type, id(constraint))
        found = self.plans.get(key)
        if found is None:
            found = self.plans[key] = finish_plan(
                rm_type,
                self.defaults.archetype_node_id(constraint),
                self.defaults.archetype_details(constraint, rm_type) is not None,
                has_type_defaults(rm_type),
            )
        return found

    def mandatory_structures(self, draft: Draft) -> None:
        """RM-mandatory data structures no document value lies below: rebuilt empty from the template
        (:func:`~.flat_defaults.mandatory_structure`)."""
        for attribute in STRUCTURE_OWNERS[draft.rm_type]:
            if attribute not in draft.values:
                found = mandatory_structure(draft.constraint, attribute)
                if found is not None:
                    rm_type, constraint = found
                    draft.values[attribute] = Draft(
                        rm_type, constraint, self.defaults.node_name(constraint, None)
                    )


def apply_code_label(value: Any, snode: SchemaNode) -> Any:
    """A DV_CODED_TEXT whose code the web template node lists gets that code's term text, as in EHRbase.

    The openEHR_SDK's FLAT reader sets the text of such a code from the web template whatever ``|value``
    says (SDK case ``validIsmTransition`` commits careflow step ``at0012`` with another code's text and
    validates). Rules: local (archetype terms), openehr (rubrics) and external codes the template lists
    with a term; the label in the template's default language whatever the composition language (the web
    template's ``label``, as EHRbase: its corpus has ``de`` compositions of ``en`` templates with English
    texts); the given terminology, if any, must be the list's. A code the node does not list keeps the
    text given (the validator then reports the code).
    """
    if type(value) is not DvCodedText:
        return value
    phrase = value.defining_code
    if phrase is None or phrase.code_string is None:
        return value
    found = snode.code_labels().get(phrase.code_string)
    if found is not None:
        terminology = phrase.terminology_id.value if phrase.terminology_id is not None else None
        if terminology in (None, found[0]):
            value.value = found[1]
    return value


_STRUCTURE_OWNERS: dict[str, tuple[str, ...]] = {
    "OBSERVATION": ("data",),
    "EVALUATION": ("data",),
    "ADMIN_ENTRY": ("data",),
    "GENERIC_ENTRY": ("data",),
    "ACTION": ("description",),
    "ACTIVITY": ("description",),
    "POINT_EVENT": ("data",),
    "INTERVAL_EVENT": ("data",),
}
"""RM-mandatory data structure attributes (RM 1.1.0), rebuilt empty where the document gives nothing."""


def _template_order(known: tuple[NodePlan, dict[int, FlatNode]]) -> int:
    return known[0].order


def _event_type(fnode: FlatNode) -> str:
    """An EVENT node is an INTERVAL_EVENT when the document gives interval attributes."""
    interval = ("width", "math_function", "sample_count")
    given = set(fnode.children) | set(fnode.attrs)
    return "INTERVAL_EVENT" if any(a in given or "_" + a in given for a in interval) else "POINT_EVENT"


def _split_element(fnode: FlatNode) -> tuple[FlatNode, FlatNode]:
    """Split a collapsed element's node: value parts, and ELEMENT attributes (``_null_flavour``...)."""
    element_attrs = {
        "_null_flavour",
        "_null_reason",
        "_feeder_audit",
        "_uid",
        "_link",
        "_name",
        "_archetype_details",
        "null_flavour",
        "null_reason",
    }
    value = FlatNode(fnode.key, fnode.value, fnode.has_value, dict(fnode.attrs))
    element = FlatNode(fnode.key)
    for step, by_index in fnode.children.items():
        (element if step in element_attrs else value).children[step] = by_index
    return value, element


def _only_null(node: FlatNode) -> bool:
    return not node.has_value and not node.attrs and not node.children


def _language(root: FlatNode, ctx_entries: dict[str, Any], opt: OperationalTemplate) -> str:
    for comp in root.children.values():
        for node in comp.values():
            lang = node.children.get("language", {}).get(0)
            if lang is not None and lang.attrs.get("code"):
                return str(lang.attrs["code"])
    value = ctx_entries.get("language")
    return str(value) if value else opt.default_language


def tree_to_composition(ctx_entries: dict[str, Any], root: FlatNode, opt: OperationalTemplate) -> Composition:
    """A parsed key tree (from FLAT or STRUCTURED) and its ``ctx/`` entries to a COMPOSITION."""
    schema = flat_schema(opt)
    ctx = parse_ctx(ctx_entries)
    defaults = Defaults(opt, _language(root, ctx_entries, opt), ctx)
    top = schema.root
    unknown = [k for k in root.children if k != top.id]
    if unknown:
        node = next(iter(root.children[unknown[0]].values()))
        raise FormatError(
            next(node.keys(), node.key),
            f"unknown root '{unknown[0]}': template {opt.template_id!r} has root id '{top.id}'",
        )
    instances = root.instances(top.id)
    if not instances:
        raise FormatError("/", f"no keys under the root id '{top.id}' of template {opt.template_id!r}")
    if len(instances) > 1:
        raise FormatError(instances[1].key, "a FLAT document holds one composition")
    reader = _Reader(read_plan(schema), defaults)
    draft = Draft("COMPOSITION", opt.definition, top.localized_name(defaults.language))
    reader.object_node(reader.root, instances[0], draft)
    _context_start(draft, defaults)
    composition = reader.finish(draft)
    assert isinstance(composition, Composition)
    return composition


def _context_start(draft: Draft, defaults: Defaults) -> None:
    """Event and action times default to the context start time: find it before finishing."""
    context = draft.values.get("context")
    if isinstance(context, Draft):
        start = context.values.get("start_time")
        if start is not None:
            defaults.start_time = start.value
        elif defaults.ctx.text("time") is None:
            defaults.start_time = None
    elif context is None and _has_context(defaults.opt) and not _persistent(draft):
        context = Draft("EVENT_CONTEXT", None)
        draft.values["context"] = context
    if defaults.start_time is None:
        defaults.start_time = defaults.ctx.text("time")
    if defaults.start_time is None:  # EHRbase: the commit time
        defaults.start_time = datetime.now(UTC).isoformat(timespec="milliseconds")
        if isinstance(context, Draft):
            context.values.setdefault(
                "start_time", construct(RM_TYPES["DV_DATE_TIME"], {"value": defaults.start_time})
            )


def _has_context(opt: OperationalTemplate) -> bool:
    return opt.definition.attribute("context") is not None


def _persistent(draft: Draft) -> bool:
    category = draft.values.get("category")
    phrase = getattr(category, "defining_code", None)
    return phrase is not None and phrase.code_string == "431"


def flat_to_composition(flat: dict[str, Any], opt: OperationalTemplate) -> Composition:
    """A FLAT (simSDT) document to a canonical COMPOSITION of template ``opt``.

    Raises :class:`FormatError` naming the key for anything that does not fit the template, and for legacy
    path-value (ECISFLAT) documents.
    """
    ctx_entries, root = parse_flat(flat)
    return tree_to_composition(ctx_entries, root, opt)
