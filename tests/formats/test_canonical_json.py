"""Canonical JSON: the whole corpus reads and round-trips; malformed input is refused with a JSON pointer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cdr.errors import FormatError
from cdr.formats.canonical_json import dumps, parse_json, to_json
from cdr.formats.contribution_json import parse_contribution_json
from cdr.rm import (
    RM_TYPES,
    Composition,
    DvCodedText,
    DvCount,
    DvQuantity,
    DvText,
    EhrStatus,
    Element,
    Folder,
    OriginalVersion,
)
from cdr.rm.invariants import check, missing_mandatory
from cdr.rm.walk import walk
from tests.corpus import CORPUS, corpus_files, require_corpus
from tests.rm.json_compare import assert_same_json, normalise

IT = "ehrbase-integration-tests/test_data_sets"
SDK = "ehrbase-openEHR_SDK/test-data"
FEEDER_AUDIT_PATH = "/content/2/items/0/items/0/items/0/feeder_system_audit"

# Corpus documents that are not canonical JSON as RM 1.1.0 defines it: pointer of the first offence and the
# rule broken. EHRbase's reader ignores unknown attributes, so all but rawdb read with strict=False.
REJECTED_COMPOSITIONS = {
    # an EtherCIS database dump keyed by paths, not canonical JSON at all
    f"{SDK}/composition/canonical_json/rawdb_composition.json": ("/content", "must be an array"),
    # FEEDER_AUDIT_DETAILS attribute put directly on an INSTRUCTION
    f"{IT}/aql/data_load/compositions/external/all_types_systematic_tests_feeder_audit.json": (
        FEEDER_AUDIT_PATH,
        "unknown attribute 'feeder_system_audit'",
    ),
    f"{SDK}/composition/canonical_json/all_types_systematic_tests_feeder_audit.json": (
        FEEDER_AUDIT_PATH,
        "unknown attribute 'feeder_system_audit'",
    ),
    # "type" written where "_type" was meant
    f"{IT}/compositions/CANONICAL_JSON/Test_dv_ordinal_open_constraint.v0__.json": (
        "/content/0/data/events/0/data/items/0/value/symbol/type",
        "unknown attribute 'type'",
    ),
    # EVALUATION.time_asserted is not an RM 1.1.0 attribute
    f"{IT}/compositions/CANONICAL_JSON/family_history.v.1.2.3__.json": (
        "/content/0/time_asserted",
        "unknown attribute 'time_asserted'",
    ),
}
NOT_JSON_RM = {f"{SDK}/composition/canonical_json/rawdb_composition.json"}

COMPOSITIONS = [p for p in corpus_files("composition/canonical_json") if p not in REJECTED_COMPOSITIONS]


def load(rel: str) -> Any:
    return json.loads((require_corpus() / rel).read_bytes())


def assert_round_trip(data: dict[str, Any], rm_type: str, *, strict: bool = True) -> None:
    obj = parse_json(data, rm_type, strict=strict)
    assert obj.rm_type == data.get("_type", rm_type)
    assert_same_json(to_json(obj), normalise(data, RM_TYPES[rm_type], drop_unknown=not strict))
    # the text form reads back to the same model
    assert parse_json(dumps(obj)) == obj


# --- the corpus ------------------------------------------------------------------------------------------


@pytest.mark.corpus
@pytest.mark.parametrize("rel", COMPOSITIONS)
def test_corpus_composition_round_trips(rel: str) -> None:
    data = load(rel)
    obj = parse_json((CORPUS / rel).read_bytes())
    assert isinstance(obj, Composition)
    assert_round_trip(data, "COMPOSITION")


@pytest.mark.corpus
@pytest.mark.parametrize("rel", sorted(REJECTED_COMPOSITIONS))
def test_corpus_non_canonical_composition_is_rejected(rel: str) -> None:
    pointer, rule = REJECTED_COMPOSITIONS[rel]
    data = load(rel)
    with pytest.raises(FormatError) as err:
        parse_json(data)
    assert err.value.path == pointer
    assert rule in err.value.reason
    if rel not in NOT_JSON_RM:
        # like EHRbase, the lenient reader skips the unknown attribute and keeps everything else
        assert_round_trip(data, "COMPOSITION", strict=False)
    else:
        with pytest.raises(FormatError):
            parse_json(data, strict=False)


def _files(*patterns: str) -> list[str]:
    if not (CORPUS / "INDEX.tsv").is_file():
        return ["<corpus absent>"]
    return sorted(str(p.relative_to(CORPUS)) for pattern in patterns for p in CORPUS.glob(pattern))


EHR_STATUS_FILES = _files(f"{IT}/ehr/**/*.json", f"{SDK}/ehr/**/*.json", f"{IT}/aql/data_load/ehrs/*.json")
FOLDER_FILES = _files(
    f"{IT}/directory/**/*.json", f"{SDK}/folder/canonical_json/*.json", f"{IT}/aql/data_load/folder/*.json"
)

# EHR_STATUS bodies EHRbase refuses, and how they fail here: at reading (pointer; read as an EHR_STATUS
# except "format-root", read with no expected type so that the root _type is required) or as RM problems
# found on the parsed tree (missing mandatory attribute or broken invariant, as "TYPE.name").
EHR_STATUS_INVALID: dict[str, tuple[str, str]] = {
    "000_ehr_status_type_missing.json": ("format-root", "/"),
    "000_ehr_status_ecis.json": ("format", "/subjectId"),  # the EhrScape 'ecis' shape, not canonical JSON
    "001_ehr_status_subject_missing.json": ("missing", "EHR_STATUS.subject"),
    "002_ehr_status_subject_and_archetype_and_name_missing.json": ("missing", "EHR_STATUS.subject"),
    "003_ehr_status_subject_id_empty.json": ("format", "/subject/external_ref/id"),
    "004_ehr_status_subject_id_missing.json": ("missing", "PARTY_REF.id"),
    "005_ehr_status_subject_namespace_missing.json": ("missing", "PARTY_REF.namespace"),
    "006_ehr_status_subject_namespace_empty.json": ("invariant", "PARTY_REF.Namespace_exists"),
    "007_ehr_status_is_modifiable_missing.json": ("missing", "EHR_STATUS.is_modifiable"),
    "008_ehr_status_is_queryable_missing.json": ("missing", "EHR_STATUS.is_queryable"),
    "009_ehr_status_is_mod_and_is_quer_missing.json": ("missing", "EHR_STATUS.is_queryable"),
}
# RM-valid although EHRbase refuses it: EHRbase requires subject.external_ref, the RM does not.
EHR_STATUS_SERVICE_RULE = {"001_ehr_status_subject_empty.json"}

FOLDER_INVALID = {
    "folder_with_items.json": ("/folders/0/items/0/id/_type", "unknown _type 'OBJECT_REF_ID'"),
    "folder_without_duplicates.json": ("/folders/1/name/name", "unknown attribute 'name'"),
    "simple_empty_folder.json": ("/path", "unknown attribute 'path'"),
}


def rm_problems(obj: Any) -> set[str]:
    """Every missing mandatory attribute and broken invariant in the tree, as "TYPE.name"."""
    found = set()
    for _, node in walk(obj):
        found |= {f"{node.rm_type}.{name}" for name in missing_mandatory(node)}
        found |= {f"{node.rm_type}.{inv.name}" for inv in check(node)}
    return found


@pytest.mark.corpus
@pytest.mark.parametrize("rel", EHR_STATUS_FILES)
def test_corpus_ehr_status(rel: str) -> None:
    data = load(rel)
    name = Path(rel).name
    expected = EHR_STATUS_INVALID.get(name)
    if expected is not None and expected[0].startswith("format"):
        with pytest.raises(FormatError) as err:
            parse_json(data, None if expected[0] == "format-root" else "EHR_STATUS")
        assert err.value.path == expected[1]
        return
    obj = parse_json(data, "EHR_STATUS")
    assert isinstance(obj, EhrStatus)
    assert_round_trip(data, "EHR_STATUS")
    if expected is not None:
        assert expected[1] in rm_problems(obj)
    elif name in EHR_STATUS_SERVICE_RULE:
        assert obj.subject is not None and obj.subject.external_ref is None
    else:
        assert "/invalid/" not in rel
        assert not {p for p in rm_problems(obj) if not p.endswith("Value_valid")}


@pytest.mark.corpus
@pytest.mark.parametrize("rel", FOLDER_FILES)
def test_corpus_folder(rel: str) -> None:
    data = load(rel)
    invalid = FOLDER_INVALID.get(Path(rel).name)
    if invalid is not None:
        with pytest.raises(FormatError) as err:
            parse_json(data, "FOLDER")
        assert (err.value.path, invalid[1] in err.value.reason) == (invalid[0], True)
        return
    assert isinstance(parse_json(data, "FOLDER"), Folder)
    assert_round_trip(data, "FOLDER")


INVALID_TEXT = "/versions/1/data/content/0/invalid_text"
CONTRIBUTION_INVALID = {
    # an INSTRUCTION with an attribute the RM does not have
    f"{IT}/contributions/invalid/multiple_valid_and_invalid_compos.json": INVALID_TEXT,
    f"{IT}/contributions/invalid/ref_to_non_existent_OPT.json": INVALID_TEXT,
    f"{IT}/valid_templates/invalid_contributions/multiple_valid_and_invalid_compos.json": (
        "/versions/1/data/content/0/invalid_text"
    ),
    f"{IT}/valid_templates/invalid_contributions/ref_to_non_existent_OPT.json": (
        "/versions/1/data/content/0/invalid_text"
    ),
    # a whole CONTRIBUTION nested as the data of a version
    f"{IT}/contributions/valid/minimal/minimal_admin.contribution.creation_modification.json": (
        "/versions/0/data/_type"
    ),
    f"{IT}/valid_templates/minimal/minimal_admin.contribution.creation_modification.json": (
        "/versions/0/data/_type"
    ),
    # FOLDER.items written on a COMPOSITION
    f"{IT}/contributions/valid/minimal/contribution.create_composition.modification_folder_with_items.json": (
        "/versions/1/data/items"
    ),
    # EHRbase's internal DTO name as _type (and its 'branch' flag on every version)
    f"{IT}/contributions/valid/minimal/contribution.create_multiple_compositions.json": "/_type",
}


@pytest.mark.corpus
@pytest.mark.parametrize("rel", corpus_files("contribution"))
def test_corpus_contribution(rel: str) -> None:
    data = load(rel)
    pointer = CONTRIBUTION_INVALID.get(rel)
    if pointer is not None:
        with pytest.raises(FormatError) as err:
            parse_contribution_json(data)
        assert err.value.path == pointer
        return
    payload = parse_contribution_json(data)
    assert len(payload.versions) == len(data["versions"])
    if rel.endswith("no_versions.json"):
        assert payload.versions == []
    for version, version_data in zip(payload.versions, data["versions"]):
        assert isinstance(version, OriginalVersion)
        assert_round_trip(version_data, "ORIGINAL_VERSION")
        if version_data.get("data") is not None:
            assert version.data is not None and version.data.rm_type == version_data["data"]["_type"]


# --- reading: types --------------------------------------------------------------------------------------


def element(value: dict[str, Any]) -> dict[str, Any]:
    return {"_type": "ELEMENT", "archetype_node_id": "at0001", "name": {"value": "x"}, "value": value}


def test_type_implied_by_a_concrete_declared_type() -> None:
    obj = parse_json({"_type": "ELEMENT", "archetype_node_id": "at1", "name": {"value": "n"}})
    assert isinstance(obj, Element) and type(obj.name) is DvText and obj.name.value == "n"
    assert to_json(obj)["name"] == {"_type": "DV_TEXT", "value": "n"}


def test_subtype_given_by_type_is_kept() -> None:
    data = {
        "_type": "DV_CODED_TEXT",
        "value": "v",
        "defining_code": {"terminology_id": {"value": "t"}, "code_string": "c"},
    }
    obj = parse_json(element(data))
    assert isinstance(obj, Element) and isinstance(obj.value, DvCodedText)
    assert obj.value.defining_code is not None and obj.value.defining_code.code_string == "c"


def test_rm_type_argument_gives_the_root_type() -> None:
    assert isinstance(parse_json('{"value": "x"}', "DV_TEXT"), DvText)
    assert isinstance(parse_json('{"_type": "DV_CODED_TEXT", "value": "x"}', "DV_TEXT"), DvCodedText)


@pytest.mark.parametrize(
    ("doc", "rm_type", "path", "rule"),
    [
        ('{"value": "x"}', None, "/", "_type is required"),
        ('{"_type": "DV_TEXT"}', "DV_QUANTITY", "/_type", "does not conform to DV_QUANTITY"),
        ('{"_type": "DV_WHATEVER"}', None, "/_type", "unknown _type 'DV_WHATEVER'"),
        ('{"_type": 7}', None, "/_type", "_type must be a string"),
        ('{"_type": {"x": 1}}', "DV_TEXT", "/_type", "_type must be a string"),  # was a 500 (unhashable)
        ('{"_type": ["DV_TEXT"]}', "DV_TEXT", "/_type", "_type must be a string"),
        ('{"_type": "DATA_VALUE"}', "DATA_VALUE", "/_type", "abstract"),
        ('{"value": "x"}', "DATA_VALUE", "/", "the declared type DATA_VALUE is abstract"),
        ('{"value": "x"}', "NO_SUCH_TYPE", "/", "unknown RM type"),
        ("[1, 2]", "DV_TEXT", "/", "expected a JSON object"),
        ("{not json", "DV_TEXT", "/", "not valid JSON"),
        (b"\xff\xfe{", "DV_TEXT", "/", "not valid JSON"),
    ],
)
def test_root_errors(doc: str | bytes, rm_type: str | None, path: str, rule: str) -> None:
    with pytest.raises(FormatError) as err:
        parse_json(doc, rm_type)
    assert err.value.path == path
    assert rule in err.value.reason


def composition_with_value(value: Any) -> dict[str, Any]:
    """A composition whose second event holds ``value`` (at /content/0/data/events/1/data/items/0/value)."""
    event = {
        "_type": "POINT_EVENT",
        "archetype_node_id": "at0002",
        "name": {"value": "e"},
        "time": {"value": "2021-01-01T00:00:00Z"},
        "data": {"_type": "ITEM_TREE", "archetype_node_id": "at0003", "name": {"value": "t"}, "items": []},
    }
    second = json.loads(json.dumps(event))
    second["data"]["items"] = [element(value)]
    return {
        "_type": "COMPOSITION",
        "archetype_node_id": "openEHR-EHR-COMPOSITION.c.v1",
        "name": {"value": "c"},
        "content": [
            {
                "_type": "OBSERVATION",
                "archetype_node_id": "openEHR-EHR-OBSERVATION.o.v1",
                "name": {"value": "o"},
                "data": {"archetype_node_id": "at0001", "name": {"value": "h"}, "events": [event, second]},
            }
        ],
    }


VALUE_PATH = "/content/0/data/events/1/data/items/0/value"


@pytest.mark.parametrize(
    ("value", "suffix", "rule"),
    [
        (
            {"_type": "DV_QUANTITY", "magnitude": "heavy", "units": "kg"},
            "/magnitude",
            "must be a number, got a string",
        ),
        (
            {"_type": "DV_QUANTITY", "magnitude": True, "units": "kg"},
            "/magnitude",
            "must be a number, got a boolean",
        ),
        ({"_type": "DV_COUNT", "magnitude": 1.5}, "/magnitude", "must be an integer"),
        ({"_type": "DV_TEXT", "value": 12}, "/value", "DV_TEXT.value must be a string, got a number"),
        ({"_type": "DV_BOOLEAN", "value": "true"}, "/value", "must be a boolean"),
        ({"_type": "DV_TEXT", "value": "x", "mappings": {}}, "/mappings", "must be an array, got an object"),
        (
            {"_type": "DV_TEXT", "value": "x", "mappings": [{"match": "="}, 3]},
            "/mappings/1",
            "expected a JSON object",
        ),
        ({"_type": "DV_TEXT", "value": "x", "colour": "red"}, "/colour", "unknown attribute 'colour'"),
        ({"_type": "DV_TEXT", "value": "x", "a/b~c": 1}, "/a~1b~0c", "unknown attribute 'a/b~c'"),
        (
            {"_type": "DV_TEXT", "value": "x", "hyperlink": "http://x"},
            "/hyperlink",
            "expected a JSON object (DV_URI)",
        ),
        ({"_type": "DV_FOO"}, "/_type", "unknown _type 'DV_FOO'"),
        ({"_type": "ELEMENT"}, "/_type", "ELEMENT does not conform to DATA_VALUE"),
        (
            {"_type": "DV_INTERVAL", "lower": {"_type": "DV_TEXT", "value": "a"}},
            "/lower/_type",
            "conform to DV_ORDERED",
        ),
        ({"_type": "DV_INTERVAL", "lower": {"magnitude": 1}}, "/lower", "DV_ORDERED is abstract"),
    ],
)
def test_errors_are_located_by_json_pointer(value: dict[str, Any], suffix: str, rule: str) -> None:
    with pytest.raises(FormatError) as err:
        parse_json(composition_with_value(value))
    assert err.value.path == VALUE_PATH + suffix
    assert rule in err.value.reason
    assert str(err.value).startswith(VALUE_PATH + suffix + ": ")


def test_a_valid_value_at_the_same_place_reads() -> None:
    obj = parse_json(composition_with_value({"_type": "DV_QUANTITY", "magnitude": 7, "units": "kg"}))
    assert isinstance(obj, Composition) and obj.content is not None
    quantity = obj.content[0].data.events[1].data.items[0].value  # type: ignore[attr-defined]
    assert (
        isinstance(quantity, DvQuantity)
        and quantity.magnitude == 7.0
        and isinstance(quantity.magnitude, float)
    )


def test_numbers_sent_as_strings_are_read_as_numbers() -> None:
    # EHRbase (Jackson) coerces numeric strings; several corpus compositions rely on it
    q = parse_json({"_type": "DV_QUANTITY", "magnitude": "130.5", "units": "mm[Hg]", "precision": "1"})
    assert isinstance(q, DvQuantity) and (q.magnitude, q.precision) == (130.5, 1)
    c = parse_json({"_type": "DV_COUNT", "magnitude": "3"})
    assert isinstance(c, DvCount) and c.magnitude == 3
    with pytest.raises(FormatError, match="must be an integer"):
        parse_json({"_type": "DV_COUNT", "magnitude": "3.5"})
    with pytest.raises(FormatError, match="must be a number"):
        parse_json({"_type": "DV_QUANTITY", "magnitude": "1e", "units": "kg"})


def test_integral_floats_are_accepted_for_integers() -> None:
    c = parse_json({"_type": "DV_COUNT", "magnitude": 4.0})
    assert isinstance(c, DvCount) and c.magnitude == 4 and isinstance(c.magnitude, int)


def _refused_at(text: str, message: str) -> str:
    """The path of the error ``text`` is refused with, read both as text and as bytes."""
    paths = set()
    for doc in (text, text.encode("utf-8")):
        with pytest.raises(FormatError, match=message) as err:
            parse_json(doc)
        paths.add(err.value.path)
    assert len(paths) == 1
    return paths.pop()


@pytest.mark.parametrize(
    "literal", ["9223372036854775808", "-9223372036854775809", "123456789012345678901234567890"]
)
def test_integers_beyond_64_bits_are_refused_in_integer_attributes(literal: str) -> None:
    # orjson reads such literals as floats (so int(float) would change the number) and the standard library
    # as exact ints: either way the attribute cannot hold it, and nothing is silently rounded
    text = '{"_type": "DV_COUNT", "magnitude": ' + literal + "}"
    assert _refused_at(text, "must be an integer of at most 64 bits") == "/magnitude"
    edge = parse_json('{"_type": "DV_COUNT", "magnitude": 9223372036854775807}')
    assert isinstance(edge, DvCount) and edge.magnitude == 2**63 - 1


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", '"1e400"'])
def test_real_attributes_refuse_what_no_json_number_is(literal: str) -> None:
    # the standard library reads NaN and Infinity, and 1e400 overflows to infinity: the stored canonical JSON
    # could not hold any of them (orjson wrote null: the magnitude silently gone)
    text = '{"_type": "DV_QUANTITY", "magnitude": ' + literal + ', "units": "Cel"}'
    assert _refused_at(text, "must be a finite number") == "/magnitude"


def test_big_integer_literals_in_real_attributes_read_as_the_nearest_double() -> None:
    q = parse_json(b'{"_type": "DV_QUANTITY", "magnitude": 123456789012345678901234567890, "units": "1"}')
    assert isinstance(q, DvQuantity) and q.magnitude == float(123456789012345678901234567890)


@pytest.mark.parametrize(
    ("body", "magnitude"),
    [
        ('{"_type": "DV_QUANTITY", "magnitude": 1.5, "units": "kg"}'.encode("utf-16"), 1.5),  # BOM, UTF-16
        (b'{"_type": "DV_QUANTITY", "magnitude": 2.5, "units": "\\ud800"}', 2.5),  # a lone surrogate
    ],
)
def test_bodies_only_the_standard_library_reads_are_still_read(body: bytes, magnitude: float) -> None:
    q = parse_json(body)
    assert isinstance(q, DvQuantity) and q.magnitude == magnitude


def test_lenient_reading_skips_unknown_attributes_only() -> None:
    data = {"_type": "DV_TEXT", "value": "x", "colour": "red"}
    obj = parse_json(data, strict=False)
    assert to_json(obj) == {"_type": "DV_TEXT", "value": "x"}
    with pytest.raises(FormatError, match="must be a string"):
        parse_json({"_type": "DV_TEXT", "value": 1, "colour": "red"}, strict=False)


def test_missing_mandatory_attributes_still_read() -> None:
    obj = parse_json({"_type": "DV_QUANTITY"})
    assert isinstance(obj, DvQuantity) and obj.magnitude is None
    assert missing_mandatory(obj) == ["magnitude", "units"]


# --- writing ---------------------------------------------------------------------------------------------


def test_writer_emits_type_everywhere_omits_none_and_keeps_empty_lists() -> None:
    data = {"_type": "ELEMENT", "archetype_node_id": "at1", "name": {"value": "n", "mappings": []}}
    out = to_json(parse_json(data))
    assert out == {
        "_type": "ELEMENT",
        "archetype_node_id": "at1",
        "name": {"_type": "DV_TEXT", "value": "n", "mappings": []},
    }


def test_null_is_read_as_absent() -> None:
    obj = parse_json({"_type": "DV_TEXT", "value": "x", "formatting": None, "mappings": None})
    assert isinstance(obj, DvText) and obj.formatting is None and obj.mappings is None
    assert to_json(obj) == {"_type": "DV_TEXT", "value": "x"}


def test_models_built_in_code_are_written() -> None:
    obj = Element(
        archetype_node_id="at0004", name=DvText(value="Weight"), value=DvQuantity(magnitude=72.5, units="kg")
    )
    text = dumps(obj)
    assert json.loads(text)["value"] == {"_type": "DV_QUANTITY", "magnitude": 72.5, "units": "kg"}
    assert parse_json(text) == obj


def test_dumps_keeps_non_ascii_text() -> None:
    assert "Größe" in dumps(DvText(value="Größe"))


def test_parsed_models_are_ordinary_pydantic_models() -> None:
    obj = parse_json({"_type": "DV_TEXT", "value": "x"})
    assert obj.model_fields_set == {"value"}
    assert obj.model_copy(update={"value": "y"}) == DvText(value="y")
    assert obj.model_dump(exclude_none=True) == {"value": "x"}


def test_every_concrete_class_round_trips_empty() -> None:
    for name, cls in RM_TYPES.items():
        if cls.rm_abstract:
            continue
        assert to_json(parse_json({"_type": name})) == {"_type": name}


def test_lenient_reading_reports_the_attributes_it_skips() -> None:
    ignored: list[str] = []
    doc = {
        "_type": "DV_CODED_TEXT",
        "value": "x",
        "weight": 3,
        "defining_code": {"terminology_id": {"value": "local", "a/b": 1}, "code_string": "at1"},
    }
    obj = parse_json(doc, strict=False, ignored=ignored)
    assert obj.value == "x"  # type: ignore[attr-defined]
    assert sorted(ignored) == ["/defining_code/terminology_id/a~1b", "/weight"]
