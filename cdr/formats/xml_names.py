"""Names the ITS-XML mapping needs: namespaces, root element names and the few RM attributes written as XML
attributes.

Facts from the ITS-XML schemas (RM Release-1.1.0) and from the XML that openEHR systems actually exchange:

* instance documents use the namespace ``http://schemas.openehr.org/v1`` (the schemas in the ITS-XML
  repository now declare ``.../v2``; EHRbase and every sample in the corpus use ``v1``), and many samples use
  no namespace at all, so a reader accepts all three;
* ``LOCATABLE.archetype_node_id`` is the one RM attribute the schemas make an XML attribute (the models mark
  it, see ``RMField.xml_attribute``);
* the document element is named after the lower-cased RM type (``composition``, ``ehr_status``, ``folder``),
  except ``version`` (VERSION, with ``xsi:type="ORIGINAL_VERSION"``) and ``items`` (a LOCATABLE fragment).
"""

from __future__ import annotations

from typing import Final

OPENEHR_NS: Final = "http://schemas.openehr.org/v1"
"""The namespace written; the de-facto one of ITS-XML instance documents."""

OPENEHR_NS_V2: Final = "http://schemas.openehr.org/v2"
XSI_NS: Final = "http://www.w3.org/2001/XMLSchema-instance"
XSI_TYPE: Final = f"{{{XSI_NS}}}type"

ACCEPTED_NAMESPACES: Final = frozenset({OPENEHR_NS, OPENEHR_NS_V2, None})
"""Element namespaces a reader takes as openEHR: v1, v2 and none (common in hand-written samples)."""

ROOT_ELEMENT_TYPES: Final[dict[str, str]] = {
    "version": "VERSION",
    "items": "LOCATABLE",
    "versioned_object": "VERSIONED_OBJECT",
}
"""Document elements of the ITS-XML ``documents/*.xsd`` whose name is not simply the lower-cased type."""

DERIVED_ELEMENTS: Final[dict[str, frozenset[str]]] = {
    "ARCHETYPE_ID": frozenset(
        {
            "qualifiedRmEntity",
            "domainConcept",
            "rmOriginator",
            "rmName",
            "rmEntity",
            "specialisation",
            "versionId",
        }
    ),
}
"""Elements some Java serialisers add for values derived from ``value`` (the archetype id's parts); they carry
nothing the RM does not already hold, so a reader skips them instead of rejecting the document."""


def root_element_type(element_name: str) -> str:
    """The RM type a document element declares: ``composition`` -> ``COMPOSITION``."""
    return ROOT_ELEMENT_TYPES.get(element_name, element_name.upper())


def root_element_name(rm_type: str, is_version: bool) -> str:
    """The document element for an object of ``rm_type``; every VERSION subtype is written as ``version``."""
    return "version" if is_version else rm_type.lower()
