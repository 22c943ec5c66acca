"""FLAT codecs of texts and codes (RM ``data_types.text``): CODE_PHRASE, DV_TEXT, DV_CODED_TEXT, TERM_MAPPING.

A coded text's missing parts come from the template: the terminology of its code list, the code whose term
text the document gives, the term text of a local or openEHR code. The helpers that find those constraint
and term texts are public because the ordinal and state codecs fill their symbols the same way.
"""

from __future__ import annotations

from typing import Any

from cdr.errors import FormatError
from cdr.formats.flat_codec import (
    Codec,
    ReadContext,
    Take,
    as_str,
    build,
    read_object,
    register,
    write_object,
)
from cdr.formats.flat_keys import FlatNode
from cdr.rm import CodePhrase, DvCodedText, DvText, RMObject, TerminologyId, TermMapping
from cdr.rm.base import assemble, construct, empty_values
from cdr.template.aom import CCodePhrase, CComplexObject, CObject
from cdr.terminology import openehr as openehr_terms

__all__ = [
    "attr_constraint",
    "code_phrase",
    "coded_text",
    "read_text",
    "term_text",
    "text_value",
    "write_text",
]


def _fast(cls: Any, **values: Any) -> Any:
    """``construct`` with keyword values (``None`` values left out)."""
    return build(cls, values)


def attr_constraint(constraint: CObject | None, name: str) -> CObject | None:
    if isinstance(constraint, CComplexObject):
        attr = constraint.attribute(name)
        if attr is not None and attr.children:
            return attr.children[0]
    return None


def _code_constraint(constraint: CObject | None) -> CCodePhrase | None:
    if isinstance(constraint, CCodePhrase):
        return constraint
    found = attr_constraint(constraint, "defining_code")
    return found if isinstance(found, CCodePhrase) else None


_TERMINOLOGY_ID = empty_values(TerminologyId)


def code_phrase(terminology: str | None, code: str | None, preferred_term: str | None = None) -> CodePhrase:
    """A CODE_PHRASE (built directly: entries, names and coded texts make many of them)."""
    tid = None
    if terminology is not None:
        data = _TERMINOLOGY_ID.copy()
        data["value"] = terminology
        tid = assemble(TerminologyId, data, {"value"})
    return build(CodePhrase, {"terminology_id": tid, "code_string": code, "preferred_term": preferred_term})


def term_text(ctx: ReadContext, constraint: CObject | None, terminology: str | None, code: str) -> str | None:
    """The text of a code: the archetype term for local codes, the openEHR rubric for openehr codes."""
    if terminology == "openehr":
        for group in openehr_terms.group_of(code):
            text = openehr_terms.rubric(code, group, ctx.language)
            if text is not None:
                return text
        return None
    if constraint is not None and (terminology in (None, "local") or code.startswith(("at", "ac"))):
        return ctx.term_text(constraint, code)
    return None


def _read_code_phrase(take: Take, ctx: ReadContext, constraint: CObject | None, _t: str) -> RMObject:
    bare = take.value()
    code = take.attr("code", "code_string")
    code = bare if code is None else code
    terminology = take.attr("terminology", "terminology_id")
    if terminology is None or code is None:  # what the template fixes, only where the document is silent
        cons = _code_constraint(constraint)
        if terminology is None and cons is not None:
            terminology = cons.terminology_id
        if code is None and cons is not None and cons.assumed_value is not None:
            code, terminology = cons.assumed_value.code_string, cons.assumed_value.terminology_id
    preferred = take.attr("preferred_term")
    return code_phrase(
        None if terminology is None else as_str(terminology, take.key),
        None if code is None else as_str(code, take.key),
        None if preferred is None else as_str(preferred, take.key),
    )


def _write_code_phrase(obj: RMObject, node: FlatNode) -> None:
    assert isinstance(obj, CodePhrase)
    if obj.code_string is not None:
        node.attrs["code"] = obj.code_string
    if obj.terminology_id is not None:
        node.attrs["terminology"] = obj.terminology_id.value
    if obj.preferred_term is not None:
        node.attrs["preferred_term"] = obj.preferred_term


register("CODE_PHRASE")(Codec(_read_code_phrase, _write_code_phrase))

_TEXT_EXTRAS = ("hyperlink", "mappings", "language", "encoding")


def _read_text_extras(take: Take, ctx: ReadContext, values: dict[str, Any]) -> None:
    formatting = take.attr("formatting")
    if formatting is not None:
        values["formatting"] = as_str(formatting, take.key)
    mappings = take.children("_mapping", "mapping", "_mappings", "mappings")
    if mappings:
        values["mappings"] = [read_object(n, ctx, "TERM_MAPPING") for n in mappings]
    for name, rm_type in (("hyperlink", "DV_URI"), ("language", "CODE_PHRASE"), ("encoding", "CODE_PHRASE")):
        child = take.child("_" + name, name)
        if child is not None:
            values[name] = read_object(child, ctx, rm_type)


