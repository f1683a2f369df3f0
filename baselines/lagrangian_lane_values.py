"""A Lagrangian lane's value function in every period (``lagrangian_lanes`` keeps only the first).

The lane-penalty bound (``allocsim.baselines.lane_penalty``) needs ``V_t(x)`` of each lane for
every period ``t``: the lane's optimal expected profit to go from ``x`` units on hand at the
decision of period ``t``, at the fitted DC prices, in the model of
``allocsim.baselines.lagrangian_lanes`` (state ``x``; action: units landing next period, or
for lead 0 units shipped now). ``Q_t(x, a)`` is the value of action ``a`` (``-inf`` where
infeasible), ``V_t = max_a Q_t``.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

import allocsim.envs.engine  # noqa: F401  (sets numba's cache folder before anything compiles)
from allocsim.baselines.lagrangian_lanes import _reward  # the lane's one-period reward, one copy

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@njit(cache=True)
def lane_tables(pmf: FloatArray, cap: int, lead: int, ship: float, hold: float, margin: float, end: float,
               price: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``V`` (T + 1, cap + 1) and ``Q`` (T, cap + 1, cap + 1) of the one-state lane (the lane DP's model)."""
    T, W = pmf.shape
    V = np.zeros((T + 1, cap + 1))
    Q = np.full((T, cap + 1, cap + 1), -np.inf)
    for t in range(T - 1, -1, -1):
        keep = -hold + (end if t == T - 1 else 0.0)
        if lead == 0:
            p = price[t] + ship
            most = cap
        else:
            send = t + 1 - lead
            orders = t + 1 <= T - 1 and send >= 0
            p = price[send] + ship if orders else 0.0
            most = cap if orders else 0
        for x in range(cap + 1):
            best = -np.inf
            for a in range(min(most, cap - x) + 1):
                y, q = (x + a, 0) if lead == 0 else (x, a)
                ev = 0.0
                for k in range(W):
                    if pmf[t, k] > 0.0:
                        ev += pmf[t, k] * V[t + 1, max(y - k, 0) + q]
                value = _reward(pmf[t], y, margin, keep) - p * a + ev
                Q[t, x, a] = value
                best = max(best, value)
            V[t, x] = best
    return V, Q
