"""What a web template node is called: the names a template fixes for an object, and node ids.

A template may fix the RM ``name`` of an archetyped object with a string (``name/value``) or with a coded
text (``name/defining_code``). A coded name allowing several codes is a choice of names: EHRbase gives each
its own node (``items[at0018 and name/value='Name 1']``, ``... 'Name 2'``), named in each language by the
code's own term. Ids are derived from the name in the default language.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from cdr.template.aom import CCodePhrase, CComplexObject, CPrimitiveObject, CString
from cdr.template.web_template_inputs import TermContext


@dataclass(frozen=True, slots=True)
class NameChoice:
    """One name the template allows: its text in the default language and, when coded, per language."""

    name: str
    localized: dict[str, str] = field(default_factory=dict)


def name_choices(obj: CComplexObject, ctx: TermContext) -> list[NameChoice]:
    """The names the template fixes for ``obj`` (empty when its name is free)."""
    attr = obj.attribute("name")
    if attr is None:
        return []
    for value in attr.children:
        if not isinstance(value, CComplexObject):
            continue
        text = value.attribute("value")
        for prim in text.children if text is not None else []:
            if isinstance(prim, CPrimitiveObject) and isinstance(prim.item, CString) and prim.item.list:
                return [NameChoice(s) for s in prim.item.list]
        code = value.attribute("defining_code")
        for phrase in code.children if code is not None else []:
            if isinstance(phrase, CCodePhrase) and phrase.code_list:
                return [_coded_name(obj, c, ctx) for c in phrase.code_list]
    return []


def _coded_name(obj: CComplexObject, code: str, ctx: TermContext) -> NameChoice:
    localized = {
        lang: term.text
        for lang in ctx.languages
        if (term := ctx.term(obj, code, lang)) is not None and term.text
    }
    return NameChoice(localized.get(ctx.default_language, code), localized)


def web_template_id(name: str) -> str:
    """The id EHRbase derives from a node name: lower case, runs of other characters to ``_``.

    Letters of any script, decimal digits, ``_``, ``.`` and ``-`` are kept; an id may not start with a
    digit. Compatibility characters are normalised first (NFKC), so that a FLAT path says ``spo2`` for
    *SpO₂* rather than keeping a subscript digit.

    >>> web_template_id("Spezifisches Symptom/Anzeichen")
    'spezifisches_symptom_anzeichen'
    >>> web_template_id("24 hour average")
    'a24_hour_average'
    >>> web_template_id("SpO₂ skala 1")
    'spo2_skala_1'
    """
    folded = unicodedata.normalize("NFKC", name).lower()
    kept = "".join(ch if ch.isalpha() or ch.isdecimal() or ch in "_.-" else " " for ch in folded)
    ident = "_".join(kept.split())
    if ident[:1].isdigit():
        ident = "a" + ident
    return ident
