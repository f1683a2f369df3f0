"""Confidence intervals: mean with a t-interval, and the paired difference of two policies.

Episodes on the same seed face the same demand, so the difference of two policies
is taken seed by seed (paired). Its variance excludes the demand noise both share,
which makes the paired interval far tighter than two separate intervals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    """A sample mean with the half-width of its confidence interval (NaN when n < 2)."""

    mean: float
    half_width: float
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def excludes_zero(self) -> bool:
        """True when the interval lies wholly above or below zero."""
        return math.isfinite(self.half_width) and (self.low > 0 or self.high < 0)


def mean_ci(values: Sequence[float] | np.ndarray, level: float = LEVEL) -> Estimate:
    """Mean and Student-t confidence half-width of ``values``; NaN entries are dropped.

    ``half_width`` = t_{(1+level)/2, n-1} x s / sqrt(n) with s the sample standard
    deviation (ddof=1). With no values the mean is NaN; with one the half-width is NaN.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    n = int(x.size)
    if n == 0:
        return Estimate(float("nan"), float("nan"), 0)
    mean = float(x.mean())
    if n == 1:
        return Estimate(mean, float("nan"), 1)
    sd = float(x.std(ddof=1))
    t = float(stats.t.ppf(0.5 + level / 2, df=n - 1))
    return Estimate(mean, t * sd / math.sqrt(n), n)


def paired_diff(
    values: Sequence[float] | np.ndarray, reference: Sequence[float] | np.ndarray, level: float = LEVEL
) -> Estimate:
    """Mean of ``values - reference`` seed by seed, with its paired t-interval.

    Both sequences must be aligned on the same seeds; pairs with a NaN side are dropped.
    """
    a = np.asarray(values, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired samples must have the same length, got {a.size} and {b.size}")
    return mean_ci(a - b, level)


def pareto_front(points: Sequence[tuple[float, float]]) -> list[bool]:
    """For each (x, y), True when no other point is at least as high in both and higher in one."""
    flags = []
    for i, (x, y) in enumerate(points):
        dominated = any(
            (ox >= x and oy >= y) and (ox > x or oy > y)
            for j, (ox, oy) in enumerate(points)
            if j != i
        )
        flags.append(not dominated and not (math.isnan(x) or math.isnan(y)))
    return flags
