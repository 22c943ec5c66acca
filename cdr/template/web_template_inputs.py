"""Web template ``inputs``: the form fields of one data value node, derived from its constraint.

A web template leaf (DV_QUANTITY, DV_CODED_TEXT, ...) lists one input per value the user enters
(``magnitude`` and ``unit``; ``code``; ``numerator`` and ``denominator``...). Each input carries its type
(TEXT, INTEGER, DECIMAL, CODED_TEXT, BOOLEAN, DATE, TIME, DATETIME), the allowed values (``list``) and
ranges (``validation``) the OPT constrains, and a ``defaultValue`` when the OPT assumes one. The shapes follow
the EHRbase web template (format version 2.3). All functions here are pure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cdr.numerals import parse_float
from cdr.template.aom import (
    ArchetypeTerm,
    CArchetypeRoot,
    CBoolean,
    CCodePhrase,
    CCodeReference,
    CComplexObject,
    CDate,
    CDateTime,
    CDuration,
    CDvOrdinal,
    CDvQuantity,
    CInteger,
    CObject,
    CPrimitiveObject,
    CReal,
    CString,
    CTime,
    Interval,
)
from cdr.terminology import group_of, rubric

Json = dict[str, Any]

PROPORTION_KINDS = {0: "ratio", 1: "unitary", 2: "percent", 3: "fraction", 4: "integer_fraction"}
"""DV_PROPORTION.type codes (RM ``PROPORTION_KIND``) to the web template's ``proportionTypes`` names."""

DURATION_FIELDS = ("year", "month", "day", "week", "hour", "minute", "second")

_PARTY_PROXY = ("id", "id_scheme", "id_namespace", "name")


@dataclass(frozen=True, slots=True)
class TermContext:
    """What input building needs to label codes: template languages and term lookup.

    ``label_languages`` are the languages the template itself is described in (OPT ``description``); EHRbase
    labels openEHR-terminology codes in those, while archetype terms are labelled in every term language.
    """

    languages: tuple[str, ...]
    default_language: str
    roots: tuple[CArchetypeRoot, ...]  # every archetype root, for codes defined away from their use
    label_languages: tuple[str, ...] = ()

    def term(self, node: CObject, code: str, language: str) -> ArchetypeTerm | None:
        """``code`` in ``language``: in the node's own archetype first, then anywhere in the template."""
        own = node.archetype_root
        for root in ((own,) if own is not None else ()) + self.roots:
            terms = root.term_definitions.get(language)
            if terms is not None and code in terms:
                return terms[code]
        return None


def _attr_child(obj: CObject | None, name: str) -> CObject | None:
    if not isinstance(obj, CComplexObject):
        return None
    attr = obj.attribute(name)
    return attr.children[0] if attr is not None and attr.children else None


def _primitive(obj: CObject | None, name: str) -> Any:
    child = _attr_child(obj, name)
    return child.item if isinstance(child, CPrimitiveObject) else None


def _number(value: float | int) -> float | int:
    """Integral reals stay reals (``0.0``) as EHRbase writes them; JSON equality treats 0.0 == 0 anyway."""
    return value


def _range(interval: Interval[Any] | None, convert: Callable[[Any], Any] = _number) -> Json | None:
    """An Interval as ``{minOp, min, maxOp, max}`` (omitting unbounded sides)."""
    if interval is None or (interval.lower is None and interval.upper is None):
        return None
    out: Json = {}
    if interval.lower is not None:
        out["minOp"] = ">=" if interval.lower_included else ">"
        out["min"] = convert(interval.lower)
    if interval.upper is not None:
        out["maxOp"] = "<=" if interval.upper_included else "<"
        out["max"] = convert(interval.upper)
    return out


_INPUT_KEYS = ("list", "listOpen", "defaultValue", "validation", "terminology")


