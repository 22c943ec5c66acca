"""Data values (DV_*) and code phrases for example compositions, made from their constraints.

:func:`value_maker` turns the constraint on one value (a C_COMPLEX_OBJECT of a DV type, a C_DV_QUANTITY,
C_DV_ORDINAL, C_CODE_PHRASE..., or nothing for an unconstrained value) into a function of a :class:`Draw`
that builds a fresh RM object. Everything that depends only on the template (code lists with texts, number
ranges, duration options, regex examples) is worked out here, once; the returned function only picks.

Values are made whole per type rather than attribute by attribute, because their attributes depend on each
other: a percent DV_PROPORTION has denominator 100, a magnitude has the decimals its precision says, an
interval's lower limit is below its upper one. Where a value sits (its :class:`Site`) decides what a
date-time means (context start, event time, a moment in the past) and which openEHR codes an attribute takes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cdr.rm import (
    CodePhrase,
    DvBoolean,
    DvCodedText,
    DvCount,
    DvDate,
    DvDateTime,
    DvDuration,
    DvEhrUri,
    DvIdentifier,
    DvInterval,
    DvMultimedia,
    DvOrdinal,
    DvParagraph,
    DvParsable,
    DvProportion,
    DvQuantity,
    DvScale,
    DvState,
    DvText,
    DvTime,
    DvUri,
    RMObject,
    TerminologyId,
    construct,
)
from cdr.rm.base import RM_TYPES
from cdr.template.aom import (
    CArchetypeRoot,
    CBoolean,
    CCodePhrase,
    CComplexObject,
    CDuration,
    CDvOrdinal,
    CDvQuantity,
    CDvScale,
    CDvState,
    CInteger,
    CObject,
    ConstraintRef,
    CPrimitive,
    CPrimitiveObject,
    CReal,
    CString,
    CTemporal,
)
from cdr.template.example_codes import (
    Code,
    binding_codes,
    code_phrase_codes,
    constraint_ref_codes,
    local_text,
)
from cdr.template.example_draw import Draw
from cdr.template.example_numbers import NumberSpec, number_spec
from cdr.template.example_regex import example_string
from cdr.template.example_temporal import (
    date_text,
    date_time_text,
    duration_options,
    duration_text,
    time_text,
)
from cdr.terminology import Binding, binding

__all__ = ["Maker", "Site", "value_maker"]

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
    """Where a value sits: the RM type and attribute holding it, the owning node's name, the language."""

    owner: str
    attribute: str
    label: str
    language: str
    root: CArchetypeRoot | None = None

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


def _pick(draw: Draw, seq: list[Any] | tuple[Any, ...]) -> Any:
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


def _children(c: CObject | None, attribute: str) -> list[CObject]:
    if not isinstance(c, CComplexObject):
        return []
    attr = c.attribute(attribute)
    return list(attr.children) if attr is not None else []


def _primitive(c: CObject | None, attribute: str) -> CPrimitive | None:
    for child in _children(c, attribute):
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
            return lambda draw: _pick(draw, values)
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


def _text(c: CObject | None, site: Site) -> Maker:
    value = string_maker(_primitive(c, "value"))
    return lambda draw: dv_text(value(draw))


def code_list(c: CObject | None, site: Site) -> list[Code] | None:
    """The codes a DV_CODED_TEXT (or CODE_PHRASE) constraint allows; ``None`` when they depend on the draw
    (the composition's language or territory) or nothing is known."""
    phrases = [c] if isinstance(c, CCodePhrase | ConstraintRef) else _children(c, "defining_code")
    out: list[Code] = []
    bound = site.binding
    group = bound.target if bound is not None and bound.kind == "group" else None
    for p in phrases:
        if isinstance(p, CCodePhrase):
            out.extend(code_phrase_codes(p, site.language, site.label, group))
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
        return lambda draw: _pick(draw, codes)
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


def _coded_text(c: CObject | None, site: Site) -> Maker:
    pick = _draw_codes(c, site)
    return lambda draw: coded_text(pick(draw))


