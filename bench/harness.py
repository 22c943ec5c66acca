"""Timing primitives shared by the scenarios.

Machines here are noisy, so every figure is reported next to a baseline measured in the same process,
interleaved round by round with the subject, and targets are stated as ratios.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Timing:
    """Per-call durations in seconds."""

    samples: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _time_once(fn: Callable[[], object], inner: int) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


def compare(
    subject: Callable[[], object],
    baseline: Callable[[], object],
    *,
    rounds: int = 30,
    inner: int = 1,
    warmup: int = 3,
) -> tuple[Timing, Timing]:
    """Time ``subject`` and ``baseline`` alternately, ``rounds`` samples each of ``inner`` calls."""
    for _ in range(warmup):
        subject()
        baseline()
    s, b = Timing(), Timing()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            b.samples.append(_time_once(baseline, inner))
            s.samples.append(_time_once(subject, inner))
    finally:
        if gc_was_enabled:
            gc.enable()
    return s, b


def measure(fn: Callable[[], object], *, rounds: int = 30, inner: int = 1, warmup: int = 3) -> Timing:
    """Time ``fn`` alone (for figures that have no natural baseline)."""
    for _ in range(warmup):
        fn()
    t = Timing()
    for _ in range(rounds):
        t.samples.append(_time_once(fn, inner))
    return t


def retained_bytes(build: Callable[[], object]) -> tuple[int, object]:
    """Bytes still allocated after ``build()`` returns (what its result keeps alive), and the result."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    result = build()
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    size = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    return size, result


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"
