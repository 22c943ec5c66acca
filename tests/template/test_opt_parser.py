"""OPT 1.4 loading: the whole corpus, refusal of broken templates, parsed values of each constraint kind."""

from __future__ import annotations

from functools import cache

import pytest

from cdr.errors import TemplateError
from cdr.template import aom, load_opt, parse_opt
from cdr.template.opt_parser import parse_constraint
from cdr.template.paths import parse_path
from tests.corpus import CORPUS, corpus_files, index_rows, require_corpus

INVALID_DIR = "ehrbase-integration-tests/test_data_sets/invalid_templates"
CONSTRAINTS = "ehrbase-openEHR_SDK/validation-test-resources/constraints"
VALID = [p for p in corpus_files("opt") if not p.startswith(INVALID_DIR)]
TEMPLATE_IDS = {r["path"]: r["template_id"] for r in index_rows()}


def _invalid_files() -> list[str]:
    root = CORPUS / INVALID_DIR
    if not root.is_dir():
        return ["<corpus absent>"]
    return sorted(str(p.relative_to(CORPUS)) for p in root.rglob("*") if p.is_file())


@cache
def _load(rel: str) -> aom.OperationalTemplate:
    return load_opt(CORPUS / rel)


def _template(rel: str) -> aom.OperationalTemplate:
    require_corpus()
    return _load(rel)


def _constraint(name: str) -> aom.CObject:
    require_corpus()
    return parse_constraint((CORPUS / CONSTRAINTS / name).read_bytes())


# ------------------------------------------------------------------------------------ whole corpus


@pytest.mark.corpus
@pytest.mark.parametrize("rel", VALID)
def test_valid_corpus_template_loads(rel: str) -> None:
    tpl = _template(rel)
    assert tpl.template_id == (TEMPLATE_IDS[rel] or tpl.template_id)  # INDEX misses ns-prefixed OPTs
    assert tpl.concept
    assert isinstance(tpl.definition, aom.CArchetypeRoot) and tpl.definition.path == "/"
    assert tpl.definition.archetype_id.startswith("openEHR-EHR-")
    for node in tpl.nodes():
        assert node in tpl.find_all(node.path), node.path
        root = node.archetype_root
        assert root is not None and node.path.startswith(root.path.rstrip("/"))


@pytest.mark.corpus
@pytest.mark.parametrize("rel", _invalid_files())
def test_invalid_corpus_template_refused(rel: str) -> None:
    require_corpus()
    with pytest.raises(TemplateError) as info:
        load_opt(CORPUS / rel)
    err = info.value
    assert err.reasons and all(isinstance(r, str) and r for r in err.reasons)
    assert "template" in err.message or "operational" in err.message
    kind = rel.split("/")[3]
    expected = {
        "alien_tags": "unexpected element <bullfrog>",
        "multiple_elements": "given 2 times",
        "removed_mandatory_elements": ("missing mandatory element", "must not be empty"),
        "removed_template_id": ("template_id", "value"),
        "minimal_persistent": "root element is <{http://schemas.openehr.org/v1}composition>",
        "nested": "root element is <{http://schemas.openehr.org/v1}composition>",
        "empty_file": ("empty", "not well-formed", "missing mandatory element"),
    }[kind]
    if not rel.endswith((".opt", ".xml")):
        expected = "not well-formed XML"  # the directory's readme
    wanted = (expected,) if isinstance(expected, str) else expected
    assert any(w in r for r in err.reasons for w in wanted), err.reasons


def test_invalid_corpus_counts() -> None:
    require_corpus()
    files = _invalid_files()
    assert len(files) == 22
    assert sum(f.endswith(".xml") for f in files) == 2


# --------------------------------------------------------------------------------- refusal reasons


MINIMAL = "ehrbase-integration-tests/test_data_sets/valid_templates/minimal/minimal_action.opt"


def _minimal_bytes() -> bytes:
    require_corpus()
    return (CORPUS / MINIMAL).read_bytes()


