"""Canonical XML (ITS-XML): the corpus parses, round-trips, agrees with canonical JSON and validates against
the ITS-XML schemas; malformed input is refused with a path to the offending node."""

from __future__ import annotations

import doctest
import json
from functools import cache
from pathlib import Path
from typing import TypeVar

import pytest
from lxml import etree

import cdr.formats.xml_values
from cdr.errors import FormatError
from cdr.formats.canonical_json import parse_json
from cdr.formats.canonical_xml import parse_xml, to_xml
from cdr.rm import (
    CodePhrase,
    Composition,
    DvCodedText,
    DvCount,
    DvText,
    EhrStatus,
    Element,
    Folder,
    ItemTree,
    OriginalVersion,
    RMObject,
    TerminologyId,
)
from tests.corpus import CORPUS, corpus_files, index_rows, require_corpus

_V = TypeVar("_V")

XML_FILES = corpus_files("composition/canonical_xml")
V1 = "http://schemas.openehr.org/v1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

INVALID_FILES: dict[str, tuple[str, str]] = {
    # corpus path suffix: (error path, words of the message). These files break ITS-XML on purpose or by a
    # typo, and a strict reader has to refuse them at the named node.
    "CANONICAL_XML/nested.en.v1__invalid_wrong_structure.xml": ("/", "malformed XML"),
    "CANONICAL_XML/persistent_minimal.en.v1__invalid_wrong_structure.xml": ("/", "malformed XML"),
    "alternative_types/alternative_types.composition.xml": (
        "/composition/content[1]/data/events[1]/data/items[1]/value/magnitude",
        "'456.789' is not an xs:integer",
    ),
    "alternative_types/alternative_types.composition.extdatetimes.xml": (
        "/composition/content[1]/data/events[1]/data/items[1]/value/magnitude",
        "'456.789' is not an xs:integer",
    ),
    "alternative_types/alternative_types.version.xml": (
        "/version/data/content[1]/data/events[1]/data/items[1]/value/magnitude",
        "'456.789' is not an xs:integer",
    ),
    "canonical_xml/test_all_types_participations_invalid.xml": (
        "/composition/context/participations[1]/function/defining_code",
        "unknown element 'defining_code': DV_TEXT",
    ),
    "composition/IDCR-LabReportRAW1_with_normal_status.xml": (
        "/composition/content[1]/data/events[1]/data/items[4]/items[1]/items[1]/value/normal_status/@xsi:type",
        "unknown xsi:type 'CODE_PRASE'",
    ),
}

XSD_DATA_DEFECTS: dict[str, str] = {
    # corpus path suffix: a word of the schema error. The reader is lenient about missing mandatory
    # attributes (the validator reports them), so these read and write but their content breaks the schema.
    # A COMPOSITION without name:
    "minimal_persistent/persistent_minimal.composition.extdatetime.invalid.xml": "archetype_details",
    "nested/nested.composition.extdatetimes.invalid.xml": "activities",  # INSTRUCTION without narrative
    "minimal/minimal_action_2.instance.composition.xml": "ism_transition",
    "minimal/minimal_action_2.instance.version.xml": "ism_transition",
    "canonical_xml/Registro_de_Atendimento_Clinico.xml": "minLength",  # an empty DV_TEXT value
    "canonical_xml/test_all_types.v1.xml": "null_flavour",  # an ELEMENT with neither value nor null_flavour
}


def _lookup(table: dict[str, _V], path: str) -> _V | None:
    """The entry of ``table`` whose key ends ``path`` (corpus paths are long; the tables name their tails)."""
    return next((v for k, v in table.items() if path.endswith(k)), None)


def _read(path: str) -> bytes:
    return (require_corpus() / path).read_bytes()


def _composition(obj: RMObject) -> Composition:
    if isinstance(obj, OriginalVersion):
        assert isinstance(obj.data, Composition)
        return obj.data
    assert isinstance(obj, Composition)
    return obj


# --- the ITS-XML schemas, loaded from the corpus ---

_XS = "{http://www.w3.org/2001/XMLSchema}"


