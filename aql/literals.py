r"""Literal text: string escapes and the ISO 8601 forms that make a string a DATE, TIME or DATE_TIME.

AQL 1.1 ("Dates and Times") treats temporal values as quoted strings whose type the processor infers; we
type a string by its ISO 8601 *extended* form, as the spec's examples do, and leave the basic form
(``'19860101'``) a plain string. Escapes ``\\``, ``\'``, ``\"``, ``\n``, ``\r``, ``\t`` and ``\u``
with four hex digits are decoded; any other backslash pair is kept as written, because LIKE gives
``\*``, ``\?``, ``\%`` and ``\_`` a meaning of their own.
"""

from __future__ import annotations

import re

from aql.ast import AqlType

_SIMPLE_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)

_DATE = r"\d{4}-\d{2}(?:-\d{2})?"
_TIME = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
_ZONE = r"(?:Z|[+-]\d{2}(?::?\d{2})?)?"
_DATE_RE = re.compile(rf"{_DATE}", re.ASCII)
_TIME_RE = re.compile(rf"{_TIME}{_ZONE}", re.ASCII)
_DATE_TIME_RE = re.compile(rf"\d{{4}}-\d{{2}}-\d{{2}}T{_TIME}{_ZONE}", re.ASCII)


_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


class UntypedText(str):
    """A parameter value from a URL query string (``GET /query/aql?x=36``): a URL has no types, so text
    that reads as a number or a boolean may have meant one. The compiler compares it as a number with
    numbers (as a boolean with booleans) and as text with text (a fødselsnummer is all digits and stays
    text); a JSON body's values keep their types."""

    __slots__ = ()

    @property
    def reads_as_number(self) -> bool:
        return _NUMBER_TEXT.fullmatch(self.strip()) is not None

    @property
    def reads_as_boolean(self) -> bool:
        return self.strip().lower() in ("true", "false")


def unquote(token: str) -> str:
    """The value of a STRING token (quotes removed, escapes decoded)."""

    def decode(match: re.Match[str]) -> str:
        code = match.group(1)
        if len(code) == 5 and code[0] == "u":
            return chr(int(code[1:], 16))
        return _SIMPLE_ESCAPES.get(code, match.group(0))

    return _ESCAPE.sub(decode, token[1:-1])


def quote(value: str) -> str:
    r"""``value`` as a single-quoted AQL string that :func:`unquote` turns back into ``value``.

    A backslash that :func:`unquote` would keep as written (``\*``) is printed as is; every other backslash
    and every quote is escaped, and line breaks (not allowed inside AQL strings) become ``\n``/``\r``.
    """
    out: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        nxt = value[i + 1] if i + 1 < len(value) else ""
        if ch == "\\":
            if nxt and nxt not in _SIMPLE_ESCAPES and nxt != "u":
                out.append(ch + nxt)
                i += 2
                continue
            out.append("\\\\")
        elif ch == "'":
            out.append("\\'")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        else:
            out.append(ch)
        i += 1
    return "'" + "".join(out) + "'"


def string_type(value: str) -> AqlType:
    """DATE, TIME or DATE_TIME for a string in ISO 8601 extended form, else STRING.

    >>> string_type("1986-01-01T12:00:00.000+09:30"), string_type("19860101")
    (<AqlType.DATE_TIME: 'DATE_TIME'>, <AqlType.STRING: 'STRING'>)
    """
    if _DATE_TIME_RE.fullmatch(value):
        return AqlType.DATE_TIME
    if _DATE_RE.fullmatch(value):
        return AqlType.DATE
    if _TIME_RE.fullmatch(value):
        return AqlType.TIME
    return AqlType.STRING
