"""Every openEHR-coded value in the corpus compositions (canonical JSON) against the terminology.

Codes must be in their group, and the text must be the rubric in the composition's language (English
where the terminology has no translation). The few corpus values that break this are listed below, so
that the validator knows what EHRbase's own test data carries; a new mismatch, or a listed one that
disappears, fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from cdr.terminology import bindings_for_attribute, code_set_for_terminology, ism
from cdr.terminology import openehr_terms as terms
from tests.corpus import corpus_files, require_corpus

KIND = "composition/canonical_json"
_SPANISH = (
    "ehrbase-integration-tests/test_data_sets/compositions/CANONICAL_JSON/my_spanish_template_v0__.json"
)
_RELATED = "/context/participations/0/performer/relationship"

# file -> {(path, code, value)} whose value is not the rubric expected in the composition's language.
KNOWN_RUBRIC_MISMATCHES: dict[str, set[tuple[str, str, str]]] = {
    # A Spanish composition with English rubrics; the SDK's copy of the same example uses "evento"/"hogar".
    _SPANISH: {("/category", "433", "event"), ("/context/setting", "225", "home")},
    # 24 is "sister": the text names a different code of the same group.
    "ehrbase-integration-tests/test_data_sets/compositions/CANONICAL_JSON/"
    "nested.en.v1.same_template_id_and_uid_updated.json": {(_RELATED, "24", "brother")},
    # A typo for 23 "brother", in AQL data that EHRbase loads successfully.
    **{
        f"ehrbase-integration-tests/test_data_sets/query/data_load/compositions/minimal_observation_{i}"
        ".composition.json": {(_RELATED, "23", "bother")}
        for i in range(1, 5)
    },
    "ehrbase-openEHR_SDK/test-data/composition/canonical_json/time_series.json": {(_RELATED, "23", "bother")},
}


@dataclass(frozen=True)
class CodedValue:
    path: str
    group: str
    code: str
    value: str


def _coded_values(node: Any, path: str = "", attribute: str = "") -> Iterator[CodedValue]:
    """DV_CODED_TEXTs in the openehr terminology, with the group their attribute binds them to."""
    if isinstance(node, dict):
        code = node.get("defining_code")
        if isinstance(code, dict) and (code.get("terminology_id") or {}).get("value") == terms.TERMINOLOGY_ID:
            groups = [b.target for b in bindings_for_attribute(attribute) if b.kind == "group"]
            assert len(groups) == 1, f"{path}: no openEHR group is bound to {attribute!r}"
            yield CodedValue(path, groups[0], code["code_string"], node.get("value", ""))
        for key, child in node.items():
            yield from _coded_values(child, f"{path}/{key}", key)
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _coded_values(child, f"{path}/{i}", attribute)


def _code_phrases(node: Any, path: str = "") -> Iterator[tuple[str, str, str]]:
    """(path, terminology id, code) of every CODE_PHRASE."""
    if isinstance(node, dict):
        tid = node.get("terminology_id")
        if isinstance(tid, dict) and "code_string" in node:
            yield path, tid.get("value", ""), node["code_string"]
        for key, child in node.items():
            yield from _code_phrases(child, f"{path}/{key}")
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _code_phrases(child, f"{path}/{i}")


def _ism_transitions(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("current_state"), dict):
            yield node
        for child in node.values():
            yield from _ism_transitions(child)
    elif isinstance(node, list):
        for child in node:
            yield from _ism_transitions(child)


def _load(rel: str) -> dict[str, Any]:
    root = require_corpus()
    with open(root / rel, encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@pytest.mark.corpus
@pytest.mark.parametrize("rel", corpus_files(KIND))
def test_openehr_codes_and_rubrics(rel: str) -> None:
    composition = _load(rel)
    language = (composition.get("language") or {}).get("code_string", "en")
    mismatches = set()
    for coded in _coded_values(composition):
        assert terms.has_code(coded.group, coded.code), f"{coded.path}: {coded.code} not in {coded.group}"
        if not terms.rubric_matches(coded.code, coded.group, coded.value, language):
            mismatches.add((coded.path, coded.code, coded.value))
    assert mismatches == KNOWN_RUBRIC_MISMATCHES.get(rel, set())


@pytest.mark.corpus
@pytest.mark.parametrize("rel", corpus_files(KIND))
def test_code_set_codes(rel: str) -> None:
    for path, terminology_id, code in _code_phrases(_load(rel)):
        code_set = code_set_for_terminology(terminology_id)
        if code_set is not None:
            assert code_set.has(code), f"{path}: {code!r} not in {terminology_id}"


@pytest.mark.corpus
def test_corpus_covers_the_coded_attributes() -> None:
    require_corpus()
    groups: set[str] = set()
    code_sets: set[str] = set()
    for rel in corpus_files(KIND):
        composition = _load(rel)
        groups.update(c.group for c in _coded_values(composition))
        for _, terminology_id, _code in _code_phrases(composition):
            found = code_set_for_terminology(terminology_id)
            if found is not None:
                code_sets.add(found.code_set_id)
    assert groups >= {
        "composition_category",
        "setting",
        "participation_mode",
        "null_flavours",
        "instruction_states",
        "instruction_transitions",
        "event_math_function",
        "subject_relationship",
        "term_mapping_purpose",
    }
    assert code_sets >= {"languages", "countries", "character_sets", "media_types", "normal_statuses"}


@pytest.mark.corpus
def test_known_mismatches_are_still_acceptable_or_wrong_as_documented() -> None:
    require_corpus()
    # English rubrics in a Spanish composition are rubrics of the code in another language ...
    for _path, code, value in KNOWN_RUBRIC_MISMATCHES[_SPANISH]:
        group = "composition category" if code == "433" else "setting"
        assert terms.is_acceptable_rubric(code, group, value)
    # ... while "bother" and "brother" for 24 are the rubric of no language.
    assert not terms.is_acceptable_rubric("23", "subject relationship", "bother")
    assert not terms.is_acceptable_rubric("24", "subject relationship", "brother")


@pytest.mark.corpus
def test_ism_transitions_in_corpus_are_consistent() -> None:
    require_corpus()
    seen = 0
    for rel in corpus_files(KIND):
        for node in _ism_transitions(_load(rel)):
            state = node["current_state"]["defining_code"]["code_string"]
            assert ism.state_code(state) is not None, rel
            transition = node.get("transition")
            if isinstance(transition, dict):
                seen += 1
                move = transition["defining_code"]["code_string"]
                assert ism.ism_transition_consistent(move, state), (rel, move, state)
    assert seen > 0