def _code_phrase(c: CObject | None, site: Site) -> Maker:
    pick = _draw_codes(c, site)

    def make(draw: Draw) -> CodePhrase:
        code = pick(draw)
        return code_phrase(code.terminology_id, code.code_string)

    return make


def _paragraph(c: CObject | None, site: Site) -> Maker:
    return lambda draw: construct(DvParagraph, {"items": [dv_text(free_text(draw))]})


# -------------------------------------------------------------------------------------------- numbers


def _decimals(precision: Any) -> tuple[int, int | None]:
    """(decimals to write, DV_QUANTITY.precision to set) from a precision interval."""
    if precision is None or (precision.upper is not None and precision.upper < 0):
        return 1, None
    upper = precision.upper if precision.upper is not None else precision.lower
    if upper is None or upper < 0:
        return 1, None
    return int(upper), int(upper)


def _number(spec: NumberSpec, draw: Draw) -> float:
    return spec.canonical() if draw.rng is None else spec.draw(draw.rng)


class QuantityMaker:
    """DV_QUANTITY values: a unit of the constraint (or the one asked for, where allowed), a magnitude
    inside its range with the decimals its precision allows."""

    __slots__ = ("by_units", "units")

    def __init__(self, units: list[tuple[str, NumberSpec, int | None]]) -> None:
        self.units = units
        self.by_units = {u[0]: u for u in units}

    def __call__(self, draw: Draw, units: str | None = None) -> DvQuantity:
        chosen = self.by_units.get(units) if units is not None else None
        unit, spec, precision = chosen or _pick(draw, self.units)
        values: dict[str, Any] = {"magnitude": _number(spec, draw), "units": unit}
        if precision is not None:
            values["precision"] = precision
        return construct(DvQuantity, values)


def _quantity(c: CObject | None, site: Site) -> Maker:
    units: list[tuple[str, NumberSpec, int | None]] = []
    if isinstance(c, CDvQuantity):
        items = list(c.list)
        assumed = c.assumed_value
        if assumed is not None and assumed.units:
            items.sort(key=lambda i: i.units != assumed.units)
        for item in items:
            decimals, precision = _decimals(item.precision)
            units.append((item.units, number_spec(item.magnitude, decimals, (0.0, None)), precision))
    elif isinstance(c, CComplexObject):
        magnitude = _primitive(c, "magnitude")
        unit_prim = _primitive(c, "units")
        names = list(unit_prim.list) if isinstance(unit_prim, CString) and unit_prim.list else ["1"]
        spec = number_spec(magnitude if isinstance(magnitude, CReal | CInteger) else None, 1, (0.0, None))
        units.extend((u, spec, None) for u in names)
    if not units:
        units.append(("1", number_spec(None, 1, (0.0, None)), None))
    return QuantityMaker(units)


def _count(c: CObject | None, site: Site) -> Maker:
    prim = _primitive(c, "magnitude")
    spec = number_spec(prim if isinstance(prim, CInteger | CReal) else None, 0, (0.0, None))
    return lambda draw: construct(DvCount, {"magnitude": int(_number(spec, draw))})


PROPORTION_KINDS = (0, 1, 2, 3, 4)  # ratio, unitary, percent, fraction, integer fraction
_INTEGRAL_KINDS = (3, 4)


