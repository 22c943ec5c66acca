"""Codes of FHIR value sets asked of a terminology server (cdr.terminology.fhir, cdr.services.value_sets),
against the test server in :mod:`.fhir_mock` over real HTTP."""

from __future__ import annotations

import logging

import pytest

from cdr.services.errors import TerminologyUnavailable
from cdr.services.value_sets import CODE_NOT_IN_VALUE_SET, ExternalTerminology, check_external_codes
from cdr.template.validation import ExternalCode
from cdr.terminology import fhir
from cdr.terminology.fhir import FhirBinding, FhirError, FhirTerminologyServer, binding_of, fhir_system
from tests.terminology.fhir_mock import (
    CARE_SETTINGS,
    FDI_SURFACE,
    HOME_CARE,
    SURFACE_CODES,
    SURFACE_VALUE_SET,
    running,
)

SURFACE = FhirBinding("ValueSet", SURFACE_VALUE_SET)
URI = f"terminology://fhir.hl7.org/ValueSet/$expand?url={SURFACE_VALUE_SET}"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (URI, SURFACE),
        (f"terminology://fhir.hl7.org/ValueSet/$validate-code?url={SURFACE_VALUE_SET}", SURFACE),
        (
            "terminology://fhir.hl7.org/ValueSet/$expand?url=urn:oid:2.16.724.4.21.5.8.16",
            FhirBinding("ValueSet", "urn:oid:2.16.724.4.21.5.8.16"),
        ),
        (
            f"terminology://fhir.hl7.org/CodeSystem/$validate-code?url={FDI_SURFACE}",
            FhirBinding("CodeSystem", FDI_SURFACE),
        ),
        ("terminology:SNOMED-CT?subset=CausativeAgents", None),  # not a FHIR operation
        ("terminology://fhir.hl7.org/ValueSet/$expand", None),  # no value set named
        ("terminology://fhir.hl7.org/Patient/$everything?url=x", None),
        ("http://fhir.hl7.org/ValueSet/$expand?url=x", None),
    ],
)
def test_the_value_set_a_reference_set_uri_names(uri: str, expected: FhirBinding | None) -> None:
    assert binding_of(uri) == expected


def test_openehr_terminology_ids_become_fhir_systems() -> None:
    assert fhir_system("SNOMED-CT") == "http://snomed.info/sct"
    assert fhir_system("SNOMED-CT(2003)") == "http://snomed.info/sct"
    assert fhir_system("LOINC") == "http://loinc.org"
    assert fhir_system(FDI_SURFACE) == FDI_SURFACE


def test_a_code_in_the_value_set_is_valid_and_one_outside_is_not_with_the_servers_reason() -> None:
    with running() as mock:
        server = FhirTerminologyServer(mock.base_url)
        assert server.validate_code(SURFACE, FDI_SURFACE, "M").valid is True
        refused = server.validate_code(SURFACE, FDI_SURFACE, "AABBCC")
        assert refused.valid is False
        assert "'AABBCC'" in refused.message
        # the same code of another system is not in the set
        assert server.validate_code(SURFACE, "http://example.org/other", "M").valid is False
        # the request is FHIR's $validate-code with url, system and code
        assert mock.requests[0] == (
            "/fhir/ValueSet/$validate-code?url=http%3A%2F%2Fterminology.hl7.org%2FValueSet%2Fsurface"
            "&code=M&system=http%3A%2F%2Fterminology.hl7.org%2FCodeSystem%2FFDI-surface"
        )


def test_a_code_system_binding_asks_the_code_system_without_a_system_parameter() -> None:
    with running() as mock:
        server = FhirTerminologyServer(mock.base_url)
        binding = FhirBinding("CodeSystem", FDI_SURFACE)
        assert server.validate_code(binding, FDI_SURFACE, "DI").valid is True
        assert server.validate_code(binding, FDI_SURFACE, "X").valid is False
        assert all("system=" not in r and r.startswith("/fhir/CodeSystem/") for r in mock.requests)


def test_answers_are_kept_for_the_cache_time_and_errors_are_not() -> None:
    with running() as mock:
        server = FhirTerminologyServer(mock.base_url, ttl=600, pause=0)
        for _ in range(3):
            assert server.validate_code(SURFACE, FDI_SURFACE, "M").valid is True
            assert server.validate_code(SURFACE, FDI_SURFACE, "Q").valid is False
        assert len(mock.requests) == 2
        mock.failing = True
        assert server.validate_code(SURFACE, FDI_SURFACE, "D").valid is None
        mock.failing = False
        assert server.validate_code(SURFACE, FDI_SURFACE, "D").valid is True  # asked again
        assert len(mock.requests) == 4
        uncached = FhirTerminologyServer(mock.base_url, ttl=0)
        uncached.validate_code(SURFACE, FDI_SURFACE, "M")
        uncached.validate_code(SURFACE, FDI_SURFACE, "M")
        assert len(mock.requests) == 6


