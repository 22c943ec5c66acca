"""The EHRbase-compatible web template (format 2.3) of an operational template.

A web template is the OPT reduced to what a form or a FLAT client needs: one node per archetyped object,
with a FLAT-path-safe ``id``, names and descriptions per language, occurrences, the AQL path, and for data
values the ``inputs``. Following EHRbase (the reference for this JSON), the builder

* folds structural containers (ITEM_TREE, ITEM_LIST, ITEM_SINGLE, ITEM_TABLE, HISTORY, and an EVENT that
  occurs at most once and is the only event allowed) into their parent, so their content hangs from the
  entry;
* replaces an ELEMENT with its value when it has one value type and no constrained null_flavour (the node
  keeps the element's name and occurrences, the path ends in ``/value``); otherwise the ELEMENT keeps one
  ``<type>_value`` child per type (every data value type when the value is open) and one for the
  null_flavour;
* merges a DV_CODED_TEXT | DV_TEXT choice into one open DV_CODED_TEXT with an ``other`` input;
* gives an object the template allows several coded names one node per name;
* takes ``defaultValue`` of inputs from the template's default values (:mod:`.web_template_defaults`);
* adds the RM attributes clients fill from context (see :mod:`cdr.template.web_template_rm`);
* skips archetype slots that the template leaves unfilled;
* makes ids unique among siblings by appending 2, 3, ...

Name predicates appear in ``aqlPath`` only where the template constrains the node's name to a value.
EHRbase writes no ``dependsOn`` or ``termBindings`` (older Archetype Designer exports do), so neither do we.
"""

from __future__ import annotations

import json
import re
from typing import Any

import cdr.rm  # noqa: F401  (fills the RM type registry used by is_rm_subtype)
from cdr.rm.base import is_rm_subtype
from cdr.template.aom import (
    ArchetypeInternalRef,
    CArchetypeRoot,
    CAttribute,
    CComplexObject,
    CMultipleAttribute,
    CObject,
    OperationalTemplate,
)
from cdr.template.paths import parse_path
from cdr.template.web_template_defaults import apply_default
from cdr.template.web_template_inputs import Json, TermContext, coded_text_inputs, inputs_for
from cdr.template.web_template_names import NameChoice, name_choices, web_template_id
from cdr.template.web_template_node import WebTemplateNode
from cdr.template.web_template_rm import (
    CONTEXT_ATTRIBUTES,
    RmNodeSpec,
    missing_attributes,
    rm_attribute_spec,
)
from cdr.terminology import bindings_for_attribute

WEB_TEMPLATE_VERSION = "2.3"

FOLDED_TYPES = frozenset({"ITEM_TREE", "ITEM_LIST", "ITEM_SINGLE", "ITEM_TABLE", "ITEM_STRUCTURE", "HISTORY"})
"""Containers whose content EHRbase lifts into the parent node."""

ANY_VALUE_TYPES = (
    "DV_TEXT",
    "DV_CODED_TEXT",
    "DV_MULTIMEDIA",
    "DV_PARSABLE",
    "DV_STATE",
    "DV_BOOLEAN",
    "DV_IDENTIFIER",
    "DV_URI",
    "DV_EHR_URI",
    "DV_DURATION",
    "DV_QUANTITY",
    "DV_COUNT",
    "DV_PROPORTION",
    "DV_DATE_TIME",
    "DV_TIME",
    "DV_ORDINAL",
    "DV_DATE",
)
"""The value types listed for an ELEMENT whose value is unconstrained, in EHRbase's order."""

_SKIPPED_ATTRIBUTES = frozenset({"name", "null_flavour", "archetype_details", "uid", "feeder_audit", "links"})


def build_web_template(opt: OperationalTemplate) -> dict[str, Any]:
    """The web template of ``opt`` as JSON-ready dicts, keys in EHRbase's order."""
    builder = _Builder(opt)
    tree = builder.root()
    _assign_ids(tree)
    return {
        "templateId": opt.template_id,
        "version": WEB_TEMPLATE_VERSION,
        "defaultLanguage": opt.default_language,
        "languages": list(builder.ctx.languages),
        "tree": tree.to_json(),
    }


