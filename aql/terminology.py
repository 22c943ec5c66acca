"""``TERMINOLOGY(operation, service_api, params_uri)`` answered from the openEHR terminology, in Python.

AQL 1.1 ("TERMINOLOGY") hands a call to a terminology service and leaves its operations and parameters to
that service. The one terminology this CDR holds is openEHR's own (:mod:`cdr.terminology`: its groups, code
sets and rubrics in en/es/ja/pt/zh), and it does not change while a query runs, so a call is a constant: the
compiler evaluates it here, once, and the statement stays one SQL statement with the answer as literals.
Any other terminology (SNOMED CT, LOINC, a FHIR value set) needs a terminology server: with one configured
(``FHIR_TERMINOLOGY_URL``) the call is answered by it before the query is compiled (:func:`external_answers`,
the FHIR operations in :class:`~cdr.terminology.fhir.FhirTerminologyServer` with the call's own parameters),
and the answers are part of the compiled statement's cache key, so a changed value set compiles anew;
without one, :class:`ForeignTerminology` (``not supported: TERMINOLOGY <terminology>``).

``params_uri`` is read as FHIR terminology parameters (``name=value&...``, as the spec's examples are), or,
when it is not of that form, as the value set itself. ``service_api`` is not consulted: whatever the flavour,
the parameters below mean the same here.

- value set (``url``, or the whole text): a group id or name (``composition_category``, ``composition
  category``), a code set id or external id (``languages``, ``ISO_639-1``), or ``openehr`` for every code of
  the terminology; optionally after an openEHR prefix (``openehr/``, ``openehr::``, ``http://openehr.org/``,
  ``terminology://openehr/``), the last segment naming it;
- ``system``: ``openehr`` (or an openEHR URI, or a code set's external id); a value set alone is enough;
- ``code``, ``display``, ``displayLanguage`` (or ``language``), ``source``/``target``, ``codeA``/``codeB``.

Operations (the spec's list): ``expand`` gives the value set's codes; ``validate`` whether ``code`` (with
``display``, if given, as its rubric in some language) is in the value set; ``lookup`` the rubric of
``code`` (in ``displayLanguage``, else English; a code set's description); ``map`` the code of ``target``
equivalent to ``code`` of ``source``: openEHR codes are one code system, so it is ``code`` itself when
``target`` holds it and nothing otherwise; ``subsumes`` whether ``codeA`` subsumes ``codeB``: the openEHR
terminology has no hierarchy, so only a code itself.

>>> evaluate("expand", "composition category")
('431', '451', '433', '815')
>>> evaluate("validate", "system=openehr&code=433&url=composition_category")
True
>>> evaluate("lookup", "system=openehr&code=433&url=composition_category&displayLanguage=es")
'evento'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote_plus

from aql import ast
from aql.cache import cached_parse
from aql.errors import AqlSemanticError, AqlUnsupported
from cdr.errors import Unavailable
from cdr.terminology import openehr
from cdr.terminology.code_sets import CodeSet, code_set_for_terminology
from cdr.terminology.fhir import FhirError, FhirTerminologyServer, binding_of

Result = tuple[str, ...] | bool | str | None
"""``expand`` and ``map``: codes; ``validate`` and ``subsumes``: a Boolean; ``lookup``: a text or None."""

OPERATIONS = ("expand", "validate", "lookup", "map", "subsumes")

Answers = tuple[tuple[tuple[str, str], Result], ...]
"""Answers of a terminology server: ``((operation, params), result)``, or ``(("uri", uri), codes)`` for a
terminology URI in MATCHES; hashable, so a compiled statement's cache key can hold them."""


class ForeignTerminology(AqlUnsupported):
    """A call or URI of another terminology than openEHR's, which only a terminology server can answer."""


