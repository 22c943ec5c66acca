"""Web template ``defaultValue`` of inputs from the default values a template sets on elements.

Template tools (Archetype Designer) write an element's default as RM data in the OPT ``constraints``
section (``T_COMPLEX_OBJECT.default_value`` at the element's ``differential_path``), not as an assumed value
of the constraint. EHRbase shows it as the ``defaultValue`` of the matching inputs: the code of a coded
text or ordinal, magnitude and unit of a quantity, numerator and denominator of a proportion, each ISO 8601
field of a duration (absent fields 0), the text of a string or date/time. All functions here are pure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cdr.template.web_template_inputs import DURATION_FIELDS, Json, duration_parts, with_keys


def _code(default: Json) -> Any:
    code = default.get("defining_code") or default.get("symbol", {}).get("defining_code") or {}
    return code.get("code_string")


def _number(text: Any, kind: Callable[[str], Any] = float) -> Any:
    try:
        return kind(str(text))
    except ValueError:
        return None


def _by_suffix(default: Json, rm_type: str) -> dict[str | None, Any]:
    """The default of each input (keyed by suffix) for a data value of ``rm_type``."""
    if rm_type in ("DV_CODED_TEXT", "DV_ORDINAL", "DV_SCALE"):
        code = _code(default)
        return {"code": code, None: code}
    if rm_type == "DV_QUANTITY":
        return {"magnitude": _number(default.get("magnitude")), "unit": default.get("units")}
    if rm_type == "DV_PROPORTION":
        return {name: _number(default.get(name)) for name in ("numerator", "denominator")}
    if rm_type == "DV_COUNT":
        return {None: _number(default.get("magnitude"), int)}
    if rm_type == "DV_DURATION":
        parts = duration_parts(str(default.get("value", "")))
        return {name: parts.get(name, 0) for name in DURATION_FIELDS}
    if rm_type == "DV_BOOLEAN":
        value = default.get("value")
        return {None: value.strip().lower() == "true" if isinstance(value, str) else value}
    return {None: default.get("value")}


def apply_default(rm_type: str, inputs: list[Json], default: Json | None) -> list[Json]:
    """``inputs`` with ``defaultValue`` from a template default of the same RM type (else unchanged)."""
    if not default or default.get("_type", rm_type) != rm_type:
        return inputs
    values = _by_suffix(default, rm_type)
    out = []
    for inp in inputs:
        value = values.get(inp.get("suffix"))
        out.append(with_keys(inp, defaultValue=value) if value is not None else inp)
    return out
