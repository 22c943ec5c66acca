"""Primitive RM values to and from XML Schema lexical forms (xs:string, xs:int/long, xs:float, xs:boolean,
xs:base64Binary).

Pure functions. Parsing follows the XML Schema lexical spaces rather than Python's literal syntax, so that
``1_000``, ``0x10`` or ``Infinity`` are rejected as they would be by a validating reader.

>>> parse_value(" 42 ", int)
42
>>> parse_value("1", bool)
True
>>> format_value(float("inf"))
'INF'
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from typing import Any, Final

_INTEGER: Final = re.compile(r"[+-]?\d+", re.ASCII)
_FLOAT: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?INF|NaN", re.ASCII)
_BOOLEANS: Final = {"true": True, "1": True, "false": False, "0": False}

XSD_NAMES: Final[dict[type, str]] = {
    str: "xs:string",
    int: "xs:integer",
    float: "xs:float",
    bool: "xs:boolean",
    bytes: "xs:base64Binary",
}


class ValueFormatError(ValueError):
    """A lexical form outside the XML Schema type's lexical space; the message names the type."""


def parse_value(text: str, target: type) -> Any:
    """The Python value of an element's text for an RM primitive ``target`` type.

    Strings keep their text verbatim (xs:string preserves whitespace); the other types collapse whitespace
    first, as XML Schema does for them.
    """
    if target is str:
        return text
    lexical = text.strip()
    if target is bool:
        try:
            return _BOOLEANS[lexical]
        except KeyError:
            raise ValueFormatError(f"{lexical!r} is not an xs:boolean (true, false, 1 or 0)") from None
    if target is int:
        if not _INTEGER.fullmatch(lexical):
            raise ValueFormatError(f"{lexical!r} is not an xs:integer")
        return int(lexical)
    if target is float:
        if not _FLOAT.fullmatch(lexical):
            raise ValueFormatError(f"{lexical!r} is not an xs:float")
        number = float(lexical.replace("INF", "inf"))
        if not math.isfinite(number):  # INF, NaN, or beyond a double: canonical JSON has no such number
            raise ValueFormatError(f"{lexical!r} is not a finite number (the stored JSON could not hold it)")
        return number
    if target is bytes:
        try:
            return base64.b64decode("".join(lexical.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValueFormatError(f"{lexical[:40]!r} is not xs:base64Binary") from None
    raise ValueFormatError(f"no XML mapping for primitive type {target.__name__}")


def format_value(value: Any) -> str:
    """The canonical lexical form of a primitive value (booleans lower-case, floats with INF/NaN)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "INF" if value > 0 else "-INF"
        return repr(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)