def _input(type_: str, suffix: str | None = None, **extra: Any) -> Json:
    out: Json = {}
    if suffix is not None:
        out["suffix"] = suffix
    out["type"] = type_
    for key in _INPUT_KEYS:
        value = extra.get(key)
        if value is not None and value != [] and value != {}:
            out[key] = value
    return out


def with_keys(inp: Json, **extra: Any) -> Json:
    """``inp`` with ``extra`` keys set, keys kept in EHRbase's order."""
    merged = {k: v for k, v in inp.items() if k not in ("suffix", "type")} | extra
    return _input(inp["type"], inp.get("suffix"), **merged)


# ------------------------------------------------------------------------------------------ coded


def openehr_item(code: str, ctx: TermContext, group: str | None = None) -> Json:
    """A ``list`` entry for an openEHR-terminology code: its rubric in each language the template is
    described in (English where the terminology has no translation), the default language as ``label``."""
    groups = (group,) if group else group_of(code)
    labels = {
        lang: (rubric(code, groups[0], lang) if groups else None) or code
        for lang in ctx.label_languages or (ctx.default_language,)
    }
    label = (rubric(code, groups[0], ctx.default_language) if groups else None) or code
    return {"value": code, "label": label, "localizedLabels": labels}


def code_list_item(
    code: str, terminology: str, node: CObject, ctx: TermContext, group: str | None = None
) -> Json:
    """One ``list`` entry for a code: label and per-language labels/descriptions as EHRbase gives them.

    Terms of external codes are looked up as ``terminology::code`` and, as some template tools write them,
    as the bare code. ``group`` names the openEHR terminology group where the attribute fixes it.
    """
    if terminology == "openehr":
        return openehr_item(code, ctx, group)
    keys = (code,) if terminology == "local" else (f"{terminology}::{code}", code)
    labels: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    for lang in ctx.languages:
        term = next((t for k in keys if (t := ctx.term(node, k, lang)) is not None), None)
        if term is None:
            continue
        labels[lang] = term.text or ""
        descriptions[lang] = term.description or ""
    item: Json = {"value": code, "label": labels.get(ctx.default_language, code)}
    if labels:
        item["localizedLabels"] = labels
        item["localizedDescriptions"] = descriptions
    return item


def coded_text_inputs(
    value: CObject | None, ctx: TermContext, *, open_list: bool = False, group: str | None = None
) -> list[Json]:
    """DV_CODED_TEXT: a ``code`` pick list for enumerated codes, else free ``code``/``value`` text fields.

    ``open_list`` is set where the element also allows plain DV_TEXT: the list becomes open and an
    ``other`` text input is added.
    """
    if isinstance(value, CComplexObject) and value.attribute("defining_code") is None:
        free = [_input("TEXT", "value"), _input("TEXT", "code")]  # EHRbase's order for an open coded text
        return [*free, _input("TEXT", "other")] if open_list else free
    phrase = _attr_child(value, "defining_code")
    terminology = phrase.terminology_id if isinstance(phrase, CCodePhrase) else None
    if isinstance(phrase, CCodeReference) and not terminology:
        terminology = phrase.reference_set_uri.removeprefix("terminology:") or None
    codes = phrase.code_list if isinstance(phrase, CCodePhrase) else []
    if codes and terminology:
        assert phrase is not None
        items = [code_list_item(c, terminology, phrase, ctx, group) for c in codes]
        assumed = phrase.assumed_value if isinstance(phrase, CCodePhrase) else None
        default = assumed.code_string if assumed is not None else None
        first = _input(
            "CODED_TEXT",
            "code",
            list=items,
            listOpen=True if open_list else None,
            defaultValue=default,
            terminology=terminology,
        )
        return [first, _input("TEXT", "other")] if open_list else [first]
    return [_input("TEXT", "code", terminology=terminology), _input("TEXT", "value", terminology=terminology)]


