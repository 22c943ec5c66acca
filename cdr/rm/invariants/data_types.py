"""Invariants of the RM data types."""

from __future__ import annotations

from collections.abc import Callable

from cdr.rm import (
    CodePhrase,
    DvAmount,
    DvDate,
    DvDateTime,
    DvDuration,
    DvEhrUri,
    DvGeneralTimeSpecification,
    DvIdentifier,
    DvInterval,
    DvMultimedia,
    DvOrdered,
    DvOrdinal,
    DvParagraph,
    DvParsable,
    DvPeriodicTimeSpecification,
    DvProportion,
    DvQuantified,
    DvQuantity,
    DvScale,
    DvText,
    DvTime,
    DvUri,
    RMObject,
    TermMapping,
)
from cdr.rm.data_types import iso8601
from cdr.rm.data_types.quantity import PK_FRACTION, PK_INTEGER_FRACTION, PK_PERCENT, PK_UNITARY
from cdr.rm.invariants.core import Check, Invariant, _empty_list, _empty_string, _invariants

# --- data types ----------------------------------------------------------------------------------------


@_invariants(CodePhrase)
def _code_phrase(obj: CodePhrase, out: list[Invariant]) -> None:
    _empty_string(obj, "code_string", "Code_string_valid", out)


@_invariants(TermMapping)
def _term_mapping(obj: TermMapping, out: list[Invariant]) -> None:
    if obj.match is not None and obj.match not in (">", "=", "<", "?"):
        out.append(Invariant("Match_valid", f"match {obj.match!r} is not one of '>', '=', '<', '?'", "match"))


@_invariants(DvText)
def _dv_text(obj: DvText, out: list[Invariant]) -> None:
    value = obj.value
    if value == "":
        out.append(Invariant("Value_valid", "value must not be empty", "value"))
    elif value is not None and ("\n" in value or "\r" in value):
        out.append(Invariant("Value_valid", "value must not contain line breaks (use DV_PARAGRAPH)", "value"))
    _empty_list(obj, "mappings", "Mappings_valid", out)
    _empty_string(obj, "formatting", "Formatting_valid", out)


@_invariants(DvParagraph)
def _dv_paragraph(obj: DvParagraph, out: list[Invariant]) -> None:
    if obj.items == []:
        out.append(Invariant("Items_valid", "items must not be empty", "items"))


@_invariants(DvIdentifier)
def _dv_identifier(obj: DvIdentifier, out: list[Invariant]) -> None:
    _empty_string(obj, "id", "Id_valid", out)
    _empty_string(obj, "issuer", "Issuer_valid", out)
    _empty_string(obj, "assigner", "Assigner_valid", out)
    _empty_string(obj, "type", "Type_valid", out)


@_invariants(DvUri)
def _dv_uri(obj: DvUri, out: list[Invariant]) -> None:
    _empty_string(obj, "value", "Value_valid", out)


@_invariants(DvEhrUri)
def _dv_ehr_uri(obj: DvEhrUri, out: list[Invariant]) -> None:
    if obj.value and obj.scheme != "ehr":
        out.append(Invariant("Scheme_valid", f"{obj.value!r} does not use the 'ehr' scheme", "value"))


NORMAL_STATUSES = frozenset({"HHH", "HH", "H", "N", "L", "LL", "LLL"})
"""Codes of the openEHR code set 'normal statuses'."""


@_invariants(DvOrdered)
def _dv_ordered(obj: DvOrdered, out: list[Invariant]) -> None:
    _empty_list(obj, "other_reference_ranges", "Other_reference_ranges_validity", out)
    status = obj.normal_status
    if status is not None and status.code_string is not None and status.code_string not in NORMAL_STATUSES:
        out.append(
            Invariant(
                "Normal_status_validity",
                f"normal_status {status.code_string!r} is not in the 'normal statuses' code set",
                "normal_status",
            )
        )


MAGNITUDE_STATUSES = frozenset({"=", "<", ">", "<=", ">=", "~"})


