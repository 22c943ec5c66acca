"""OPT 1.4 XML to the constraint model of :mod:`cdr.template.aom`, refusing broken templates.

One pass over the lxml tree both checks the structure (through :class:`~cdr.template.opt_xml.OptReader`:
unknown elements, missing or repeated elements) and builds the model, collecting every problem before
raising one :class:`~cdr.errors.TemplateError`. Constraint objects are built through a dispatch table on
``xsi:type``; the leaves and side sections (primitives, profile types, ontologies) in :mod:`.opt_sections`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from cdr.errors import TemplateError
from cdr.rm.base import RM_TYPES
from cdr.template import aom
from cdr.template.opt_schema import C_PRIMITIVE_TYPES
from cdr.template.opt_xml import Groups, OptReader, has_child, parse_xml, xsi_type
from cdr.template.paths import attribute_path, child_path

_Element = etree._Element


def load_opt(source: bytes | str | Path) -> aom.OperationalTemplate:
    """Load an operational template from XML bytes, XML text, or a file path (``Path`` or an existing
    file's name)."""
    if isinstance(source, Path):
        return parse_opt(source.read_bytes())
    if isinstance(source, str):
        text = source.lstrip()
        if not text.startswith("<") and text and len(text) < 4096 and Path(text).is_file():
            return parse_opt(Path(text).read_bytes())
        return parse_opt(source.encode("utf-8"))
    return parse_opt(source)


def parse_opt(xml: bytes) -> aom.OperationalTemplate:
    """Parse OPT 1.4 XML; raise :class:`TemplateError` listing every problem if it is not usable."""
    root, warnings = parse_xml(xml)
    ctx = _Context(warnings)
    template = ctx.template(root)
    if ctx.errors or template is None:
        n = len(ctx.errors)
        raise TemplateError(
            f"invalid operational template ({n} problem{'s' * (n != 1)}): {ctx.errors[0]}", ctx.errors
        )
    return template


def parse_constraint(xml: bytes, language: str = "en") -> aom.CObject:
    """Parse a standalone C_OBJECT fragment (any root element carrying the ``xsi:type``), as tools and test
    suites exchange single constraints; its path is ``/``. Raises :class:`TemplateError` as :func:`parse_opt`
    does."""
    if not xml.strip():
        raise TemplateError("not a constraint: the document is empty")
    try:
        root = etree.fromstring(
            xml, etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
        )
    except etree.XMLSyntaxError as exc:
        raise TemplateError(f"not a constraint: the document is not well-formed XML ({exc})") from exc
    ctx = _Context([])
    ctx.language = language
    kind = xsi_type(root)
    node = ctx.c_object(root, kind, None, "/") if kind else None
    if kind is None:
        ctx.error(root, "constraint object without xsi:type")
    if ctx.errors or node is None:
        raise TemplateError(
            f"invalid constraint: {ctx.errors[0] if ctx.errors else 'nothing built'}", ctx.errors
        )
    return node


_RM_TYPE_NAME = re.compile(
    r"\s*([A-Z][A-Z0-9_]*)\s*(?:<\s*([A-Z][A-Z0-9_]*(?:\s*,\s*[A-Z][A-Z0-9_]*)*)\s*>)?\s*"
)


def _is_rm_type(name: str) -> bool:
    """Whether ``name`` names RM classes (``DV_TEXT``, ``DV_INTERVAL<DV_QUANTITY>``): nothing can be built,
    validated or shown for a node of another type (a primitive's ``STRING``, ``INTEGER`` ... are checked by
    their constraint's type instead)."""
    m = _RM_TYPE_NAME.fullmatch(name)
    if m is None:
        return False
    names = [m.group(1), *(n.strip() for n in (m.group(2) or "").split(",") if n.strip())]
    return all(n in RM_TYPES for n in names)


class _Context(OptReader):
    """Builds the template and its constraint tree from the elements :class:`OptReader` checks."""

    # -- the template

    def template(self, el: _Element) -> aom.OperationalTemplate | None:
        from cdr.template import opt_sections

        g = self.groups(el, "OPERATIONAL_TEMPLATE")
        language = self.code_phrase(g["language"][0]) if "language" in g else None
        self.language = language.code_string if language else ""
        template_id = self.object_id(g, "template_id")
        concept = self.required_text(g, "concept", el)
        uid = self.object_id(g, "uid")
        definition = None
        if "definition" in g:
            definition = self.definition(g["definition"][0])
        if self.errors or definition is None or language is None or not template_id:
            return None
        tpl = aom.OperationalTemplate(
            template_id=template_id,
            concept=concept,
            language=language,
            definition=definition,
            uid=uid,
            is_controlled=self.boolean(g, "is_controlled", False) if "is_controlled" in g else None,
            warnings=self.warnings,
        )
        opt_sections.fill_sections(self, g, tpl)
        return tpl if not self.errors else None

    def definition(self, el: _Element) -> aom.CArchetypeRoot | None:
        kind = xsi_type(el) or "C_ARCHETYPE_ROOT"
        if kind != "C_ARCHETYPE_ROOT":
            self.error(el, f"the definition must be a C_ARCHETYPE_ROOT, not {kind}")
            return None
        node = self.c_object(el, kind, None, "/")
        return node if isinstance(node, aom.CArchetypeRoot) else None

    # -- constraint objects

    def c_object(
        self, el: _Element, kind: str, parent: aom.CAttribute | None, attr_path: str
    ) -> aom.CObject | None:
        build = _BUILDERS.get(kind)
        if build is None:
            self.error(el, f"unknown constraint type xsi:type={kind!r}")
            return None
        g = self.groups(el, kind)
        rm_type = self.required_text(g, "rm_type_name", el)
        if rm_type and kind != "C_PRIMITIVE_OBJECT" and not _is_rm_type(rm_type):
            self.error(
                g["rm_type_name"][0], f"<rm_type_name> {rm_type!r} is not a type of the reference model"
            )
        node_id = self.text(g, "node_id", "") or ""
        occurrences = self.interval(g["occurrences"][0], int) if "occurrences" in g else None
        return build(self, _Head(el, g, rm_type, node_id, occurrences, parent, attr_path))

    def attributes(self, owner: aom.CComplexObject, els: list[_Element]) -> None:
        base = owner.path
        for el in els:
            kind = xsi_type(el)
            if kind is None:
                kind = "C_MULTIPLE_ATTRIBUTE" if has_child(el, "cardinality") else "C_SINGLE_ATTRIBUTE"
            if kind not in ("C_SINGLE_ATTRIBUTE", "C_MULTIPLE_ATTRIBUTE"):
                self.error(el, f"unknown attribute type xsi:type={kind!r}")
                continue
            g = self.groups(el, kind)
            name = self.required_text(g, "rm_attribute_name", el)
            existence = self.interval(g["existence"][0], int) if "existence" in g else None
            attr: aom.CAttribute
            if kind == "C_MULTIPLE_ATTRIBUTE":
                card = None
                if "cardinality" in g:
                    cg = self.groups(g["cardinality"][0], "CARDINALITY")
                    card = aom.Cardinality(
                        self.interval(cg["interval"][0], int) if "interval" in cg else aom.Interval(0, None),
                        self.boolean(cg, "is_ordered", True),
                        self.boolean(cg, "is_unique", False),
                    )
                attr = aom.CMultipleAttribute(name, existence, parent=owner, cardinality=card)
            else:
                attr = aom.CSingleAttribute(name, existence, parent=owner)
            attr.match_negated = self.boolean(g, "match_negated", False)
            path = attribute_path(base, name)
            children = attr.children
            for child_el in g.get("children", ()):
                child_kind = xsi_type(child_el)
                if child_kind is None:
                    self.error(child_el, "constraint object without xsi:type")
                    continue
                child = self.c_object(child_el, child_kind, attr, path)
                if child is not None:
                    children.append(child)
            owner.attributes.append(attr)


# ------------------------------------------------------------------------------ object builders


@dataclass(slots=True)
class _Head:
    """What every C_OBJECT states, read by :meth:`_Context.c_object` before its type's builder runs."""

    el: _Element
    g: Groups
    rm_type: str
    node_id: str
    occurrences: aom.Interval[int] | None
    parent: aom.CAttribute | None
    attr_path: str

    def path(self, step: str | None = None) -> str:
        """The node's template path: ``/`` for the outermost object, else its attribute path plus ``step``
        (its node id unless given: archetype roots step by archetype id)."""
        return (
            "/" if self.parent is None else child_path(self.attr_path, self.node_id if step is None else step)
        )

    def c_object(
        self, step: str | None = None
    ) -> tuple[str, str, aom.Interval[int] | None, aom.CAttribute | None, str]:
        """The C_OBJECT constructor arguments: rm type, node id, occurrences, parent and path."""
        return self.rm_type, self.node_id, self.occurrences, self.parent, self.path(step)


Builder = Callable[[_Context, _Head], "aom.CObject | None"]


def _complex(ctx: _Context, h: _Head) -> aom.CObject:
    node = aom.CComplexObject(*h.c_object())
    if "attributes" in h.g:
        ctx.attributes(node, h.g["attributes"])
    return node


def _root(ctx: _Context, h: _Head) -> aom.CObject:
    from cdr.template.opt_sections import term_bindings, terms

    g = h.g
    archetype_id = ctx.object_id(g, "archetype_id") or ""
    node = aom.CArchetypeRoot(
        *h.c_object(archetype_id),
        archetype_id=archetype_id,
        template_id=ctx.object_id(g, "template_id"),
        default_language=ctx.language,
    )
    if "term_definitions" in g:
        node.term_definitions[ctx.language] = terms(ctx, g["term_definitions"])
    if "term_bindings" in g:
        node.term_bindings = term_bindings(ctx, g["term_bindings"])
    if "attributes" in g:
        ctx.attributes(node, g["attributes"])
    return node


def _slot(ctx: _Context, h: _Head) -> aom.CObject:
    from cdr.template.opt_sections import assertion

    return aom.ArchetypeSlot(
        *h.c_object(),
        includes=[assertion(ctx, e) for e in h.g.get("includes", ())],
        excludes=[assertion(ctx, e) for e in h.g.get("excludes", ())],
    )


def _internal_ref(ctx: _Context, h: _Head) -> aom.CObject:
    return aom.ArchetypeInternalRef(*h.c_object(), ctx.required_text(h.g, "target_path", h.el))


def _constraint_ref(ctx: _Context, h: _Head) -> aom.CObject:
    return aom.ConstraintRef(*h.c_object(), ctx.required_text(h.g, "reference", h.el))


def _primitive_object(ctx: _Context, h: _Head) -> aom.CObject:
    from cdr.template.opt_sections import primitive

    item = None
    if "item" in h.g:
        item_el = h.g["item"][0]
        kind = xsi_type(item_el)
        if kind not in C_PRIMITIVE_TYPES:
            ctx.error(item_el, f"unknown primitive constraint xsi:type={kind!r}")
        else:
            item = primitive(ctx, item_el, kind)
    return aom.CPrimitiveObject(*h.c_object(), item)


def _domain(name: str) -> Builder:
    def build(ctx: _Context, h: _Head) -> aom.CObject | None:
        from cdr.template import opt_sections

        node: aom.CObject = opt_sections.DOMAIN_TYPES[name](*h.c_object())
        opt_sections.fill_domain(ctx, node, h.g)
        return node

    return build


_BUILDERS: dict[str, Builder] = {
    "C_COMPLEX_OBJECT": _complex,
    "C_ARCHETYPE_ROOT": _root,
    "ARCHETYPE_SLOT": _slot,
    "ARCHETYPE_INTERNAL_REF": _internal_ref,
    "CONSTRAINT_REF": _constraint_ref,
    "C_PRIMITIVE_OBJECT": _primitive_object,
    **{k: _domain(k) for k in ("C_CODE_PHRASE", "C_CODE_REFERENCE", "C_DV_ORDINAL", "C_DV_SCALE")},
    **{k: _domain(k) for k in ("C_DV_QUANTITY", "C_DV_STATE")},
}