def _schema_text(path: Path) -> bytes:
    """One schema document made loadable by libxml2.

    The ITS-XML repository now declares the namespace ``.../v2`` while instance documents (EHRbase, the whole
    corpus, our writer) use ``.../v1``; and its archetype-node-id pattern uses Perl syntax (``(?:``, ``\\w``
    meaning ``[a-zA-Z0-9_]``) that XML Schema regular expressions do not have. Both are rewritten here.
    """
    doc = etree.fromstring(path.read_bytes().replace(b"http://schemas.openehr.org/v2", V1.encode()))
    for pattern in doc.iter(f"{_XS}pattern"):
        value = pattern.get("value", "").replace("(?:", "(")
        pattern.set("value", value.replace(r"[\w-]", r"[a-zA-Z0-9_\-]").replace(r"\w", "[a-zA-Z0-9_]"))
    return etree.tostring(doc)


class _SchemaResolver(etree.Resolver):
    def resolve(self, system_url: str, public_id: str, context: object) -> object:  # type: ignore[override]
        path = Path(system_url.removeprefix("file://"))
        return self.resolve_string(_schema_text(path), context, base_url=str(path))


@cache
def _schema(document_element: str) -> etree.XMLSchema:
    folder = CORPUS / "openEHR-specifications-ITS-XML/components/RM/Release-1.1.0/documents"
    path = folder / {"composition": "Composition.xsd", "version": "Version.xsd"}[document_element]
    parser = etree.XMLParser()
    parser.resolvers.add(_SchemaResolver())
    return etree.XMLSchema(etree.fromstring(_schema_text(path), parser, base_url=str(path)))


# --- the corpus ---


@pytest.mark.corpus
@pytest.mark.parametrize("path", XML_FILES)
def test_corpus_file_reads_or_is_refused_at_the_broken_node(path: str) -> None:
    data = _read(path)
    expected_error = _lookup(INVALID_FILES, path)
    if expected_error is not None:
        error_path, words = expected_error
        with pytest.raises(FormatError) as caught:
            parse_xml(data)
        assert caught.value.path == error_path
        assert words in caught.value.reason
        return
    obj = parse_xml(data)
    root = etree.QName(etree.fromstring(data)).localname
    assert isinstance(obj, OriginalVersion if root == "version" else Composition)
    composition = _composition(obj)
    template_id = next(r["template_id"] for r in index_rows() if r["path"] == path)
    assert composition.archetype_details is not None and composition.archetype_details.template_id is not None
    assert composition.archetype_details.template_id.value == template_id
    assert composition.archetype_node_id and composition.name is not None


@pytest.mark.corpus
@pytest.mark.parametrize("path", [p for p in XML_FILES if _lookup(INVALID_FILES, p) is None])
def test_corpus_round_trip_is_stable_and_schema_valid(path: str) -> None:
    obj = parse_xml(_read(path))
    written = to_xml(obj)
    again = parse_xml(written)
    assert again == obj
    assert to_xml(again) == written
    document = etree.fromstring(written)
    schema = _schema(etree.QName(document).localname)
    defect = _lookup(XSD_DATA_DEFECTS, path)
    if defect is None:
        assert schema.validate(document), str(schema.error_log)[:500]
    else:
        assert not schema.validate(document)
        assert defect in str(schema.error_log)


def _identity(c: Composition) -> tuple[str | None, ...]:
    """What makes two files the same composition rather than two of one template: uid, start, composer."""
    ref = c.composer.external_ref if c.composer is not None else None
    return (
        c.uid.value if c.uid else None,
        c.context.start_time.value if c.context and c.context.start_time else None,
        ref.id.value if ref and ref.id else None,
    )