def _proportion(c: CObject | None, site: Site) -> Maker:
    type_prim = _primitive(c, "type")
    kinds = list(PROPORTION_KINDS)
    if isinstance(type_prim, CInteger):
        kinds = [k for k in PROPORTION_KINDS if type_prim.is_valid(k)] or [0]
    num_prim, den_prim = _primitive(c, "numerator"), _primitive(c, "denominator")
    prec_prim = _primitive(c, "precision")
    plans: list[tuple[int, NumberSpec, NumberSpec, int | None]] = []
    for kind in kinds:
        integral = kind in _INTEGRAL_KINDS
        precision: int | None = None
        if isinstance(prec_prim, CInteger):
            allowed = [p for p in (0, 1, 2) if prec_prim.is_valid(p) and (not integral or p == 0)]
            if not allowed:
                continue
            precision = allowed[0]
            integral = integral or precision == 0
        decimals = 0 if integral else 1
        num = number_spec(num_prim if isinstance(num_prim, CReal | CInteger) else None, decimals, (0.0, None))
        if kind == 1:
            den = NumberSpec(values=(1.0,))
        elif kind == 2:
            den = NumberSpec(values=(100.0,))
            num = _within(num, 0.0, 100.0)
        else:
            den = number_spec(den_prim if isinstance(den_prim, CReal | CInteger) else None, 0, (1.0, 10.0))
        fixed = den.values[0] if den.values else None
        if fixed is not None and isinstance(den_prim, CReal) and not den_prim.is_valid(fixed):
            continue
        if fixed is not None and isinstance(den_prim, CInteger) and not den_prim.is_valid(int(fixed)):
            continue
        if den.values == (0.0,):
            continue
        plans.append((kind, num, den, precision))
    if not plans:
        plans.append((0, number_spec(None, 1, (0.0, None)), NumberSpec(values=(1.0,)), None))

    def make(draw: Draw) -> DvProportion:
        kind, num, den, precision = _pick(draw, plans)
        denominator = _number(den, draw) or 1.0
        values: dict[str, Any] = {
            "numerator": _number(num, draw),
            "denominator": denominator,
            "type": kind,
        }
        if precision is not None:
            values["precision"] = precision
        return construct(DvProportion, values)

    return make


def _within(spec: NumberSpec, low: float, high: float) -> NumberSpec:
    """``spec`` narrowed to ``low..high`` (a percentage's numerator)."""
    if spec.values:
        inside = tuple(v for v in spec.values if low <= v <= high)
        return NumberSpec(values=inside or spec.values, decimals=spec.decimals)
    new_low = low if spec.low is None else max(low, spec.low)
    new_high = high if spec.high is None else min(high, spec.high)
    if new_low > new_high:
        return spec
    return NumberSpec(
        low=new_low,
        high=new_high,
        low_open=spec.low_open and spec.low == new_low,
        high_open=spec.high_open and spec.high == new_high,
        decimals=spec.decimals,
    )


def _ordinal(c: CObject | None, site: Site) -> Maker:
    return _ranked(c, site, scale=isinstance(c, CDvScale))


def _scale(c: CObject | None, site: Site) -> Maker:
    return _ranked(c, site, scale=True)


def _ranked(c: CObject | None, site: Site, scale: bool) -> Maker:
    """DV_ORDINAL (integer value) or DV_SCALE (real value) from a C_DV_ORDINAL / C_DV_SCALE list."""
    cls = DvScale if scale else DvOrdinal
    choices: list[tuple[float, Code]] = []
    if isinstance(c, CDvOrdinal):
        items = list(c.list)
        if c.assumed_value is not None:
            items.sort(key=lambda i: i.symbol.code_string != c.assumed_value.symbol.code_string)  # type: ignore[union-attr]
        root = c.archetype_root
        for item in items:
            tid = item.symbol.terminology_id
            code = item.symbol.code_string
            text = local_text(root, code, site.language) if tid == "local" else item.symbol_text or code
            choices.append((item.value, Code(tid, code, text)))
    if not choices:
        choices.append((1.0, Code("local", "at0000", site.label or CANONICAL_TEXT)))

    def make(draw: Draw) -> RMObject:
        value, code = _pick(draw, choices)
        return construct(cls, {"value": value if scale else int(value), "symbol": coded_text(code)})

    return make


def _boolean(c: CObject | None, site: Site) -> Maker:
    prim = _primitive(c, "value")
    allowed = [True, False]
    if isinstance(prim, CBoolean):
        allowed = [v for v in (True, False) if prim.is_valid(v)] or [True]
        if isinstance(prim.assumed_value, bool) and prim.assumed_value in allowed:
            allowed.sort(key=lambda v: v != prim.assumed_value)
    return lambda draw: construct(DvBoolean, {"value": _pick(draw, allowed)})


