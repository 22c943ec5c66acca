"""Codes bound to FHIR value sets, checked against a FHIR R4 terminology server.

An OPT binds a DV_CODED_TEXT to an external value set with a C_CODE_REFERENCE whose ``referenceSetUri``
names a FHIR operation, as EHRbase reads it: ``terminology://fhir.hl7.org/ValueSet/$expand?url=<value set
url>`` (or ``CodeSystem/$validate-code?url=<code system url>``). The template cannot list the codes; only a
terminology server knows them. :class:`FhirTerminologyServer` asks one with the FHIR ``$validate-code``
operation (``GET <base>/ValueSet/$validate-code?url=&system=&code=``), which answers for a value set of any
size in one call. AQL's ``TERMINOLOGY()`` of a FHIR terminology uses the other operations (``$expand``,
``$lookup``, ``$subsumes``, ``$translate``) with the call's own parameters (:mod:`aql.terminology`).

Answers are kept a while (``ttl``): a municipality's apps commit the same few codes all day. Only answers
are kept; a server that cannot be reached, times out or answers with an error is asked again next time.
For a commit such a failure is a verdict of ``None`` ("could not be checked") with the reason, and the
caller decides what an unchecked code means (:mod:`cdr.services.value_sets`); the other operations raise
:class:`FhirError`.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from cdr.terminology.oauth import TokenError, TokenSource

FHIR_AUTHORITY = "fhir.hl7.org"
FHIR_JSON = "application/fhir+json"

# openEHR terminology ids whose FHIR code system URI differs from the id (HL7's "Using ... with HL7
# Standards" pages name these URIs); any other id is sent as it is, so a composition may also give the URI
FHIR_SYSTEMS = {
    "snomed-ct": "http://snomed.info/sct",
    "snomed": "http://snomed.info/sct",
    "sct": "http://snomed.info/sct",
    "loinc": "http://loinc.org",
    "icd10": "http://hl7.org/fhir/sid/icd-10",
    "icd-10": "http://hl7.org/fhir/sid/icd-10",
    "icd-10-cm": "http://hl7.org/fhir/sid/icd-10-cm",
    "ucum": "http://unitsofmeasure.org",
    "atc": "http://www.whocc.no/atc",
}


@dataclass(frozen=True, slots=True)
class FhirBinding:
    """What a ``referenceSetUri`` names: a ``ValueSet`` or a ``CodeSystem`` by its canonical ``url``."""

    resource: str
    url: str

    def __str__(self) -> str:
        return f"{self.resource} {self.url}"


def binding_of(reference_set_uri: str) -> FhirBinding | None:
    """The FHIR value set or code system a C_CODE_REFERENCE's ``referenceSetUri`` names; ``None`` when it
    names none (another terminology, no ``url`` parameter).

    >>> binding_of("terminology://fhir.hl7.org/ValueSet/$expand?url=http://terminology.hl7.org/ValueSet/surface")
    FhirBinding(resource='ValueSet', url='http://terminology.hl7.org/ValueSet/surface')
    >>> binding_of("terminology://SNOMED-CT/123") is None
    True
    """
    parts = urllib.parse.urlsplit(reference_set_uri.strip())
    if parts.scheme.lower() != "terminology" or parts.netloc.lower() != FHIR_AUTHORITY:
        return None
    resource = parts.path.strip("/").split("/", 1)[0]
    if resource not in ("ValueSet", "CodeSystem"):
        return None
    url = dict(urllib.parse.parse_qsl(parts.query)).get("url", "").strip()
    return FhirBinding(resource, url) if url else None


def fhir_system(terminology_id: str) -> str:
    """The FHIR code system URI of an openEHR terminology id (``SNOMED-CT`` -> ``http://snomed.info/sct``);
    a URI, or an id FHIR knows by the same name, as it is."""
    name = terminology_id.split("(", 1)[0].strip()
    return FHIR_SYSTEMS.get(name.lower(), name)


@dataclass(frozen=True, slots=True)
class CodeVerdict:
    """The server's answer for one code: ``valid`` True or False, or None when it could not be checked;
    ``message`` is the server's explanation or why no answer came."""

    valid: bool | None
    message: str = ""


class FhirError(Exception):
    """No usable answer. ``refused``: the server answered the request was wrong (4xx: an unknown value set,
    missing parameters); otherwise it could not be reached, failed (5xx) or did not answer in FHIR."""

    def __init__(self, message: str, *, refused: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.refused = refused
        self.status = status


MAX_EXPANSION = 10_000
"""The most codes an expansion is read to (page by page); a larger value set is refused, not cut short."""

_NO_MATCH = frozenset({"unmatched", "disjoint", "not-related-to"})


class FhirTerminologyServer:
    """A FHIR R4 terminology server at ``base_url``; answers are kept ``ttl`` seconds (at most
    ``max_entries`` of them, least recently used first out). Safe across threads.

    A server that failed (unreachable, timing out, answering 5xx) is not asked again for ``pause`` seconds:
    requests meanwhile fail at once with the same reason, so that a server that hangs holds no worker for
    ``timeout`` per code while it is down.

    With ``tokens`` every request carries its access token (a server behind OAuth 2.0, such as HelseID); a
    401 answer gets one more try, with a new token or with the DPoP nonce the server asked for."""

    def __init__(
        self,
        base_url: str,
        timeout: float = 5.0,
        ttl: float = 600.0,
        max_entries: int = 10_000,
        pause: float = 30.0,
        tokens: TokenSource | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.timeout = timeout
        self.ttl = ttl
        self.max_entries = max_entries
        self.pause = pause
        self._answers: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()
        self._down: tuple[float, str] | None = None  # until when (monotonic) the server is not asked, and why

    # ----------------------------------------------------------------------------- checks of a write

    def validate_code(self, binding: FhirBinding, terminology_id: str, code: str) -> CodeVerdict:
        """Whether ``code`` of ``terminology_id`` is in the value set (or code system) ``binding``."""
        params = {"url": binding.url, "code": code}
        if binding.resource == "ValueSet":
            params["system"] = fhir_system(terminology_id)
        try:
            document = self.document(f"{binding.resource}/$validate-code", params)
            result, message = _parameter(document, "result"), _parameter(document, "message")
        except FhirError as exc:
            return CodeVerdict(None, exc.message)
        if not isinstance(result, bool):
            return CodeVerdict(None, "the terminology server's Parameters have no boolean result")
        return CodeVerdict(result, message if isinstance(message, str) else "")

    # -------------------------------------------------------------------------- AQL's operations

    def expand(self, params: Mapping[str, str]) -> tuple[str, ...]:
        """The codes of ``ValueSet/$expand`` (nested ``contains`` too), read page by page unless ``params``
        page it themselves."""
        document = self.document("ValueSet/$expand", params)
        expansion = document.get("expansion") if document.get("resourceType") == "ValueSet" else None
        if not isinstance(expansion, dict):
            raise FhirError("the terminology server's $expand answer has no expansion")
        codes = _codes(expansion.get("contains"))
        total = expansion.get("total")
        paged = "count" in params or "offset" in params
        while not paged and isinstance(total, int) and len(codes) < total:
            if total > MAX_EXPANSION:
                raise FhirError(f"the value set has {total} codes, more than {MAX_EXPANSION}", refused=True)
            page = self.document("ValueSet/$expand", {**params, "offset": str(len(codes))})
            more = _codes((page.get("expansion") or {}).get("contains"))
            if not more:
                break
            codes += more
        return tuple(dict.fromkeys(codes))

    def capabilities(self) -> dict[str, Any]:
        """The server's CapabilityStatement (``GET <base>/metadata``), asked afresh (never cached): what
        ``cdr terminology check`` shows; :class:`FhirError` when it cannot be had."""
        document = _json(self._get(f"{self.base_url}/metadata"))
        if not isinstance(document, dict) or document.get("resourceType") != "CapabilityStatement":
            raise FhirError("the terminology server's /metadata is not a CapabilityStatement")
        return document

    def example_coding(self, value_set_url: str) -> tuple[str, str, str] | None:
        """A code of the value set as ``(system, code, display)``, for an example composition: the first
        concrete entry of a short ``$expand``; ``None`` when the server has none to give."""
        try:
            document = self.document("ValueSet/$expand", {"url": value_set_url, "count": "10"})
        except FhirError:
            return None
        expansion = document.get("expansion") if document.get("resourceType") == "ValueSet" else None
        contains = expansion.get("contains") if isinstance(expansion, dict) else None
        return next((coding for coding in _codings(contains) if coding[0]), None)  # one naming its system

    def validate(self, params: Mapping[str, str]) -> bool:
        """``ValueSet/$validate-code``'s result."""
        result = _parameter(self.document("ValueSet/$validate-code", params), "result")
        if not isinstance(result, bool):
            raise FhirError("the terminology server's $validate-code answer has no boolean result")
        return result

    def lookup(self, params: Mapping[str, str]) -> str | None:
        """``CodeSystem/$lookup``'s display; None for a code the code system does not have."""
        try:
            display = _parameter(self.document("CodeSystem/$lookup", params), "display")
        except FhirError as exc:
            if exc.status == 404:
                return None
            raise
        return display if isinstance(display, str) else None

    def subsumes(self, params: Mapping[str, str]) -> bool:
        """Whether ``CodeSystem/$subsumes`` finds codeA equivalent to or subsuming codeB."""
        outcome = _parameter(self.document("CodeSystem/$subsumes", params), "outcome")
        if not isinstance(outcome, str):
            raise FhirError("the terminology server's $subsumes answer has no outcome")
        return outcome in ("equivalent", "subsumes")

    def translate(self, params: Mapping[str, str]) -> tuple[str, ...]:
        """The codes ``ConceptMap/$translate`` maps to (matches that are not 'unmatched' or disjoint)."""
        document = self.document("ConceptMap/$translate", params)
        codes = []
        for match in _parameters(document, "match"):
            parts = {p.get("name"): p for p in match.get("part") or () if isinstance(p, dict)}
            relation = parts.get("relationship") or parts.get("equivalence") or {}
            if relation.get("valueCode") in _NO_MATCH:
                continue
            concept = (parts.get("concept") or {}).get("valueCoding")
            if isinstance(concept, dict) and isinstance(concept.get("code"), str):
                codes.append(concept["code"])
        return tuple(dict.fromkeys(codes))

    # ------------------------------------------------------------------------------------ requests

    def operation_url(self, operation: str, params: Mapping[str, str]) -> str:
        """``<base>/<Resource>/$<operation>?<params, encoded>``: parameters never reach the path."""
        return f"{self.base_url}/{operation}?{urllib.parse.urlencode(dict(params))}"

    def document(self, operation: str, params: Mapping[str, str]) -> dict[str, Any]:
        """The JSON resource the server answers ``GET <operation>?<params>`` with (kept ``ttl`` seconds);
        :class:`FhirError` when there is none."""
        url = self.operation_url(operation, params)
        now = time.monotonic()
        with self._lock:
            kept = self._answers.get(url)
            if kept is not None and kept[0] > now:
                self._answers.move_to_end(url)
                return kept[1]
        document = self._fetch(url)
        if self.ttl > 0:
            with self._lock:
                self._answers[url] = (now + self.ttl, document)
                self._answers.move_to_end(url)
                while len(self._answers) > self.max_entries:
                    self._answers.popitem(last=False)
        return document

    def _fetch(self, url: str) -> dict[str, Any]:
        down = self._down
        if down is not None and down[0] > time.monotonic():
            raise FhirError(
                f"{down[1]} (it failed less than {self.pause:g} s ago and is not asked until then)"
            )
        try:
            body = self._get(url)
        except FhirError as exc:
            if not exc.refused and self.pause > 0:
                self._down = (time.monotonic() + self.pause, exc.message)
            raise
        self._down = None
        document = _json(body)
        if not isinstance(document, dict) or not isinstance(document.get("resourceType"), str):
            raise FhirError("the terminology server answered with something that is not a FHIR resource")
        if document["resourceType"] == "OperationOutcome":
            raise FhirError(f"the terminology server answered: {_outcome_text(body)}", refused=True)
        return document

    def _get(self, url: str, retried: bool = False) -> bytes:
        headers = {"Accept": FHIR_JSON}
        token = self._authorize(url, headers)
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                if self.tokens is not None:
                    self.tokens.resource_answered(url, answer.headers.get("DPoP-Nonce"))
                body: bytes = answer.read()
                return body
        except urllib.error.HTTPError as exc:
            if exc.code == 401 and token is not None and self.tokens is not None and not retried:
                nonce = exc.headers.get("DPoP-Nonce")
                if nonce and self.tokens.dpop is not None:
                    self.tokens.resource_answered(url, nonce)  # the server wants its nonce in the proof
                else:
                    self.tokens.forget(token)  # revoked or expired early
                return self._get(url, retried=True)  # one more try
            detail = _outcome_text(exc.read()) or exc.reason
            message = f"the terminology server answered {exc.code}: {detail}"
            # 401/403: our credentials, not the request, are wrong; the caller's request is not to blame
            refused = 400 <= exc.code < 500 and exc.code not in (401, 403)
            raise FhirError(message, refused=refused, status=exc.code) from None
        except (OSError, ValueError) as exc:  # unreachable, refused, timed out, a malformed URL
            message = f"the terminology server at {self.base_url} could not be reached: {exc}"
            raise FhirError(message) from None

    def _authorize(self, url: str, headers: dict[str, str]) -> str | None:
        """Add the token's headers for ``GET url`` (none without an OAuth client); the token sent."""
        if self.tokens is None:
            return None
        try:
            token, carried = self.tokens.authorization("GET", url)
        except TokenError as exc:
            raise FhirError(f"no access token for the terminology server: {exc.message}") from None
        headers.update(carried)
        return token


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _parameters(document: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    """The parameters called ``name`` of a ``Parameters`` resource."""
    if document.get("resourceType") != "Parameters":
        raise FhirError(
            f"the terminology server answered with a {document.get('resourceType')}, not Parameters"
        )
    return [p for p in document.get("parameter") or () if isinstance(p, dict) and p.get("name") == name]


def _parameter(document: Mapping[str, Any], name: str) -> Any:
    """The value (``valueBoolean``, ``valueString``, ``valueCode``, ...) of the first parameter ``name``."""
    for parameter in _parameters(document, name):
        for key, value in parameter.items():
            if key.startswith("value"):
                return value
    return None


def _codes(contains: Any) -> list[str]:
    """The codes of an expansion's ``contains``, nested ones too (abstract entries have none)."""
    return [code for _, code, _ in _codings(contains)]


def _codings(contains: Any) -> Iterator[tuple[str, str, str]]:
    """``(system, code, display)`` of an expansion's concrete entries, nested ones too, in order ('' for a
    system or display the entry does not give)."""
    for entry in contains or ():
        if not isinstance(entry, dict):
            continue
        code = entry.get("code")
        if isinstance(code, str) and not entry.get("abstract"):
            system, display = entry.get("system"), entry.get("display")
            system = system if isinstance(system, str) else ""
            yield system, code, display if isinstance(display, str) else ""
        yield from _codings(entry.get("contains"))


def _outcome_text(body: bytes) -> str:
    """The diagnostics of an ``OperationOutcome`` body, else ''."""
    document = _json(body)
    if not isinstance(document, dict) or document.get("resourceType") != "OperationOutcome":
        return ""
    texts = []
    for issue in document.get("issue") or ():
        if isinstance(issue, dict):
            details = issue.get("details")
            text = issue.get("diagnostics") or (details.get("text") if isinstance(details, dict) else None)
            if isinstance(text, str):
                texts.append(text)
    return "; ".join(texts)
