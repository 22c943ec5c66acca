"""Canonical XML (ITS-XML, RM Release-1.1.0) read and write.

The mapping is generic over the RM models: an element per attribute, named as the spec names it and in the
order the models declare (the schemas' sequences); ``xsi:type`` names the class where the declared type is
abstract or a supertype; ``LOCATABLE.archetype_node_id`` is an XML attribute. Instance documents use the
namespace ``http://schemas.openehr.org/v1``. :mod:`cdr.formats.xml_reader` and :mod:`cdr.formats.xml_writer`
hold the two directions; this module is the entry point the rest of cdr imports.
"""

from __future__ import annotations

from cdr.formats.xml_reader import parse_xml
from cdr.formats.xml_writer import to_xml

__all__ = ["parse_xml", "to_xml"]