@pytest.mark.corpus
def test_same_composition_in_xml_and_json_gives_equal_models() -> None:
    """Upstream keeps some compositions in both formats, same stem, CANONICAL_XML/ and CANONICAL_JSON/."""
    require_corpus()
    json_by_key = {
        (r["template_id"], Path(r["path"]).stem): r["path"]
        for r in index_rows()
        if r["kind"] == "composition/canonical_json"
    }
    pairs = []
    for row in index_rows():
        json_path = json_by_key.get((row["template_id"], Path(row["path"]).stem))
        if row["kind"] != "composition/canonical_xml" or json_path is None:
            continue
        if _lookup(INVALID_FILES, row["path"]) is not None:
            continue
        from_xml = _composition(parse_xml(_read(row["path"])))
        from_json = parse_json(json.loads(_read(json_path)))
        assert isinstance(from_json, Composition)
        if _identity(from_xml) == _identity(from_json):
            pairs.append(row["path"])
            assert from_xml == from_json, row["path"]
    assert len(pairs) >= 4, pairs  # consult_record, family_history (.v2, plain, with_uid)


@pytest.mark.corpus
def test_folder_document_reads() -> None:
    folder = parse_xml(_read("ehrbase-openEHR_SDK/test-data/folder/canonical_xml/simple_empty_folder.xml"))
    assert isinstance(folder, Folder)
    assert folder.name is not None and folder.name.value == "Simple empty folder"
    assert b"<folder " in to_xml(folder) and parse_xml(to_xml(folder)) == folder


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name", ["000_ehr_status_with_other_details.json", "002_ehr_status_with_other_details_item_tree.json"]
)
def test_ehr_status_from_json_round_trips_through_xml(name: str) -> None:
    status = parse_json(json.loads(_read(f"ehrbase-integration-tests/test_data_sets/ehr/valid/{name}")))
    assert isinstance(status, EhrStatus)
    written = to_xml(status)
    assert etree.QName(etree.fromstring(written)).localname == "ehr_status"
    assert parse_xml(written) == status


# --- the mapping on small documents ---


def _doc(
    body: str, root: str = "composition", attrs: str = 'archetype_node_id="openEHR-EHR-COMPOSITION.x.v1"'
) -> str:
    return f'<{root} xmlns="{V1}" xmlns:xsi="{XSI}" {attrs}>{body}</{root}>'


_NAME = "<name><value>n</value></name>"
_ELEMENT_IN_TREE = (
    '<content xsi:type="ADMIN_ENTRY" archetype_node_id="openEHR-EHR-ADMIN_ENTRY.a.v1">'
    + _NAME
    + '<data xsi:type="ITEM_TREE" archetype_node_id="at0001">'
    + _NAME
    + '<items xsi:type="ELEMENT" archetype_node_id="at0002">'
    + _NAME
    + "{value}</items></data></content>"
)


def test_reads_xsi_types_attributes_and_primitives() -> None:
    value = (
        '<value xsi:type="DV_COUNT"><magnitude> 42 </magnitude><accuracy>2.5E1</accuracy>'
        "<accuracy_is_percent>1</accuracy_is_percent></value>"
    )
    comp = parse_xml(_doc(_NAME + _ELEMENT_IN_TREE.format(value=value)))
    assert isinstance(comp, Composition) and comp.archetype_node_id == "openEHR-EHR-COMPOSITION.x.v1"
    assert comp.content is not None
    tree = comp.content[0].data  # type: ignore[attr-defined]
    assert isinstance(tree, ItemTree) and tree.items is not None
    element = tree.items[0]
    assert isinstance(element, Element) and isinstance(element.value, DvCount)
    assert element.value.magnitude == 42
    assert element.value.accuracy == 25.0 and element.value.accuracy_is_percent is True  # INF: refused below


def test_reads_documents_without_namespace_in_any_element_order() -> None:
    body = (
        "<archetype_details><archetype_id><value>a</value></archetype_id><rm_version>1.0.2</rm_version>"
        "</archetype_details>" + _NAME
    )
    comp = parse_xml(f'<composition archetype_node_id="x">{body}</composition>')
    assert isinstance(comp, Composition) and comp.name is not None and comp.name.value == "n"
    assert comp.archetype_details is not None and comp.archetype_details.rm_version == "1.0.2"


