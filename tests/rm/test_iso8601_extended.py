"""The extended ISO 8601 form of dates, times and date-times: same value, one lexical form."""

from __future__ import annotations

import pytest

from cdr.rm.data_types.iso8601 import (
    date_time_seconds,
    extended_date,
    extended_date_time,
    extended_time,
)

DATES = [
    ("20190114", "2019-01-14"),
    ("2019-01-14", "2019-01-14"),
    ("2019-01", "2019-01"),
    ("2019", "2019"),
    ("20190230", None),  # no such day
    ("2019-1-14", None),
    ("", None),
]

TIMES = [
    ("102030", "10:20:30"),
    ("10:20:30", "10:20:30"),
    ("1020", "10:20"),
    ("10", "10"),
    ("102030.125", "10:20:30.125"),
    ("10:20:30,5", "10:20:30.5"),
    ("10:20:30.500", "10:20:30.500"),  # the precision sent is kept
    ("10:20:30+00:00", "10:20:30Z"),
    ("102030+0000", "10:20:30Z"),
    ("10:20:30+00", "10:20:30Z"),
    ("10:20:30-00:00", "10:20:30Z"),
    ("10:20:30Z", "10:20:30Z"),
    ("10:20:30+0130", "10:20:30+01:30"),
    ("10:20:30-05", "10:20:30-05:00"),
    ("10:20:30+01:00", "10:20:30+01:00"),
    ("24:00:00", "24:00:00"),
    ("25:00", None),
    ("10:20:30z", None),
]

DATE_TIMES = [
    ("2019-01-28T21:22:49.426+00:00", "2019-01-28T21:22:49.426Z"),
    ("20190128T212249.426Z", "2019-01-28T21:22:49.426Z"),
    ("20190128T212249+0100", "2019-01-28T21:22:49+01:00"),
    ("2019-01-28T21:22:49.426Z", "2019-01-28T21:22:49.426Z"),
    ("2019-01-28T21", "2019-01-28T21"),
    ("2019-01-28", "2019-01-28"),
    ("20190128", "2019-01-28"),
    ("2019-01T10:00", None),  # a time needs a whole date
    ("2019-01-28t21:22:49z", None),
    ("not a date", None),
]


@pytest.mark.parametrize(("value", "expected"), DATES)
def test_extended_date(value: str, expected: str | None) -> None:
    assert extended_date(value) == expected


@pytest.mark.parametrize(("value", "expected"), TIMES)
def test_extended_time(value: str, expected: str | None) -> None:
    assert extended_time(value) == expected


@pytest.mark.parametrize(("value", "expected"), DATE_TIMES)
def test_extended_date_time(value: str, expected: str | None) -> None:
    assert extended_date_time(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(v, e) for v, e in DATE_TIMES if e is not None])
def test_extended_date_time_is_the_same_instant(value: str, expected: str) -> None:
    assert date_time_seconds(expected) == date_time_seconds(value)
    assert extended_date_time(expected) == expected  # already canonical: unchanged
