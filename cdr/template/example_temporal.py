"""Dates, times, date-times and durations that satisfy AM 1.4 C_DATE / C_TIME / C_DATE_TIME / C_DURATION.

Pure functions. A temporal pattern (``yyyy-mm-ddTHH:MM:??``, ``yyyy-??-XX``) says per component whether it
is mandatory, optional or not allowed; the text written keeps every component up to the first one not
allowed, which satisfies mandatory and optional alike. Duration constraints are turned once into
:class:`DurationOption` s (one designator and a range of counts inside the constraint), from which values
are drawn cheaply.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from dataclasses import dataclass

from cdr.template.aom_primitives import CDuration, CTemporal, Interval

__all__ = [
    "DurationOption",
    "date_text",
    "date_time_text",
    "duration_options",
    "duration_text",
    "time_text",
]

TZ_DISALLOWED = 1003
_FIELDS = {"date": 3, "time": 3, "date_time": 6}


def _kept_components(pattern: str | None, kind: str) -> int:
    """How many leading components (year, month, day, hour, minute, second) a pattern lets us write."""
    total = _FIELDS[kind]
    if not pattern:
        return total
    groups = re.split(r"[-:T]", pattern.strip())
    if len(groups) != total:
        return total
    for i, chars in enumerate(groups):
        if chars[:1] in ("X", "x"):
            return i
    return total


def _zone(moment: dt.datetime) -> str:
    offset = moment.utcoffset()
    if offset is None:
        return ""
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "Z"
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def _time_part(moment: dt.datetime, keep: int, zone: bool) -> str:
    parts = (moment.hour, moment.minute, moment.second)[:keep]
    text = ":".join(f"{p:02d}" for p in parts)
    return text + (_zone(moment) if zone and text else "")


def date_time_text(moment: dt.datetime, c: CTemporal | None = None) -> str:
    """``moment`` as an ISO 8601 date-time with the components the constraint allows.

    >>> date_time_text(dt.datetime(2024, 3, 5, 10, 15, 0, tzinfo=dt.UTC))
    '2024-03-05T10:15:00Z'
    """
    keep = _kept_components(c.pattern if c else None, "date_time")
    date = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    date = "-".join(date.split("-")[: max(1, min(keep, 3))])
    if keep <= 3:
        return date
    zone = c is None or c.timezone_validity != TZ_DISALLOWED
    return _in_range(f"{date}T{_time_part(moment, keep - 3, zone)}", c)


def date_text(moment: dt.datetime, c: CTemporal | None = None) -> str:
    """``moment``'s date, cut to what the pattern allows (``yyyy-??-XX`` gives ``2024-03``)."""
    keep = max(1, _kept_components(c.pattern if c else None, "date"))
    parts = [f"{moment.year:04d}", f"{moment.month:02d}", f"{moment.day:02d}"][:keep]
    return _in_range("-".join(parts), c)


def time_text(moment: dt.datetime, c: CTemporal | None = None) -> str:
    """``moment``'s time of day, cut to what the pattern allows."""
    keep = max(1, _kept_components(c.pattern if c else None, "time"))
    zone = c is not None and c.timezone_validity not in (None, TZ_DISALLOWED)
    return _in_range(_time_part(moment, keep, zone), c)


def _in_range(text: str, c: CTemporal | None) -> str:
    """``text``, or a bound of the constraint's range when the range is given and is a single value or
    plainly excludes values like ``text`` (range bounds are written in the same ISO form as the values)."""
    if c is None or c.range is None:
        return text
    r = c.range
    if r.lower is not None and r.lower == r.upper:
        return str(r.lower)
    if r.lower is not None and len(str(r.lower)) == len(text) and text < str(r.lower):
        return str(r.lower) if r.lower_included else text
    if r.upper is not None and len(str(r.upper)) == len(text) and text > str(r.upper):
        return str(r.upper) if r.upper_included else text
    return text


# ------------------------------------------------------------------------------------------- durations

_DAY = 86_400.0
# Two year lengths in use (the Gregorian mean, and the tropical year openEHR's RM text gives); a value is
# only chosen where it lies inside the constraint by both, so that any reader agrees.
_YEARS = (365.2425 * _DAY, 365.24219 * _DAY)
_DESIGNATORS = ("Y", "M", "W", "D", "h", "m", "s")
_PREFERENCE = ("D", "h", "m", "W", "M", "Y", "s")
_DURATION = re.compile(
    r"(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?",
    re.ASCII,
)


