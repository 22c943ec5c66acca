"""RM data_types.quantity.date_time: dates, times, date-times and durations as ISO 8601 strings.

Values stay strings so that partial values and the sender's precision survive a round trip; the accessors
here turn them into numbers and Python values when needed (ordering, intervals, AQL comparisons).
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from cdr.rm.base import mandatory
from cdr.rm.data_types import iso8601
from cdr.rm.data_types.quantity import DvAbsoluteQuantity, DvAmount


class DvDuration(DvAmount):
    """A duration, ISO 8601 ``PnYnMnWnDTnHnMnS``; a DV_AMOUNT in RM 1.1.0 (it can be added)."""

    value: str | None = mandatory()

    def magnitude(self) -> float | None:
        """Length in seconds (months and years at their openEHR average), ``None`` if malformed."""
        return None if self.value is None else iso8601.duration_seconds(self.value)


class DvTemporal(DvAbsoluteQuantity):
    """A point in time; ``accuracy`` is a duration."""

    rm_abstract: ClassVar[bool] = True

    accuracy: DvDuration | None = None


class DvDate(DvTemporal):
    """A (possibly partial) calendar date, ``YYYY[-MM[-DD]]``."""

    value: str | None = mandatory()

    def to_date(self) -> dt.date | None:
        """The date (first month/day where partial), ``None`` if malformed."""
        parts = iso8601.parse_date(self.value or "")
        return None if parts is None else parts.to_date()

    def magnitude(self) -> float | None:
        """Days since 1970-01-01, for ordering."""
        date = self.to_date()
        return None if date is None else float((date - dt.date(1970, 1, 1)).days)


class DvTime(DvTemporal):
    """A (possibly partial) time of day, ``hh[:mm[:ss[.sss]]][Z|+hh:mm]``."""

    value: str | None = mandatory()

    def to_time(self) -> dt.time | None:
        """The time of day (missing parts zero), ``None`` if malformed."""
        parts = iso8601.parse_time(self.value or "")
        return None if parts is None else parts.to_time()

    def magnitude(self) -> float | None:
        """Seconds since midnight, for ordering."""
        parts = iso8601.parse_time(self.value or "")
        return None if parts is None else parts.seconds()


class DvDateTime(DvTemporal):
    """A (possibly partial) date and time, ``YYYY-MM-DDThh:mm:ss[.sss][Z|+hh:mm]``."""

    value: str | None = mandatory()

    def to_datetime(self) -> dt.datetime | None:
        """The date-time (missing parts at their minimum; aware with a zone), ``None`` if malformed."""
        parsed = iso8601.parse_date_time(self.value or "")
        if parsed is None:
            return None
        date, time = parsed
        return dt.datetime.combine(date.to_date(), time.to_time() if time else dt.time())

    def magnitude(self) -> float | None:
        """Seconds since the epoch (a value without zone read as UTC), for ordering."""
        return iso8601.date_time_seconds(self.value or "")
