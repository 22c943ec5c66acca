"""Builders for the leaves and side sections of an OPT: primitives, openEHR profile types, slot assertions,
description, ontologies, annotations, view and template constraints.

Split from :mod:`cdr.template.opt_parser`, which walks the constraint tree and calls into here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lxml import etree

from cdr.template import aom
from cdr.template.opt_schema import EXPR_TYPES, OPERATOR_MATCHES, OPERATOR_OR
from cdr.template.opt_xml import xsi_type

if TYPE_CHECKING:
    from cdr.template.opt_parser import _Context
    from cdr.template.opt_xml import Groups

_Element = etree._Element


# ------------------------------------------------------------------------------------ primitives


def primitive(ctx: _Context, el: _Element, kind: str) -> aom.CPrimitive:
    """A C_PRIMITIVE of the given xsi:type (already known to be one)."""
    g = ctx.groups(el, kind)
    if kind == "C_STRING":
        return aom.CString(
            assumed_value=ctx.text(g, "assumed_value"),
            pattern=ctx.text(g, "pattern"),
            list=[ctx.leaf(e) for e in g.get("list", ())],
            list_open=ctx.boolean(g, "list_open", False),
        )
    if kind in ("C_INTEGER", "C_REAL"):
        conv: Callable[[str], Any] = int if kind == "C_INTEGER" else float
        values = [ctx.number(e, conv) for e in g.get("list", ())]
        rng = ctx.interval(g["range"][0], conv) if "range" in g else None
        assumed = ctx.number(g["assumed_value"][0], conv) if "assumed_value" in g else None
        cls = aom.CInteger if kind == "C_INTEGER" else aom.CReal
        return cls(assumed_value=assumed, list=[v for v in values if v is not None], range=rng)
    if kind == "C_BOOLEAN":
        assumed_b = ctx.boolean(g, "assumed_value", False) if "assumed_value" in g else None
        return aom.CBoolean(
            assumed_value=assumed_b,
            true_valid=ctx.boolean(g, "true_valid", True),
            false_valid=ctx.boolean(g, "false_valid", True),
        )
    if kind == "C_DURATION":
        return aom.CDuration(
            assumed_value=ctx.text(g, "assumed_value"),
            pattern=ctx.text(g, "pattern"),
            range=ctx.interval(g["range"][0], str.strip) if "range" in g else None,
        )
    temporal = {"C_DATE": aom.CDate, "C_TIME": aom.CTime, "C_DATE_TIME": aom.CDateTime}[kind]
    tz = ctx.number(g["timezone_validity"][0], int) if "timezone_validity" in g else None
    return temporal(
        assumed_value=ctx.text(g, "assumed_value"),
        pattern=ctx.text(g, "pattern"),
        timezone_validity=tz,
        range=ctx.interval(g["range"][0], str.strip) if "range" in g else None,
    )


# ---------------------------------------------------------------------------- openEHR profile


DOMAIN_TYPES: dict[str, Callable[..., aom.CObject]] = {
    "C_CODE_PHRASE": aom.CCodePhrase,
    "C_CODE_REFERENCE": aom.CCodeReference,
    "C_DV_ORDINAL": aom.CDvOrdinal,
    "C_DV_SCALE": aom.CDvScale,
    "C_DV_QUANTITY": aom.CDvQuantity,
    "C_DV_STATE": aom.CDvState,
}


def fill_domain(ctx: _Context, node: aom.CObject, g: Groups) -> None:
    """Set the type-specific fields of a C_DOMAIN_TYPE node from its grouped children."""
    if isinstance(node, aom.CCodePhrase):
        node.terminology_id = ctx.object_id(g, "terminology_id", optional=True)
        node.code_list = [ctx.leaf(e).strip() for e in g.get("code_list", ())]
        if "assumed_value" in g:
            node.assumed_value = ctx.code_phrase(g["assumed_value"][0])
        if isinstance(node, aom.CCodeReference):
            node.reference_set_uri = ctx.text(g, "referenceSetUri") or ""
    elif isinstance(node, aom.CDvOrdinal):
        conv: Callable[[str], float] = float if isinstance(node, aom.CDvScale) else int
        node.list = [item for e in g.get("list", ()) if (item := _ordinal(ctx, e, conv)) is not None]
        if "assumed_value" in g:
            node.assumed_value = _ordinal(ctx, g["assumed_value"][0], conv)
    elif isinstance(node, aom.CDvQuantity):
        if "property" in g:
            node.property = ctx.code_phrase(g["property"][0])
        node.list = [_quantity_item(ctx, e) for e in g.get("list", ())]
        if "assumed_value" in g:
            v = default_value(g["assumed_value"][0])
            if isinstance(v, dict):
                node.assumed_value = aom.QuantityValue(
                    _maybe(float, v.get("magnitude")), v.get("units"), _maybe(int, v.get("precision"))
                )
    elif isinstance(node, aom.CDvState):
        sm = ctx.groups(g["value"][0], "STATE_MACHINE") if "value" in g else {}
        node.states = [_state(ctx, e) for e in sm.get("states", ())]
        if "assumed_value" in g:
            v = default_value(g["assumed_value"][0])
            node.assumed_value = v.get("value") if isinstance(v, dict) else v


def _maybe(conv: Callable[[str], Any], value: Any) -> Any:
    """``value`` converted, or None when it is no (finite) number: an assumed value is optional."""
    try:
        number = conv(value) if isinstance(value, str) and "_" not in value else None
    except ValueError:
        return None
    return None if isinstance(number, float) and not math.isfinite(number) else number


def _ordinal(ctx: _Context, el: _Element, conv: Callable[[str], float]) -> aom.OrdinalItem | None:
    g = ctx.groups(el, "DV_ORDINAL")
    value = ctx.number(g["value"][0], conv) if "value" in g else None
    if value is None or "symbol" not in g:
        return None
    sg = ctx.groups(g["symbol"][0], "DV_CODED_TEXT")
    if "defining_code" not in sg:
        return None
    return aom.OrdinalItem(value, ctx.code_phrase(sg["defining_code"][0]), ctx.text(sg, "value") or None)


def _quantity_item(ctx: _Context, el: _Element) -> aom.CQuantityItem:
    g = ctx.groups(el, "C_QUANTITY_ITEM")
    return aom.CQuantityItem(
        units=ctx.text(g, "units") or "",
        magnitude=ctx.interval(g["magnitude"][0], float) if "magnitude" in g else None,
        precision=ctx.interval(g["precision"][0], int) if "precision" in g else None,
        units_system=ctx.text(g, "units_system"),
        units_display_name=ctx.text(g, "units_display_name"),
    )


def _state(ctx: _Context, el: _Element) -> aom.State:
    kind = xsi_type(el) or "TERMINAL_STATE"
    if kind not in ("TERMINAL_STATE", "NON_TERMINAL_STATE"):
        ctx.error(el, f"unknown state type xsi:type={kind!r}")
        kind = "TERMINAL_STATE"
    g = ctx.groups(el, kind)
    transitions = []
    for t in g.get("transitions", ()):
        tg = ctx.groups(t, "TRANSITION")
        nxt = None
        if "next_state" in tg:
            nxt = ctx.text(ctx.groups(tg["next_state"][0], "TERMINAL_STATE"), "name")
        transitions.append(
            aom.Transition(ctx.text(tg, "event") or "", ctx.text(tg, "action"), ctx.text(tg, "guard"), nxt)
        )
    return aom.State(ctx.text(g, "name") or "", transitions, kind == "TERMINAL_STATE")


# ---------------------------------------------------------------------------------- assertions

_SLASHED = re.compile(r"\{\s*/(.*)/\s*\}", re.DOTALL)


def assertion(ctx: _Context, el: _Element) -> aom.Assertion:
    """A slot include/exclude, reduced to archetype-id patterns (from the expression tree, else the text)."""
    g = ctx.groups(el, "ASSERTION")
    text = ctx.text(g, "string_expression") or ""
    patterns: list[str] = []
    if "expression" in g:
        _collect_patterns(ctx, g["expression"][0], patterns)
    if not patterns and (m := _SLASHED.search(text)):
        patterns.append(m.group(1))
    kept = []
    for p in patterns:
        try:
            re.compile(p)
            kept.append(p)
        except re.error as exc:
            ctx.warnings.append(f"slot pattern {p!r} is not a valid regular expression ({exc}); ignored")
    return aom.Assertion(string_expression=text, patterns=kept, tag=ctx.text(g, "tag"))


def _collect_patterns(ctx: _Context, el: _Element, out: list[str]) -> None:
    kind = xsi_type(el)
    if kind not in EXPR_TYPES:
        ctx.error(el, f"unknown expression type xsi:type={kind!r}")
        return
    g = ctx.groups(el, kind or "")
    if kind != "EXPR_BINARY_OPERATOR":
        return
    op = ctx.number(g["operator"][0], int) if "operator" in g else None
    if op == OPERATOR_OR:
        for side in ("left_operand", "right_operand"):
            if side in g:
                _collect_patterns(ctx, g[side][0], out)
    elif op == OPERATOR_MATCHES and "right_operand" in g:
        right = g["right_operand"][0]
        if xsi_type(right) != "EXPR_LEAF":
            return
        rg = ctx.groups(right, "EXPR_LEAF")
        if "left_operand" in g and xsi_type(g["left_operand"][0]) == "EXPR_LEAF":
            ctx.groups(g["left_operand"][0], "EXPR_LEAF")
        if "item" in rg:
            item = rg["item"][0]
            if xsi_type(item) == "C_STRING":
                pattern = ctx.text(ctx.groups(item, "C_STRING"), "pattern")
                if pattern is not None:
                    out.append(pattern)


# ------------------------------------------------------------------------------------ sections


def fill_sections(ctx: _Context, g: Groups, tpl: aom.OperationalTemplate) -> None:
    """Description, ontologies, annotations, view and constraints; merges ontology terms into roots."""
    if "description" in g:
        tpl.description = _description(ctx, g["description"][0])
    if "ontology" in g:
        tpl.ontology = ontology(ctx, g["ontology"][0])
    tpl.component_ontologies = [ontology(ctx, e) for e in g.get("component_ontologies", ())]
    for e in g.get("annotations", ()):
        path = e.get("path")
        if path is None:
            ctx.error(e, "annotation without a path attribute")
            continue
        tpl.annotations.setdefault(path, {}).update(
            ctx.dictionary(ctx.groups(e, "ANNOTATION").get("items", []))
        )
    if "view" in g:
        for c in ctx.groups(g["view"][0], "T_VIEW").get("constraints", ()):
            items = {}
            for item in ctx.groups(c, "T_VIEW_CONSTRAINT").get("items", ()):
                items[item.get("id") or ""] = ctx.text(ctx.groups(item, "T_VIEW_ITEM"), "value") or ""
            tpl.view.setdefault(c.get("path") or "", {}).update(items)
    if "constraints" in g:
        for a in ctx.groups(g["constraints"][0], "T_CONSTRAINT").get("attributes", ()):
            tpl.constraints.append(_t_attribute(ctx, a))
    _merge_ontologies(tpl)


def _description(ctx: _Context, el: _Element) -> aom.ResourceDescription:
    g = ctx.groups(el, "RESOURCE_DESCRIPTION")
    desc = aom.ResourceDescription(
        original_author=ctx.dictionary(g.get("original_author", [])),
        other_contributors=ctx.texts(g, "other_contributors"),
        lifecycle_state=ctx.text(g, "lifecycle_state") or "",
        resource_package_uri=ctx.text(g, "resource_package_uri"),
        other_details=ctx.dictionary(g.get("other_details", [])),
    )
    for d in g.get("details", ()):
        dg = ctx.groups(d, "RESOURCE_DESCRIPTION_ITEM")
        lang = ctx.code_phrase(dg["language"][0]).code_string if "language" in dg else ""
        desc.details[lang] = aom.ResourceDescriptionItem(
            language=lang,
            purpose=ctx.text(dg, "purpose") or "",
            keywords=ctx.texts(dg, "keywords"),
            use=ctx.text(dg, "use"),
            misuse=ctx.text(dg, "misuse"),
            copyright=ctx.text(dg, "copyright"),
            original_resource_uri=ctx.dictionary(dg.get("original_resource_uri", [])),
            other_details=ctx.dictionary(dg.get("other_details", [])),
        )
    return desc


def terms(ctx: _Context, els: list[_Element]) -> dict[str, aom.ArchetypeTerm]:
    """ARCHETYPE_TERM elements (``<x code="at0001"><items id="text">...``) by code."""
    out: dict[str, aom.ArchetypeTerm] = {}
    for e in els:
        code = e.get("code")
        items = ctx.groups(e, "ARCHETYPE_TERM").get("items", [])
        if code is None:
            ctx.error(e, "term without a code attribute")
            continue
        out[code] = aom.ArchetypeTerm(code, ctx.dictionary(items))
    return out


def term_bindings(ctx: _Context, els: list[_Element]) -> aom.TermBindings:
    out: aom.TermBindings = {}
    for e in els:
        terminology = e.get("terminology") or ""
        table = out.setdefault(terminology, {})
        for item in ctx.groups(e, "TermBindingSet").get("items", ()):
            ig = ctx.groups(item, "TERM_BINDING_ITEM")
            code = item.get("code")
            if code is None:
                ctx.error(item, "term binding without a code attribute")
            elif "value" in ig:
                table[code] = ctx.code_phrase(ig["value"][0])
    return out


def ontology(ctx: _Context, el: _Element) -> aom.ArchetypeOntology:
    g = ctx.groups(el, "FLAT_ARCHETYPE_ONTOLOGY")
    onto = aom.ArchetypeOntology(el.get("archetype_id") or "")
    for key, target in (
        ("term_definitions", onto.term_definitions),
        ("constraint_definitions", onto.constraint_definitions),
    ):
        for s in g.get(key, ()):
            lang = s.get("language") or ctx.language
            target.setdefault(lang, {}).update(
                terms(ctx, ctx.groups(s, "CodeDefinitionSet").get("items", []))
            )
    onto.term_bindings = term_bindings(ctx, g.get("term_bindings", []))
    for s in g.get("constraint_bindings", ()):
        table = onto.constraint_bindings.setdefault(s.get("terminology") or "", {})
        for item in ctx.groups(s, "ConstraintBindingSet").get("items", ()):
            table[item.get("code") or ""] = (
                ctx.text(ctx.groups(item, "CONSTRAINT_BINDING_ITEM"), "value") or ""
            )
    return onto


def _merge_ontologies(tpl: aom.OperationalTemplate) -> None:
    """Give each archetype root the other languages, ac-codes and bindings of its archetype's ontology;
    the root's own (template-language, possibly renamed) terms win."""
    by_id: dict[str, list[aom.ArchetypeOntology]] = {}
    for onto in ([tpl.ontology] if tpl.ontology else []) + tpl.component_ontologies:
        by_id.setdefault(onto.archetype_id, []).append(onto)
    if not by_id:
        return
    for root in tpl.archetype_roots():
        for onto in by_id.get(root.archetype_id, ()):
            for lang, table in onto.term_definitions.items():
                mine = root.term_definitions.setdefault(lang, {})
                for code, term in table.items():
                    mine.setdefault(code, term)
            for lang, table in onto.constraint_definitions.items():
                root.constraint_definitions.setdefault(lang, {}).update(table)
            for tid, bound in onto.term_bindings.items():
                root.term_bindings.setdefault(tid, {}).update(bound)
            for tid, uris in onto.constraint_bindings.items():
                root.constraint_bindings.setdefault(tid, {}).update(uris)


