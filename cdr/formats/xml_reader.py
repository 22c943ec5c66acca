"""ITS-XML to RM objects: one generic walk over ``rm_fields()``, no per-class code.

The reader is strict about what it cannot map (unknown elements, attributes and ``xsi:type``s, malformed
primitives, repeated single-valued elements) and lenient about what the RM validator reports better: missing
mandatory attributes and element order (several real-world serialisers put ``archetype_details`` before
``name``). Every error is a :class:`~cdr.errors.FormatError` whose path is an XPath into the document
(``/composition/content[2]/data/events[1]/time``; list members carry their 1-based index).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Final, NamedTuple

from lxml import etree

import cdr.rm  # noqa: F401  (defines every RM class, filling RM_TYPES)
from cdr.errors import FormatError
from cdr.formats.xml_names import (
    ACCEPTED_NAMESPACES,
    DERIVED_ELEMENTS,
    XSI_NS,
    XSI_TYPE,
    root_element_type,
)
from cdr.formats.xml_values import XSD_NAMES, ValueFormatError, parse_value
from cdr.rm.base import RM_TYPES, RMObject, construct, rm_field_map

_XML_DECLARATION: Final = re.compile(r"^\ufeff?\s*<\?xml[^>]*\?>")
_XSI_PREFIX: Final = f"{{{XSI_NS}}}"

_local_names: dict[str, str | None] = {}
"""Tag (``{ns}name``) to local name, or None when the namespace is not openEHR's; tags repeat a lot."""


def parse_xml(data: str | bytes, rm_type: str | None = None) -> RMObject:
    """Read an ITS-XML document into the RM object it holds.

    The object's type comes from the document element's ``xsi:type``, else from its name (``composition``,
    ``ehr_status``, ``folder``, ``version`` ...); ``rm_type`` names the type the caller expects instead of the
    element name, and a document of another type is rejected.
    """
    root = _parse_document(data)
    name = _local_name(root.tag, "")
    path = f"/{name}"
    declared = _declared_root_type(name, rm_type, root.get(XSI_TYPE) is not None, path)
    return _read_object(root, _concrete_type(root, declared, path), path)


def _parse_document(data: str | bytes) -> etree._Element:
    """The document element; malformed XML and DTDs (entity expansion) are rejected."""
    if isinstance(data, str):
        data = _XML_DECLARATION.sub("", data, count=1).encode("utf-8")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, remove_comments=True, remove_pis=True, load_dtd=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise FormatError("/", f"malformed XML: {exc.msg}") from None
    if root.getroottree().docinfo.internalDTD is not None:
        raise FormatError("/", "a DOCTYPE is not allowed in an ITS-XML document")
    return root


def _local_name(tag: str, parent_path: str) -> str:
    """The local name of an element in an openEHR namespace (v1, v2 or none)."""
    try:
        local = _local_names[tag]
    except KeyError:
        qname = etree.QName(tag)
        local = qname.localname if qname.namespace in ACCEPTED_NAMESPACES else None
        _local_names[tag] = local
    if local is None:
        qname = etree.QName(tag)
        raise FormatError(
            f"{parent_path}/{qname.localname}",
            f"element in namespace {qname.namespace!r}; ITS-XML elements are in http://schemas.openehr.org/v1",
        )
    return local


def _declared_root_type(name: str, rm_type: str | None, has_xsi_type: bool, path: str) -> type[RMObject]:
    """The type the document element stands for: the more specific of the one its name declares
    (``composition``) and the caller's ``rm_type``; the two must be related."""
    expected = None
    if rm_type is not None:
        if rm_type not in RM_TYPES:
            raise ValueError(f"unknown RM type {rm_type!r}")
        expected = RM_TYPES[rm_type]
    by_name = RM_TYPES.get(root_element_type(name))
    if by_name is not None and expected is not None:
        if issubclass(expected, by_name):
            return expected
        if issubclass(by_name, expected):
            return by_name
        raise FormatError(path, f"<{name}> holds a {by_name.rm_type}, not the expected {expected.rm_type}")
    declared = by_name or expected
    if declared is not None:
        return declared
    if has_xsi_type:
        return RMObject
    raise FormatError(path, f"unknown document element '{name}': it names no RM type and has no xsi:type")


