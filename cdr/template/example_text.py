"""Texts, codes and the shared helpers of example values.

:class:`Site` says where a value sits (owner RM type, attribute, the owning node's name, language); the
helpers build the small RM objects every value uses (terminology ids, code phrases, coded texts) and read the
primitive constraints of a C_COMPLEX_OBJECT. DV_TEXT, DV_CODED_TEXT, CODE_PHRASE and DV_PARAGRAPH makers live
here; :mod:`.example_values` dispatches to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cdr.rm import (
    CodePhrase,
    DvCodedText,
    DvParagraph,
    DvText,
    TerminologyId,
    construct,
)
from cdr.rm.base import RM_TYPES
from cdr.template.aom import (
    CArchetypeRoot,
    CCodePhrase,
    CComplexObject,
    CObject,
    ConstraintRef,
    CPrimitive,
    CPrimitiveObject,
    CString,
)
from cdr.template.example_codes import (
    Code,
    binding_codes,
    code_phrase_codes,
    constraint_ref_codes,
    local_text,
)
from cdr.template.example_draw import Draw
from cdr.template.example_regex import example_string
from cdr.terminology import Binding, binding

__all__ = [
    "CANONICAL_TEXT",
    "Maker",
    "Site",
    "children",
    "code_list",
    "code_phrase",
    "code_phrase_maker",
    "coded_text",
    "coded_text_maker",
    "dv_text",
    "free_text",
    "paragraph_maker",
    "pick",
    "primitive",
    "string_maker",
    "terminology_id",
    "text_maker",
]

Maker = Callable[[Draw], Any]

LOREM = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
]
CANONICAL_TEXT = "Lorem ipsum"


@dataclass(frozen=True, slots=True)
class Site:
    """Where a value sits: the RM type and attribute holding it, the owning node's name, the language (and
    the codes a terminology server gave for external value sets)."""

    owner: str
    attribute: str
    label: str
    language: str
    root: CArchetypeRoot | None = None
    reference_codes: tuple[tuple[str, str, str, str], ...] = ()

    @property
    def binding(self) -> Binding | None:
        """The openEHR terminology binding of this attribute, looked up along the owner's RM ancestors."""
        cls = RM_TYPES.get(self.owner)
        names = [c.rm_type for c in cls.__mro__ if hasattr(c, "rm_type")] if cls else [self.owner]
        for name in names:
            found = binding(name, self.attribute)
            if found is not None:
                return found
        return None


# ------------------------------------------------------------------------------------------ helpers


def pick(draw: Draw, seq: list[Any] | tuple[Any, ...]) -> Any:
    return seq[0] if draw.rng is None else draw.rng.choice(seq)


def terminology_id(value: str) -> TerminologyId:
    return construct(TerminologyId, {"value": value})


def code_phrase(tid: str, code: str) -> CodePhrase:
    return construct(CodePhrase, {"terminology_id": terminology_id(tid), "code_string": code})


def coded_text(code: Code) -> DvCodedText:
    return construct(
        DvCodedText,
        {"value": code.text, "defining_code": code_phrase(code.terminology_id, code.code_string)},
    )


def dv_text(value: str) -> DvText:
    return construct(DvText, {"value": value})


def children(c: CObject | None, attribute: str) -> list[CObject]:
    if not isinstance(c, CComplexObject):
        return []
    attr = c.attribute(attribute)
    return list(attr.children) if attr is not None else []


def primitive(c: CObject | None, attribute: str) -> CPrimitive | None:
    for child in children(c, attribute):
        if isinstance(child, CPrimitiveObject):
            return child.item
    return None


def free_text(draw: Draw) -> str:
    rng = draw.rng
    if rng is None:
        return CANONICAL_TEXT
    return " ".join(rng.sample(LOREM, rng.randint(2, 6))).capitalize()


def string_maker(
    prim: CPrimitive | None, fallback: Callable[[Draw], str] = free_text
) -> Callable[[Draw], str]:
    """Strings from a C_STRING: its list, or text matching its pattern, else ``fallback``."""
    if isinstance(prim, CString):
        if prim.list:
            values = list(prim.list)
            if isinstance(prim.assumed_value, str) and prim.assumed_value in values:
                values.remove(prim.assumed_value)
                values.insert(0, prim.assumed_value)
            return lambda draw: pick(draw, values)
        if prim.pattern and prim.pattern not in (".*", "^.*$"):
            pattern = prim.pattern
            canonical = example_string(pattern)
            if canonical is not None:

                def matching(draw: Draw) -> str:
                    if draw.rng is None:
                        return canonical
                    return example_string(pattern, draw.rng) or canonical

                return matching
    return fallback


# ------------------------------------------------------------------------------------------- texts


def text_maker(c: CObject | None, site: Site) -> Maker:
    value = string_maker(primitive(c, "value"))
    return lambda draw: dv_text(value(draw))


def code_list(c: CObject | None, site: Site) -> list[Code] | None:
    """The codes a DV_CODED_TEXT (or CODE_PHRASE) constraint allows; ``None`` when they depend on the draw
    (the composition's language or territory) or nothing is known."""
    phrases = [c] if isinstance(c, CCodePhrase | ConstraintRef) else children(c, "defining_code")
    out: list[Code] = []
    bound = site.binding
    group = bound.target if bound is not None and bound.kind == "group" else None
    for p in phrases:
        if isinstance(p, CCodePhrase):
            out.extend(code_phrase_codes(p, site.language, site.label, group, site.reference_codes))
        elif isinstance(p, ConstraintRef):
            out.extend(constraint_ref_codes(p, site.language, site.label))
    if out:
        return out
    if bound is not None and bound.target not in ("languages", "countries"):
        return binding_codes(bound, site.language)
    return None


def _draw_codes(c: CObject | None, site: Site) -> Callable[[Draw], Code]:
    codes = code_list(c, site)
    if codes:
        return lambda draw: pick(draw, codes)
    bound = site.binding
    if bound is not None and bound.target == "languages":
        return lambda draw: Code("ISO_639-1", draw.language, draw.language)
    if bound is not None and bound.target == "countries":
        return lambda draw: Code("ISO_3166-1", draw.territory, draw.territory)
    fallback = Code("local", "at0000", site.label or CANONICAL_TEXT)
    root = site.root
    if root is not None:
        fallback = Code("local", root.node_id or "at0000", local_text(root, root.node_id, site.language))
    return lambda draw: fallback


def coded_text_maker(c: CObject | None, site: Site) -> Maker:
    pick = _draw_codes(c, site)
    return lambda draw: coded_text(pick(draw))


def code_phrase_maker(c: CObject | None, site: Site) -> Maker:
    pick = _draw_codes(c, site)

    def make(draw: Draw) -> CodePhrase:
        code = pick(draw)
        return code_phrase(code.terminology_id, code.code_string)

    return make


def paragraph_maker(c: CObject | None, site: Site) -> Maker:
    return lambda draw: construct(DvParagraph, {"items": [dv_text(free_text(draw))]})
