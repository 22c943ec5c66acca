"""The fast reader of complete extended date-times agrees with the general ISO 8601 reader: the same instant
where it reads a value, and the general reader decides wherever it declines."""

from __future__ import annotations

import datetime as dt

import pytest

from cdr.rm.data_types.iso8601 import full_date_time, is_valid_date_time, parse_date_time
from cdr.storage.leaf_values import instant

UTC = dt.UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-11-24T11:00:00Z", dt.datetime(2021, 11, 24, 11, tzinfo=UTC)),
        ("2020-05-11T22:53:12.039139+02:00", dt.datetime(2020, 5, 11, 20, 53, 12, 39139, tzinfo=UTC)),
        ("2022-02-03T04:05:06.5-14:00", dt.datetime(2022, 2, 3, 18, 5, 6, 500000, tzinfo=UTC)),
        ("2022-02-03T04:05:06", dt.datetime(2022, 2, 3, 4, 5, 6, tzinfo=UTC)),  # no zone: UTC
        ("2022-02-03T24:00:00Z", dt.datetime(2022, 2, 3, 0, 0, tzinfo=UTC)),  # the general reader's 24:00
        ("2022-02-03T04:05:06.1234567Z", dt.datetime(2022, 2, 3, 4, 5, 6, 123456, tzinfo=UTC)),
        ("2022-02", dt.datetime(2022, 2, 1, tzinfo=UTC)),  # partial: the general reader
        ("2022-02-30T04:05:06Z", None),
        ("2022-02-03T04:05:60Z", None),
        ("2022-02-03T04:05:06+15:00", None),
        ("0000-01-01T00:00:00Z", None),
    ],
)
def test_instants_of_fast_and_general_forms(text: str, expected: dt.datetime | None) -> None:
    assert instant(text) == expected
    assert is_valid_date_time(text) == (parse_date_time(text) is not None)


def test_the_fast_reader_declines_what_it_cannot_read_alike() -> None:
    assert full_date_time("2022-02-03T24:00:00Z") is None
    assert full_date_time("20220203T040506Z") is None  # basic format: the general reader's
    assert full_date_time("2022-02-03T04:05:06,5Z") is None