def text_inputs(value: CObject | None) -> list[Json]:
    """DV_TEXT: free text, or a closed list of allowed strings."""
    item = _primitive(value, "value")
    if isinstance(item, CString) and item.list:
        return [
            _input(
                "TEXT",
                list=[{"value": s, "label": s} for s in item.list],
                listOpen=item.list_open,
                defaultValue=item.assumed_value,
            )
        ]
    default = item.assumed_value if isinstance(item, CString) else None
    return [_input("TEXT", defaultValue=default)]


# ---------------------------------------------------------------------------------------- quantified


def quantity_inputs(value: CObject | None, ctx: TermContext, *, constrained: bool = True) -> list[Json]:
    """DV_QUANTITY: ``magnitude`` and ``unit``; per-unit ranges and precision go on the unit list items.

    A single allowed unit also moves its validation onto ``magnitude``. ``constrained`` is false for a
    quantity the template leaves entirely open, where EHRbase gives ``unit`` as free text.
    """
    if not constrained:
        return [_input("DECIMAL", "magnitude"), _input("TEXT", "unit")]
    items: list[Json] = []
    magnitude_validation: Json | None = None
    default_magnitude = default_unit = None
    if isinstance(value, CDvQuantity):
        for q in value.list:
            validation: Json = {}
            if (r := _range(q.magnitude)) is not None:
                validation["range"] = r
            if (p := _range(q.precision)) is not None:
                validation["precision"] = p
            entry: Json = {"value": q.units, "label": q.units}
            if labels := unit_labels(q.units, q.units_display_name, value, ctx):
                entry["localizedLabels"] = labels
            if validation:
                entry["validation"] = validation
            items.append(entry)
        if len(value.list) == 1 and items[0].get("validation"):
            magnitude_validation = items[0]["validation"]
        if value.assumed_value is not None:
            default_magnitude = value.assumed_value.magnitude
            default_unit = value.assumed_value.units
    return [
        _input("DECIMAL", "magnitude", validation=magnitude_validation, defaultValue=default_magnitude),
        _input("CODED_TEXT", "unit", list=items, defaultValue=default_unit),
    ]


def unit_labels(units: str, display_name: str | None, node: CObject, ctx: TermContext) -> dict[str, str]:
    """Per-language labels of a unit: the template's term for the unit code (``mm[Hg]`` -> ``mmHg``) where
    it defines one, else the constraint's display name in every language."""
    labels = {
        lang: term.text
        for lang in ctx.languages
        if (term := ctx.term(node, units, lang)) is not None and term.text
    }
    if not labels and display_name:
        labels = dict.fromkeys(ctx.languages, display_name)
    return labels


def _integer_range(interval: Interval[int] | None) -> Json | None:
    """An integer range with its bounds made inclusive (``>10`` is ``>=11``), as EHRbase writes it."""
    if interval is None:
        return None
    lower, upper = interval.lower, interval.upper
    if lower is not None and not interval.lower_included:
        lower += 1
    if upper is not None and not interval.upper_included:
        upper -= 1
    return _range(type(interval)(lower, upper, True, True))


def count_inputs(value: CObject | None) -> list[Json]:
    item = _primitive(value, "magnitude")
    validation = None
    default = None
    if isinstance(item, CInteger):
        r = _integer_range(item.range)
        validation = {"range": r} if r else None
        default = item.assumed_value
    return [_input("INTEGER", validation=validation, defaultValue=default)]


FIXED_DENOMINATORS = {"percent": 100.0, "unitary": 1.0}
"""PROPORTION_KIND values whose denominator the RM fixes (invariants ``Valid_percent``, ``Valid_unitary``)."""