def web_template_json(opt: OperationalTemplate) -> str:
    """The web template of ``opt`` as JSON text (UTF-8 characters kept, two-space indent)."""
    return json.dumps(build_web_template(opt), ensure_ascii=False, indent=2)


# ------------------------------------------------------------------------------------------------ ids


def _assign_ids(node: WebTemplateNode) -> None:
    """Give every node its id, suffixing 2, 3, ... where siblings would share one."""
    if not node.id:
        node.id = node.id_base or web_template_id(node.name or node.rm_type)
    seen: dict[str, int] = {}
    for child in node.children:
        base = child.id_base or web_template_id(child.name or child.rm_type)
        count = seen.get(base, 0) + 1
        seen[base] = count
        child.id = base if count == 1 else f"{base}{count}"
    for child in node.children:
        _assign_ids(child)


# -------------------------------------------------------------------------------------------- builder


def _occurrences(obj: CObject, default_min: int = 0) -> tuple[int, int]:
    occ = obj.occurrences
    if occ is None:
        return default_min, 1
    lo = occ.lower if occ.lower is not None else 0
    hi = occ.upper if occ.upper is not None else -1
    return lo, hi


def _plain_key(path: str) -> str:
    """A template path reduced to node ids (no name predicates), for matching OPT annotations."""
    root, segments = parse_path(path)
    body = "".join(f"/{s.attribute}[{s.node_id}]" if s.node_id else f"/{s.attribute}" for s in segments)
    return f"[{root}]{body}"


