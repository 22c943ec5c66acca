"""Data values against the openEHR profile's domain types: C_DV_QUANTITY and C_DV_ORDINAL / C_DV_SCALE.

Issues are reported at the path of the value the domain type constrains (the DV_QUANTITY, the DV_ORDINAL),
as the shipped expectations and EHRbase do; the message names the attribute at fault.

Other data values (DV_COUNT, DV_PROPORTION, DV_DATE..., DV_DURATION, DV_BOOLEAN) are constrained in an OPT
through ordinary attributes with primitive children, and are checked by :mod:`.primitives` during the walk.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from cdr.rm.base import RMObject
from cdr.template.aom import CDvOrdinal, CDvQuantity, CQuantityItem, Interval
from cdr.template.issues import IssueCode
from cdr.template.validation.context import Context, interval_text
from cdr.template.validation.datapath import DataPath


def _range(r: Interval[float] | Interval[int]) -> str:
    return interval_text(r.lower, r.upper, r.lower_included, r.upper_included)


def decimal_places(magnitude: float) -> int:
    """Digits after the decimal point in the shortest text of ``magnitude`` (``37.50`` -> 1, ``2.0`` -> 0).

    >>> decimal_places(37.25)
    2
    """
    if isinstance(magnitude, int) or float(magnitude).is_integer():
        return 0
    try:
        exponent = Decimal(repr(float(magnitude))).normalize().as_tuple().exponent
    except InvalidOperation:
        return 0
    return max(0, -int(exponent)) if isinstance(exponent, int) else 0


def check_quantity(obj: RMObject, c: CDvQuantity, path: DataPath | None, ctx: Context) -> None:
    if not c.list:
        return
    d = obj.__dict__
    units, magnitude = d.get("units"), d.get("magnitude")
    if units is None:
        return  # reported as REQUIRED by the RM rules
    item = c.item_for(units)
    if item is None:
        allowed = ", ".join(f"'{i.units}'" for i in c.list)
        ctx.add(
            path,
            IssueCode.UNIT_NOT_ALLOWED,
            f"units '{units}' are not allowed; allowed: {allowed}",
            c.path,
        )
        return
    if magnitude is not None:
        _check_magnitude(item, magnitude, d.get("precision"), path, ctx, c.path)


def _check_magnitude(
    item: CQuantityItem,
    magnitude: float,
    precision: int | None,
    path: DataPath | None,
    ctx: Context,
    cpath: str,
) -> None:
    if item.magnitude is not None and not item.magnitude.contains(magnitude):
        ctx.add(
            path,
            IssueCode.MAGNITUDE_OUT_OF_RANGE,
            f"magnitude {magnitude} is outside {_range(item.magnitude)} for units '{item.units}'",
            cpath,
        )
    p = item.precision
    if p is None or (p.upper is not None and p.upper < 0) or (p.lower is not None and p.lower < 0):
        return  # no precision constraint (-1 means any)
    if precision is not None and precision >= 0 and not p.contains(precision):
        ctx.add(
            path,
            IssueCode.PRECISION_MISMATCH,
            f"precision {precision} is outside {_range(p)} for units '{item.units}'",
            cpath,
        )
        return
    if p.upper is not None and decimal_places(magnitude) > p.upper:
        ctx.add(
            path,
            IssueCode.PRECISION_MISMATCH,
            f"magnitude {magnitude} has more than {p.upper} decimal places for units '{item.units}'",
            cpath,
        )


def check_ordinal(obj: RMObject, c: CDvOrdinal, path: DataPath | None, ctx: Context) -> None:
    """DV_ORDINAL / DV_SCALE: the (value, symbol) pair must be one of the listed ones."""
    if not c.list:
        return
    d = obj.__dict__
    value, symbol = d.get("value"), d.get("symbol")
    if value is None:
        return
    by_value = [i for i in c.list if i.value == value]
    if not by_value:
        allowed = ", ".join(f"{_num(i.value)}|{i.symbol.code_string}" for i in c.list)
        ctx.add(
            path,
            IssueCode.VALUE_NOT_ALLOWED,
            f"{type(obj).rm_type} value {value} is not allowed; allowed: {allowed}",
            c.path,
        )
        return
    if symbol is None:
        return
    code_phrase = symbol.__dict__.get("defining_code")
    if code_phrase is None:
        return
    cd = code_phrase.__dict__
    tid = cd.get("terminology_id")
    tid_value = tid.__dict__.get("value") if tid is not None else None
    code = cd.get("code_string")
    item = next((i for i in by_value if i.symbol.code_string == code), None)
    if item is None:
        expected = ", ".join(i.symbol.code_string for i in by_value)
        ctx.add(
            path,
            IssueCode.CODE_NOT_ALLOWED,
            f"symbol {code} does not go with value {value}; expected {expected}",
            c.path,
        )
        return
    if tid_value is not None and tid_value != item.symbol.terminology_id:
        ctx.add(
            path,
            IssueCode.TERMINOLOGY_MISMATCH,
            f"symbol terminology {tid_value} is not {item.symbol.terminology_id}",
            c.path,
        )
        return
    text = symbol.__dict__.get("value")
    root = c.archetype_root
    if root is not None and isinstance(text, str) and item.symbol.terminology_id == "local":
        texts = {t.text for terms in root.term_definitions.values() if (t := terms.get(code)) and t.text}
        if texts and text not in texts:
            ctx.add(
                path,
                IssueCode.TERM_TEXT_MISMATCH,
                f"'{text}' is not the text of {code}; expected '{root.term_text(code, ctx.language)}'",
                c.path,
            )


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
