"""Numbers inside AOM intervals and lists, for magnitudes, counts, ordinals and proportion terms.

A :class:`NumberSpec` is made once per constraint; it gives the canonical value (first listed value, the
middle of a closed range, the lower bound of a half-open one) and draws uniformly at random inside the
range, rounded to the decimals the constraint allows. Open bounds are kept open.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from cdr.template.aom_primitives import CInteger, CReal, Interval

__all__ = ["NumberSpec", "number_spec"]

SPAN = 100.0
"""Width of the range drawn from where an interval is open on one or both sides."""


@dataclass(frozen=True, slots=True)
class NumberSpec:
    """Allowed numbers: an explicit list, or ``low..high`` (bounds included unless ``*_open``)."""

    values: tuple[float, ...] = ()
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    decimals: int = 0

    @property
    def step(self) -> float:
        return 10.0**-self.decimals

    def _fix(self, x: float) -> float:
        x = round(x, self.decimals) if self.decimals > 0 else float(round(x))
        if self.low is not None and (x < self.low or (self.low_open and x <= self.low)):
            x = self.low + (self.step if self.low_open else 0.0)
        if self.high is not None and (x > self.high or (self.high_open and x >= self.high)):
            x = self.high - (self.step if self.high_open else 0.0)
        return round(x, self.decimals) if self.decimals > 0 else float(round(x))

    def canonical(self) -> float:
        if self.values:
            return self.values[0]
        if self.low is not None and self.high is not None:
            return self._fix((self.low + self.high) / 2)
        if self.low is not None:
            return self._fix(self.low)
        if self.high is not None:
            return self._fix(min(self.high, 1.0))
        return 1.0

    def draw(self, rng: random.Random) -> float:
        if self.values:
            return rng.choice(self.values)
        low, high = self.low, self.high
        if low is None and high is None:
            low, high = 0.0, SPAN
        elif low is None:
            low = high - SPAN  # type: ignore[operator]
        elif high is None:
            high = low + SPAN
        return self._fix(rng.uniform(low, high))  # type: ignore[arg-type]

    def allows(self, x: float) -> bool:
        if self.values:
            return x in self.values
        if self.low is not None and (x < self.low or (self.low_open and x == self.low)):
            return False
        return not (self.high is not None and (x > self.high or (self.high_open and x == self.high)))


def number_spec(
    c: CInteger | CReal | Interval[float] | Interval[int] | None,
    decimals: int = 0,
    default: tuple[float | None, float | None] = (None, None),
) -> NumberSpec:
    """The spec of a C_INTEGER / C_REAL or a bare interval; ``default`` bounds where ``c`` gives none."""
    if isinstance(c, CInteger | CReal):
        if c.list:
            return NumberSpec(values=tuple(float(v) for v in c.list), decimals=decimals)
        r: Interval[float] | Interval[int] | None = c.range
    else:
        r = c
    if r is None:
        return NumberSpec(low=default[0], high=default[1], decimals=decimals)
    low = float(r.lower) if r.lower is not None else default[0]
    high = float(r.upper) if r.upper is not None else default[1]
    return NumberSpec(
        low=low,
        high=high,
        low_open=r.lower is not None and not r.lower_included,
        high_open=r.upper is not None and not r.upper_included,
        decimals=decimals,
    )