# ------------------------------------------------------------------------------------------- temporal

CLOCKS: dict[tuple[str, str], str] = {
    ("EVENT_CONTEXT", "start_time"): "start",
    ("EVENT_CONTEXT", "end_time"): "later",
    ("HISTORY", "origin"): "start",
    ("EVENT", "time"): "event",
    ("POINT_EVENT", "time"): "event",
    ("INTERVAL_EVENT", "time"): "event",
    ("ACTION", "time"): "start",
    ("INSTRUCTION", "expiry_time"): "later",
}
"""What a date-time means where it sits; every other date-time is a moment of the past (onset, last dose)."""


def _clock(site: Site) -> Callable[[Draw], dt.datetime]:
    kind = CLOCKS.get((site.owner, site.attribute), "past")
    if kind == "start":
        return lambda draw: draw.moment
    if kind == "event":
        return lambda draw: draw.next_event_time()
    if kind == "later":
        return lambda draw: draw.later()
    return lambda draw: draw.past()


def _temporal(
    cls: type[RMObject], write: Callable[[dt.datetime, CTemporal | None], str]
) -> Callable[[CObject | None, Site], Maker]:
    def factory(c: CObject | None, site: Site) -> Maker:
        prim = _primitive(c, "value")
        constraint = prim if isinstance(prim, CTemporal) else None
        when = _clock(site)
        return lambda draw: construct(cls, {"value": write(when(draw), constraint)})

    return factory


def _duration(c: CObject | None, site: Site) -> Maker:
    prim = _primitive(c, "value")
    options = duration_options(prim if isinstance(prim, CDuration) else None)
    return lambda draw: construct(DvDuration, {"value": duration_text(options, draw.rng)})


# ------------------------------------------------------------------------------------ other values


def _identifier(c: CObject | None, site: Site) -> Maker:
    issuer = string_maker(_primitive(c, "issuer"), lambda d: "Example Issuer")
    assigner = string_maker(_primitive(c, "assigner"), lambda d: "Example Assigner")
    kind = string_maker(_primitive(c, "type"), lambda d: "local")

    def number(draw: Draw) -> str:
        return "1234567" if draw.rng is None else str(draw.rng.randrange(10**6, 10**9))

    ident = string_maker(_primitive(c, "id"), number)

    def make(draw: Draw) -> DvIdentifier:
        values = {"id": ident(draw)}
        if draw.rich or (draw.rng is not None and draw.rng.random() < 0.5):
            values.update(issuer=issuer(draw), assigner=assigner(draw), type=kind(draw))
        return construct(DvIdentifier, values)

    return make


def _uri(c: CObject | None, site: Site) -> Maker:
    def default(draw: Draw) -> str:
        n = 1 if draw.rng is None else draw.rng.randrange(1, 10**6)
        return f"https://example.org/resources/{n}"

    value = string_maker(_primitive(c, "value"), default)
    return lambda draw: construct(DvUri, {"value": value(draw)})


def _ehr_uri(c: CObject | None, site: Site) -> Maker:
    def default(draw: Draw) -> str:
        n = 1 if draw.rng is None else draw.rng.randrange(1, 10**6)
        return f"ehr:/compositions/{n}"

    value = string_maker(_primitive(c, "value"), default)
    return lambda draw: construct(DvEhrUri, {"value": value(draw)})


def _multimedia(c: CObject | None, site: Site) -> Maker:
    media = [ch for ch in _children(c, "media_type")]
    media_site = Site("DV_MULTIMEDIA", "media_type", site.label, site.language, site.root)
    media_type = _code_phrase(media[0] if media else None, media_site)

    def make(draw: Draw) -> DvMultimedia:
        size = 2048 if draw.rng is None else draw.rng.randrange(256, 10**6)
        values: dict[str, Any] = {
            "media_type": media_type(draw),
            "uri": construct(DvUri, {"value": f"https://example.org/media/{size}"}),
            "size": size,
        }
        if draw.rich:
            values["alternate_text"] = site.label or CANONICAL_TEXT
        return construct(DvMultimedia, values)

    return make