def test_reads_str_with_encoding_declaration_and_skips_derived_archetype_id_parts() -> None:
    body = (
        "<name><value>ü</value></name><archetype_details><archetype_id><value>openEHR-EHR-COMPOSITION.x.v1"
        "</value><rmEntity>COMPOSITION</rmEntity><versionId>1</versionId></archetype_id></archetype_details>"
    )
    comp = parse_xml('<?xml version="1.0" encoding="ISO-8859-1"?>\n' + _doc(body))
    assert isinstance(comp, Composition) and comp.name is not None and comp.name.value == "ü"
    assert comp.archetype_details is not None and comp.archetype_details.archetype_id is not None
    assert comp.archetype_details.archetype_id.value == "openEHR-EHR-COMPOSITION.x.v1"


@pytest.mark.parametrize("lexical", ["NaN", "INF", "-INF", "1e400"])
def test_real_values_must_be_finite(lexical: str) -> None:
    """xs:double has NaN and INF; the canonical JSON stored has no such number, so they are refused."""
    text = (
        f'<value xmlns="{V1}" xmlns:xsi="{XSI}" xsi:type="DV_QUANTITY">'
        f"<magnitude>{lexical}</magnitude><units>Cel</units></value>"
    )
    with pytest.raises(FormatError, match="not a finite number") as caught:
        parse_xml(text, rm_type="DV_QUANTITY")
    assert caught.value.path == "/value/magnitude"


def test_rm_type_names_the_expected_type() -> None:
    text = f'<data xmlns="{V1}" archetype_node_id="at0001">{_NAME}</data>'
    assert isinstance(parse_xml(text, rm_type="ITEM_TREE"), ItemTree)
    with pytest.raises(FormatError) as caught:
        parse_xml(_doc(_NAME), rm_type="EHR_STATUS")
    assert caught.value.path == "/composition"
    assert "holds a COMPOSITION, not the expected EHR_STATUS" in caught.value.reason
    version = f'<version xmlns="{V1}" xmlns:xsi="{XSI}" xsi:type="ORIGINAL_VERSION"/>'
    assert isinstance(parse_xml(version, rm_type="ORIGINAL_VERSION"), OriginalVersion)
    with pytest.raises(FormatError) as caught:
        parse_xml(f'<data xmlns="{V1}" xmlns:xsi="{XSI}" xsi:type="FOLDER"/>', rm_type="COMPOSITION")
    assert caught.value.path == "/data/@xsi:type"
    assert "FOLDER does not conform to the declared type COMPOSITION" in caught.value.reason


def test_writes_xsi_type_only_where_the_declared_type_does_not_say_it() -> None:
    text = DvText(value="free")
    code = CodePhrase(terminology_id=TerminologyId(value="local"), code_string="at1")
    coded = DvCodedText(value="c", defining_code=code)
    tree = ItemTree(
        archetype_node_id="at0001",
        name=DvText(value="tree"),
        items=[Element(archetype_node_id="at0002", name=coded, value=text)],
    )
    document = etree.fromstring(to_xml(tree))
    assert document.tag == f"{{{V1}}}item_tree" and document.get(f"{{{XSI}}}type") is None
    items = document.find(f"{{{V1}}}items")
    assert items is not None and items.get(f"{{{XSI}}}type") == "ELEMENT"  # declared ITEM (abstract)
    assert items.get("archetype_node_id") == "at0002"
    name = items.find(f"{{{V1}}}name")
    assert name is not None and name.get(f"{{{XSI}}}type") == "DV_CODED_TEXT"  # a subtype of DV_TEXT
    value = items.find(f"{{{V1}}}value")
    assert value is not None and value.get(f"{{{XSI}}}type") == "DV_TEXT"  # declared DATA_VALUE (abstract)
    tree_name = document.find(f"{{{V1}}}name")
    assert tree_name is not None and tree_name.get(f"{{{XSI}}}type") is None  # exactly the declared DV_TEXT
    assert [etree.QName(c).localname for c in items] == ["name", "value"]
    assert parse_xml(to_xml(tree)) == tree