def test_every_problem_is_reported_at_once() -> None:
    xml = _minimal_bytes().replace(b"<concept>Minimal action</concept>", b"<concept/><frog/>", 1)
    xml = xml.replace(b"<template_id>", b"<template_id><value>x</value></template_id><template_id>", 1)
    with pytest.raises(TemplateError) as info:
        parse_opt(xml)
    reasons = " | ".join(info.value.reasons)
    assert "<concept> must not be empty" in reasons
    assert "unexpected element <frog>" in reasons
    assert "<template_id> given 2 times" in reasons
    assert len(info.value.reasons) >= 3


def test_reasons_locate_the_problem_in_the_definition() -> None:
    xml = _minimal_bytes().replace(b"<rm_attribute_name>category</rm_attribute_name>", b"", 1)
    with pytest.raises(TemplateError) as info:
        parse_opt(xml)
    (reason,) = info.value.reasons
    assert "/template/definition/attributes" in reason and "<rm_attribute_name>" in reason
    assert reason.startswith("line ")


def test_bad_values_are_refused() -> None:
    xml = _minimal_bytes().replace(b"<lower>1</lower>", b"<lower>one</lower>", 1)
    xml = xml.replace(
        b"<lower_unbounded>false</lower_unbounded>", b"<lower_unbounded>maybe</lower_unbounded>", 1
    )
    with pytest.raises(TemplateError) as info:
        parse_opt(xml)
    reasons = " | ".join(info.value.reasons)
    assert "not a number: 'one'" in reasons and "not a boolean: 'maybe'" in reasons


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"{}", "not well-formed XML"),
        (b"<template xmlns='urn:other'/>", "root element is <{urn:other}template>"),
        (b"<template/>", "root element is <template>"),
        (b"<archetype xmlns='http://schemas.openehr.org/v1'/>", "root element is <"),
    ],
)
def test_not_a_template(xml: bytes, reason: str) -> None:
    with pytest.raises(TemplateError) as info:
        parse_opt(xml)
    assert reason in info.value.message


def test_load_opt_accepts_bytes_text_and_paths() -> None:
    xml = _minimal_bytes()
    by_bytes = parse_opt(xml)
    assert load_opt(xml.decode("utf-8")).template_id == by_bytes.template_id
    assert load_opt(CORPUS / MINIMAL).template_id == by_bytes.template_id
    assert load_opt(str(CORPUS / MINIMAL)).template_id == by_bytes.template_id


def test_misplaced_children_are_dropped_with_a_warning() -> None:
    tpl = _template(
        "ehrbase-integration-tests/test_data_sets/valid_templates/validation/clinical_content_validation.opt"
    )
    assert any("misplaced element <children>" in w for w in tpl.warnings)


def test_malformed_namespace_uri_is_tolerated_with_a_warning() -> None:
    tpl = _template("ehrbase-integration-tests/test_data_sets/valid_templates/cache/case.opt")
    assert any("not a valid URI" in w for w in tpl.warnings)
    assert any(isinstance(n, aom.CMultipleAttribute) or n.path != "/" for n in tpl.nodes())


# ------------------------------------------------------------------------------ template metadata


def test_minimal_template_metadata() -> None:
    tpl = _template(MINIMAL)
    assert tpl.template_id == "minimal_action.en.v1"
    assert tpl.concept == "Minimal action"
    assert tpl.language == aom.CodePhrase("ISO_639-1", "en")
    assert tpl.uid == "5c726a1c-dce0-401b-9638-4abd1101e320"
    desc = tpl.description
    assert desc is not None
    assert desc.lifecycle_state == "Initial"
    assert desc.original_author == {"Original Author": "Not Specified"}
    assert desc.other_details["MetaDataSet:Sample Set "] == "Template metadata sample set "
    assert desc.details["en"].purpose == "Not Specified"
    assert tpl.definition.archetype_id == "openEHR-EHR-COMPOSITION.minimal.v1"
    assert tpl.definition.rm_type_name == "COMPOSITION"
    assert tpl.definition.text() == "Minimal"


