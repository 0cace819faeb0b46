"""
Growth-ratio checks: a parser fed 8× the input must take < 20× the time (quadratic is 64×).

A ratio of two medians, never an absolute time, so a slow or busy machine does not fail the
test; the base size is grown until one run takes long enough to measure above timer noise.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

GROWTH = 8
MAX_RATIO = 20.0
_MIN_BASE_SECONDS = 0.005
_MAX_BASE_UNITS = 1 << 20


def _median_seconds(run: Callable[[T], object], value: T, repeat: int = 3) -> float:
    times = []
    gc.collect()  # once: a full collection in a large test session costs more than the runs
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            run(value)
            times.append(time.perf_counter() - start)
    finally:
        if enabled:
            gc.enable()
    return statistics.median(times)


def growth_ratio(run: Callable[[T], object], make: Callable[[int], T], base: int) -> float:
    """
    Return median time of ``run(make(8 * n))`` over median time of ``run(make(n))``.

    *n* starts at *base* and doubles (at most to 1 M units) until the small run takes at
    least 5 ms, so the ratio is not dominated by constant overheads.
    """
    n = base
    small = make(n)
    t_small = _median_seconds(run, small)
    while t_small < _MIN_BASE_SECONDS and n < _MAX_BASE_UNITS:
        n *= 2
        small = make(n)
        t_small = _median_seconds(run, small)
    t_large = _median_seconds(run, make(GROWTH * n))
    return t_large / max(t_small, 1e-9)


def assert_linear(run: Callable[[T], object], make: Callable[[int], T], base: int = 1024) -> None:
    """
    Assert that 8× the input costs < 20× the time (median of 3 at each size).
    """
    ratio = growth_ratio(run, make, base)
    for _ in range(2):  # retries: a load spike on a shared machine inflates single measurements
        if ratio < MAX_RATIO:
            break
        ratio = min(ratio, growth_ratio(run, make, base))
    assert ratio < MAX_RATIO, f"8x the input took {ratio:.1f}x the time (quadratic would be 64x)"