def test_writes_versions_as_version_with_xsi_type() -> None:
    version = OriginalVersion(data=Composition(archetype_node_id="x", name=DvText(value="c")))
    document = etree.fromstring(to_xml(version))
    assert document.tag == f"{{{V1}}}version" and document.get(f"{{{XSI}}}type") == "ORIGINAL_VERSION"
    data = document.find(f"{{{V1}}}data")
    assert data is not None and data.get(f"{{{XSI}}}type") == "COMPOSITION"
    assert parse_xml(to_xml(version)) == version
    pretty = to_xml(version, pretty=True)
    assert pretty.startswith(b"<?xml") and b"\n  <data" in pretty and parse_xml(pretty) == version


# --- errors ---

_MISSPELT_ELEMENT = _doc(
    _NAME + _ELEMENT_IN_TREE.format(value='<value xsi:type="DV_TEXT"><valu>x</valu></value>')
)


@pytest.mark.parametrize(
    ("text", "path", "words"),
    [
        ("<composition><name>", "/", "malformed XML"),
        ("", "/", "malformed XML"),
        ('<!DOCTYPE composition [<!ENTITY e "x">]><composition/>', "/", "DOCTYPE"),
        ("<banana/>", "/banana", "unknown document element 'banana'"),
        ('<composition xmlns="urn:other"/>', "/composition", "namespace"),
        (
            _MISSPELT_ELEMENT,
            "/composition/content[1]/data/items[1]/value/valu",
            "unknown element 'valu': DV_TEXT",
        ),
        (
            _doc(_NAME + _ELEMENT_IN_TREE.format(value='<value xsi:type="DV_TEXTT"/>')),
            "/composition/content[1]/data/items[1]/value/@xsi:type",
            "unknown xsi:type 'DV_TEXTT'",
        ),
        (
            _doc(_NAME + _ELEMENT_IN_TREE.format(value="<value><value>x</value></value>")),
            "/composition/content[1]/data/items[1]/value",
            "xsi:type is required: the declared type DATA_VALUE is abstract",
        ),
        (
            _doc(_NAME + '<content xsi:type="ELEMENT" archetype_node_id="at1"/>'),
            "/composition/content[1]/@xsi:type",
            "ELEMENT does not conform to the declared type CONTENT_ITEM",
        ),
        (
            _doc(
                _NAME
                + _ELEMENT_IN_TREE.format(
                    value='<value xsi:type="DV_COUNT"><magnitude>1.5</magnitude></value>'
                )
            ),
            "/composition/content[1]/data/items[1]/value/magnitude",
            "'1.5' is not an xs:integer",
        ),
        (
            _doc(
                _NAME
                + _ELEMENT_IN_TREE.format(value='<value xsi:type="DV_BOOLEAN"><value>yes</value></value>')
            ),
            "/composition/content[1]/data/items[1]/value/value",
            "'yes' is not an xs:boolean",
        ),
        (
            _doc(
                _NAME
                + _ELEMENT_IN_TREE.format(
                    value='<value xsi:type="DV_QUANTITY"><magnitude>1_0</magnitude><units>m</units></value>'
                )
            ),
            "/composition/content[1]/data/items[1]/value/magnitude",
            "'1_0' is not an xs:float",
        ),
        (_doc(_NAME + _NAME), "/composition/name[2]", "COMPOSITION.name is single-valued"),
        (
            _doc(_NAME, attrs='archetype_node_id="x" colour="red"'),
            "/composition/@colour",
            "unknown attribute 'colour'",
        ),
        (_doc(_NAME + "stray text"), "/composition", "text content is not allowed"),
        (_doc("<name><value><b>bold</b></value></name>"), "/composition/name/value", "found child elements"),
        (
            _doc(_NAME + "<archetype_node_id>x</archetype_node_id>"),
            "/composition/archetype_node_id",
            "must be an XML attribute",
        ),
        ('<version xmlns="http://schemas.openehr.org/v1"/>', "/version", "declared type VERSION is abstract"),
    ],
)
def test_errors_name_the_node_and_the_rule(text: str, path: str, words: str) -> None:
    with pytest.raises(FormatError) as caught:
        parse_xml(text)
    assert caught.value.path == path
    assert words in caught.value.reason


def test_values_doctests() -> None:
    assert doctest.testmod(cdr.formats.xml_values).failed == 0
