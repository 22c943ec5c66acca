"""Numbers written in text, read as EHRbase's Java readers and the XML Schema types read them: ASCII only.

Python's ``int()``, ``float()`` and ``str.isdigit()`` take far more than that: digits of every script
(``'٣'``), superscripts that ``int()`` then refuses (``'²'.isdigit()`` is true), underscores (``'1_0'``) and
``'infinity'``. Input read with them would store a value no other openEHR system reads the same way, or fail
with a 500 where the request deserves a 400.
"""

from __future__ import annotations

import re

_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)
_NUMBER = re.compile(
    r"\s*[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|nan|inf|infinity)\s*",
    re.ASCII | re.IGNORECASE,
)


def is_digits(text: str) -> bool:
    """Whether ``text`` is one or more ASCII digits (what ``str.isdigit`` is usually meant to ask).

    >>> is_digits("12"), is_digits("²"), is_digits("٣"), is_digits("")
    (True, False, False, False)
    """
    return text.isascii() and text.isdigit()


def parse_int(text: str) -> int | None:
    """The integer ``text`` writes in ASCII digits (sign and surrounding blanks allowed), else None.

    >>> parse_int(" -12 "), parse_int("1_0"), parse_int("٣"), parse_int("1.0")
    (-12, None, None, None)
    """
    return int(text) if _INTEGER.fullmatch(text) else None


def parse_float(text: str) -> float | None:
    """The number ``text`` writes in ASCII (decimal or exponent form, NaN and infinities by name), else None.

    >>> parse_float("1.5e3"), parse_float(".5"), parse_float("1_0"), parse_float("١٢")
    (1500.0, 0.5, None, None)
    """
    return float(text) if _NUMBER.fullmatch(text) else None
