"""TERMINOLOGY() evaluated from the openEHR terminology (aql.terminology): each operation of AQL 1.1's list,
the parameter forms read, and the clear refusals for terminologies this CDR does not hold."""

from __future__ import annotations

import pytest

from aql.errors import AqlSemanticError, AqlUnsupported
from aql.terminology import evaluate, parameters


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("expand", "composition category", ("431", "451", "433", "815")),
        ("expand", "url=http://openehr.org/terminology/composition_category", ("431", "451", "433", "815")),
        ("expand", "terminology://openehr/composition_category", ("431", "451", "433", "815")),
        ("EXPAND", "system=openehr&url=openehr::composition_category", ("431", "451", "433", "815")),
        ("validate", "system=openehr&code=433&url=composition_category", True),
        ("validate", "code=433&url=setting", False),
        ("validate", "code=433", True),  # the whole terminology
        ("validate", "code=225&url=setting&display=hogar", True),  # a rubric in any language
        ("validate", "code=225&url=setting&display=casa", False),
        ("validate", "code=en&url=ISO_639-1", True),
        ("validate", "code=EN&url=languages", True),  # language tags compare case-insensitively
        ("lookup", "system=openehr&code=225&url=setting", "home"),
        ("lookup", "code=225&url=setting&displayLanguage=es", "hogar"),
        ("lookup", "code=225&url=setting&displayLanguage=de", "home"),  # not translated: English
        ("lookup", "code=532&url=version_lifecycle_state", "complete"),
        ("lookup", "code=532&url=instruction_states", "completed"),
        ("lookup", "code=999&url=setting", None),
        ("lookup", "code=NO&url=countries", "NORWAY"),
        ("map", "system=openehr&code=225&source=setting&target=setting", ("225",)),
        ("map", "code=225&source=setting&target=composition_category", ()),
        ("subsumes", "system=openehr&codeA=433&codeB=433", True),
        ("subsumes", "codeA=433&codeB=431", False),
    ],
)
def test_operations_on_the_openehr_terminology(operation: str, params: str, expected: object) -> None:
    assert evaluate(operation, params) == expected


def test_expand_of_the_whole_terminology_and_of_a_code_set() -> None:
    every = evaluate("expand", "openehr")
    assert isinstance(every, tuple) and {"433", "225", "532", "253"} <= set(every)
    assert len(every) == len(set(every))
    languages = evaluate("expand", "url=ISO_639-1")
    assert isinstance(languages, tuple) and "nb" in languages


def test_parameters_keep_uris_with_their_own_query() -> None:
    assert parameters("url=http://snomed.info/sct?fhir_vs=isa/50697003&code=1") == {
        "url": "http://snomed.info/sct?fhir_vs=isa/50697003",
        "code": "1",
    }
    assert parameters("http://snomed.info/sct?fhir_vs=isa/50697003") == {
        "url": "http://snomed.info/sct?fhir_vs=isa/50697003"
    }
    assert parameters("code=1&display=Astrovirus%20RNA+assay") == {
        "code": "1",
        "display": "Astrovirus RNA assay",
    }


@pytest.mark.parametrize(
    ("operation", "params", "feature"),
    [
        ("expand", "http://snomed.info/sct?fhir_vs=isa/50697003", "TERMINOLOGY snomed.info"),
        ("expand", "url=http://snomed.info/sct?fhir_vs=isa/50697003", "TERMINOLOGY snomed.info"),
        (
            "validate",
            "system=http://snomed.info/sct&code=122298005&url=http://snomed.info/sct?fhir_vs",
            "TERMINOLOGY snomed.info",
        ),
        ("lookup", "system=http://loinc.org&code=1963-8", "TERMINOLOGY loinc.org"),
        ("expand", "terminology://snomed-ct/hierarchy?rootConceptId=50043002", "TERMINOLOGY snomed-ct"),
        ("expand", "icd10-value-set", "TERMINOLOGY 'icd10-value-set'"),
        ("translate", "code=1", "TERMINOLOGY operation 'translate'"),
    ],
)
def test_other_terminologies_are_not_supported(operation: str, params: str, feature: str) -> None:
    with pytest.raises(AqlUnsupported) as raised:
        evaluate(operation, params)
    assert raised.value.feature.startswith(feature)
    assert str(raised.value).startswith("not supported: TERMINOLOGY")


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("expand", "openehr/no_such_group"),
        ("lookup", "url=setting"),
        ("map", "code=225"),
        ("subsumes", "codeA=1"),
    ],
)
def test_meaningless_calls_are_semantic_errors(operation: str, params: str) -> None:
    with pytest.raises(AqlSemanticError):
        evaluate(operation, params)