_PARAMETERS = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*=")
_OPENEHR_PREFIX = re.compile(
    r"^(?:terminology://openehr|https?://(?:www\.|specifications\.)?openehr\.org(?:/[^/?#]*)*?|openehr)"
    r"(?:::|/|\?|$)",
    re.IGNORECASE,
)
_URI = re.compile(r"^(?:([a-z][a-z0-9+.-]*):)?//([^/?#]+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ValueSet:
    """A value set of the openEHR terminology: one group, one code set, or every code (both None)."""

    group: openehr.Group | None = None
    code_set: CodeSet | None = None

    def codes(self) -> tuple[str, ...]:
        if self.group is not None:
            return self.group.codes
        if self.code_set is not None:
            return self.code_set.codes
        every = (c for g in openehr.group_ids() for c in openehr.codes(g))
        return tuple(dict.fromkeys(every))

    def has(self, code: str) -> bool:
        if self.group is not None:
            return self.group.has(code)
        if self.code_set is not None:
            return self.code_set.has(code)
        return openehr.has_any_code(code)

    def displays(self, code: str) -> dict[str, str]:
        """The code's rubrics by language (a code set: its description, in English)."""
        if self.code_set is not None:
            description = self.code_set.description(code)
            return {openehr.REFERENCE_LANGUAGE: description} if description is not None else {}
        groups = [self.group.group_id] if self.group is not None else list(openehr.group_of(code))
        out: dict[str, str] = {}
        for group_id in groups:
            for language, text in openehr.rubrics(code, group_id).items():
                out.setdefault(language, text)
        return out


def evaluate(operation: str, params: str) -> Result:
    """The answer of ``TERMINOLOGY(operation, <any service_api>, params)`` from the openEHR terminology."""
    op = operation.strip().lower()
    if op not in OPERATIONS:
        raise AqlUnsupported(f"TERMINOLOGY operation {operation!r} (known: {', '.join(OPERATIONS)})")
    args = parameters(params)
    _check_system(args.get("system"))
    if op == "expand":
        return value_set(_required(args, "url", op)).codes()
    if op == "validate":
        code = _required(args, "code", op)
        found = value_set(args.get("url", "openehr"))
        if not found.has(code):
            return False
        display = args.get("display")
        return display is None or display in found.displays(code).values()
    if op == "lookup":
        code = _required(args, "code", op)
        displays = value_set(args.get("url", "openehr")).displays(code)
        language = openehr.primary_language(args.get("displayLanguage") or args.get("language") or "en")
        return displays.get(language, displays.get(openehr.REFERENCE_LANGUAGE))
    if op == "map":
        code = _required(args, "code", op)
        source = value_set(args.get("source", "openehr"))
        target = value_set(_required(args, "target", op))
        return (code,) if source.has(code) and target.has(code) else ()
    code_a, code_b = _required(args, "codeA", op), _required(args, "codeB", op)
    return code_a == code_b and value_set("openehr").has(code_a)


def parameters(params: str) -> dict[str, str]:
    """FHIR-style ``name=value&...`` parameters, or ``{"url": params}`` when the text is a value set.

    A value may itself hold ``=`` and ``?`` (``url=http://snomed.info/sct?fhir_vs``), so only an ``&``
    followed by ``name=`` starts the next parameter."""
    text = params.strip()
    if not _PARAMETERS.match(text):
        return {"url": text}
    out: dict[str, str] = {}
    for part in re.split(r"&(?=[A-Za-z][A-Za-z0-9_.-]*=)", text):
        name, _, value = part.partition("=")
        out[name] = unquote_plus(value)
    return out


def value_set(reference: str) -> ValueSet:
    """The openEHR value set ``reference`` names; another terminology's is not supported (see module)."""
    text = reference.strip()
    match = _OPENEHR_PREFIX.match(text)
    if match is not None:
        text = text[match.end() :]
    elif "://" in text or "::" in text:
        raise ForeignTerminology(
            f"TERMINOLOGY {_terminology_name(text)} (only the openEHR terminology is held)"
        )
    name = unquote_plus(re.split(r"[/=?&]", text.rstrip("/"))[-1]) if text else ""
    if not name or openehr.group_key(name) in ("openehr", "all"):
        return ValueSet()
    try:
        return ValueSet(group=openehr.group(name))
    except openehr.UnknownGroup:
        pass
    found = code_set_for_terminology(name)
    if found is not None:
        return ValueSet(code_set=found)
    if match is None:
        raise AqlUnsupported(
            f"TERMINOLOGY {reference!r} (no group or code set of the openEHR terminology, the only one held)"
        )
    raise AqlSemanticError(f"the openEHR terminology has no group or code set {name!r}")


def _check_system(system: str | None) -> None:
    if system is None or _OPENEHR_PREFIX.match(system.strip()):
        return
    if code_set_for_terminology(system) is not None:
        return
    raise ForeignTerminology(
        f"TERMINOLOGY {_terminology_name(system)} (only the openEHR terminology is held)"
    )


def _terminology_name(uri: str) -> str:
    """What a URI says the terminology is: its authority (``snomed.info``, ``snomed-ct``), else the text."""
    match = _URI.match(uri.strip())
    if match is not None:
        return match.group(2)
    return uri.split("::", 1)[0] if "::" in uri else uri


def _required(args: Mapping[str, str], name: str, operation: str) -> str:
    value = args.get(name)
    if not value:
        raise AqlSemanticError(f"TERMINOLOGY {operation!r} needs the parameter {name!r}")
    return value


# ------------------------------------------------------------------------------ a terminology server


def answer_key(item: ast.Terminology | ast.TerminologyUri) -> tuple[str, str]:
    """Where a call's answer is found among :data:`Answers`."""
    if isinstance(item, ast.TerminologyUri):
        return ("uri", item.uri)
    return (item.operation.strip().lower(), item.params)


@lru_cache(maxsize=1024)
def foreign_calls(query_text: str) -> tuple[ast.Terminology | ast.TerminologyUri, ...]:
    """The TERMINOLOGY calls and terminology URIs of a query that name another terminology than openEHR's
    (by query text, once: most queries have none)."""
    out: dict[tuple[str, str], ast.Terminology | ast.TerminologyUri] = {}
    for node in ast.walk(cached_parse(query_text)):
        try:
            if isinstance(node, ast.Terminology):
                evaluate(node.operation, node.params)
            elif isinstance(node, ast.TerminologyUri):
                value_set(node.uri)
        except ForeignTerminology:
            assert isinstance(node, ast.Terminology | ast.TerminologyUri)
            out.setdefault(answer_key(node), node)
        except AqlSemanticError:
            continue  # an error of the call itself; the compiler reports it
    return tuple(out.values())


def external_answers(query_text: str, server: FhirTerminologyServer | None) -> Answers:
    """The server's answers to a query's calls of other terminologies (none without a server: the
    compiler then reports them as not supported)."""
    if server is None:
        return ()
    return tuple((answer_key(call), external(server, call)) for call in foreign_calls(query_text))


_FHIR_OPERATIONS: dict[str, Callable[[FhirTerminologyServer, Mapping[str, str]], Result]] = {
    "expand": FhirTerminologyServer.expand,
    "validate": FhirTerminologyServer.validate,
    "lookup": FhirTerminologyServer.lookup,
    "subsumes": FhirTerminologyServer.subsumes,
    "map": FhirTerminologyServer.translate,
}
"""Each AQL TERMINOLOGY operation (:data:`OPERATIONS`) and the FHIR operation that answers it."""


def external(server: FhirTerminologyServer, call: ast.Terminology | ast.TerminologyUri) -> Result:
    """One call answered by the FHIR terminology server: ``expand`` by ``ValueSet/$expand``, ``validate`` by
    ``ValueSet/$validate-code``, ``lookup`` by ``CodeSystem/$lookup``, ``subsumes`` by
    ``CodeSystem/$subsumes``, ``map`` by ``ConceptMap/$translate``, each with the call's parameters; a
    terminology URI naming a FHIR value set (``terminology://fhir.hl7.org/ValueSet/$expand?url=...``) by its
    expansion. The server refusing the call is a semantic error (400); not answering, :class:`Unavailable`."""
    operation = "expand" if isinstance(call, ast.TerminologyUri) else call.operation.strip().lower()
    try:
        if isinstance(call, ast.TerminologyUri):
            binding = binding_of(call.uri)
            if binding is None or binding.resource != "ValueSet":
                raise ForeignTerminology(f"TERMINOLOGY {call.uri!r} (no FHIR value set)")
            return server.expand({"url": binding.url})
        return _FHIR_OPERATIONS[operation](server, parameters(call.params))
    except FhirError as exc:
        if exc.refused:
            raise AqlSemanticError(f"TERMINOLOGY {operation!r}: {exc.message}") from None
        raise Unavailable(f"TERMINOLOGY {operation!r}: {exc.message}") from None
