"""RM objects to ITS-XML: elements in the model's field order (the schema's sequence), ``xsi:type`` only where
the schema needs it.

``xsi:type`` is written where the object's class differs from the attribute's declared type or that type is
abstract, which is exactly where a schema validator or a reader could not otherwise know the class.
"""

from __future__ import annotations

from functools import cache
from typing import Final

from lxml import etree

from cdr.formats.xml_names import (
    OPENEHR_NS,
    XSI_NS,
    XSI_TYPE,
    root_element_name,
    root_element_type,
)
from cdr.formats.xml_values import format_value
from cdr.rm.base import RM_TYPES, RMObject, rm_fields

_NSMAP: Final[dict[str | None, str]] = {None: OPENEHR_NS, "xsi": XSI_NS}


def to_xml(obj: RMObject, root: str | None = None, *, pretty: bool = False) -> bytes:
    """Serialise ``obj`` as an ITS-XML document (UTF-8, with XML declaration).

    The document element is ``root`` when given, else the one the ITS-XML schemas declare for the type
    (``composition``, ``version``, ``ehr_status`` ...); it carries ``xsi:type`` when the element name does
    not already say the object's class.
    """
    cls = type(obj)
    version = RM_TYPES.get("VERSION")
    name = root or root_element_name(cls.rm_type, version is not None and issubclass(cls, version))
    declared = RM_TYPES.get(root_element_type(name))
    if declared is not None and not isinstance(obj, declared):
        raise ValueError(f"a {cls.rm_type} cannot be written as <{name}>, which holds a {declared.rm_type}")
    element = etree.Element(_tag(name), nsmap=_NSMAP)  # type: ignore[arg-type]  # stubs lack the None prefix
    if declared is not cls:
        element.set(XSI_TYPE, cls.rm_type)
    _write_object(element, obj)
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=pretty)


def _write_object(element: etree._Element, obj: RMObject) -> None:
    """Fill ``element`` with the attributes of ``obj``; unset (None) attributes are left out."""
    for field in rm_fields(type(obj)):
        value = getattr(obj, field.name, None)
        if value is None:
            continue
        if field.xml_attribute:
            element.set(field.name, format_value(value))
            continue
        tag = _tag(field.name)
        for item in value if field.is_list else (value,):
            child = etree.SubElement(element, tag)
            if field.is_object:
                item_cls = type(item)
                if item_cls is not field.target or field.target.rm_abstract:
                    child.set(XSI_TYPE, item_cls.rm_type)
                _write_object(child, item)
            else:
                child.text = format_value(item)


@cache
def _tag(name: str) -> str:
    return f"{{{OPENEHR_NS}}}{name}"
