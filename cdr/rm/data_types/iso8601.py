"""ISO 8601 date, time, date-time and duration strings as openEHR uses them.

The RM keeps temporal values as the strings that were sent (lossless round trips); these pure functions check
them and turn them into numbers or Python values. openEHR allows partial values ("2021", "2021-03",
"2021-03-04T10") and both the extended and the basic ISO format; weeks may be mixed with other duration
components (an openEHR deviation from ISO 8601), and a duration may be negative ("-P1D").
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from cdr.memo import StringMemo

_DATE = re.compile(r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2}))?|(?P<bm>\d{2})(?P<bd>\d{2}))?$", re.ASCII)
_TIME = re.compile(
    r"^(?P<h>\d{2})(?:(?P<sep>:?)(?P<mi>\d{2})(?:(?P=sep)(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?)?"
    r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.ASCII,
)
_NUM = r"(\d+(?:[.,]\d+)?)"
_DURATION = re.compile(
    rf"^(?P<neg>-)?P(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}W)?(?:{_NUM}D)?(?:T(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?$",
    re.ASCII,
)

SECONDS_PER_DAY = 86400.0
DAYS_PER_MONTH = 30.43685
"""Average month length openEHR uses to turn durations with months into seconds."""
DAYS_PER_YEAR = 12 * DAYS_PER_MONTH
"""Average year length to turn durations with years into seconds: twelve average months (365.2422 days), so
that ``P1Y`` and ``P12M`` are equally long. openEHR's ``Average_days_in_year`` (365.24219) is 0.86 s shorter
than its twelve ``Average_days_in_month``, which made ``P1Y >= 'P12M'`` false (migration 0010)."""


@dataclass(frozen=True, slots=True)
class DateParts:
    """A possibly partial calendar date."""

    year: int
    month: int | None = None
    day: int | None = None

    def to_date(self) -> dt.date:
        """The date, with a missing month or day taken as the first."""
        return dt.date(self.year, self.month or 1, self.day or 1)


@dataclass(frozen=True, slots=True)
class TimeParts:
    """A possibly partial time of day with an optional zone offset in minutes."""

    hour: int
    minute: int | None = None
    second: int | None = None
    fraction: str = ""
    offset_minutes: int | None = None

    def to_time(self) -> dt.time:
        """The time, missing parts taken as zero; aware when a zone was given."""
        micro = int((self.fraction + "000000")[:6]) if self.fraction else 0
        tz = None if self.offset_minutes is None else dt.timezone(dt.timedelta(minutes=self.offset_minutes))
        hour = 0 if self.hour == 24 else self.hour
        return dt.time(hour, self.minute or 0, self.second or 0, micro, tzinfo=tz)

    def seconds(self) -> float:
        """Seconds since midnight, ignoring the zone."""
        frac = float("0." + self.fraction) if self.fraction else 0.0
        return self.hour * 3600 + (self.minute or 0) * 60 + (self.second or 0) + frac


def parse_date(value: str) -> DateParts | None:
    """The parts of an ISO 8601 (possibly partial) date, ``None`` when it is not one.

    >>> parse_date("2021-02-29") is None, parse_date("2020-02-29").day, parse_date("2021").month
    (True, 29, None)
    """
    m = _DATE.match(value)
    if m is None:
        return None
    year = int(m.group("y"))
    month_s = m.group("m") or m.group("bm")
    day_s = m.group("d") or m.group("bd")
    month = int(month_s) if month_s else None
    day = int(day_s) if day_s else None
    if month is not None and not 1 <= month <= 12:
        return None
    if day is not None and (month is None or not 1 <= day <= calendar.monthrange(year, month)[1]):
        return None
    return DateParts(year, month, day)


def parse_time(value: str) -> TimeParts | None:
    """The parts of an ISO 8601 (possibly partial) time of day, ``None`` when it is not one.

    >>> parse_time("10:30:00.5+01:00").offset_minutes, parse_time("25:00") is None
    (60, True)
    """
    m = _TIME.match(value)
    if m is None:
        return None
    hour = int(m.group("h"))
    minute = int(m.group("mi")) if m.group("mi") else None
    second = int(m.group("s")) if m.group("s") else None
    if hour > 24 or (minute is not None and minute > 59) or (second is not None and second > 59):
        return None
    if hour == 24 and (minute or second or m.group("f")):
        return None  # 24:00:00 is the end of the day and nothing later
    offset = None
    tz = m.group("tz")
    if tz == "Z":
        offset = 0
    elif tz:
        digits = tz[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:] or 0)
        if hours > 14 or minutes > 59:
            return None
        offset = (hours * 60 + minutes) * (-1 if tz[0] == "-" else 1)
    return TimeParts(hour, minute, second, m.group("f") or "", offset)


def parse_date_time(value: str) -> tuple[DateParts, TimeParts | None] | None:
    """The date and time parts of an ISO 8601 (possibly partial) date-time, ``None`` when it is not one.

    A date alone is a valid partial date-time.
    """
    date_s, sep, time_s = value.partition("T")
    date = parse_date(date_s)
    if date is None:
        return None
    if not sep:
        return date, None
    if date.day is None:
        return None  # a time needs a complete date
    time = parse_time(time_s)
    return None if time is None else (date, time)


def is_valid_date(value: str) -> bool:
    """Whether ``value`` is an ISO 8601 date (``2021``, ``2021-03``, ``2021-03-04``, ``20210304``)."""
    return parse_date(value) is not None


def is_valid_time(value: str) -> bool:
    """Whether ``value`` is an ISO 8601 time of day (``10``, ``10:30``, ``10:30:00.123Z``)."""
    return parse_time(value) is not None


def is_valid_date_time(value: str) -> bool:
    """Whether ``value`` is an ISO 8601 date-time (partial forms down to a year allowed)."""
    return full_date_time(value) is not None or parse_date_time(value) is not None


# the complete extended form (seconds, up to 6 fraction digits, zone Z or an offset up to 14 h, or none), as
# canonical form writes it; the standard library's C parser reads it at a tenth of parse_date_time's cost
_FULL_DATE_TIME = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-](?:0\d|1[0-4]):[0-5]\d)?", re.ASCII
)


def full_date_time(value: str) -> dt.datetime | None:
    """The date-time of a complete extended ISO 8601 date-time (aware when it has a zone); ``None`` for any
    other form and for a day, hour or second out of range (``parse_date_time`` then decides: it reads
    24:00:00, for one, which this does not). Remembered per text (datetimes are immutable)."""
    return _full_date_times(value)


def _full_date_time(value: str) -> dt.datetime | None:
    if _FULL_DATE_TIME.fullmatch(value) is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


_full_date_times = StringMemo(_full_date_time)


def _extended_date(parts: DateParts) -> str:
    month = "" if parts.month is None else f"-{parts.month:02d}"
    day = "" if parts.day is None else f"-{parts.day:02d}"
    return f"{parts.year:04d}{month}{day}"


def _extended_time(parts: TimeParts) -> str:
    text = f"{parts.hour:02d}"
    if parts.minute is not None:
        text += f":{parts.minute:02d}"
    if parts.second is not None:
        text += f":{parts.second:02d}"
    if parts.fraction:
        text += "." + parts.fraction
    offset = parts.offset_minutes
    if offset == 0:
        text += "Z"
    elif offset is not None:
        hours, minutes = divmod(abs(offset), 60)
        text += f"{'-' if offset < 0 else '+'}{hours:02d}:{minutes:02d}"
    return text


def extended_date(value: str) -> str | None:
    """The extended form of an ISO 8601 (possibly partial) date, ``None`` when it is not one.

    >>> extended_date("20190114"), extended_date("2019-01")
    ('2019-01-14', '2019-01')
    """
    parts = parse_date(value)
    return None if parts is None else _extended_date(parts)


def extended_time(value: str) -> str | None:
    """The extended form of an ISO 8601 (possibly partial) time: ``:`` separators, ``.`` before the
    fraction, a zero offset as ``Z`` and any other as ``±hh:mm``; the precision sent is kept. ``None`` when
    it is not a time.

    >>> extended_time("102030,5+0000"), extended_time("10:20+01"), extended_time("10")
    ('10:20:30.5Z', '10:20+01:00', '10')
    """
    parts = parse_time(value)
    return None if parts is None else _extended_time(parts)


def extended_date_time(value: str) -> str | None:
    """The extended form of an ISO 8601 (possibly partial) date-time, as :func:`extended_date` and
    :func:`extended_time` write its parts; ``None`` when it is not one.

    >>> extended_date_time("20190128T212249.426+00:00")
    '2019-01-28T21:22:49.426Z'
    """
    parsed = parse_date_time(value)
    if parsed is None:
        return None
    date, time = parsed
    return _extended_date(date) if time is None else f"{_extended_date(date)}T{_extended_time(time)}"


def duration_seconds(value: str) -> float | None:
    """The length of an ISO 8601 duration in seconds (openEHR average month and year), ``None`` if invalid.

    >>> duration_seconds("PT1H30M"), duration_seconds("-P1W1D"), duration_seconds("P"), duration_seconds("PT")
    (5400.0, -691200.0, None, None)
    """
    m = _DURATION.match(value)
    if m is None or value.endswith(("P", "T")):
        return None
    years, months, weeks, days, hours, minutes, seconds = (
        float(g.replace(",", ".")) if g else 0.0 for g in m.groups()[1:]
    )
    total = (
        (years * DAYS_PER_YEAR + months * DAYS_PER_MONTH + weeks * 7 + days) * SECONDS_PER_DAY
        + hours * 3600
        + minutes * 60
        + seconds
    )
    return -total if m.group("neg") else total


def seconds_if_duration(value: object) -> float | None:
    """:func:`duration_seconds` of ``value`` when it is a string, else ``None`` (for values of any type:
    query parameters, database function arguments).

    >>> seconds_if_duration("PT1M"), seconds_if_duration(60), seconds_if_duration(None)
    (60.0, None, None)
    """
    return duration_seconds(value) if isinstance(value, str) else None


_WHOLE_UNITS = re.compile(r"[^.,]*(?:[.,][0-9]+S)?", re.ASCII)


def is_valid_duration(value: str) -> bool:
    """Whether ``value`` is an ISO 8601 duration (``P1Y2M``, ``PT0.5S``, ``P2W3D``, ``-P1D``).

    Only seconds may have a fraction: ISO 8601 allows one on the smallest unit given (``PT2.5H``), but
    Java's ``Duration`` and ``Period``, which EHRbase reads durations with, do not, and its suites expect
    ``P1Y3M4DT2.5H`` to be refused; such a value could not move to any other openEHR system.

    >>> is_valid_duration("PT0.5S"), is_valid_duration("PT2.5H"), is_valid_duration("P1Y3M4DT2H14.5M")
    (True, False, False)
    """
    return duration_seconds(value) is not None and _WHOLE_UNITS.fullmatch(value) is not None


def date_time_seconds(value: str) -> float | None:
    """Seconds since 1970-01-01T00:00Z for a (partial) date-time; no zone is read as UTC."""
    parsed = parse_date_time(value)
    if parsed is None:
        return None
    date, time = parsed
    days = (date.to_date() - dt.date(1970, 1, 1)).days
    if time is None:
        return days * SECONDS_PER_DAY
    return days * SECONDS_PER_DAY + time.seconds() - (time.offset_minutes or 0) * 60
