"""The XML level of OPT reading: well-formedness, the root element, and an element reader checked against
:data:`opt_schema.SCHEMA`.

:class:`OptReader` groups an element's children by local name (through a cached tag table, not XPath or
``QName``: this runs for every element of a template), reports unknown, missing and repeated elements, and
reads the leaf types every section uses (text, booleans, numbers, object ids, code phrases, intervals),
collecting each problem with its line and element path instead of stopping at the first.
:mod:`cdr.template.opt_parser` builds the constraint tree on top of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

from lxml import etree

from cdr.errors import TemplateError
from cdr.template import aom
from cdr.template.opt_schema import OPENEHR_NS, SCHEMA, TOLERATED, UNBOUNDED

_Element = etree._Element
Groups = dict[str, list[_Element]]
N = TypeVar("N")

XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_NO_NS = "\x00"  # marks a tag outside the openEHR namespaces in the local-name cache


def parse_xml(xml: bytes) -> tuple[_Element, list[str]]:
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


def xsi_type(el: _Element) -> str | None:
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


class OptReader:
    """Collects problems and holds the tag cache while one document is read."""

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
        """The element's number; an error for anything else, including what Python reads but XML Schema
        does not (``1_000``) and what no constraint can use (``NaN``, ``INF``, ``1e309``)."""
        raw = self.leaf(el).strip()
        try:
            if "_" in raw:
                raise ValueError(raw)
            value = conv(raw)
        except ValueError:
            self.error(el, f"<{etree.QName(el).localname}> is not a number: {raw!r}")
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.error(el, f"<{etree.QName(el).localname}> is not a finite number: {raw!r}")
            return None
        return value

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


def _local_name(tag: str) -> str:
    if tag[0] == "{":
        ns, _, name = tag[1:].partition("}")
        return name if ns in OPENEHR_NS else _NO_NS
    return _NO_NS


def has_child(el: _Element, name: str) -> bool:
    return any(isinstance(c.tag, str) and c.tag.endswith("}" + name) for c in el)