class _Builder:
    """One pass over the constraint tree; ``ctx`` holds what label lookups need."""

    def __init__(self, opt: OperationalTemplate) -> None:
        self.opt = opt
        languages = [opt.default_language]
        for lang in opt.definition.term_definitions:
            if lang not in languages:
                languages.append(lang)
        described = list(opt.description.details) if opt.description is not None else []
        self.ctx = TermContext(
            tuple(languages),
            opt.default_language,
            tuple(opt.archetype_roots()),
            tuple(described or [opt.default_language]),
        )
        # keyed as EHRbase keys them: the path without its leading root archetype id
        self.annotations = {re.sub(r"^[^/]+", "", path): items for path, items in opt.annotations.items()}
        self.defaults = {
            _plain_key(t.differential_path): c.default_value
            for t in opt.constraints
            if t.rm_attribute_name == "value"
            for c in t.children
            if c.default_value
        }
        self.root_id = opt.definition.archetype_id

    # -- tree

    def root(self) -> WebTemplateNode:
        definition = self.opt.definition
        choices = name_choices(definition, self.ctx)
        node = self._named_node(definition, "", choices[0] if choices else None)
        node.min, node.max = _occurrences(definition, 1)
        node.children = self._children(definition, "", "", node)
        return node

    def _named_node(self, obj: CComplexObject, aql_path: str, fixed: NameChoice | None) -> WebTemplateNode:
        """A node for an archetyped object: names and descriptions from its terms, or the fixed name.

        A coded fixed name is named per language by its code's terms, a string one by the string.
        """
        lo, hi = _occurrences(obj)
        node_id = obj.archetype_id if isinstance(obj, CArchetypeRoot) else obj.node_id
        names: dict[str, str] = {}
        descriptions: dict[str, str] = {}
        for lang in self.ctx.languages:
            term = self.ctx.term(obj, obj.node_id, lang) if obj.node_id else None
            if term is not None:
                descriptions[lang] = term.description or ""
            if fixed is not None:
                names[lang] = fixed.localized.get(lang, fixed.name) if fixed.localized else fixed.name
            elif term is not None:
                names[lang] = term.text or ""
        name = fixed.name if fixed is not None else names.get(self.ctx.default_language)
        node = WebTemplateNode(
            obj.rm_type_name,
            aql_path,
            lo,
            hi,
            name=name,
            localized_name=name,
            node_id=node_id,
            localized_names=names,
            localized_descriptions=descriptions,
        )
        node.annotations = self._annotations(obj, aql_path, fixed)
        return node

    def _annotations(self, obj: CObject, aql_path: str, fixed: NameChoice | None) -> dict[str, str]:
        """EHRbase's: the items of the node's term other than its text and description (``comment``,
        ``hl7v2_mapping``, ...), then the OPT's annotations for the node's path as EHRbase walks to it: with
        the names the template fixes on its ancestors, without its own. So an OPT annotation below a named
        ancestor is not shown (GECCO_Serologischer_Befund_wt.json: ``26436-6`` under 'Befund')."""
        term = self.ctx.term(obj, obj.node_id, self.ctx.default_language) if obj.node_id else None
        out = {k: v for k, v in term.items.items() if k not in ("text", "description")} if term else {}
        own = f" and name/value='{fixed.name}']" if fixed is not None else ""
        path = aql_path[: -len(own)] + "]" if own and aql_path.endswith(own) else aql_path
        out.update(self.annotations.get(path, {}))
        return out

    def _children(
        self, obj: CComplexObject, aql_path: str, plain: str, node: WebTemplateNode | None = None
    ) -> list[WebTemplateNode]:
        """Nodes for the constrained attributes of ``obj`` (folded containers flattened), then RM ones.

        Cardinality constraints of container attributes are recorded on ``node`` (the node of ``obj``).
        """
        out: list[WebTemplateNode] = []
        constrained: list[str] = []
        for attr in obj.attributes:
            name = attr.rm_attribute_name
            if name in _SKIPPED_ATTRIBUTES:
                continue
            if obj.rm_type_name == "ACTION" and name == "ism_transition":
                continue  # rebuilt as an RM node from all alternatives
            if any(isinstance(c, CComplexObject | ArchetypeInternalRef) for c in attr.children):
                constrained.append(name)
            nodes = self._attribute(obj, attr, aql_path, plain)
            out.extend(nodes)
            if node is not None and isinstance(attr, CMultipleAttribute) and attr.cardinality is not None:
                interval = attr.cardinality.interval
                lo = interval.lower or 0
                hi = interval.upper if interval.upper is not None else -1
                if (lo > 1 or hi != -1) and nodes:
                    node.cardinalities.append((lo, hi, nodes))
        for rm_attr in missing_attributes(obj.rm_type_name, constrained):
            spec = rm_attribute_spec(rm_attr, self.ctx, obj if obj.rm_type_name == "ACTION" else None)
            out.append(_rm_node(spec, aql_path))
        return out

    def _attribute(
        self, parent: CComplexObject, attr: CAttribute, aql_path: str, plain: str
    ) -> list[WebTemplateNode]:
        name = attr.rm_attribute_name
        attr_aql = f"{aql_path}/{name}"
        attr_plain = f"{plain}/{name}"
        alone = len(attr.children) == 1
        nodes: list[WebTemplateNode] = []
        for child in attr.children:
            if isinstance(child, ArchetypeInternalRef):
                target = child.target
                if isinstance(target, CComplexObject):
                    nodes.extend(self._object(target, attr_aql, attr_plain, parent, name, alone, child))
            elif isinstance(child, CComplexObject):
                nodes.extend(self._object(child, attr_aql, attr_plain, parent, name, alone))
        return nodes

    def _object(
        self,
        obj: CComplexObject,
        attr_aql: str,
        attr_plain: str,
        parent: CComplexObject,
        attribute: str,
        alone: bool,
        occurrences_from: CObject | None = None,
    ) -> list[WebTemplateNode]:
        """The node(s) an object contributes to its parent's children: several when it is folded, or when
        the template allows it several names (one node per name)."""
        segment = obj.archetype_id if isinstance(obj, CArchetypeRoot) else _node_id(obj)
        choices: list[NameChoice | None] = list(name_choices(obj, self.ctx)) if segment else []
        out: list[WebTemplateNode] = []
        for fixed in choices or [None]:
            predicate = f"{segment} and name/value='{fixed.name}'" if fixed is not None else segment
            aql = f"{attr_aql}[{predicate}]" if predicate else attr_aql
            plain = f"{attr_plain}[{segment}]" if segment else attr_plain
            out.extend(self._object_as(obj, aql, plain, fixed, parent, attribute, alone, occurrences_from))
        return out

    def _object_as(
        self,
        obj: CComplexObject,
        aql: str,
        plain: str,
        fixed: NameChoice | None,
        parent: CComplexObject,
        attribute: str,
        alone: bool,
        occurrences_from: CObject | None,
    ) -> list[WebTemplateNode]:
        rm = obj.rm_type_name
        if rm == "ELEMENT":
            element = self._element(obj, aql, plain, fixed)
            if occurrences_from is not None:
                element.min, element.max = _occurrences(occurrences_from)
            return [element]
        if aql.endswith("]"):
            node = self._named_node(obj, aql, fixed)
        else:
            node = WebTemplateNode(rm, aql, *_occurrences(obj), name=attribute, localized_name=attribute)
        if occurrences_from is not None:
            node.min, node.max = _occurrences(occurrences_from)
        if (parent.rm_type_name, attribute) in CONTEXT_ATTRIBUTES:
            node.in_context = True
        if rm.startswith("DV_") or rm in ("CODE_PHRASE", "PARTY_PROXY"):
            self._fill_value(node, obj, _group(attribute))
        else:
            node.children = self._children(obj, aql, plain, node)
        # EHRbase lifts a single-occurrence event into the entry only where it is the only event allowed
        if rm in FOLDED_TYPES or (rm in ("EVENT", "POINT_EVENT") and node.max == 1 and alone):
            return node.children
        return [node]

    # -- elements and values

    def _element(
        self, element: CComplexObject, aql: str, plain: str, fixed: NameChoice | None
    ) -> WebTemplateNode:
        """An ELEMENT: its value node in its place when it has one value type and no constrained
        null_flavour, else the ELEMENT with one child per value type (and one for the null flavour)."""
        base = self._named_node(element, aql, fixed)
        default = self.defaults.get(f"[{self.root_id}]{plain}")
        attr = element.attribute("value")
        values = [c for c in attr.children if isinstance(c, CObject)] if attr is not None else []
        types = [v.rm_type_name for v in values]
        value_path = f"{aql}/value"
        null_flavour = self._null_flavour(element, base, aql)
        if not values:
            base.children = [self._any_value(base, rm, value_path) for rm in ANY_VALUE_TYPES]
        elif sorted(types) == ["DV_CODED_TEXT", "DV_TEXT"]:
            coded = values[types.index("DV_CODED_TEXT")]
            leaf = self._leaf_from(base, "DV_CODED_TEXT", value_path)
            leaf.inputs = coded_text_inputs(coded, self.ctx, open_list=True)
            if null_flavour is None:
                # EHRbase builds the merged node from the value, which has no node id, and does not carry
                # the ELEMENT's over as it does for one value type (Corona_Anamnese_wt.json, at0073)
                leaf.node_id = None
                return leaf
            leaf.id_base = _value_id(leaf.rm_type)
            base.children = [leaf]
        elif len(values) == 1 and null_flavour is None:
            leaf = self._leaf_from(base, values[0].rm_type_name, value_path)
            self._fill_value(leaf, values[0], default=default)
            return leaf
        else:
            for value in values:
                child = self._leaf_from(base, value.rm_type_name, value_path)
                child.min, child.max = _occurrences(value)
                child.id_base = _value_id(value.rm_type_name)
                self._fill_value(child, value, default=default)
                base.children.append(child)
        if null_flavour is not None:
            base.children.append(null_flavour)
        return base

    def _null_flavour(
        self, element: CComplexObject, base: WebTemplateNode, aql: str
    ) -> WebTemplateNode | None:
        """The node of a null_flavour the template constrains: named like the element and identified by
        its type, as a value choice is."""
        attr = element.attribute("null_flavour")
        value = next((c for c in attr.children if isinstance(c, CComplexObject)), None) if attr else None
        if value is None:
            return None
        node = self._leaf_from(base, value.rm_type_name, f"{aql}/null_flavour")
        node.min, node.max = _occurrences(value)
        node.id_base = _value_id(value.rm_type_name)
        self._fill_value(node, value, _group("null_flavour"))
        return node

    @staticmethod
    def _leaf_from(element: WebTemplateNode, rm_type: str, aql: str) -> WebTemplateNode:
        return WebTemplateNode(
            rm_type,
            aql,
            element.min,
            element.max,
            name=element.name,
            localized_name=element.localized_name,
            node_id=element.node_id,
            localized_names=dict(element.localized_names),
            localized_descriptions=dict(element.localized_descriptions),
            annotations=dict(element.annotations),
        )

    def _any_value(self, element: WebTemplateNode, rm_type: str, aql: str) -> WebTemplateNode:
        leaf = self._leaf_from(element, rm_type, aql)
        leaf.node_id = None
        leaf.min, leaf.max = 0, 1
        leaf.annotations = {}
        leaf.id_base = _value_id(rm_type)
        leaf.in_context = True
        leaf.inputs, types = inputs_for(rm_type, None, self.ctx, open_any=True)
        leaf.proportion_types = types or []
        return leaf

    def _fill_value(
        self, node: WebTemplateNode, value: CObject, group: str | None = None, default: Json | None = None
    ) -> None:
        """Inputs of a data value node; DV_INTERVAL gets ``lower``/``upper`` children instead.

        ``group`` is the openEHR terminology group of the RM attribute holding the value, ``default`` the
        template's default value of the element.
        """
        rm = value.rm_type_name
        if rm.startswith("DV_INTERVAL"):
            node.rm_type = rm if "<" in rm else _interval_type(value)
            node.children = [self._interval_bound(value, b, node.aql_path) for b in ("upper", "lower")]
            return
        inputs, types = inputs_for(rm, value, self.ctx, group=group)
        node.inputs = apply_default(rm, inputs, default)
        node.proportion_types = types or []

    def _interval_bound(self, interval: CObject, bound: str, aql: str) -> WebTemplateNode:
        target = None
        if isinstance(interval, CComplexObject) and (attr := interval.attribute(bound)) is not None:
            target = attr.children[0] if attr.children else None
        rm = target.rm_type_name if target is not None else _interval_member(interval.rm_type_name)
        node = WebTemplateNode(rm, f"{aql}/{bound}", 1, 1, name=bound, localized_name=bound)
        node.inputs, types = inputs_for(rm, target, self.ctx)
        node.proportion_types = types or []
        return node