@_invariants(DvQuantified)
def _dv_quantified(obj: DvQuantified, out: list[Invariant]) -> None:
    if obj.magnitude_status is not None and obj.magnitude_status not in MAGNITUDE_STATUSES:
        out.append(
            Invariant(
                "Magnitude_status_valid",
                f"magnitude_status {obj.magnitude_status!r} is not one of = < > <= >= ~",
                "magnitude_status",
            )
        )


@_invariants(DvAmount)
def _dv_amount(obj: DvAmount, out: list[Invariant]) -> None:
    if obj.accuracy == 0 and obj.accuracy_is_percent:
        out.append(
            Invariant("Accuracy_is_percent_validity", "an accuracy of 0 cannot be a percentage", "accuracy")
        )
    if obj.accuracy_is_percent and obj.accuracy is not None and not 0 <= obj.accuracy <= 100:
        out.append(
            Invariant("Accuracy_validity", f"percent accuracy {obj.accuracy} is not in 0..100", "accuracy")
        )


@_invariants(DvQuantity)
def _dv_quantity(obj: DvQuantity, out: list[Invariant]) -> None:
    _empty_string(obj, "units", "Units_valid", out)
    if obj.precision is not None:
        if obj.precision < -1:
            out.append(
                Invariant("Precision_valid", f"precision {obj.precision} is below -1 (no limit)", "precision")
            )
        elif obj.precision == 0 and obj.magnitude is not None and not float(obj.magnitude).is_integer():
            out.append(
                Invariant(
                    "Precision_valid",
                    f"precision 0 means integral, but magnitude is {obj.magnitude}",
                    "magnitude",
                )
            )


def _is_whole(x: float | None) -> bool:
    return x is None or float(x).is_integer()


@_invariants(DvProportion)
def _dv_proportion(obj: DvProportion, out: list[Invariant]) -> None:
    kind, num, den = obj.type, obj.numerator, obj.denominator
    if kind is not None and not 0 <= kind <= 4:
        out.append(Invariant("Type_validity", f"type {kind} is not a PROPORTION_KIND (0..4)", "type"))
    if den == 0:
        out.append(Invariant("Valid_denominator", "denominator must not be 0", "denominator"))
    if obj.precision == 0 and not (_is_whole(num) and _is_whole(den)):
        out.append(
            Invariant(
                "Is_integral_validity",
                "precision 0 (integral) needs whole numerator and denominator",
                "precision",
            )
        )
    if kind in (PK_FRACTION, PK_INTEGER_FRACTION) and not (_is_whole(num) and _is_whole(den)):
        out.append(
            Invariant("Fraction_validity", "a fraction needs a whole numerator and denominator", "numerator")
        )
    if kind == PK_UNITARY and den is not None and den != 1:
        out.append(
            Invariant("Unitary_validity", f"a unitary proportion has denominator 1, not {den}", "denominator")
        )
    if kind == PK_PERCENT and den is not None and den != 100:
        out.append(
            Invariant("Percent_validity", f"a percentage has denominator 100, not {den}", "denominator")
        )


def _ordered_key(value: RMObject) -> tuple[str, float] | None:
    """A comparable (kind, magnitude) for an ordered value, ``None`` where it has none (or is malformed)."""
    if isinstance(value, DvQuantity):
        return (f"DV_QUANTITY:{value.units}", value.magnitude) if value.magnitude is not None else None
    if isinstance(value, DvOrdinal | DvScale):
        return (value.rm_type, float(value.value)) if value.value is not None else None
    if isinstance(value, DvProportion):
        if value.numerator is None or not value.denominator:
            return None
        return value.rm_type, value.numerator / value.denominator
    if isinstance(value, DvDate | DvTime | DvDateTime | DvDuration):
        magnitude = value.magnitude()
        return None if magnitude is None else (value.rm_type, magnitude)
    magnitude_attr = getattr(value, "magnitude", None)  # DV_COUNT
    if isinstance(magnitude_attr, int | float):
        return value.rm_type, float(magnitude_attr)
    return None


