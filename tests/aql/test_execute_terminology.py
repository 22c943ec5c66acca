"""TERMINOLOGY() in queries, on SQLite and PostgreSQL: in MATCHES (alone and among other items), in
comparisons, as a Boolean assertion, as a SELECT expression and a function argument. The call is answered
from the openEHR terminology at compile time, so the query stays one SQL statement with the answer as
constants; other terminologies are answered by a FHIR terminology server when one is configured (the test
server of ``tests/terminology/fhir_mock.py``), else refused with ``not supported: TERMINOLOGY <terminology>``.

The data: the ``conformance`` set of ``cases/own_cases.json``, whose two compositions have the setting
238 "other care" (``conformance-ehrbase.de.v0``) and 225 "home" (``aql-conformance-ehrbase.org.v0``),
category 433 "event", language ``en`` and territory ``DE``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from aql.errors import AqlSemanticError, AqlUnsupported
from aql.execute import execute
from cdr.errors import Unavailable
from cdr.storage import Storage
from cdr.terminology.fhir import FhirTerminologyServer
from tests.aql.cases.fixtures import DIALECTS, new_storage, postgres, postgres_engine  # noqa: F401
from tests.aql.test_execute_cases import load
from tests.terminology.fhir_mock import CARE_SETTINGS, HOME_CARE, running

SETTING = "c/context/setting/defining_code/code_string"
BOTH = [["conformance-ehrbase.de.v0"], ["aql-conformance-ehrbase.org.v0"]]
HOME = [["aql-conformance-ehrbase.org.v0"]]
OTHER_CARE = [["conformance-ehrbase.de.v0"]]

CASES: list[tuple[str, str, list[list[Any]]]] = [
    (
        "expand an openEHR group by name",
        f"SELECT c/name/value FROM COMPOSITION c WHERE {SETTING} MATCHES TERMINOLOGY('expand', "
        "'hl7.org/fhir/4.0', 'setting')",
        BOTH,
    ),
    (
        "expand an openEHR group by FHIR url",
        "SELECT c/name/value FROM COMPOSITION c WHERE c/category/defining_code/code_string MATCHES "
        "TERMINOLOGY('expand', 'hl7.org/fhir/r4', 'url=http://openehr.org/terminology/composition_category')",
        BOTH,
    ),
    (
        "expand a group that holds neither code",
        f"SELECT c/name/value FROM COMPOSITION c WHERE {SETTING} MATCHES TERMINOLOGY('expand', 'x', "
        "'composition_category')",
        [],
    ),
    (
        "expand a code set",
        "SELECT c/name/value FROM COMPOSITION c WHERE c/language/code_string MATCHES TERMINOLOGY('expand', "
        "'x', 'ISO_639-1') AND c/territory/code_string MATCHES TERMINOLOGY('expand', 'x', 'countries')",
        BOTH,
    ),
    (
        "an openEHR terminology URI in MATCHES",
        f"SELECT c/name/value FROM COMPOSITION c WHERE {SETTING} MATCHES {{terminology://openehr/setting}}",
        BOTH,
    ),
    (
        "a whole CODE_PHRASE and DV_CODED_TEXT match by their code",
        "SELECT c/name/value FROM COMPOSITION c WHERE c/context/setting/defining_code MATCHES "
        "{terminology://openehr/setting} AND c/context/setting MATCHES "
        "TERMINOLOGY('map', 'x', 'code=225&source=setting&target=setting')",
        HOME,
    ),
    (
        "an ELEMENT's local codes are in no openEHR group (typed code column)",
        "SELECT el/name/value FROM ELEMENT el WHERE el/value/defining_code/code_string MATCHES "
        "TERMINOLOGY('expand', 'x', 'openehr')",
        [],
    ),
    (
        "map among other MATCHES items",
        f"SELECT c/name/value FROM COMPOSITION c WHERE {SETTING} MATCHES {{'999', TERMINOLOGY('map', 'x', "
        "'system=openehr&code=225&source=setting&target=setting')}",
        HOME,
    ),
    (
        "NOT MATCHES a lookup",
        "SELECT c/name/value FROM COMPOSITION c WHERE NOT c/context/setting/value MATCHES "
        "TERMINOLOGY('lookup', 'x', 'code=225&url=setting')",
        OTHER_CARE,
    ),
    (
        "lookup compared with a path",
        "SELECT c/name/value FROM COMPOSITION c WHERE c/context/setting/value = "
        "TERMINOLOGY('lookup', 'hl7.org/fhir/r4', 'system=openehr&code=225&url=setting')",
        HOME,
    ),
    (
        "lookup in another language",
        "SELECT c/name/value FROM COMPOSITION c WHERE TERMINOLOGY('lookup', 'x', "
        "'code=225&url=setting&displayLanguage=es') = c/context/setting/value",
        [],
    ),
    (
        "validate as a Boolean assertion",
        "SELECT c/name/value FROM COMPOSITION c WHERE TERMINOLOGY('validate', 'hl7.org/fhir/r4', "
        "'system=openehr&code=225&url=setting&display=hogar') = true",
        BOTH,
    ),
    (
        "a failed validation filters every row",
        "SELECT c/name/value FROM COMPOSITION c WHERE TERMINOLOGY('validate', 'x', 'code=225&url=setting') "
        "= false OR c/name/value = 'conformance-ehrbase.de.v0'",
        OTHER_CARE,
    ),
    (
        "as SELECT expressions and a function argument",
        "SELECT TERMINOLOGY('lookup', 'x', 'code=433&url=composition_category&displayLanguage=es'), "
        "TERMINOLOGY('validate', 'x', 'code=433&url=composition_category'), "
        "TERMINOLOGY('expand', 'x', 'composition_category'), "
        "TERMINOLOGY('subsumes', 'x', 'codeA=433&codeB=431'), "
        "TERMINOLOGY('lookup', 'x', 'code=999'), "
        "CONCAT(c/name/value, ': ', TERMINOLOGY('lookup', 'x', 'code=225&url=setting')) "
        "FROM COMPOSITION c WHERE c/name/value = 'conformance-ehrbase.de.v0'",
        [["evento", True, ["431", "451", "433", "815"], False, None, "conformance-ehrbase.de.v0: home"]],
    ),
]


@pytest.mark.parametrize(
    ("query", "error", "message"),
    [
        (
            f"SELECT c FROM COMPOSITION c WHERE {SETTING} MATCHES TERMINOLOGY('expand', 'hl7.org/fhir/4.0', "
            "'http://snomed.info/sct?fhir_vs=isa/50697003')",
            AqlUnsupported,
            "not supported: TERMINOLOGY snomed.info",
        ),
        (
            "SELECT TERMINOLOGY('lookup', 'hl7.org/fhir/r4', 'system=http://loinc.org&code=1963-8') "
            "FROM COMPOSITION c",
            AqlUnsupported,
            "not supported: TERMINOLOGY loinc.org",
        ),
        (
            f"SELECT c FROM COMPOSITION c WHERE {SETTING} MATCHES TERMINOLOGY('validate', 'x', 'code=225')",
            AqlSemanticError,
            "gives a Boolean",
        ),
        (
            f"SELECT c FROM COMPOSITION c WHERE {SETTING} = TERMINOLOGY('expand', 'x', 'setting')",
            AqlSemanticError,
            "use MATCHES",
        ),
        (
            f"SELECT c FROM COMPOSITION c WHERE {SETTING} MATCHES "
            "TERMINOLOGY('expand', 'x', 'openehr/nothing')",
            AqlSemanticError,
            "no group or code set 'nothing'",
        ),
    ],
)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_terminology_refusals(
    dialect: str,
    query: str,
    error: type[Exception],
    message: str,
    new_storage: Callable[[str], Storage],  # noqa: F811
) -> None:
    storage = new_storage(dialect)
    with pytest.raises(error, match=message):
        execute(storage, query)


# ----------------------------------------------------------------- other terminologies, by a FHIR server

HOME_CARE_URL = "url=http://example.org/fhir/ValueSet/home-care"
CARE = "system=http://example.org/fhir/CodeSystem/care-settings"
FHIR_CASES: list[tuple[str, str, list[list[Any]]]] = [
    (
        "expand a FHIR value set in MATCHES",
        f"SELECT c/name/value FROM COMPOSITION c WHERE {SETTING} MATCHES "
        f"TERMINOLOGY('expand', 'hl7.org/fhir/4.0', '{HOME_CARE_URL}')",
        HOME,
    ),
    (
        "a FHIR value set's terminology URI in MATCHES, beside an openEHR one",
        f"SELECT c/name/value FROM COMPOSITION c WHERE {SETTING} MATCHES "
        "{terminology://fhir.hl7.org/ValueSet/$expand?url=http://example.org/fhir/ValueSet/home-care} "
        f"AND {SETTING} MATCHES {{terminology://openehr/setting}}",
        HOME,
    ),
    (
        "validate, lookup and subsumes as constants",
        f"SELECT TERMINOLOGY('validate', 'hl7.org/fhir/r4', '{HOME_CARE_URL}&{CARE}&code=225'), "
        f"TERMINOLOGY('validate', 'hl7.org/fhir/r4', '{HOME_CARE_URL}&{CARE}&code=238'), "
        f"TERMINOLOGY('lookup', 'hl7.org/fhir/r4', '{CARE}&code=225'), "
        f"TERMINOLOGY('lookup', 'hl7.org/fhir/r4', '{CARE}&code=999'), "
        f"TERMINOLOGY('subsumes', 'hl7.org/fhir/r4', '{CARE}&codeA=care&codeB=238'), "
        f"TERMINOLOGY('expand', 'hl7.org/fhir/r4', '{HOME_CARE_URL}') "
        "FROM COMPOSITION c WHERE c/name/value = 'conformance-ehrbase.de.v0'",
        [[True, False, "home", None, True, ["225"]]],
    ),
    (
        "a FHIR lookup compared with a path, and a map in MATCHES",
        f"SELECT c/name/value FROM COMPOSITION c WHERE c/context/setting/value = "
        f"TERMINOLOGY('lookup', 'hl7.org/fhir/r4', '{CARE}&code=238') OR c/name/value MATCHES "
        f"TERMINOLOGY('map', 'hl7.org/fhir/r4', '{CARE}&code=225&targetsystem=http://example.org/none')",
        OTHER_CARE,
    ),
]


@pytest.mark.parametrize(
    ("name", "query", "rows", "server"),
    [(*case, False) for case in CASES] + [(*case, True) for case in FHIR_CASES],
    ids=[c[0] for c in CASES + FHIR_CASES],
)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_terminology_in_queries(
    dialect: str,
    name: str,
    query: str,
    rows: list[list[Any]],
    server: bool,
    new_storage: Callable[[str], Storage],  # noqa: F811
) -> None:
    """openEHR's terminology answered by the CDR itself, other terminologies (``server``) by the FHIR
    terminology server given to ``execute``."""
    storage = new_storage(dialect)
    load(storage, "conformance")
    with running() as fhir:
        terminology_server = FhirTerminologyServer(fhir.base_url) if server else None
        result = execute(storage, query, terminology_server=terminology_server)
    assert not server or fhir.requests
    assert sorted(map(json.dumps, json.loads(json.dumps(result.rows)))) == sorted(map(json.dumps, rows))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_changed_value_set_is_not_served_from_the_compiled_statement_cache(
    dialect: str,
    new_storage: Callable[[str], Storage],  # noqa: F811
) -> None:
    storage = new_storage(dialect)
    load(storage, "conformance")
    query = FHIR_CASES[0][1]
    with running() as fhir:
        server = FhirTerminologyServer(fhir.base_url, ttl=0)
        assert execute(storage, query, terminology_server=server).rows == HOME
        fhir.value_sets[HOME_CARE] = frozenset({(CARE_SETTINGS, "225"), (CARE_SETTINGS, "238")})
        assert len(execute(storage, query, terminology_server=server).rows) == 2
        fhir.value_sets[HOME_CARE] = frozenset()
        assert execute(storage, query, terminology_server=server).rows == []


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_call_the_server_refuses_is_400_and_one_it_cannot_answer_503(
    dialect: str,
    new_storage: Callable[[str], Storage],  # noqa: F811
) -> None:
    storage = new_storage(dialect)
    unknown = (
        f"SELECT c FROM COMPOSITION c WHERE {SETTING} MATCHES "
        "TERMINOLOGY('expand', 'hl7.org/fhir/4.0', 'url=http://example.org/fhir/ValueSet/none')"
    )
    with running() as fhir:
        server = FhirTerminologyServer(fhir.base_url)
        with pytest.raises(
            AqlSemanticError,
            match=re.escape("Could not find value set http://example.org/fhir/ValueSet/none"),
        ):
            execute(storage, unknown, terminology_server=server)
        fhir.failing = True
        with pytest.raises(Unavailable, match="TERMINOLOGY 'expand': the terminology server answered 500"):
            execute(storage, FHIR_CASES[0][1], terminology_server=server)