def test_the_cache_keeps_at_most_its_size_dropping_the_least_recently_used() -> None:
    with running() as mock:
        server = FhirTerminologyServer(mock.base_url, max_entries=2)
        for code in ("M", "O", "M", "I"):  # I pushes out O, the least recently used
            server.validate_code(SURFACE, FDI_SURFACE, code)
        server.validate_code(SURFACE, FDI_SURFACE, "M")
        assert len(mock.requests) == 3
        server.validate_code(SURFACE, FDI_SURFACE, "O")
        assert len(mock.requests) == 4


def test_what_the_server_cannot_answer_is_unchecked_with_the_reason() -> None:
    with running() as mock:
        server = FhirTerminologyServer(mock.base_url)
        unknown = server.validate_code(
            FhirBinding("ValueSet", "http://example.org/vs/none"), FDI_SURFACE, "M"
        )
        assert unknown.valid is None
        assert (
            "404" in unknown.message
            and "Could not find value set http://example.org/vs/none" in unknown.message
        )
        mock.failing = True
        failing = server.validate_code(SURFACE, FDI_SURFACE, "M")
        assert failing.valid is None and "500" in failing.message and "being rebuilt" in failing.message
        lost = FhirTerminologyServer(mock.base_url.replace("/fhir", "/nothing"))
        mock.failing = False
        assert lost.validate_code(SURFACE, FDI_SURFACE, "M").valid is None
    gone = FhirTerminologyServer(mock.base_url, timeout=2)  # the server has stopped
    verdict = gone.validate_code(SURFACE, FDI_SURFACE, "M")
    assert verdict.valid is None and "could not be reached" in verdict.message


def _code(code: str, uri: str = URI) -> ExternalCode:
    return ExternalCode(
        "/content[x]/data[at0001]/items[at0002]/value/defining_code", uri, FDI_SURFACE, code, "/c"
    )


def test_codes_outside_the_value_set_are_issues_naming_path_code_and_value_set() -> None:
    with running() as mock:
        terminology = ExternalTerminology(FhirTerminologyServer(mock.base_url))
        assert check_external_codes(terminology, [_code("M"), _code("DI")]) == []
        issues = check_external_codes(terminology, [_code("M"), _code("AABBCC")])
        assert [(i.path, i.code, i.constraint_path) for i in issues] == [
            ("/content[x]/data[at0001]/items[at0002]/value/defining_code", CODE_NOT_IN_VALUE_SET, "/c")
        ]
        assert f"code {FDI_SURFACE}::AABBCC is not in the ValueSet {SURFACE_VALUE_SET}" in issues[0].message
        # a binding that is no FHIR operation is not asked about
        before = len(mock.requests)
        assert check_external_codes(terminology, [_code("Z", "terminology:SNOMED-CT?subset=x")]) == []
        assert len(mock.requests) == before