def test_annotations_view_and_constraints_sections() -> None:
    tpl = _template("ehrbase-ehrbase/service-test-resources/knowledge/non_unique_aql_paths.opt")
    key = next(p for p in tpl.annotations if p.endswith("/description[at0001]/items[at0063]"))
    assert tpl.annotations[key] == {"XSD label": "Dataelement_93_1", "Data model label": "SURGERY_LOCATION"}
    first = tpl.constraints[0]
    assert first.rm_attribute_name == "value"
    assert first.differential_path.endswith("/items[at0005, 'From event']")
    assert first.children[0].default_value == {"_type": "DV_TEXT", "value": "Primary diagnosis"}

    idcr = _template("ehrbase-ehrbase/service-test-resources/knowledge/IDCR - Immunisation summary.v0.opt")
    view_key = (
        "[openEHR-EHR-COMPOSITION.health_summary.v1]"
        "/content[openEHR-EHR-ACTION.immunisation_procedure.v1]/time"
    )
    assert idcr.view[view_key] == {"VisibleInView": "time"}


def test_terms_in_every_language_with_fallback() -> None:
    tpl = _template("ehrbase-integration-tests/test_data_sets/valid_templates/all_types/SSIAD PRIeSM.opt")
    assert tpl.languages[0] == tpl.default_language
    assert len(tpl.languages) >= 2
    other = next(lang for lang in tpl.languages if lang != tpl.default_language)
    root = next(r for r in tpl.archetype_roots() if other in r.term_definitions)
    code = next(iter(root.term_definitions[other]))
    assert root.term_text(code, other) == root.term_definitions[other][code].text
    # an unknown language falls back to the template language
    assert tpl.definition.text("xx") == tpl.definition.text(tpl.default_language)
    assert tpl.term_text("at0000") == tpl.definition.text()


# ----------------------------------------------------------------------------- constraint kinds


def test_c_dv_quantity() -> None:
    q = _constraint("dvquantity.xml")
    assert isinstance(q, aom.CDvQuantity)
    assert q.property == aom.CodePhrase("openehr", "382")
    (item,) = q.list
    assert item.units == "/min"
    assert item.magnitude is not None and item.magnitude.lower == 0 and item.magnitude.upper_unbounded
    assert item.precision is not None and (item.precision.lower, item.precision.upper) == (0, 0)
    assert q.item_for("/min") is item and q.item_for("kg") is None
    assert item.magnitude.contains(0.0) and not item.magnitude.contains(-0.1)


def test_c_boolean_and_c_integer_list() -> None:
    b = _constraint("dvboolean.xml")
    item = _only_primitive(b)
    assert isinstance(item, aom.CBoolean) and item.true_valid and not item.false_valid
    assert item.is_valid(True) and not item.is_valid(False)
    p = _constraint("dvproportion.xml")
    assert isinstance(p, aom.CComplexObject)
    type_attr = p.attribute("type")
    assert type_attr is not None
    integer = type_attr.children[0]
    assert isinstance(integer, aom.CPrimitiveObject) and isinstance(integer.item, aom.CInteger)
    assert integer.item.list == [0, 2, 3, 4] and integer.item.is_valid(2) and not integer.item.is_valid(1)


def test_c_integer_range_and_c_date_time_pattern() -> None:
    count = _only_primitive(_constraint("dvcount.xml"))
    assert isinstance(count, aom.CInteger) and count.range is not None
    assert count.range.lower == 0 and count.range.upper_unbounded and count.is_valid(10**6)
    dt = _only_primitive(_constraint("dvdatetime.xml"))
    assert isinstance(dt, aom.CDateTime) and dt.pattern == "yyyy-??-??T??:??:??"


def test_c_duration_ranges() -> None:
    rng = _only_primitive(_constraint("dvduration_range.xml"))
    assert isinstance(rng, aom.CDuration) and rng.range is not None
    assert (rng.range.lower, rng.range.upper) == ("PT1H", "PT24H")
    excluded = _only_primitive(_constraint("dvduration_excluded.xml"))
    assert isinstance(excluded, aom.CDuration) and excluded.pattern == "PYMWD"
    assert excluded.range is not None
    assert not excluded.range.lower_included and not excluded.range.upper_included
    hours = {"P0D": 0, "P1D": 24, "PT12H": 12}
    assert excluded.range.contains("PT12H", key=hours.__getitem__)
    assert not excluded.range.contains("P0D", key=hours.__getitem__)