def _t_attribute(ctx: _Context, el: _Element) -> aom.TAttribute:
    g = ctx.groups(el, "T_ATTRIBUTE")
    attr = aom.TAttribute(ctx.text(g, "rm_attribute_name") or "", ctx.text(g, "differential_path") or "")
    for c in g.get("children", ()):
        cg = ctx.groups(c, "T_COMPLEX_OBJECT")
        node = aom.CComplexObject(
            ctx.text(cg, "rm_type_name") or "",
            ctx.text(cg, "node_id") or "",
            ctx.interval(cg["occurrences"][0], int) if "occurrences" in cg else None,
            path=attr.differential_path,
        )
        if "attributes" in cg:
            ctx.attributes(node, cg["attributes"])
        if "default_value" in cg:
            value = default_value(cg["default_value"][0])
            node.default_value = value if isinstance(value, dict) else {"value": value}
        attr.children.append(node)
    return attr


def default_value(el: _Element) -> Any:
    """Free-form RM data (assumed/default values) as canonical-JSON-like dicts, ``_type`` from xsi:type."""
    kids = [c for c in el if isinstance(c.tag, str)]
    if not kids:
        return (el.text or "").strip()
    out: dict[str, Any] = {}
    kind = xsi_type(el)
    if kind:
        out["_type"] = kind
    for c in kids:
        name = etree.QName(c).localname
        value = default_value(c)
        if name in out:
            prev = out[name]
            out[name] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[name] = value
    return out
