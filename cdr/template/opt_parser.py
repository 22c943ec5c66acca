"""OPT 1.4 XML to the constraint model of :mod:`cdr.template.aom`, refusing broken templates.

One pass over the lxml tree both checks the structure (against :data:`opt_schema.SCHEMA`: unknown elements,
missing or repeated elements) and builds the model, collecting every problem before raising one
:class:`~cdr.errors.TemplateError`. The hot path avoids XPath and ``QName``: children are grouped by local
name through a cached tag table, and constraint objects are built through a dispatch table on ``xsi:type``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from lxml import etree

from cdr.errors import TemplateError
from cdr.template import aom
from cdr.template.opt_schema import (
    C_PRIMITIVE_TYPES,
    OPENEHR_NS,
    SCHEMA,
    TOLERATED,
    UNBOUNDED,
)
from cdr.template.paths import attribute_path, child_path

_Element = etree._Element
Groups = dict[str, list[_Element]]
N = TypeVar("N")

XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_NO_NS = "\x00"  # marks a tag outside the openEHR namespaces in the local-name cache


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
    root, warnings = _parse_xml(xml)
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
    kind = _xsi_type(root)
    node = ctx.c_object(root, kind, None, "/") if kind else None
    if kind is None:
        ctx.error(root, "constraint object without xsi:type")
    if ctx.errors or node is None:
        raise TemplateError(
            f"invalid constraint: {ctx.errors[0] if ctx.errors else 'nothing built'}", ctx.errors
        )
    return node


# ----------------------------------------------------------------------------------- XML level


def _parse_xml(xml: bytes) -> tuple[_Element, list[str]]:
    if not xml.strip():
        raise TemplateError("not an operational template: the document is empty")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True)
    warnings: list[str] = []
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        # the parser's own log: the exception's is lxml's thread-global log, holding earlier parses' errors
        log = list(parser.error_log)
        if log and all(e.domain_name == "NAMESPACE" for e in log):
            # e.g. a malformed xmlns:xsi URI: the document is well-formed, only a namespace name is bad.
            root = etree.fromstring(
                xml, etree.XMLParser(recover=True, resolve_entities=False, no_network=True)
            )
            warnings.extend(f"line {e.line}: {e.message}" for e in log)
        else:
            raise TemplateError(
                f"not an operational template: the document is not well-formed XML ({exc})"
            ) from exc
    if root is None:
        raise TemplateError("not an operational template: no root element")
    qname = etree.QName(root)
    if qname.localname != "template" or qname.namespace not in OPENEHR_NS:
        found = f"{{{qname.namespace}}}{qname.localname}" if qname.namespace else qname.localname
        raise TemplateError(
            f"not an operational template: the root element is <{found}>, expected <template> in the "
            "openEHR namespace http://schemas.openehr.org/v1"
        )
    return root, warnings


def _where(el: _Element) -> str:
    """A readable location for messages: line number and element path with sibling indexes."""
    parts = []
    node: _Element | None = el
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if isinstance(c.tag, str) and etree.QName(c).localname == name]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return f"line {el.sourceline}: /" + "/".join(reversed(parts))


def _xsi_type(el: _Element) -> str | None:
    value = el.get(XSI_TYPE)
    if value is None:
        for key, v in el.attrib.items():
            if isinstance(key, str) and (
                key.endswith("}type") or key == "type"
            ):  # an xsi prefix bound to a malformed namespace URI
                value = str(v)
                break
    if value is None:
        return None
    return value.rpartition(":")[2].strip()


_COUNTED: dict[str, tuple[tuple[str, int, int], ...]] = {
    t: tuple((n, lo, hi) for n, (lo, hi) in spec.items() if lo > 0 or hi != UNBOUNDED)
    for t, spec in SCHEMA.items()
}
"""Per element type, the children whose number is constrained (precomputed: this check runs per element)."""

_TRUE = {"true": True, "1": True, "false": False, "0": False}


class _Context:
    """Collects problems and holds the tag cache while one document is built."""

    def __init__(self, warnings: list[str]) -> None:
        self.errors: list[str] = []
        self.warnings = warnings
        self.local: dict[str, str] = {}
        self.language = ""

    # -- structure

    def error(self, el: _Element, message: str) -> None:
        self.errors.append(f"{_where(el)}: {message}")

    def groups(self, el: _Element, type_name: str) -> Groups:
        """Children of ``el`` by local name, after checking them against the schema for ``type_name``."""
        allowed = SCHEMA[type_name]
        out: Groups = {}
        local = self.local
        for child in el:
            tag = child.tag
            if tag.__class__ is not str:
                continue
            name = local.get(tag)
            if name is None:
                name = local[tag] = _local_name(tag)
            if name in allowed:
                lst = out.get(name)
                if lst is None:
                    out[name] = [child]
                else:
                    lst.append(child)
            elif name in TOLERATED.get(type_name, ()):
                self.warnings.append(f"{_where(child)}: misplaced element <{name}> in {type_name} ignored")
            else:
                shown = tag[tag.find("}") + 1 :] if name == _NO_NS else name
                self.error(child, f"unexpected element <{shown}> in {type_name}")
        for name, lo, hi in _COUNTED[type_name]:
            n = len(out.get(name, ()))
            if n < lo:
                self.error(el, f"missing mandatory element <{name}> ({type_name})")
            elif hi != UNBOUNDED and n > hi:
                self.error(
                    out[name][hi], f"element <{name}> given {n} times, at most {hi} allowed ({type_name})"
                )
        return out

    def leaf(self, el: _Element) -> str:
        """The text of a simple-content element (no child elements allowed)."""
        for child in el:
            if child.tag.__class__ is str:
                self.error(
                    child, f"unexpected element inside <{etree.QName(el).localname}>, which holds text"
                )
                break
        return el.text or ""

    def text(self, g: Groups, name: str, default: str | None = None) -> str | None:
        lst = g.get(name)
        return self.leaf(lst[0]).strip() if lst else default

    def texts(self, g: Groups, name: str) -> list[str]:
        return [self.leaf(e).strip() for e in g.get(name, ())]

    def required_text(self, g: Groups, name: str, owner: _Element) -> str:
        lst = g.get(name)
        if not lst:
            return ""  # already reported as missing
        value = self.leaf(lst[0]).strip()
        if not value:
            self.error(lst[0], f"<{name}> must not be empty")
        return value

    def boolean(self, g: Groups, name: str, default: bool) -> bool:
        lst = g.get(name)
        if not lst:
            return default
        raw = self.leaf(lst[0]).strip().lower()
        value = _TRUE.get(raw)
        if value is None:
            self.error(lst[0], f"<{name}> is not a boolean: {raw!r}")
            return default
        return value

    def number(self, el: _Element, conv: Callable[[str], N]) -> N | None:
        raw = self.leaf(el).strip()
        try:
            return conv(raw)
        except ValueError:
            self.error(el, f"<{etree.QName(el).localname}> is not a number: {raw!r}")
            return None

    def object_id(self, g: Groups, name: str, optional: bool = False) -> str | None:
        """The ``value`` of an OBJECT_ID-typed child (template_id, uid, archetype_id, terminology_id);
        with ``optional``, an empty element (``<terminology_id/>``) counts as absent."""
        lst = g.get(name)
        if not lst:
            return None
        if optional and len(lst[0]) == 0 and not (lst[0].text or "").strip():
            return None
        inner = self.groups(lst[0], "OBJECT_ID")
        return self.required_text(inner, "value", lst[0])

    def code_phrase(self, el: _Element) -> aom.CodePhrase:
        g = self.groups(el, "CODE_PHRASE")
        return aom.CodePhrase(
            self.object_id(g, "terminology_id") or "", self.required_text(g, "code_string", el)
        )

    def dictionary(self, els: list[_Element]) -> dict[str, str]:
        """StringDictionaryItem elements (``<x id="key">value</x>``) to a dict."""
        out: dict[str, str] = {}
        for e in els:
            key = e.get("id")
            if key is None:
                self.error(e, "missing attribute id")
                continue
            out[key] = self.leaf(e)
        return out

    def interval(self, el: _Element, conv: Callable[[str], N]) -> aom.Interval[N]:
        g = self.groups(el, "INTERVAL")
        lower_unbounded = self.boolean(g, "lower_unbounded", False)
        upper_unbounded = self.boolean(g, "upper_unbounded", False)
        lower = upper = None
        if not lower_unbounded:
            if "lower" in g:
                lower = self.number(g["lower"][0], conv)
            else:
                self.error(el, "bounded interval without <lower>")
        if not upper_unbounded:
            if "upper" in g:
                upper = self.number(g["upper"][0], conv)
            else:
                self.error(el, "bounded interval without <upper>")
        return aom.Interval(
            lower,
            upper,
            self.boolean(g, "lower_included", True),
            self.boolean(g, "upper_included", True),
        )

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
        kind = _xsi_type(el) or "C_ARCHETYPE_ROOT"
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
        node_id = self.text(g, "node_id", "") or ""
        occurrences = self.interval(g["occurrences"][0], int) if "occurrences" in g else None
        return build(self, _Head(el, g, rm_type, node_id, occurrences, parent, attr_path))

    def attributes(self, owner: aom.CComplexObject, els: list[_Element]) -> None:
        base = owner.path
        for el in els:
            kind = _xsi_type(el)
            if kind is None:
                kind = "C_MULTIPLE_ATTRIBUTE" if _has_child(el, "cardinality") else "C_SINGLE_ATTRIBUTE"
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
                child_kind = _xsi_type(child_el)
                if child_kind is None:
                    self.error(child_el, "constraint object without xsi:type")
                    continue
                child = self.c_object(child_el, child_kind, attr, path)
                if child is not None:
                    children.append(child)
            owner.attributes.append(attr)


def _local_name(tag: str) -> str:
    if tag[0] == "{":
        ns, _, name = tag[1:].partition("}")
        return name if ns in OPENEHR_NS else _NO_NS
    return _NO_NS


def _has_child(el: _Element, name: str) -> bool:
    return any(isinstance(c.tag, str) and c.tag.endswith("}" + name) for c in el)


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
        kind = _xsi_type(item_el)
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