def test_c_code_phrase_and_code_reference() -> None:
    coded = _constraint("dvcodedtext.xml")
    assert isinstance(coded, aom.CComplexObject)
    code = coded.attribute("defining_code")
    assert code is not None
    phrase = code.children[0]
    assert isinstance(phrase, aom.CCodePhrase) and phrase.is_local
    assert phrase.code_list == ["at0006", "at1028", "at0007", "at0008"]
    assert phrase.allows("local", "at0007") and not phrase.allows("local", "at9999")
    assert not phrase.allows("SNOMED-CT", "at0007")
    vs = _constraint("terminology/fhir_valueset.xml")
    ref = next(n for n in vs.walk() if isinstance(n, aom.CCodeReference))
    assert ref.reference_set_uri.startswith("terminology://fhir.hl7.org/ValueSet/$expand?url=")


def test_constraint_ref_code_reference_and_slots_in_a_template() -> None:
    tpl = _template("ehrbase-ehrbase/service-test-resources/knowledge/IDCR Allergies List.v0.opt")
    refs = [n for n in tpl.nodes() if isinstance(n, aom.ConstraintRef)]
    assert refs and refs[0].reference == "ac0.1" and refs[0].rm_type_name == "CODE_PHRASE"
    codes = [n for n in tpl.nodes() if isinstance(n, aom.CCodeReference)]
    assert "terminology:SNOMED-CT?subset=CausativeAgents" in {c.reference_set_uri for c in codes}
    slot = next(
        n
        for n in tpl.nodes()
        if isinstance(n, aom.ArchetypeSlot) and n.path.endswith("protocol[at0023]/items[at0024]")
    )
    (include,) = slot.includes
    assert include.patterns == [r"openEHR-EHR-CLUSTER\.record_provenance(-[a-zA-Z0-9_]+)*\.v1"]
    assert slot.admits("openEHR-EHR-CLUSTER.record_provenance.v1")
    assert slot.admits("openEHR-EHR-CLUSTER.record_provenance-uk.v1")
    assert not slot.admits("openEHR-EHR-CLUSTER.device.v1")
    bindings = tpl.definition.term_bindings
    assert all(isinstance(cp, aom.CodePhrase) for table in bindings.values() for cp in table.values())


def test_slot_semantics() -> None:
    any_id = aom.Assertion(patterns=[".*"])
    device = aom.Assertion(patterns=[r"openEHR-EHR-CLUSTER\.device\.v1"])
    assert aom.ArchetypeSlot("CLUSTER", includes=[any_id]).admits("openEHR-EHR-CLUSTER.x.v1")
    assert not aom.ArchetypeSlot("CLUSTER", includes=[device]).admits("openEHR-EHR-CLUSTER.x.v1")
    excluding = aom.ArchetypeSlot("CLUSTER", includes=[any_id], excludes=[device])
    assert excluding.admits("openEHR-EHR-CLUSTER.x.v1") and not excluding.admits(
        "openEHR-EHR-CLUSTER.device.v1"
    )


def test_c_dv_ordinal_and_scale() -> None:
    tpl = _template(
        "ehrbase-ehrbase/service-test-resources/knowledge/Vital Signs Encounter (Composition).opt"
    )
    ordinal = next(n for n in tpl.nodes() if isinstance(n, aom.CDvOrdinal))
    assert ordinal.rm_type_name == "DV_ORDINAL" and ordinal.list
    first = ordinal.list[0]
    assert isinstance(first.value, int) and first.symbol.terminology_id == "local"
    assert ordinal.item_for(code=first.symbol.code_string) is first
    root = ordinal.archetype_root
    assert root is not None and root.term_text(first.symbol.code_string)
    scale_tpl = _template(
        "ehrbase-openEHR_SDK/test-data/operationaltemplate/unsupported_data_type_dv_scale.opt"
    )
    scale = next(n for n in scale_tpl.nodes() if isinstance(n, aom.CDvScale))
    assert [i.value for i in scale.list][:2] == [1.0, 1.5]


