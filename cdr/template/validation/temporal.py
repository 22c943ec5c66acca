"""ISO 8601 values as openEHR uses them, and the AM 1.4 date/time/duration constraint patterns.

Pure functions only. Values are parsed into their components so that partial dates and times (``2021``,
``2021-10``, ``10:30``) can be checked against C_DATE / C_TIME / C_DATE_TIME patterns, whose characters say
per component whether it is mandatory (a letter), optional (``?``) or not allowed (``X``). Durations are
compared on one scale (seconds, with the year as 365.2425 days) because AM ranges mix calendar and clock
units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import MAXYEAR, UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache

_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", re.ASCII)
_BASIC_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII)
_TIME = re.compile(r"(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?", re.ASCII)
_BASIC_TIME = re.compile(r"(\d{2})(?:(\d{2})(?:(\d{2})(?:[.,](\d+))?)?)?", re.ASCII)
_ZONE = re.compile(r"Z|[+-]\d{2}(?::?\d{2})?", re.ASCII)
_DURATION = re.compile(
    r"(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?",
    re.ASCII,
)

_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)

SECONDS_PER_DAY = 86_400.0
SECONDS_PER_YEAR = 365.2425 * SECONDS_PER_DAY
_DURATION_UNIT_SECONDS = {
    "Y": SECONDS_PER_YEAR,
    "M": SECONDS_PER_YEAR / 12,
    "W": 7 * SECONDS_PER_DAY,
    "D": SECONDS_PER_DAY,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
}


@dataclass(frozen=True, slots=True)
class PartialTemporal:
    """The components present in an ISO 8601 date, time or date-time (``None`` where absent)."""

    year: int | None = None
    month: int | None = None
    day: int | None = None
    hour: int | None = None
    minute: int | None = None
    second: int | None = None
    fraction: str | None = None
    zone: str | None = None
    basic: bool = False  # written in the ISO 8601 basic format (no separators)

    def comparable(self) -> datetime:
        """A point on one time line for range checks: absent parts take their lowest value, no zone is UTC."""
        tz = UTC if self.zone in (None, "Z") else _parse_offset(self.zone or "")
        micro = int((self.fraction or "0")[:6].ljust(6, "0"))
        # a time of day goes on a fixed day so that times compare with times
        base = date(2000, 1, 1) if self.year is None else date(self.year, self.month or 1, self.day or 1)
        hour = self.hour or 0
        extra = timedelta(days=1) if hour == 24 else timedelta()
        point = datetime.combine(
            base, time(hour % 24, self.minute or 0, min(self.second or 0, 59), micro), tz
        )
        try:
            return (point + extra).astimezone(UTC)
        except OverflowError:  # past 9999 or before year 1 once in UTC: the ends of the time line
            return _LATEST if point.year == MAXYEAR else _EARLIEST


def _parse_offset(zone: str) -> timezone:
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _valid_date(year: int, month: int | None, day: int | None) -> bool:
    if month is None:
        return True
    if not 1 <= month <= 12:
        return False
    if day is None:
        return True
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _valid_time(hour: int, minute: int | None, second: int | None, fraction: str | None) -> bool:
    if hour == 24:  # 24:00[:00] is the end of a day; nothing else with 24 exists
        return not (minute or second or (fraction and int(fraction)))
    return hour <= 23 and (minute is None or minute <= 59) and (second is None or second <= 60)


def _opt_int(text: str | None) -> int | None:
    return None if text is None else int(text)


@lru_cache(maxsize=4096)
def parse_date(value: str) -> PartialTemporal | None:
    """``YYYY[-MM[-DD]]`` (or basic ``YYYYMMDD``) as components, ``None`` when not a valid ISO 8601 date."""
    m = _DATE.fullmatch(value)
    basic = m is None
    if m is None:
        m = _BASIC_DATE.fullmatch(value)
    if m is None:
        return None
    year, month, day = int(m[1]), _opt_int(m[2]), _opt_int(m[3])
    return PartialTemporal(year, month, day, basic=basic) if _valid_date(year, month, day) else None


def _parse_time_part(text: str) -> PartialTemporal | None:
    zone_match = _ZONE.search(text)
    zone = None
    if zone_match is not None and zone_match.end() == len(text) and zone_match.start() > 0:
        zone, text = zone_match[0], text[: zone_match.start()]
    m = _TIME.fullmatch(text)
    basic = m is None
    if m is None:
        m = _BASIC_TIME.fullmatch(text)
    if m is None:
        return None
    hour, minute, second = int(m[1]), _opt_int(m[2]), _opt_int(m[3])
    if not _valid_time(hour, minute, second, m[4]):
        return None
    if zone is not None and zone != "Z" and not _valid_offset(zone):
        return None
    return PartialTemporal(
        hour=hour, minute=minute, second=second, fraction=m[4], zone=zone, basic=basic and minute is not None
    )


def _valid_offset(zone: str) -> bool:
    digits = zone[1:].replace(":", "")
    return int(digits[:2]) <= 14 and int(digits[2:4] or 0) <= 59


@lru_cache(maxsize=4096)
def parse_time(value: str) -> PartialTemporal | None:
    """``hh[:mm[:ss[.fff]]][Z|±hh[:mm]]`` as components, ``None`` when not a valid ISO 8601 time."""
    return _parse_time_part(value)


@lru_cache(maxsize=4096)
def parse_date_time(value: str) -> PartialTemporal | None:
    """A date, optionally followed by ``T`` and a time; partial forms (``2021``, ``2021-10-24T10``) too."""
    date_text, sep, time_text = value.partition("T")
    d = parse_date(date_text)
    if d is None:
        return None
    if not sep:
        return d
    if d.day is None:  # a time needs a complete date before it
        return None
    t = _parse_time_part(time_text)
    if t is None:
        return None
    return PartialTemporal(
        d.year, d.month, d.day, t.hour, t.minute, t.second, t.fraction, t.zone, d.basic or t.basic
    )


# --- patterns -----------------------------------------------------------------------------------------------

MANDATORY, OPTIONAL, FORBIDDEN = "mandatory", "optional", "not allowed"
_PATTERN_FIELDS = {
    "date": ("year", "month", "day"),
    "time": ("hour", "minute", "second"),
    "date_time": ("year", "month", "day", "hour", "minute", "second"),
}


def _kind(chars: str) -> str:
    if chars.startswith("?"):
        return OPTIONAL
    if chars.startswith("X") or chars.startswith("x"):
        return FORBIDDEN
    return MANDATORY


@lru_cache(maxsize=256)
def pattern_rules(pattern: str, kind: str) -> tuple[tuple[str, str], ...] | None:
    """(component, mandatory|optional|not allowed) per component of a C_DATE/C_TIME/C_DATE_TIME pattern.

    ``kind`` is ``date``, ``time`` or ``date_time``; ``None`` for a pattern that is not of that shape.

    >>> pattern_rules("yyyy-mm-??", "date")
    (('year', 'mandatory'), ('month', 'mandatory'), ('day', 'optional'))
    """
    groups = re.split(r"[-:T]", pattern.strip())
    fields = _PATTERN_FIELDS[kind]
    if len(groups) != len(fields) or any(len(g) not in (2, 4) for g in groups):
        return None
    return tuple((name, _kind(chars)) for name, chars in zip(fields, groups, strict=True))


def pattern_violations(value: PartialTemporal, rules: tuple[tuple[str, str], ...]) -> list[str]:
    """Components that the pattern requires but are missing, or forbids but are present."""
    out = []
    for name, rule in rules:
        present = getattr(value, name) is not None
        if rule == MANDATORY and not present:
            out.append(f"{name} is mandatory")
        elif rule == FORBIDDEN and present:
            out.append(f"{name} is not allowed")
    return out


# --- durations ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Duration:
    """An ISO 8601 duration: the designators present (``YMWDhms``, time ones lower case) and its seconds."""

    designators: str
    seconds: float


@lru_cache(maxsize=4096)
def parse_duration(value: str) -> Duration | None:
    """``[-]PnYnMnWnDTnHnMnS``; ``None`` when not ISO 8601 (fractions are allowed on seconds only)."""
    m = _DURATION.fullmatch(value)
    if m is None or value.endswith("T"):
        return None
    names = "YMWDhms"
    parts = [(n, g) for n, g in zip(names, m.groups()[1:], strict=True) if g is not None]
    if not parts:
        return None
    total = sum(float(g.replace(",", ".")) * _DURATION_UNIT_SECONDS[n] for n, g in parts)
    return Duration("".join(n for n, _ in parts), -total if m[1] else total)


@lru_cache(maxsize=256)
def duration_pattern_fields(pattern: str) -> frozenset[str] | None:
    """The designators a C_DURATION pattern allows, ``None`` if it is not a valid pattern.

    A part the pattern leaves empty does not restrict that part (EHRbase accepts ``P65Y5M12D`` under
    ``PTM`` and ``PT0S`` under ``PY``, while ``PMWDTHMS`` refuses ``P1Y``), so an empty date or time part
    allows all of its designators.

    >>> sorted(duration_pattern_fields("PDTH"))
    ['D', 'h']
    >>> sorted(duration_pattern_fields("PTM"))
    ['D', 'M', 'W', 'Y', 'm']
    """
    p = pattern.strip().replace("/", "")
    if not p.upper().startswith("P"):
        return None
    date_part, has_time, time_part = p[1:].upper().partition("T")
    if set(date_part) - set("YMWD") or set(time_part) - set("HMS"):
        return None
    dates = frozenset(date_part) if date_part else frozenset("YMWD")
    times = frozenset(c.lower() for c in time_part) if has_time and time_part else frozenset("hms")
    return dates | times


def designator_label(designator: str) -> str:
    """Human label for a duration designator."""
    return {
        "Y": "years",
        "M": "months",
        "W": "weeks",
        "D": "days",
        "h": "hours",
        "m": "minutes",
        "s": "seconds",
    }[designator]
