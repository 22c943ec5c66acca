"""Codes for example compositions: what a C_CODE_PHRASE, CONSTRAINT_REF or RM binding allows, with its text.

Worked out once per constraint into :class:`Code` lists; drawing a code is then a list pick. Local codes take
their text from the archetype's term definitions in the composition language, openEHR codes their rubric
(English where the terminology has no translation), code-set codes (languages, countries, media types) their
description or the code itself. Value sets held outside the template (external terminologies, ac-codes
without codes) have no codes we could know; they get a code of the bound terminology and the text of the
constraint, as EHRbase's example generator does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from cdr.template.aom import CArchetypeRoot, CCodePhrase, CCodeReference, ConstraintRef
from cdr.terminology import Binding, code_set, codes, group_of, rubric
from cdr.terminology.code_sets import UnknownCodeSet

__all__ = [
    "DEFAULT_GROUP_CODES",
    "Code",
    "binding_codes",
    "code_phrase_codes",
    "constraint_ref_codes",
    "local_text",
    "openehr_text",
]

LOCAL = "local"
OPENEHR = "openehr"

DEFAULT_GROUP_CODES = {
    "composition_category": "433",  # event
    "setting": "238",  # other care
    "event_math_function": "146",  # mean
    "null_flavours": "253",  # unknown
    "instruction_states": "532",  # completed
    "participation_function": "",  # free text is allowed; no code preferred
    "participation_mode": "216",  # face-to-face communication
    "subject_relationship": "0",  # self
    "audit_change_type": "249",  # creation
    "attestation_reason": "240",  # signed
    "term_mapping_purpose": "671",  # research study
}
"""The code used first where an RM attribute is coded by an openEHR group and the template names none."""

DEFAULT_CODE_SET_CODES = {
    "character_sets": "UTF-8",
    "media_types": "application/pdf",
    "compression_algorithms": "gzip",
    "integrity_check_algorithms": "SHA-256",
    "normal_statuses": "N",
}


@dataclass(frozen=True, slots=True)
class Code:
    """One code a value may take: terminology id, code string, and the text a DV_CODED_TEXT shows."""

    terminology_id: str
    code_string: str
    text: str


def local_text(root: CArchetypeRoot | None, code: str, language: str) -> str:
    if root is not None:
        text = root.term_text(code, language)
        if text:
            return text
    return code


def openehr_text(code: str, language: str, group: str | None = None) -> str:
    """The rubric of an openEHR code, from ``group`` where given (a code may be in several groups)."""
    groups = group_of(code)
    if group in groups:
        groups = (group,)
    for group_id in groups:
        text = rubric(code, group_id, language) or rubric(code, group_id, "en")
        if text:
            return text
    return code


def _code_set_text(terminology_id: str, code: str) -> str:
    try:
        description = code_set(terminology_id).description(code)
    except UnknownCodeSet:
        description = None
    return description or code


def code_phrase_codes(
    c: CCodePhrase,
    language: str,
    label: str,
    group: str | None = None,
    reference_codes: tuple[tuple[str, str, str, str], ...] = (),
) -> list[Code]:
    """The codes a C_CODE_PHRASE lists, with texts; for an open one, one code of its terminology.

    ``group`` is the openEHR group the attribute is bound to, for the rubric of codes in several groups;
    ``reference_codes`` a code of each external value set a terminology server gave, as
    ``(uri, terminology id, code, text)``.
    """
    tid = c.terminology_id
    root = c.archetype_root
    if any(c.code_list):
        out = []
        for code in c.code_list:
            if not code:
                continue  # some templates list empty codes; no data can carry them
            if tid == LOCAL:
                text = local_text(root, code, language)
            elif tid == OPENEHR:
                text = openehr_text(code, language, group)
            else:
                text = _code_set_text(tid or "", code)
            out.append(Code(tid or LOCAL, code, text))
        return _assumed_first(_in_code_set(out, tid), c)
    if isinstance(c, CCodeReference) and c.reference_set_uri:
        for uri, terminology, code, text in reference_codes:
            if uri == c.reference_set_uri:
                return [Code(terminology, code, text or label)]
        return [Code(reference_terminology(c.reference_set_uri), "1", label)]
    if tid == LOCAL and root is not None:
        terms = root.term_definitions.get(language) or next(iter(root.term_definitions.values()), {})
        at_codes = sorted(code for code in terms if code.startswith("at") and code != "at0000")
        if at_codes:
            return [Code(LOCAL, code, local_text(root, code, language)) for code in at_codes[:8]]
    if tid is not None and tid not in (LOCAL, OPENEHR):
        preferred = _code_set_default(tid)
        if preferred is not None:
            return [Code(tid, preferred, _code_set_text(tid, preferred))]
        return [Code(tid, "1", label)]
    return []


def _in_code_set(out: list[Code], terminology_id: str | None) -> list[Code]:
    """The listed codes of an openEHR code set (IANA media types, ISO 639-1, ...) that the set holds, when
    any does: a template may list one it does not (``audio/shalalala`` in the SDK's multimedia test),
    which the validator refuses as EHRbase does, so an example must not pick it."""
    if terminology_id in (None, LOCAL, OPENEHR):
        return out
    try:
        cs = code_set(terminology_id or "")
    except UnknownCodeSet:
        return out
    held = [x for x in out if cs.has(x.code_string)]
    return held or out


def _assumed_first(out: list[Code], c: CCodePhrase) -> list[Code]:
    if c.assumed_value is None:
        return out
    first = [x for x in out if x.code_string == c.assumed_value.code_string]
    return first + [x for x in out if x.code_string != c.assumed_value.code_string]


def _code_set_default(terminology_id: str) -> str | None:
    try:
        cs = code_set(terminology_id)
    except UnknownCodeSet:
        return None
    preferred = DEFAULT_CODE_SET_CODES.get(cs.code_set_id)
    return preferred if preferred and cs.has(preferred) else (cs.codes[0] if cs.codes else None)


def constraint_ref_codes(c: ConstraintRef, language: str, label: str) -> list[Code]:
    """An ac-code: a code of the first terminology it is bound to (else ``local``), the constraint's text."""
    definition = c.constraint_definition(language)
    text = (definition.text if definition is not None else None) or label
    bound = c.bindings()
    if bound:
        tid, uri = next(iter(bound.items()))
        return [Code(reference_terminology(uri) or tid, "1", text)]
    return [Code(LOCAL, c.reference, text)]


_NOT_IN_ID = re.compile(r"[()]")


def reference_terminology(uri: str) -> str:
    """The terminology a value-set reference names: ``terminology:SNOMED-CT?subset=x`` -> ``SNOMED-CT``;
    for a FHIR ``$expand?url=...`` reference, the value set's URL."""
    rest = uri.split(":", 1)[1] if uri.lower().startswith("terminology:") else uri
    if rest.startswith("//"):
        query = parse_qs(urlsplit("http:" + rest).query)
        url = query.get("url", [rest])[0]
        return _NOT_IN_ID.sub("", unquote(url)) or "external"
    name = re.split(r"[/?]", rest.lstrip("/"), maxsplit=1)[0]
    return _NOT_IN_ID.sub("", unquote(name)) or "external"


def binding_codes(bound: Binding, language: str) -> list[Code]:
    """The codes an RM binding allows, the preferred default first (language and territory are per draw)."""
    if bound.kind == "group":
        group_codes = list(codes(bound.target))
        preferred = DEFAULT_GROUP_CODES.get(bound.target)
        if preferred and preferred in group_codes:
            group_codes.remove(preferred)
            group_codes.insert(0, preferred)
        return [Code(OPENEHR, code, openehr_text(code, language, bound.target)) for code in group_codes]
    cs = code_set(bound.target)
    preferred = DEFAULT_CODE_SET_CODES.get(cs.code_set_id)
    first = preferred if preferred and cs.has(preferred) else cs.codes[0]
    return [Code(cs.external_id, first, _code_set_text(cs.external_id, first))]