def test_blood_pressure_paths_and_find() -> None:
    tpl = _template(
        "ehrbase-integration-tests/test_data_sets/valid_templates/all_types/ehrn_vital_signs.v2.opt"
    )
    path = (
        "/content[openEHR-EHR-SECTION.vital_signs.v1]/items[openEHR-EHR-OBSERVATION.blood_pressure.v2]"
        "/data[at0001]/events[at0006]/data[at0003]/items[at0004]/value"
    )
    systolic = tpl.find(path)
    assert isinstance(systolic, aom.CDvQuantity) and systolic.path == path
    assert systolic.item_for("mm[Hg]") is not None
    element = tpl.find(path.removesuffix("/value"))
    assert element is not None and element.rm_type_name == "ELEMENT"
    assert element.text("en") == "Systolic"
    root = systolic.archetype_root
    assert root is not None and root.archetype_id == "openEHR-EHR-OBSERVATION.blood_pressure.v2"
    assert systolic.parent is not None and systolic.parent.rm_attribute_name == "value"
    assert systolic.parent_object is element
    # predicates beyond the node id do not change resolution
    assert tpl.find(path.replace("events[at0006]", "events[at0006, 'any event']")) is systolic
    assert tpl.find("/content[openEHR-EHR-SECTION.nope.v1]") is None


_OCC = (
    "<occurrences><lower_unbounded>false</lower_unbounded><upper_unbounded>true</upper_unbounded>"
    "<lower>0</lower></occurrences>"
)
_EXISTENCE = _OCC.replace("occurrences", "existence")
_CARD = (
    "<cardinality><is_ordered>true</is_ordered><is_unique>false</is_unique>"
    "<interval><lower_unbounded>false</lower_unbounded><upper_unbounded>true</upper_unbounded><lower>0</lower>"
    "</interval></cardinality>"
)
INTERNAL_REF = f"""<c xmlns="http://schemas.openehr.org/v1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xsi:type="C_COMPLEX_OBJECT"><rm_type_name>CLUSTER</rm_type_name>{_OCC}<node_id>at0000</node_id>
 <attributes xsi:type="C_MULTIPLE_ATTRIBUTE"><rm_attribute_name>items</rm_attribute_name>{_EXISTENCE}
  <children xsi:type="C_COMPLEX_OBJECT"><rm_type_name>ELEMENT</rm_type_name>{_OCC}<node_id>at0001</node_id>
  </children>
  <children xsi:type="ARCHETYPE_INTERNAL_REF"><rm_type_name>ELEMENT</rm_type_name>{_OCC}
   <node_id>at0002</node_id><target_path>/items[at0001]</target_path></children>
 {_CARD}</attributes></c>""".encode()


def test_archetype_internal_ref_resolves_lazily() -> None:
    cluster = parse_constraint(INTERNAL_REF)
    ref = cluster.walk()
    nodes = list(ref)
    target, internal = nodes[1], nodes[2]
    assert isinstance(internal, aom.ArchetypeInternalRef) and internal.target_path == "/items[at0001]"
    assert internal.path == "/items[at0002]"
    assert internal.target is target
    attr = internal.parent
    assert isinstance(attr, aom.CMultipleAttribute) and attr.cardinality is not None
    assert (
        attr.cardinality.is_ordered
        and not attr.cardinality.is_unique
        and attr.cardinality.interval.upper_unbounded
    )


# -------------------------------------------------------------------------------- small pieces


def test_interval() -> None:
    closed = aom.Interval(1, 3)
    assert closed.contains(1) and closed.contains(3) and not closed.contains(4)
    half_open = aom.Interval(0, 10, lower_included=False, upper_included=False)
    assert not half_open.contains(0) and half_open.contains(5) and not half_open.contains(10)
    unbounded = aom.Interval[int](0, None)
    assert unbounded.upper_unbounded and unbounded.contains(10**9) and str(unbounded) == "0..*"


def test_parse_path() -> None:
    root, segments = parse_path(
        "[openEHR-EHR-COMPOSITION.x.v1]/content[openEHR-EHR-SECTION.y.v1 and name/value='a/b']/items"
    )
    assert root == "openEHR-EHR-COMPOSITION.x.v1"
    assert [(s.attribute, s.node_id) for s in segments] == [
        ("content", "openEHR-EHR-SECTION.y.v1"),
        ("items", ""),
    ]


def _only_primitive(node: aom.CObject) -> aom.CPrimitive | None:
    items = [n.item for n in node.walk() if isinstance(n, aom.CPrimitiveObject)]
    assert len(items) == 1
    return items[0]