def _write_text_extras(obj: DvText, node: FlatNode) -> None:
    if obj.formatting is not None:
        node.attrs["formatting"] = obj.formatting
    if obj.mappings:
        node.multi.add("_mapping")
        for i, m in enumerate(obj.mappings):
            write_object(m, node.child("_mapping", i))
    for name in ("hyperlink", "language", "encoding"):
        value = getattr(obj, name)
        if value is not None:
            write_object(value, node.child("_" + name))


def text_value(text: str, **extra: Any) -> DvText:
    return _fast(DvText, value=text, **extra)


def coded_text(text: str | None, terminology: str | None, code: str | None) -> DvCodedText:
    return _fast(DvCodedText, value=text, defining_code=code_phrase(terminology, code))


def read_text(take: Take, ctx: ReadContext, constraint: CObject | None, rm_type: str) -> RMObject:
    """DV_TEXT or DV_CODED_TEXT: codes (``|code``) make a coded text, ``|other`` a free text."""
    other = take.attr("other")
    values: dict[str, Any] = {}
    if other is not None:
        values["value"] = as_str(other, take.key + "|other")
        _read_text_extras(take, ctx, values)
        return construct(DvText, values)
    bare = take.value()
    text = take.attr("value")
    text = bare if text is None else text
    code = take.attr("code")
    terminology = take.attr("terminology", "terminology_id")
    preferred = take.attr("preferred_term")
    defining = take.child("defining_code")
    cons = _code_constraint(constraint)
    coded = code is not None or defining is not None or rm_type == "DV_CODED_TEXT" or terminology is not None
    if coded:
        if defining is not None:
            phrase = read_object(defining, ctx, "CODE_PHRASE", cons)
        else:
            if terminology is None and cons is not None:
                terminology = cons.terminology_id
            if code is None and text is not None and cons is not None:
                code = _code_for_text(ctx, cons, as_str(text, take.key))
            if terminology is None and code is not None and str(code).startswith("at"):
                terminology = "local"
            if (
                terminology is None
                and cons is None
                and code is not None
                and openehr_terms.group_of(str(code))
            ):
                terminology = "openehr"  # RM attributes outside the template are coded in openEHR terms
            phrase = code_phrase(
                None if terminology is None else as_str(terminology, take.key),
                None if code is None else as_str(code, take.key),
                None if preferred is None else as_str(preferred, take.key),
            )
        if text is None and phrase.code_string is not None:
            text = term_text(
                ctx, cons, phrase.terminology_id.value if phrase.terminology_id else None, phrase.code_string
            )
        values["value"] = None if text is None else as_str(text, take.key)
        values["defining_code"] = phrase
        _read_text_extras(take, ctx, values)
        return construct(DvCodedText, values)
    if text is None:
        raise FormatError(take.key, "a text value is required")
    values["value"] = as_str(text, take.key)
    _read_text_extras(take, ctx, values)
    return construct(DvText, values)


def _code_for_text(ctx: ReadContext, cons: CCodePhrase, text: str) -> str | None:
    """The code of a code list whose term text is ``text`` (a coded text given by its text only)."""
    for code in cons.code_list:
        if term_text(ctx, cons, cons.terminology_id, code) == text:
            return code
    return None


def write_text(obj: RMObject, node: FlatNode) -> None:
    assert isinstance(obj, DvText)
    if isinstance(obj, DvCodedText):
        node.attrs["value"] = obj.value
        phrase = obj.defining_code
        if phrase is not None:
            if phrase.code_string is not None:
                node.attrs["code"] = phrase.code_string
            if phrase.terminology_id is not None:
                node.attrs["terminology"] = phrase.terminology_id.value
            if phrase.preferred_term is not None:
                node.attrs["preferred_term"] = phrase.preferred_term
    else:
        node.value, node.has_value = obj.value, True
    _write_text_extras(obj, node)


register("DV_TEXT", "DV_CODED_TEXT")(Codec(read_text, write_text, subtypes=("DV_CODED_TEXT",)))


def _read_mapping(take: Take, ctx: ReadContext, _c: CObject | None, _t: str) -> RMObject:
    match = take.attr("match")
    target = take.child("target")
    purpose = take.child("purpose")
    return _fast(
        TermMapping,
        match=None if match is None else as_str(match, take.key),
        target=None if target is None else read_object(target, ctx, "CODE_PHRASE"),
        purpose=None if purpose is None else read_object(purpose, ctx, "DV_CODED_TEXT"),
    )


def _write_mapping(obj: RMObject, node: FlatNode) -> None:
    assert isinstance(obj, TermMapping)
    if obj.match is not None:
        node.attrs["match"] = obj.match
    if obj.target is not None:
        write_object(obj.target, node.child("target"))
    if obj.purpose is not None:
        write_object(obj.purpose, node.child("purpose"))


register("TERM_MAPPING")(Codec(_read_mapping, _write_mapping))