def proportion_inputs(value: CObject | None) -> tuple[list[Json], list[str]]:
    """DV_PROPORTION: ``numerator`` and ``denominator`` inputs plus the allowed ``proportionTypes``.

    Where the template allows only percent or only unitary proportions and leaves the denominator open, the
    denominator input is bounded to the value the RM fixes for that kind.
    """
    kinds = _primitive(value, "type")
    if isinstance(kinds, CInteger) and kinds.list:
        types = [PROPORTION_KINDS[k] for k in kinds.list if k in PROPORTION_KINDS]
    else:
        types = list(PROPORTION_KINDS.values())
    fields = []
    for name in ("numerator", "denominator"):
        item = _primitive(value, name)
        validation = default = None
        if isinstance(item, CReal):
            r = _range(item.range)
            validation = {"range": r} if r else None
            default = item.assumed_value
        elif name == "denominator" and len(types) == 1 and types[0] in FIXED_DENOMINATORS:
            fixed = FIXED_DENOMINATORS[types[0]]
            validation = {"range": {"minOp": ">=", "min": fixed, "maxOp": "<=", "max": fixed}}
        fields.append(_input("DECIMAL", name, validation=validation, defaultValue=default))
    return fields, types


def ordinal_inputs(value: CObject | None, ctx: TermContext) -> list[Json]:
    """DV_ORDINAL: one CODED_TEXT pick list of symbols, each with its ``ordinal`` number."""
    items: list[Json] = []
    default = None
    if isinstance(value, CDvOrdinal):
        for o in value.list:
            entry = code_list_item(o.symbol.code_string, o.symbol.terminology_id or "local", value, ctx)
            entry["ordinal"] = int(o.value) if float(o.value).is_integer() else o.value
            items.append(entry)
        if value.assumed_value is not None:
            default = value.assumed_value.symbol.code_string
    return [_input("CODED_TEXT", list=items, defaultValue=default)]


def boolean_inputs(value: CObject | None) -> list[Json]:
    item = _primitive(value, "value")
    allowed: list[Json] = []
    default = None
    if isinstance(item, CBoolean):
        if item.true_valid != item.false_valid:
            word = "true" if item.true_valid else "false"
            allowed = [{"value": word, "label": word}]
        default = item.assumed_value
    return [_input("BOOLEAN", list=allowed, defaultValue=default)]


def temporal_inputs(value: CObject | None, type_: str) -> list[Json]:
    """DV_DATE, DV_TIME, DV_DATE_TIME: one input; a template pattern becomes ``validation.pattern``."""
    item = _primitive(value, "value")
    validation = default = None
    if isinstance(item, CDate | CTime | CDateTime):
        if item.pattern:
            validation = {"pattern": item.pattern}
        default = item.assumed_value
    return [_input(type_, validation=validation, defaultValue=default)]


def duration_inputs(value: CObject | None) -> list[Json]:
    """DV_DURATION: one INTEGER input per ISO 8601 field the pattern allows (all when unconstrained).

    Every field is at least 0; a template range whose bounds use a single field bounds that field.
    """
    item = _primitive(value, "value")
    allowed = list(DURATION_FIELDS)
    bounds: dict[str, Json] = {}
    default: dict[str, int] = {}
    if isinstance(item, CDuration):
        if item.pattern:
            allowed = _duration_pattern_fields(item.pattern)
        if item.range is not None:
            bounds = _duration_bounds(item.range)
        if isinstance(item.assumed_value, str):
            default = duration_parts(item.assumed_value)
    out = []
    for name in allowed:
        r = bounds.get(name, {"minOp": ">=", "min": 0})
        out.append(
            _input(
                "INTEGER",
                name,
                validation={"range": r},
                defaultValue=default.get(name, 0) if default else None,
            )
        )
    return out


def _duration_pattern_fields(pattern: str) -> list[str]:
    """Field names a C_DURATION pattern such as ``PYMWD`` or ``PTH`` admits, in pattern order."""
    text = pattern.upper().lstrip("P")
    date_part, _, time_part = text.partition("T")
    names = {"Y": "year", "M": "month", "W": "week", "D": "day"}
    out = [names[c] for c in date_part if c in names]
    out += [{"H": "hour", "M": "minute", "S": "second"}[c] for c in time_part if c in "HMS"]
    return out