def _parsable(c: CObject | None, site: Site) -> Maker:
    formalism = string_maker(_primitive(c, "formalism"), lambda d: "text/plain")
    value = string_maker(_primitive(c, "value"))
    return lambda draw: construct(DvParsable, {"value": value(draw), "formalism": formalism(draw)})


def _state(c: CObject | None, site: Site) -> Maker:
    states: list[tuple[str, bool]] = []
    if isinstance(c, CDvState):
        states = [(s.name, s.terminal) for s in c.states]
        if c.assumed_value:
            states.sort(key=lambda s: s[0] != c.assumed_value)
    if not states:
        states = [("active", False)]

    def make(draw: Draw) -> DvState:
        name, terminal = _pick(draw, states)
        return construct(DvState, {"value": coded_text(Code("local", name, name)), "is_terminal": terminal})

    return make


def _time_specification(cls_name: str) -> Callable[[CObject | None, Site], Maker]:
    formalism, text = (
        ("HL7:PIVL", "[200000101;20000130]") if "PERIODIC" in cls_name else ("HL7:GTS", "20000101")
    )

    def factory(c: CObject | None, site: Site) -> Maker:
        cls = RM_TYPES[cls_name]
        return lambda draw: construct(
            cls, {"value": construct(DvParsable, {"value": text, "formalism": formalism})}
        )

    return factory


def _interval(c: CObject | None, site: Site, parameter: str) -> Maker:
    lowers, uppers = _children(c, "lower"), _children(c, "upper")
    given_low = lowers[0] if lowers else None
    given_high = uppers[0] if uppers else None
    # a limit the template leaves open takes the other limit's constraint, so that the two compare
    low_c = _or_other(given_low, given_high)
    high_c = _or_other(given_high, given_low)
    lower = value_maker(low_c, low_c.rm_type_name if low_c is not None else parameter, site)
    upper = value_maker(high_c, high_c.rm_type_name if high_c is not None else parameter, site)

    def draw_high(draw: Draw, low: Any) -> Any:
        if isinstance(upper, QuantityMaker) and isinstance(low, DvQuantity):
            return upper(draw, low.units)  # limits in one unit compare
        return upper(draw)

    def make(draw: Draw) -> DvInterval:
        low = lower(draw)
        high = draw_high(draw, low)
        for attempt in range(INTERVAL_ATTEMPTS):
            low_key, high_key = _order_key(low), _order_key(high)
            if low_key is None or high_key is None:
                break
            if low_key[0] == high_key[0] and low_key[1] <= high_key[1]:
                break
            if draw.rng is None or attempt == INTERVAL_ATTEMPTS - 1:
                # limits of different kinds only come from a template that types them so; its types are kept
                if low_key[0] == high_key[0]:
                    low, high = high, low
                break
            low = lower(draw)
            high = draw_high(draw, low)
        return construct(
            DvInterval,
            {
                "lower": low,
                "upper": high,
                "lower_included": True,
                "upper_included": True,
                "lower_unbounded": False,
                "upper_unbounded": False,
            },
        )

    return make


INTERVAL_ATTEMPTS = 8


def _or_other(own: CObject | None, other: CObject | None) -> CObject | None:
    """``own``, or ``other`` where ``own`` is absent or open and of the same type."""
    if own is None:
        return other
    if other is not None and _open(own) and not _open(other) and own.rm_type_name == other.rm_type_name:
        return other
    return own


def _open(c: CObject) -> bool:
    """Whether a constraint leaves its value open (no units listed, no attribute constrained)."""
    if isinstance(c, CDvQuantity):
        return not c.list
    return isinstance(c, CComplexObject) and not c.attributes


