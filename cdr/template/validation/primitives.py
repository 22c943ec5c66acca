"""Checks of one primitive value (string, number, boolean, date/time, duration) against a C_PRIMITIVE.

Pure: each check returns ``(code, message)`` pairs and the walker adds the path. Regular expressions and
parsed range bounds are cached by their text, so a template pays for them once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from cdr.template.aom_primitives import (
    CBoolean,
    CDate,
    CDateTime,
    CDuration,
    CInteger,
    CPrimitive,
    CReal,
    CString,
    CTemporal,
    CTime,
    Interval,
)
from cdr.template.issues import IssueCode
from cdr.template.validation.context import interval_text
from cdr.template.validation.temporal import (
    PartialTemporal,
    designator_label,
    duration_pattern_fields,
    parse_date,
    parse_date_time,
    parse_duration,
    parse_time,
    pattern_rules,
    pattern_violations,
)

Finding = tuple[IssueCode, str]

# C_DATE etc.: timezone_validity codes of the openEHR VALIDITY_KIND group
TZ_MANDATORY, TZ_DISALLOWED = 1001, 1003


@lru_cache(maxsize=1024)
def compiled_pattern(pattern: str) -> re.Pattern[str] | None:
    """The C_STRING pattern as a Python regex (``None`` if it does not compile; such a pattern admits all)."""
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _range_text(r: Interval[Any]) -> str:
    return interval_text(r.lower, r.upper, r.lower_included, r.upper_included)


def check_string(c: CString, value: str) -> list[Finding]:
    if c.pattern is not None:
        rx = compiled_pattern(c.pattern)
        # a value that is the pattern itself is accepted: ACTIVITY.action_archetype_id holds a regex, and
        # templates constrain it with that same regex
        if rx is not None and value != c.pattern and rx.fullmatch(value) is None:
            return [
                (IssueCode.STRING_PATTERN_MISMATCH, f"'{value}' does not match the pattern /{c.pattern}/")
            ]
    if c.list and not c.list_open and value not in c.list:
        allowed = ", ".join(f"'{v}'" for v in c.list)
        return [(IssueCode.STRING_NOT_IN_LIST, f"'{value}' is not one of the allowed values {allowed}")]
    return []


def check_number(c: CInteger | CReal, value: int | float) -> list[Finding]:
    if c.list and value not in c.list:
        allowed = ", ".join(str(v) for v in c.list)
        return [(IssueCode.VALUE_NOT_ALLOWED, f"{value} is not one of the allowed values {allowed}")]
    if c.range is not None and not c.range.contains(value):
        return [
            (IssueCode.VALUE_OUT_OF_RANGE, f"{value} is outside the allowed range {_range_text(c.range)}")
        ]
    return []


def check_boolean(c: CBoolean, value: bool) -> list[Finding]:
    if c.is_valid(value):
        return []
    allowed = "true" if c.true_valid else "false" if c.false_valid else "nothing"
    return [(IssueCode.VALUE_NOT_ALLOWED, f"{str(value).lower()} is not allowed; allowed: {allowed}")]


_TEMPORAL: dict[type, tuple[str, Callable[[str], PartialTemporal | None], str]] = {
    CDate: ("date", parse_date, "an ISO 8601 date (YYYY[-MM[-DD]])"),
    CTime: ("time", parse_time, "an ISO 8601 time (hh[:mm[:ss[.sss]]][Z|±hh:mm])"),
    CDateTime: ("date_time", parse_date_time, "an ISO 8601 date-time (YYYY-MM-DDThh:mm:ss[.sss][Z|±hh:mm])"),
}


def _temporal_key(parse: Callable[[str], PartialTemporal | None]) -> Callable[[str], Any]:
    def key(text: str) -> Any:
        parsed = parse(text)
        if parsed is None:
            raise ValueError(text)
        return parsed.comparable()

    return key


def check_temporal(c: CTemporal, value: str) -> list[Finding]:
    kind, parse, what = _TEMPORAL[type(c)]
    parsed = parse(value)
    if parsed is None:
        return [(IssueCode.INVALID_DATE_TIME, f"'{value}' is not {what}")]
    out: list[Finding] = []
    if c.pattern and not parsed.basic:  # patterns are written for the extended format (as in EHRbase)
        rules = pattern_rules(c.pattern, kind)
        if rules is not None:
            problems = pattern_violations(parsed, rules)
            if problems:
                out.append(
                    (
                        IssueCode.DATE_TIME_PATTERN,
                        f"'{value}' does not match the pattern {c.pattern}: {'; '.join(problems)}",
                    )
                )
    if c.timezone_validity == TZ_MANDATORY and parsed.zone is None and parsed.hour is not None:
        out.append(
            (IssueCode.DATE_TIME_PATTERN, f"'{value}' has no time zone, which the constraint requires")
        )
    elif c.timezone_validity == TZ_DISALLOWED and parsed.zone is not None:
        out.append((IssueCode.DATE_TIME_PATTERN, f"'{value}' has a time zone, which the constraint forbids"))
    if c.range is not None:
        try:
            inside = c.range.contains(value, key=_temporal_key(parse))
        except ValueError:  # a bound the template writes in a form we cannot read: no range check
            inside = True
        if not inside:
            out.append(
                (
                    IssueCode.VALUE_OUT_OF_RANGE,
                    f"'{value}' is outside the allowed range {_range_text(c.range)}",
                )
            )
    return out


def _duration_seconds(text: str) -> float:
    parsed = parse_duration(text)
    if parsed is None:
        raise ValueError(text)
    return parsed.seconds


def check_duration(c: CDuration, value: str) -> list[Finding]:
    parsed = parse_duration(value)
    if parsed is None:
        return [(IssueCode.INVALID_DATE_TIME, f"'{value}' is not an ISO 8601 duration (PnYnMnWnDTnHnMnS)")]
    out: list[Finding] = []
    if c.pattern:
        allowed = duration_pattern_fields(c.pattern)
        if allowed is not None:
            extra = [d for d in parsed.designators if d not in allowed]
            if extra:
                labels = ", ".join(designator_label(d) for d in extra)
                out.append(
                    (
                        IssueCode.DURATION_FIELD_NOT_ALLOWED,
                        f"'{value}' uses {labels}, which the pattern {c.pattern} does not allow",
                    )
                )
    if c.range is not None:
        try:
            inside = c.range.contains(value, key=_duration_seconds)
        except ValueError:
            inside = True
        if not inside:
            out.append(
                (
                    IssueCode.DURATION_OUT_OF_RANGE,
                    f"'{value}' is outside the allowed range {_range_text(c.range)}",
                )
            )
    return out


def check_primitive(c: CPrimitive | None, value: Any) -> list[Finding]:
    """Every finding for ``value`` under the primitive constraint ``c`` (none for an absent constraint)."""
    if c is None or value is None:
        return []
    if isinstance(c, CString):
        return check_string(c, value) if isinstance(value, str) else _wrong(value, "a string")
    if isinstance(c, CBoolean):
        return check_boolean(c, value) if isinstance(value, bool) else _wrong(value, "a boolean")
    if isinstance(c, CInteger | CReal):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _wrong(value, "a number")
        return check_number(c, value)
    if isinstance(c, CTemporal):
        return check_temporal(c, value) if isinstance(value, str) else _wrong(value, "an ISO 8601 string")
    if isinstance(c, CDuration):
        return check_duration(c, value) if isinstance(value, str) else _wrong(value, "an ISO 8601 duration")
    return []


def _wrong(value: Any, expected: str) -> list[Finding]:
    return [(IssueCode.WRONG_TYPE, f"{value!r} is not {expected}")]