def duration_parts(text: str) -> dict[str, int]:
    """``P6Y0M`` -> {year: 6, month: 0}; fractional seconds are truncated."""
    out: dict[str, int] = {}
    body = text.upper().lstrip("P")
    date_part, _, time_part = body.partition("T")
    for part, names in (
        (date_part, {"Y": "year", "M": "month", "W": "week", "D": "day"}),
        (time_part, {"H": "hour", "M": "minute", "S": "second"}),
    ):
        number = ""
        for ch in part:
            if ch in "0123456789.,":
                number += ch
            elif ch in names and number:
                value = parse_float(number.replace(",", "."))
                if value is not None:
                    out[names[ch]] = int(value)
                number = ""
    return out


def _duration_bounds(interval: Interval[str]) -> dict[str, Json]:
    """Per-field ranges from a duration interval whose bounds each name one field (``PT24H..PT24H``)."""
    lower = duration_parts(interval.lower) if interval.lower else {}
    upper = duration_parts(interval.upper) if interval.upper else {}
    out: dict[str, Json] = {}
    for name in set(lower) | set(upper):
        r: Json = {"minOp": ">=" if interval.lower_included else ">", "min": lower.get(name, 0)}
        if name in upper:
            r["maxOp"] = "<=" if interval.upper_included else "<"
            r["max"] = upper[name]
        out[name] = r
    return out


# ------------------------------------------------------------------------------------------ dispatch


def text_fields(*suffixes: str) -> list[Json]:
    """Plain TEXT inputs named by ``suffixes`` (PARTY_PROXY, DV_IDENTIFIER, DV_PARSABLE...)."""
    return [_input("TEXT", s) for s in suffixes]


def inputs_for(
    rm_type: str, value: CObject | None, ctx: TermContext, *, open_any: bool = False, group: str | None = None
) -> tuple[list[Json], list[str] | None]:
    """Inputs (and, for DV_PROPORTION, ``proportionTypes``) of a leaf of ``rm_type``.

    ``value`` is the constraint on the data value (``None`` when unconstrained); ``open_any`` marks value
    nodes EHRbase generates for an element whose value the template leaves open; ``group`` is the openEHR
    terminology group of the RM attribute the value sits in, for labelling its codes.
    """
    if rm_type == "DV_CODED_TEXT":
        if open_any:
            return [_input("TEXT", "code"), _input("TEXT", "value")], None
        return coded_text_inputs(value, ctx, group=group), None
    if rm_type == "DV_TEXT":
        return text_inputs(value), None
    if rm_type == "DV_QUANTITY":
        return quantity_inputs(value, ctx, constrained=not open_any), None
    if rm_type == "DV_COUNT":
        return count_inputs(value), None
    if rm_type == "DV_PROPORTION":
        return proportion_inputs(value)
    if rm_type in ("DV_ORDINAL", "DV_SCALE"):
        return ordinal_inputs(value, ctx), None
    if rm_type == "DV_BOOLEAN":
        return boolean_inputs(value), None
    if rm_type in _TEMPORAL:
        return temporal_inputs(value, _TEMPORAL[rm_type]), None
    if rm_type == "DV_DURATION":
        return duration_inputs(value), None
    if rm_type in _FIXED:
        return [dict(i) for i in _FIXED[rm_type]], None
    return [], None


_TEMPORAL = {"DV_DATE": "DATE", "DV_TIME": "TIME", "DV_DATE_TIME": "DATETIME"}

_FIXED: dict[str, Sequence[Json]] = {
    "DV_MULTIMEDIA": [_input("TEXT")],
    "DV_URI": [_input("TEXT")],
    "DV_EHR_URI": [_input("TEXT")],
    "STRING": [_input("TEXT")],
    "DV_PARSABLE": text_fields("value", "formalism"),
    "DV_IDENTIFIER": text_fields("id", "type", "issuer", "assigner"),
    "DV_STATE": text_fields("code", "value"),
    "PARTY_PROXY": text_fields(*_PARTY_PROXY),
    "PARTY_IDENTIFIED": text_fields(*_PARTY_PROXY),
    "PARTY_SELF": text_fields(*_PARTY_PROXY),
}