def _unit_seconds(designator: str, year: float) -> float:
    return {
        "Y": year,
        "M": year / 12,
        "W": 7 * _DAY,
        "D": _DAY,
        "h": 3600.0,
        "m": 60.0,
        "s": 1.0,
    }[designator]


def _seconds(text: str, year: float) -> float | None:
    m = _DURATION.fullmatch(text.strip())
    if m is None:
        return None
    total = 0.0
    for designator, group in zip(_DESIGNATORS, m.groups()[1:], strict=True):
        if group is not None:
            total += float(group.replace(",", ".")) * _unit_seconds(designator, year)
    return -total if m.group(1) else total


def _allowed_designators(pattern: str | None) -> tuple[str, ...]:
    if not pattern:
        return _DESIGNATORS
    p = pattern.strip().replace("/", "")
    if not p.upper().startswith("P"):
        return _DESIGNATORS
    date_part, _, time_part = p[1:].upper().partition("T")
    allowed = set(date_part) | {c.lower() for c in time_part}
    return tuple(d for d in _DESIGNATORS if d in allowed) or _DESIGNATORS


def duration_string(designator: str, count: int) -> str:
    """``PnX`` or ``PTnX`` for one designator (``h``, ``m``, ``s`` are the time ones)."""
    if designator in ("h", "m", "s"):
        return f"PT{count}{designator.upper()}"
    return f"P{count}{designator}"


@dataclass(frozen=True, slots=True)
class DurationOption:
    """Counts ``low..high`` of one designator that all lie inside the constraint; ``fixed`` overrides."""

    designator: str
    low: int
    high: int
    fixed: str | None = None

    def text(self, rng: random.Random | None) -> str:
        if self.fixed is not None:
            return self.fixed
        if rng is None:
            count = self.low if self.low > 0 else min(1, self.high)
        else:
            count = rng.randint(self.low, min(self.high, self.low + 30))
        return duration_string(self.designator, count)


def _inside(r: Interval[str] | None, text: str) -> bool:
    if r is None:
        return True
    for year in _YEARS:
        value = _seconds(text, year)
        if value is None:
            return False
        for bound, included, below in ((r.lower, r.lower_included, True), (r.upper, r.upper_included, False)):
            if bound is None:
                continue
            limit = _seconds(str(bound), year)
            if limit is None:
                continue
            if below and (value < limit or (value == limit and not included)):
                return False
            if not below and (value > limit or (value == limit and not included)):
                return False
    return True


def duration_options(c: CDuration | None) -> list[DurationOption]:
    """Every designator the constraint allows with the range of counts of it that satisfy the range."""
    r = c.range if c is not None else None
    designators = _allowed_designators(c.pattern if c is not None else None)
    if r is not None and r.lower is not None and r.lower == r.upper:
        text = str(r.lower)
        return [DurationOption("", 0, 0, fixed=text)]
    options = []
    for designator in sorted(designators, key=_PREFERENCE.index):
        low, high = _count_range(designator, r)
        if low > high:
            continue
        # shrink off the edges until both year lengths agree the ends are inside
        while low <= high and not _inside(r, duration_string(designator, low)):
            low += 1
        while high >= low and not _inside(r, duration_string(designator, high)):
            high -= 1
        if low <= high:
            options.append(DurationOption(designator, low, high))
    return options


def _count_range(designator: str, r: Interval[str] | None) -> tuple[int, int]:
    unit = _unit_seconds(designator, _YEARS[0])
    low, high = 0, 100_000
    if r is not None:
        if r.lower is not None and (lo := _seconds(str(r.lower), _YEARS[0])) is not None:
            low = max(0, math.ceil(lo / unit))
        if r.upper is not None and (hi := _seconds(str(r.upper), _YEARS[0])) is not None:
            high = math.floor(hi / unit)
    return low, high


def duration_text(options: list[DurationOption], rng: random.Random | None) -> str:
    """A duration from precomputed options: the first (canonical) or a random one."""
    if not options:
        return "PT1H"
    option = options[0] if rng is None else rng.choice(options)
    return option.text(rng)