def _group(attribute: str) -> str | None:
    """The openEHR terminology group coding an RM attribute (``math_function`` -> event_math_function)."""
    groups = [b.target for b in bindings_for_attribute(attribute) if b.kind == "group"]
    return groups[0] if len(groups) == 1 else None


def _node_id(obj: CObject) -> str:
    """The at-code of a LOCATABLE constraint; codes on other RM types (``category[at9999]``) are ignored,
    as EHRbase does, because no data instance can carry them."""
    return obj.node_id if obj.node_id and is_rm_subtype(obj.rm_type_name, "LOCATABLE") else ""


def _interval_type(value: CObject) -> str:
    if isinstance(value, CComplexObject):
        for bound in ("lower", "upper"):
            attr = value.attribute(bound)
            if attr is not None and attr.children:
                return f"DV_INTERVAL<{attr.children[0].rm_type_name}>"
    return value.rm_type_name


def _interval_member(rm_type: str) -> str:
    return rm_type[rm_type.index("<") + 1 : -1] if "<" in rm_type else "DV_QUANTITY"


def _value_id(rm_type: str) -> str:
    """``DV_CODED_TEXT`` -> ``coded_text_value``: the id of one value type of a choice element."""
    return rm_type.lower().removeprefix("dv_") + "_value"


def _rm_node(spec: RmNodeSpec, parent_aql: str) -> WebTemplateNode:
    aql = f"{parent_aql}/{spec.aql_suffix}"
    node = WebTemplateNode(
        spec.rm_type,
        aql,
        spec.min,
        1,
        name=spec.display_name or spec.name,
        in_context=spec.in_context,
        inputs=spec.inputs,
    )
    node.id_base = spec.name
    node.children = [_rm_node(c, aql) for c in spec.children]
    return node