@_invariants(DvInterval)
def _dv_interval(obj: DvInterval, out: list[Invariant]) -> None:
    if obj.lower_unbounded and obj.lower_included:
        out.append(
            Invariant("Lower_included_valid", "an unbounded lower limit cannot be included", "lower_included")
        )
    if obj.upper_unbounded and obj.upper_included:
        out.append(
            Invariant("Upper_included_valid", "an unbounded upper limit cannot be included", "upper_included")
        )
    if obj.lower_unbounded is False and obj.lower is None:
        out.append(
            Invariant("Lower_unbounded_valid", "lower is bounded but no lower limit is given", "lower")
        )
    if obj.upper_unbounded is False and obj.upper is None:
        out.append(
            Invariant("Upper_unbounded_valid", "upper is bounded but no upper limit is given", "upper")
        )
    if obj.lower is None or obj.upper is None or obj.lower_unbounded or obj.upper_unbounded:
        return
    low, high = _ordered_key(obj.lower), _ordered_key(obj.upper)
    if low is None or high is None:
        return
    if low[0] != high[0]:
        out.append(
            Invariant("Limits_comparable", f"limits are not comparable: {low[0]} and {high[0]}", "upper")
        )
    elif low[1] > high[1]:
        out.append(
            Invariant("Limits_consistent", f"lower limit {low[1]} is above upper limit {high[1]}", "lower")
        )


_TEMPORAL_VALIDATORS: list[tuple[type[RMObject], Callable[[str], bool], str]] = [
    (DvDate, iso8601.is_valid_date, "an ISO 8601 date"),
    (DvTime, iso8601.is_valid_time, "an ISO 8601 time"),
    (DvDateTime, iso8601.is_valid_date_time, "an ISO 8601 date-time"),
    (DvDuration, iso8601.is_valid_duration, "an ISO 8601 duration"),
]


def _temporal_check(is_valid: Callable[[str], bool], what: str) -> Check:
    def check_value(obj: RMObject, out: list[Invariant]) -> None:
        value = getattr(obj, "value", None)
        if isinstance(value, str) and not is_valid(value):
            out.append(Invariant("Value_valid", f"{value!r} is not {what}", "value"))

    return check_value


for _cls, _validator, _what in _TEMPORAL_VALIDATORS:
    _invariants(_cls)(_temporal_check(_validator, _what))


@_invariants(DvMultimedia)
def _dv_multimedia(obj: DvMultimedia, out: list[Invariant]) -> None:
    if obj.data is None and obj.uri is None:
        out.append(Invariant("Not_empty", "needs inline data or a uri"))
    if obj.integrity_check is not None and obj.integrity_check_algorithm is None:
        out.append(
            Invariant(
                "Integrity_check_validity",
                "integrity_check needs integrity_check_algorithm",
                "integrity_check_algorithm",
            )
        )
    if obj.size is not None and obj.size < 0:
        out.append(Invariant("Size_valid", f"size {obj.size} is negative", "size"))


@_invariants(DvParsable)
def _dv_parsable(obj: DvParsable, out: list[Invariant]) -> None:
    _empty_string(obj, "formalism", "Formalism_valid", out)


def _time_spec_check(formalisms: tuple[str, ...]) -> Check:
    def check_formalism(obj: RMObject, out: list[Invariant]) -> None:
        parsable = getattr(obj, "value", None)
        formalism = getattr(parsable, "formalism", None)
        if formalism is not None and formalism not in formalisms:
            out.append(
                Invariant("Value_valid", f"formalism {formalism!r} is not {' or '.join(formalisms)}", "value")
            )

    return check_formalism


_invariants(DvPeriodicTimeSpecification)(_time_spec_check(("HL7:PIVL", "HL7:EIVL")))
_invariants(DvGeneralTimeSpecification)(_time_spec_check(("HL7:GTS",)))
