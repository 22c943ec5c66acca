"""Primitive constraints of AOM 1.4 (C_PRIMITIVE and its subtypes) and the :class:`Interval` they use.

Kept apart from :mod:`cdr.template.aom` because they are leaves with no links into the constraint tree;
:mod:`cdr.template.aom` re-exports every name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = [
    "CBoolean",
    "CDate",
    "CDateTime",
    "CDuration",
    "CInteger",
    "CPrimitive",
    "CReal",
    "CString",
    "CTemporal",
    "CTime",
    "Interval",
]

T = TypeVar("T")


@dataclass(slots=True)
class Interval(Generic[T]):
    """An interval of ordered values (AOM ``Interval<T>``); a ``None`` bound is unbounded.

    Date, time and duration ranges keep their ISO 8601 text as bounds; pass ``key`` to :meth:`contains`
    to compare them by value.
    """

    lower: T | None = None
    upper: T | None = None
    lower_included: bool = True
    upper_included: bool = True

    @property
    def lower_unbounded(self) -> bool:
        return self.lower is None

    @property
    def upper_unbounded(self) -> bool:
        return self.upper is None

    def contains(self, value: Any, key: Callable[[Any], Any] | None = None) -> bool:
        """Whether ``value`` lies in the interval (bounds and value mapped through ``key`` if given)."""
        v = key(value) if key else value
        if self.lower is not None:
            lo = key(self.lower) if key else self.lower
            if v < lo or (v == lo and not self.lower_included):
                return False
        if self.upper is not None:
            hi = key(self.upper) if key else self.upper
            if v > hi or (v == hi and not self.upper_included):
                return False
        return True

    def __str__(self) -> str:
        lo = "*" if self.lower is None else str(self.lower)
        hi = "*" if self.upper is None else str(self.upper)
        return f"{lo}..{hi}"


@dataclass(slots=True)
class CPrimitive:
    """C_PRIMITIVE: a constraint on a primitive value (string, number, boolean, date/time, duration)."""

    assumed_value: Any = None


@dataclass(slots=True)
class CString(CPrimitive):
    pattern: str | None = None
    list: list[str] = field(default_factory=list)
    list_open: bool = False

    def is_valid(self, value: str) -> bool:
        if self.pattern is not None and re.fullmatch(self.pattern, value) is None:
            return False
        return not self.list or self.list_open or value in self.list


@dataclass(slots=True)
class CInteger(CPrimitive):
    list: list[int] = field(default_factory=list)
    range: Interval[int] | None = None

    def is_valid(self, value: int) -> bool:
        return (not self.list or value in self.list) and (self.range is None or self.range.contains(value))


@dataclass(slots=True)
class CReal(CPrimitive):
    list: list[float] = field(default_factory=list)
    range: Interval[float] | None = None

    def is_valid(self, value: float) -> bool:
        return (not self.list or value in self.list) and (self.range is None or self.range.contains(value))


@dataclass(slots=True)
class CBoolean(CPrimitive):
    true_valid: bool = True
    false_valid: bool = True

    def is_valid(self, value: bool) -> bool:
        return self.true_valid if value else self.false_valid


@dataclass(slots=True)
class CTemporal(CPrimitive):
    """Shared shape of C_DATE, C_TIME and C_DATE_TIME: a pattern like ``yyyy-mm-ddTHH:MM:SS`` or a range."""

    pattern: str | None = None
    timezone_validity: int | None = None  # 1001 mandatory, 1002 optional, 1003 disallowed
    range: Interval[str] | None = None


@dataclass(slots=True)
class CDate(CTemporal):
    pass


@dataclass(slots=True)
class CTime(CTemporal):
    pass


@dataclass(slots=True)
class CDateTime(CTemporal):
    pass


@dataclass(slots=True)
class CDuration(CPrimitive):
    """C_DURATION: ``pattern`` names the allowed fields (``PYMWDTHMS``-style), ``range`` bounds the value."""

    pattern: str | None = None
    range: Interval[str] | None = None
