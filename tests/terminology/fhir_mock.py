"""A small FHIR R4 terminology server for tests, over real HTTP: ``$validate-code`` (ValueSet and CodeSystem),
``$expand`` (paged), ``$lookup``, ``$subsumes`` and ``$translate``.

It knows the value sets and code systems it is given (written here, not copied from any server), answers
unknown ones as FHIR servers do (404 with an OperationOutcome), and can be told to fail (``failing``: 500)
or stopped, so that the client's handling of every answer can be tested. ``requests`` counts the calls.
Given an :class:`~tests.terminology.oauth_mock.TokenEndpoint` (``oauth``) it serves that at ``/token`` and
answers FHIR requests only with one of its tokens (else 401), as a server behind HelseID does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.local_server import serving
from tests.terminology.oauth_mock import TokenEndpoint

FDI_SURFACE = "http://terminology.hl7.org/CodeSystem/FDI-surface"
SURFACE_VALUE_SET = "http://terminology.hl7.org/ValueSet/surface"
# tooth surfaces by their FDI letters (the value set the EHRbase terminology test template binds): mesial,
# occlusal, incisal, distal, buccal, vestibular, lingual, palatal, and some of their combinations
SURFACE_CODES = frozenset({"M", "O", "I", "D", "B", "V", "L", "P", "DI", "DO", "MI", "MO", "MOD"})
VALUE_SETS: dict[str, frozenset[tuple[str, str]]] = {
    SURFACE_VALUE_SET: frozenset((FDI_SURFACE, code) for code in SURFACE_CODES)
}
CODE_SYSTEMS: dict[str, frozenset[str]] = {FDI_SURFACE: SURFACE_CODES}

# an example terminology of care settings (ours): its codes are those of the openEHR setting group, so that
# queries over compositions with openEHR settings can match them
CARE_SETTINGS = "http://example.org/fhir/CodeSystem/care-settings"
HOME_CARE = "http://example.org/fhir/ValueSet/home-care"
DISPLAYS = {"225": "home", "238": "other care", "care": "any care setting"}
PARENTS = {"225": "care", "238": "care"}  # the hierarchy $subsumes answers from
MAPS = {("225", "http://example.org/fhir/CodeSystem/visit-kinds"): "HV"}  # $translate: home -> home visit


def _json(document: object, status: int = 200) -> Response:
    return Response(json.dumps(document), status=status, mimetype="application/fhir+json")


def _outcome(status: int, code: str, text: str) -> Response:
    issue = {"severity": "error", "code": code, "diagnostics": text}
    return _json({"resourceType": "OperationOutcome", "issue": [issue]}, status)


def _result(found: bool, message: str = "") -> Response:
    parameters: list[dict[str, object]] = [{"name": "result", "valueBoolean": found}]
    if message:
        parameters.append({"name": "message", "valueString": message})
    return _json({"resourceType": "Parameters", "parameter": parameters})


@dataclass
class FhirMock:
    """The server's state: what it knows, whether it fails, and the requests it has had."""

    value_sets: dict[str, frozenset[tuple[str, str]]] = field(
        default_factory=lambda: {**VALUE_SETS, HOME_CARE: frozenset({(CARE_SETTINGS, "225")})}
    )
    code_systems: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: {**CODE_SYSTEMS, CARE_SETTINGS: frozenset(DISPLAYS)}
    )
    page_size: int = 1000  # the most codes one $expand answer holds
    failing: bool = False
    requests: list[str] = field(default_factory=list)
    base_url: str = ""
    oauth: TokenEndpoint | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        if self.oauth is not None and request.path == "/token":
            return self.oauth.answer(request)(environ, start_response)
        self.requests.append(request.full_path)
        refusal = self.oauth.refusal(request) if self.oauth is not None else None
        if refusal is not None:
            return refusal(environ, start_response)
        return self.answer(request)(environ, start_response)

    def answer(self, request: Request) -> Response:
        if self.failing:
            return _outcome(500, "exception", "the terminology store is being rebuilt")
        url, code = request.args.get("url", ""), request.args.get("code", "")
        if request.path == "/fhir/metadata":
            return _json(
                {
                    "resourceType": "CapabilityStatement",
                    "fhirVersion": "4.0.1",
                    "software": {"name": "cdr test terminology", "version": "1"},
                }
            )
        if request.path == "/fhir/ValueSet/$validate-code":
            members = self.value_sets.get(url)
            if members is None:
                return _outcome(404, "not-found", f"Could not find value set {url}")
            system = request.args.get("system", "")
            if (system, code) in members:
                return _result(True)
            return _result(False, f"The code '{code}' of system '{system}' is not in the value set {url}")
        if request.path == "/fhir/ValueSet/$expand":
            return self.expand(request)
        if request.path == "/fhir/CodeSystem/$lookup":
            system = request.args.get("system", "")
            if system not in self.code_systems:
                return _outcome(404, "not-found", f"Could not find code system {system}")
            if code not in self.code_systems[system]:
                return _outcome(404, "not-found", f"Unknown code '{code}' in {system}")
            return _json(
                {
                    "resourceType": "Parameters",
                    "parameter": [
                        {"name": "name", "valueString": "care settings"},
                        {"name": "display", "valueString": DISPLAYS.get(code, code)},
                    ],
                }
            )
        if request.path == "/fhir/CodeSystem/$subsumes":
            a, b = request.args.get("codeA", ""), request.args.get("codeB", "")
            outcome = (
                "equivalent"
                if a == b
                else "subsumes"
                if PARENTS.get(b) == a
                else "subsumed-by"
                if PARENTS.get(a) == b
                else "not-subsumed"
            )
            return _json(
                {"resourceType": "Parameters", "parameter": [{"name": "outcome", "valueCode": outcome}]}
            )
        if request.path == "/fhir/ConceptMap/$translate":
            target = MAPS.get((code, request.args.get("targetsystem", "")))
            parameters: list[dict[str, object]] = [{"name": "result", "valueBoolean": target is not None}]
            if target is not None:
                parameters.append(
                    {
                        "name": "match",
                        "part": [
                            {"name": "equivalence", "valueCode": "equivalent"},
                            {"name": "concept", "valueCoding": {"code": target}},
                        ],
                    }
                )
            parameters.append(
                {
                    "name": "match",
                    "part": [
                        {"name": "equivalence", "valueCode": "unmatched"},
                        {"name": "concept", "valueCoding": {"code": "NONE"}},
                    ],
                }
            )
            return _json({"resourceType": "Parameters", "parameter": parameters})
        if request.path == "/fhir/CodeSystem/$validate-code":
            codes = self.code_systems.get(url)
            if codes is None:
                return _outcome(404, "not-found", f"Could not find code system {url}")
            return _result(code in codes, "" if code in codes else f"Unknown code '{code}' in {url}")
        return _outcome(404, "not-supported", f"no operation at {request.path}")

    def expand(self, request: Request) -> Response:
        """``ValueSet/$expand``: one page of ``page_size`` (or ``count``) codes from ``offset``, the first
        nested under an abstract grouping entry, as servers do for hierarchies."""
        url = request.args.get("url", "")
        if not url:
            return _outcome(400, "required", "$expand needs a url")
        members = self.value_sets.get(url)
        if members is None:
            return _outcome(404, "not-found", f"Could not find value set {url}")
        ordered = sorted(members)
        offset = int(request.args.get("offset", "0"))
        count = int(request.args.get("count", str(self.page_size)))
        page = [{"system": system, "code": code} for system, code in ordered[offset : offset + count]]
        if page:
            page = [{"abstract": True, "display": "grouping", "contains": page[:1]}, *page[1:]]
        expansion = {"total": len(ordered), "offset": offset, "contains": page}
        return _json({"resourceType": "ValueSet", "url": url, "expansion": expansion})


@contextmanager
def running(mock: FhirMock | None = None) -> Iterator[FhirMock]:
    """``mock`` served on a free loopback port for the block; ``base_url`` set to its FHIR base."""
    mock = mock or FhirMock()
    server = make_server("127.0.0.1", 0, mock, threaded=True)
    mock.base_url = f"http://127.0.0.1:{server.server_port}/fhir"
    if mock.oauth is not None:
        mock.oauth.url = f"http://127.0.0.1:{server.server_port}/token"
    with serving(server):
        yield mock
