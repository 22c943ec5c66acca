"""Quantified example values: DV_QUANTITY, DV_COUNT, DV_PROPORTION, DV_ORDINAL, DV_SCALE and DV_BOOLEAN.

Each maker is built once from its constraint (units with their ranges and precision, proportion kinds that the
numerator and denominator constraints allow, ordinal lists with their symbols' texts) and then only draws.
"""

from __future__ import annotations

from typing import Any

from cdr.rm import (
    DvBoolean,
    DvCount,
    DvOrdinal,
    DvProportion,
    DvQuantity,
    DvScale,
    RMObject,
    construct,
)
from cdr.template.aom import (
    CBoolean,
    CComplexObject,
    CDvOrdinal,
    CDvQuantity,
    CDvScale,
    CInteger,
    CObject,
    CReal,
    CString,
)
from cdr.template.example_codes import (
    Code,
    local_text,
)
from cdr.template.example_draw import Draw
from cdr.template.example_numbers import NumberSpec, number_spec
from cdr.template.example_text import CANONICAL_TEXT, Maker, Site, coded_text, pick, primitive

__all__ = [
    "QuantityMaker",
    "boolean_maker",
    "count_maker",
    "ordinal_maker",
    "proportion_maker",
    "quantity_maker",
    "scale_maker",
]


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
        unit, spec, precision = chosen or pick(draw, self.units)
        values: dict[str, Any] = {"magnitude": _number(spec, draw), "units": unit}
        if precision is not None:
            values["precision"] = precision
        return construct(DvQuantity, values)


def quantity_maker(c: CObject | None, site: Site) -> Maker:
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
        magnitude = primitive(c, "magnitude")
        unit_prim = primitive(c, "units")
        names = list(unit_prim.list) if isinstance(unit_prim, CString) and unit_prim.list else ["1"]
        spec = number_spec(magnitude if isinstance(magnitude, CReal | CInteger) else None, 1, (0.0, None))
        units.extend((u, spec, None) for u in names)
    if not units:
        units.append(("1", number_spec(None, 1, (0.0, None)), None))
    return QuantityMaker(units)


def count_maker(c: CObject | None, site: Site) -> Maker:
    prim = primitive(c, "magnitude")
    spec = number_spec(prim if isinstance(prim, CInteger | CReal) else None, 0, (0.0, None))
    return lambda draw: construct(DvCount, {"magnitude": int(_number(spec, draw))})


PROPORTION_KINDS = (0, 1, 2, 3, 4)  # ratio, unitary, percent, fraction, integer fraction
_INTEGRAL_KINDS = (3, 4)


def proportion_maker(c: CObject | None, site: Site) -> Maker:
    type_prim = primitive(c, "type")
    kinds = list(PROPORTION_KINDS)
    if isinstance(type_prim, CInteger):
        kinds = [k for k in PROPORTION_KINDS if type_prim.is_valid(k)] or [0]
    num_prim, den_prim = primitive(c, "numerator"), primitive(c, "denominator")
    prec_prim = primitive(c, "precision")
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
        kind, num, den, precision = pick(draw, plans)
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


def ordinal_maker(c: CObject | None, site: Site) -> Maker:
    return _ranked(c, site, scale=isinstance(c, CDvScale))


def scale_maker(c: CObject | None, site: Site) -> Maker:
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
        value, code = pick(draw, choices)
        return construct(cls, {"value": value if scale else int(value), "symbol": coded_text(code)})

    return make


def boolean_maker(c: CObject | None, site: Site) -> Maker:
    prim = primitive(c, "value")
    allowed = [True, False]
    if isinstance(prim, CBoolean):
        allowed = [v for v in (True, False) if prim.is_valid(v)] or [True]
        if isinstance(prim.assumed_value, bool) and prim.assumed_value in allowed:
            allowed.sort(key=lambda v: v != prim.assumed_value)
    return lambda draw: construct(DvBoolean, {"value": pick(draw, allowed)})
