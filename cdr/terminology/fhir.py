"""Codes bound to FHIR value sets, checked against a FHIR R4 terminology server.

An OPT binds a DV_CODED_TEXT to an external value set with a C_CODE_REFERENCE whose ``referenceSetUri``
names a FHIR operation, as EHRbase reads it: ``terminology://fhir.hl7.org/ValueSet/$expand?url=<value set
url>`` (or ``CodeSystem/$validate-code?url=<code system url>``). The template cannot list the codes; only a
terminology server knows them. :class:`FhirTerminologyServer` asks one with the FHIR ``$validate-code``
operation (``GET <base>/ValueSet/$validate-code?url=&system=&code=``), which answers for a value set of any
size in one call, and keeps each answer for a while: a municipality's apps commit the same few codes all day.

Only definite answers are kept (the code is or is not in the set). A server that cannot be reached, times
out, answers with an error or with something that is not a FHIR ``Parameters`` resource gives a verdict of
``None`` ("could not be checked") with the reason, and is asked again next time; the caller decides what an
unchecked code means (:mod:`cdr.services.value_sets`).
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

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


class FhirTerminologyServer:
    """A FHIR R4 terminology server at ``base_url``, asked with ``$validate-code``; answers are kept
    ``ttl`` seconds (at most ``max_entries`` of them, least recently used first out). Safe across threads."""

    def __init__(
        self, base_url: str, timeout: float = 5.0, ttl: float = 600.0, max_entries: int = 10_000
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.ttl = ttl
        self.max_entries = max_entries
        self._answers: OrderedDict[tuple[FhirBinding, str, str], tuple[float, CodeVerdict]] = OrderedDict()
        self._lock = threading.Lock()

    def validate_code(self, binding: FhirBinding, terminology_id: str, code: str) -> CodeVerdict:
        """Whether ``code`` of ``terminology_id`` is in the value set (or code system) ``binding``."""
        system = fhir_system(terminology_id)
        key = (binding, system, code)
        now = time.monotonic()
        with self._lock:
            kept = self._answers.get(key)
            if kept is not None and kept[0] > now:
                self._answers.move_to_end(key)
                return kept[1]
        verdict = self._ask(binding, system, code)
        if verdict.valid is not None and self.ttl > 0:
            with self._lock:
                self._answers[key] = (now + self.ttl, verdict)
                self._answers.move_to_end(key)
                while len(self._answers) > self.max_entries:
                    self._answers.popitem(last=False)
        return verdict

    def validate_code_url(self, binding: FhirBinding, system: str, code: str) -> str:
        """The ``$validate-code`` request for one code."""
        params = {"url": binding.url, "code": code}
        if binding.resource == "ValueSet":
            params["system"] = system
        return f"{self.base_url}/{binding.resource}/$validate-code?{urllib.parse.urlencode(params)}"

    def _ask(self, binding: FhirBinding, system: str, code: str) -> CodeVerdict:
        request = urllib.request.Request(
            self.validate_code_url(binding, system, code), headers={"Accept": FHIR_JSON}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                body = answer.read()
        except urllib.error.HTTPError as exc:
            detail = _outcome_text(exc.read()) or exc.reason
            return CodeVerdict(None, f"the terminology server answered {exc.code}: {detail}")
        except (OSError, ValueError) as exc:  # unreachable, refused, timed out, a malformed URL
            return CodeVerdict(None, f"the terminology server at {self.base_url} could not be reached: {exc}")
        return _verdict(body)


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _verdict(body: bytes) -> CodeVerdict:
    """A ``Parameters`` resource's ``result`` and ``message``."""
    document = _json(body)
    if not isinstance(document, dict) or document.get("resourceType") != "Parameters":
        text = _outcome_text(body)
        return CodeVerdict(
            None, "the terminology server answered without a result" + (f": {text}" if text else "")
        )
    result: Any = None
    message = ""
    for parameter in document.get("parameter") or ():
        if not isinstance(parameter, dict):
            continue
        if parameter.get("name") == "result":
            result = parameter.get("valueBoolean")
        elif parameter.get("name") == "message" and isinstance(parameter.get("valueString"), str):
            message = parameter["valueString"]
    if not isinstance(result, bool):
        return CodeVerdict(None, "the terminology server's Parameters have no boolean result")
    return CodeVerdict(result, message)


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