def test_unchecked_codes_go_in_with_a_warning_or_refuse_the_write_when_so_configured(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with running() as mock:
        mock.failing = True
        lenient = ExternalTerminology(FhirTerminologyServer(mock.base_url))
        with caplog.at_level(logging.WARNING, logger="cdr.services.value_sets"):
            assert check_external_codes(lenient, [_code("M")]) == []
        assert "committed unchecked" in caplog.text and "could not be checked" in caplog.text
        strict = ExternalTerminology(FhirTerminologyServer(mock.base_url, pause=0), fail_on_error=True)
        with pytest.raises(TerminologyUnavailable) as raised:
            check_external_codes(strict, [_code("M")])
        assert raised.value.issues[0].path.endswith("/defining_code")
        assert "could not be checked against the ValueSet" in raised.value.message
        # a definite answer is never an error, whatever the setting
        mock.failing = False
        assert len(check_external_codes(strict, [_code("AABBCC")])) == 1


def test_expand_reads_every_page_and_nested_codes() -> None:
    with running() as mock:
        server = FhirTerminologyServer(mock.base_url)
        assert server.expand({"url": SURFACE_VALUE_SET}) == tuple(sorted(SURFACE_CODES))
        mock.page_size = 4
        paged = FhirTerminologyServer(mock.base_url)
        assert paged.expand({"url": SURFACE_VALUE_SET}) == tuple(sorted(SURFACE_CODES))
        pages = [r for r in mock.requests if r.startswith("/fhir/ValueSet/$expand") and "offset=" in r]
        assert len(pages) == -(-len(SURFACE_CODES) // 4) - 1  # the pages after the first
        # a call that pages itself gets that page only
        assert len(paged.expand({"url": SURFACE_VALUE_SET, "count": "2"})) == 2


def test_a_value_set_beyond_the_expansion_limit_is_refused_not_cut_short(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fhir, "MAX_EXPANSION", 5)
    with running() as mock:
        mock.page_size = 2
        with pytest.raises(FhirError, match="more than 5") as raised:
            FhirTerminologyServer(mock.base_url).expand({"url": SURFACE_VALUE_SET})
        assert raised.value.refused


def test_lookup_subsumes_translate_and_validate_read_the_servers_parameters() -> None:
    with running() as mock:
        server = FhirTerminologyServer(mock.base_url)
        assert server.lookup({"system": CARE_SETTINGS, "code": "225"}) == "home"
        assert server.lookup({"system": CARE_SETTINGS, "code": "999"}) is None  # unknown code: 404
        assert server.subsumes({"system": CARE_SETTINGS, "codeA": "care", "codeB": "225"}) is True
        assert server.subsumes({"system": CARE_SETTINGS, "codeA": "225", "codeB": "225"}) is True
        assert server.subsumes({"system": CARE_SETTINGS, "codeA": "225", "codeB": "care"}) is False
        visits = "http://example.org/fhir/CodeSystem/visit-kinds"
        assert server.translate({"system": CARE_SETTINGS, "code": "225", "targetsystem": visits}) == ("HV",)
        assert server.translate({"system": CARE_SETTINGS, "code": "238", "targetsystem": visits}) == ()
        assert server.validate({"url": HOME_CARE, "system": CARE_SETTINGS, "code": "225"}) is True
        assert server.validate({"url": HOME_CARE, "system": CARE_SETTINGS, "code": "238"}) is False


def test_operations_tell_a_refused_request_from_a_server_that_did_not_answer() -> None:
    with running() as mock:
        server = FhirTerminologyServer(mock.base_url)
        with pytest.raises(FhirError) as refused:
            server.expand({"url": "http://example.org/fhir/ValueSet/none"})
        assert refused.value.refused and "Could not find value set" in refused.value.message
        # $lookup answers 404 for an unknown code and an unknown code system alike: no display either way
        assert server.lookup({"system": "http://example.org/nothing", "code": "1"}) is None
        mock.failing = True
        with pytest.raises(FhirError) as failed:
            server.expand({"url": SURFACE_VALUE_SET})
        assert not failed.value.refused and "500" in failed.value.message
    with pytest.raises(FhirError) as gone:
        FhirTerminologyServer(mock.base_url, timeout=2).subsumes({"codeA": "a", "codeB": "b"})
    assert not gone.value.refused and "could not be reached" in gone.value.message


def test_parameters_never_reach_the_path_of_the_request() -> None:
    server = FhirTerminologyServer("https://tx.example.org/fhir")
    url = server.operation_url("ValueSet/$expand", {"url": "http://x/../../admin#frag", "filter": "a&b=c"})
    assert url.startswith(
        "https://tx.example.org/fhir/ValueSet/$expand?url=http%3A%2F%2Fx%2F..%2F..%2Fadmin%23frag"
    )
    assert url.endswith("&filter=a%26b%3Dc")


def test_a_server_that_failed_is_not_asked_again_for_a_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminology server that hangs would hold a worker for the timeout on every code: after a failure
    it is left alone for ``pause`` seconds, and calls fail at once with the reason; a refusal (4xx) is an
    answer and pauses nothing."""
    clock = [1000.0]
    monkeypatch.setattr(fhir.time, "monotonic", lambda: clock[0])
    with running() as mock:
        server = FhirTerminologyServer(mock.base_url, pause=30)
        with pytest.raises(FhirError):
            server.expand({"url": "http://example.org/fhir/ValueSet/none"})  # refused
        assert server.validate_code(SURFACE, FDI_SURFACE, "M").valid is True
        mock.failing = True
        assert server.validate_code(SURFACE, FDI_SURFACE, "O").valid is None
        asked = len(mock.requests)
        mock.failing = False
        clock[0] += 29
        paused = server.validate_code(SURFACE, FDI_SURFACE, "O")
        assert paused.valid is None and "500" in paused.message and "not asked until then" in paused.message
        assert len(mock.requests) == asked
        clock[0] += 2
        assert server.validate_code(SURFACE, FDI_SURFACE, "O").valid is True
        assert len(mock.requests) == asked + 1
