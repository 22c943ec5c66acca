"""Data values (DV_*) and code phrases for example compositions, made from their constraints.

:func:`value_maker` turns the constraint on one value (a C_COMPLEX_OBJECT of a DV type, a C_DV_QUANTITY,
C_DV_ORDINAL, C_CODE_PHRASE..., or nothing for an unconstrained value) into a function of a :class:`Draw`
that builds a fresh RM object. Everything that depends only on the template (code lists with texts, number
ranges, duration options, regex examples) is worked out here, once; the returned function only picks.

Values are made whole per type rather than attribute by attribute, because their attributes depend on each
other: a percent DV_PROPORTION has denominator 100, a magnitude has the decimals its precision says, an
interval's lower limit is below its upper one. Where a value sits (its :class:`Site`) decides what a
date-time means (context start, event time, a moment in the past) and which openEHR codes an attribute takes.

Texts and codes are made in :mod:`.example_text`, quantified values in :mod:`.example_quantities`; dates,
times, durations, identifiers, URIs, multimedia, intervals and the dispatch are here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from cdr.rm import (
    DvCount,
    DvDate,
    DvDateTime,
    DvDuration,
    DvEhrUri,
    DvIdentifier,
    DvInterval,
    DvMultimedia,
    DvOrdinal,
    DvParsable,
    DvProportion,
    DvQuantity,
    DvScale,
    DvState,
    DvTime,
    DvUri,
    RMObject,
    construct,
)
from cdr.rm.base import RM_TYPES
from cdr.template.aom import (
    CCodePhrase,
    CComplexObject,
    CDuration,
    CDvOrdinal,
    CDvQuantity,
    CDvScale,
    CDvState,
    CObject,
    ConstraintRef,
    CTemporal,
)
from cdr.template.example_codes import (
    Code,
)
from cdr.template.example_draw import Draw
from cdr.template.example_quantities import (
    QuantityMaker,
    boolean_maker,
    count_maker,
    ordinal_maker,
    proportion_maker,
    quantity_maker,
    scale_maker,
)
from cdr.template.example_temporal import (
    date_text,
    date_time_text,
    duration_options,
    duration_text,
    time_text,
)
from cdr.template.example_text import (
    CANONICAL_TEXT,
    Maker,
    Site,
    children,
    code_phrase_maker,
    coded_text,
    coded_text_maker,
    paragraph_maker,
    pick,
    primitive,
    string_maker,
    text_maker,
)

__all__ = ["ABSTRACT_VALUES", "Maker", "Site", "is_value_type", "value_maker"]

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
        prim = primitive(c, "value")
        constraint = prim if isinstance(prim, CTemporal) else None
        when = _clock(site)
        return lambda draw: construct(cls, {"value": write(when(draw), constraint)})

    return factory


def _duration(c: CObject | None, site: Site) -> Maker:
    prim = primitive(c, "value")
    options = duration_options(prim if isinstance(prim, CDuration) else None)
    return lambda draw: construct(DvDuration, {"value": duration_text(options, draw.rng)})


# ------------------------------------------------------------------------------------ other values


def _identifier(c: CObject | None, site: Site) -> Maker:
    issuer = string_maker(primitive(c, "issuer"), lambda d: "Example Issuer")
    assigner = string_maker(primitive(c, "assigner"), lambda d: "Example Assigner")
    kind = string_maker(primitive(c, "type"), lambda d: "local")

    def number(draw: Draw) -> str:
        return "1234567" if draw.rng is None else str(draw.rng.randrange(10**6, 10**9))

    ident = string_maker(primitive(c, "id"), number)

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

    value = string_maker(primitive(c, "value"), default)
    return lambda draw: construct(DvUri, {"value": value(draw)})


def _ehr_uri(c: CObject | None, site: Site) -> Maker:
    def default(draw: Draw) -> str:
        n = 1 if draw.rng is None else draw.rng.randrange(1, 10**6)
        return f"ehr:/compositions/{n}"

    value = string_maker(primitive(c, "value"), default)
    return lambda draw: construct(DvEhrUri, {"value": value(draw)})


def _multimedia(c: CObject | None, site: Site) -> Maker:
    media = [ch for ch in children(c, "media_type")]
    media_site = Site("DV_MULTIMEDIA", "media_type", site.label, site.language, site.root)
    media_type = code_phrase_maker(media[0] if media else None, media_site)

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
    formalism = string_maker(primitive(c, "formalism"), lambda d: "text/plain")
    value = string_maker(primitive(c, "value"))
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
        name, terminal = pick(draw, states)
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
    lowers, uppers = children(c, "lower"), children(c, "upper")
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
    "DV_TEXT": text_maker,
    "DV_CODED_TEXT": coded_text_maker,
    "CODE_PHRASE": code_phrase_maker,
    "DV_PARAGRAPH": paragraph_maker,
    "DV_QUANTITY": quantity_maker,
    "DV_COUNT": count_maker,
    "DV_PROPORTION": proportion_maker,
    "DV_ORDINAL": ordinal_maker,
    "DV_SCALE": scale_maker,
    "DV_BOOLEAN": boolean_maker,
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
    factory = _FACTORIES.get(base, text_maker)
    return factory(c, site)