def _order_key(value: Any) -> tuple[str, float] | None:
    """The value's kind and magnitude, to put interval limits in order."""
    if isinstance(value, DvQuantity):
        return f"{value.rm_type}:{value.units}", float(value.magnitude or 0)
    if isinstance(value, DvOrdinal | DvScale):
        return value.rm_type, float(value.value or 0)
    if isinstance(value, DvProportion):
        return value.rm_type, (value.numerator or 0) / (value.denominator or 1)
    if isinstance(value, DvCount):
        return value.rm_type, float(value.magnitude or 0)
    if isinstance(value, DvDate | DvTime | DvDateTime | DvDuration):
        magnitude = value.magnitude()
        return None if magnitude is None else (value.rm_type, magnitude)
    return None


_FACTORIES: dict[str, Callable[[CObject | None, Site], Maker]] = {
    "DV_TEXT": _text,
    "DV_CODED_TEXT": _coded_text,
    "CODE_PHRASE": _code_phrase,
    "DV_PARAGRAPH": _paragraph,
    "DV_QUANTITY": _quantity,
    "DV_COUNT": _count,
    "DV_PROPORTION": _proportion,
    "DV_ORDINAL": _ordinal,
    "DV_SCALE": _scale,
    "DV_BOOLEAN": _boolean,
    "DV_DATE_TIME": _temporal(DvDateTime, date_time_text),
    "DV_DATE": _temporal(DvDate, date_text),
    "DV_TIME": _temporal(DvTime, time_text),
    "DV_DURATION": _duration,
    "DV_IDENTIFIER": _identifier,
    "DV_URI": _uri,
    "DV_EHR_URI": _ehr_uri,
    "DV_MULTIMEDIA": _multimedia,
    "DV_PARSABLE": _parsable,
    "DV_STATE": _state,
    "DV_GENERAL_TIME_SPECIFICATION": _time_specification("DV_GENERAL_TIME_SPECIFICATION"),
    "DV_PERIODIC_TIME_SPECIFICATION": _time_specification("DV_PERIODIC_TIME_SPECIFICATION"),
}

ABSTRACT_VALUES = {
    "DATA_VALUE": "DV_TEXT",
    "DV_ENCAPSULATED": "DV_MULTIMEDIA",
    "DV_ORDERED": "DV_QUANTITY",
    "DV_QUANTIFIED": "DV_QUANTITY",
    "DV_AMOUNT": "DV_QUANTITY",
    "DV_ABSOLUTE_QUANTITY": "DV_DATE_TIME",
    "DV_TEMPORAL": "DV_DATE_TIME",
    "DV_TIME_SPECIFICATION": "DV_GENERAL_TIME_SPECIFICATION",
}
"""The concrete type made where a template or the RM names only an abstract data value type."""


def is_value_type(rm_type: str) -> bool:
    """Whether :func:`value_maker` makes values of this type (data values and CODE_PHRASE)."""
    base = rm_type.split("<", 1)[0].strip()
    return base in _FACTORIES or base in ABSTRACT_VALUES or base == "DV_INTERVAL"


def value_maker(c: CObject | None, rm_type: str, site: Site) -> Maker:
    """A maker of values of ``rm_type`` (``DV_INTERVAL<DV_COUNT>`` included) satisfying ``c``."""
    base = rm_type.split("<", 1)[0].strip()
    if base == "DV_INTERVAL":
        parameter = rm_type.split("<", 1)[1].rstrip(">").strip() if "<" in rm_type else "DV_COUNT"
        return _interval(c, site, parameter)
    base = ABSTRACT_VALUES.get(base, base)
    if isinstance(c, CDvQuantity):
        base = "DV_QUANTITY"
    elif isinstance(c, CDvOrdinal):
        base = "DV_SCALE" if isinstance(c, CDvScale) else "DV_ORDINAL"
    elif isinstance(c, CCodePhrase | ConstraintRef) and base not in ("DV_CODED_TEXT",):
        base = "CODE_PHRASE"
    factory = _FACTORIES.get(base, _text)
    return factory(c, site)