def _concrete_type(element: etree._Element, declared: type[RMObject], path: str) -> type[RMObject]:
    """The class to build for ``element``: its ``xsi:type`` when given (a subtype of ``declared``)."""
    xsi_type = element.get(XSI_TYPE)
    if xsi_type is None:
        if declared.rm_abstract:
            raise FormatError(path, f"xsi:type is required: the declared type {declared.rm_type} is abstract")
        return declared
    type_name = xsi_type.rpartition(":")[2].strip()
    cls = RM_TYPES.get(type_name)
    if cls is None:
        raise FormatError(f"{path}/@xsi:type", f"unknown xsi:type {xsi_type!r}: no such RM type")
    if not issubclass(cls, declared):
        message = f"xsi:type {type_name} does not conform to the declared type {declared.rm_type}"
        raise FormatError(f"{path}/@xsi:type", message)
    if cls.rm_abstract:
        raise FormatError(f"{path}/@xsi:type", f"xsi:type {type_name} is abstract and cannot be instantiated")
    return cls


class _Slot(NamedTuple):
    """What the reader needs to know about one attribute, precomputed per class."""

    target: type
    is_object: bool
    is_list: bool
    xml_attribute: bool


@cache
def _slots(cls: type[RMObject]) -> dict[str, _Slot]:
    return {
        name: _Slot(field.target, field.is_object, field.is_list, field.xml_attribute)
        for name, field in rm_field_map(cls).items()
    }


def _read_object(element: etree._Element, cls: type[RMObject], path: str) -> RMObject:
    """Build ``cls`` from an element's attributes and children (lenient: absent attributes stay unset)."""
    fields = _slots(cls)
    values: dict[str, Any] = {}
    for raw_key, raw_value in element.items():
        key = str(raw_key)
        if key.startswith(_XSI_PREFIX):
            continue  # xsi:type is resolved by the caller; schemaLocation and friends carry no data
        attribute = fields.get(key)
        if attribute is None or not attribute.xml_attribute:
            message = f"unknown attribute '{key}': {cls.rm_type} has no such XML attribute"
            raise FormatError(f"{path}/@{key}", message)
        values[key] = str(raw_value)
    if element.text and not element.text.isspace():
        raise FormatError(path, f"text content is not allowed: {cls.rm_type} is a complex type")
    counts: dict[str, int] = {}
    for child in element:
        name = _local_name(child.tag, path)
        seen = counts[name] = counts.get(name, 0) + 1
        field = fields.get(name)
        if field is None or field.xml_attribute:
            if name in DERIVED_ELEMENTS.get(cls.rm_type, ()):
                continue
            raise FormatError(f"{path}/{name}", _unknown_element_message(name, field is not None, cls))
        child_path = f"{path}/{name}[{seen}]" if field.is_list or seen > 1 else f"{path}/{name}"
        if field.is_object:
            item: Any = _read_object(child, _concrete_type(child, field.target, child_path), child_path)
        else:
            item = _read_primitive(child, field.target, child_path)
        if field.is_list:
            values.setdefault(name, []).append(item)
        elif seen > 1:
            message = f"'{name}' occurs more than once but {cls.rm_type}.{name} is single-valued"
            raise FormatError(child_path, message)
        else:
            values[name] = item
        if child.tail and not child.tail.isspace():
            raise FormatError(path, f"text content is not allowed: {cls.rm_type} is a complex type")
    return construct(cls, values)


def _read_primitive(element: etree._Element, target: type, path: str) -> Any:
    """The value of a simple-typed element; it holds text only."""
    if len(element):
        xsd_name = XSD_NAMES.get(target, target.__name__)
        raise FormatError(path, f"expected a {xsd_name} value, found child elements")
    for raw_key in element.attrib:
        key = str(raw_key)
        if not key.startswith(_XSI_PREFIX):
            raise FormatError(f"{path}/@{key}", f"unknown attribute '{key}' on a simple-typed element")
    try:
        return parse_value(element.text or "", target)
    except ValueFormatError as exc:
        raise FormatError(path, str(exc)) from None


def _unknown_element_message(name: str, is_xml_attribute: bool, cls: type[RMObject]) -> str:
    if is_xml_attribute:
        return f"'{name}' must be an XML attribute in ITS-XML, not an element"
    return f"unknown element '{name}': {cls.rm_type} has no such attribute"
