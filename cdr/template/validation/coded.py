"""Coded values against C_CODE_PHRASE, CONSTRAINT_REF and the template's term definitions.

A code is checked for its terminology and membership of the code list; once the code is allowed, the text of a
DV_CODED_TEXT must be the term's text: for ``local`` codes the archetype's term in the data's language, with
every other language of the archetype accepted as fallback (translated templates carry several), for
``openehr`` codes a rubric of the openEHR terminology in any language it provides. External terminologies are
not available here, so their texts are not checked (as in EHRbase without a terminology server); the codes of
an external value set (C_CODE_REFERENCE) are listed for the caller, who may ask a terminology server
(:mod:`cdr.services.value_sets`).
"""

from __future__ import annotations

import re
from typing import Any

from cdr.rm.base import RMObject
from cdr.template.aom import CArchetypeRoot, CCodePhrase, CCodeReference, CComplexObject, ConstraintRef
from cdr.template.issues import IssueCode
from cdr.template.validation.context import Context, ExternalCode
from cdr.template.validation.datapath import DataPath, child, render
from cdr.terminology import group_of, is_acceptable_rubric
from cdr.terminology import rubric as openehr_rubric

LOCAL = "local"
OPENEHR = "openehr"
_VERSION_SUFFIX = re.compile(r"\(.*\)$")


def terminology_name(terminology_id: str) -> str:
    """``SNOMED-CT(2003)`` -> ``snomed-ct``: terminology ids compared without version and case."""
    return _VERSION_SUFFIX.sub("", terminology_id).strip().lower()


def _phrase(obj: Any) -> tuple[str | None, str | None]:
    d = obj.__dict__
    tid = d.get("terminology_id")
    return (tid.__dict__.get("value") if tid is not None else None), d.get("code_string")


def code_allowed(c: CCodePhrase, terminology_id: str | None, code: str | None) -> bool:
    """Whether the C_CODE_PHRASE admits the code (its terminology must match where the constraint has one)."""
    if (
        c.terminology_id is not None
        and terminology_id is not None
        and (terminology_name(terminology_id) != terminology_name(c.terminology_id))
    ):
        return False
    return not c.code_list or code in c.code_list


def check_code_phrase(obj: RMObject, c: CCodePhrase, path: DataPath | None, ctx: Context) -> None:
    tid, code = _phrase(obj)
    if tid is None or code is None:
        return  # reported as REQUIRED by the RM rules
    if c.terminology_id and terminology_name(tid) != terminology_name(c.terminology_id):
        ctx.add(
            path,
            IssueCode.TERMINOLOGY_MISMATCH,
            f"terminology {tid} is not allowed, expected {c.terminology_id}",
            c.path,
        )
        return
    if isinstance(c, CCodeReference) and not c.code_list:
        # an external value set: only a terminology server knows its codes; listed for the caller to ask
        if ctx.external is not None and c.reference_set_uri:
            ctx.external.append(ExternalCode(render(path), c.reference_set_uri, tid, code, c.path))
        return
    if c.code_list and code not in c.code_list:
        allowed = ", ".join(describe(c, x, ctx.language) for x in c.code_list)
        ctx.add(
            path, IssueCode.CODE_NOT_ALLOWED, f"code {tid}::{code} is not allowed; allowed: {allowed}", c.path
        )


def describe(c: CCodePhrase, code: str, language: str | None) -> str:
    """``at0012 (Medication course cancelled)``: a code with its term text, for messages."""
    text = _local_text(c.archetype_root, code, language) if c.terminology_id == LOCAL else None
    if text is None and c.terminology_id == OPENEHR:
        groups = group_of(code)
        text = openehr_rubric(code, groups[0], language or "en") if groups else None
    return f"{code} ({text})" if text else code


def _local_text(root: CArchetypeRoot | None, code: str, language: str | None) -> str | None:
    return root.term_text(code, language) if root is not None else None


def _local_texts(root: CArchetypeRoot | None, code: str) -> set[str]:
    if root is None:
        return set()
    out = set()
    for table in (root.term_definitions, root.constraint_definitions):
        for terms in table.values():
            term = terms.get(code)
            if term is not None and term.text:
                out.add(term.text)
    return out


def check_coded_text(obj: RMObject, cobj: CComplexObject, path: DataPath | None, ctx: Context) -> None:
    """The text of a DV_CODED_TEXT whose code the template allows must be that code's term text."""
    attr = cobj.attribute("defining_code")
    if attr is None or not attr.children:
        return
    d = obj.__dict__
    value, phrase = d.get("value"), d.get("defining_code")
    if phrase is None or not isinstance(value, str):
        return
    tid, code = _phrase(phrase)
    if tid is None or code is None:
        return
    for c in attr.children:
        # only codes the constraint lists have a term to compare with (EHRbase checks against that list too)
        if not isinstance(c, CCodePhrase) or not c.code_list or not code_allowed(c, tid, code):
            continue
        if tid == LOCAL:
            root = c.archetype_root
            texts = _local_texts(root, code)
            if texts and value not in texts:
                expected = _local_text(root, code, ctx.language)
                ctx.add(
                    child(path, "value"),
                    IssueCode.TERM_TEXT_MISMATCH,
                    f"'{value}' is not the text of {code}; expected '{expected}'",
                    c.path,
                )
        elif tid == OPENEHR:
            groups = group_of(code)
            if groups and not any(is_acceptable_rubric(code, g, value) for g in groups):
                expected = openehr_rubric(code, groups[0], ctx.language or "en")
                ctx.add(  # the openEHR terminology's own check, as for the attributes the RM codes with it
                    child(path, "value"),
                    IssueCode.OPENEHR_RUBRIC,
                    f"'{value}' is not the rubric of openehr code {code}; expected '{expected}'",
                    c.path,
                )
        return


def check_constraint_ref(obj: RMObject, c: ConstraintRef, path: DataPath | None, ctx: Context) -> None:
    """CONSTRAINT_REF (an ac-code): codes are not checked (the value set lives in an external terminology),
    but where the template binds the ac-code to terminologies the code must come from one of them."""
    tid, code = _phrase(obj)
    if tid is None or code is None:
        return
    bound = c.bindings()
    if not bound:
        return
    names = {terminology_name(t) for t in bound}
    names.update(_uri_terminology(uri) for uri in bound.values())
    if terminology_name(tid) not in names:
        ctx.add(
            path,
            IssueCode.TERMINOLOGY_MISMATCH,
            f"terminology {tid} is not bound to {c.reference}; expected one of {', '.join(sorted(bound))}",
            c.path,
        )


def _uri_terminology(uri: str) -> str:
    """``terminology:SNOMED-CT?subset=x`` -> ``snomed-ct``."""
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    rest = rest.lstrip("/")
    return terminology_name(re.split(r"[/?]", rest, maxsplit=1)[0])
