"""A lane with lead time 2 solved exactly: the state is on hand and the units in transit.

``allocsim.baselines.lagrangian_lanes`` relaxes a lead time ``d >= 2`` to a decision one
period before the arrival; for lead 2 and a small enough capacity this module solves
the real lane instead (tighter, still exact): at the decision of period ``t`` the lane
holds ``x`` units and ``p`` are in transit (sent at ``t - 1``, on hand at ``t + 1``); it
sends ``q`` (on hand at ``t + 2``) with ``x + p + q <= capacity`` (the clairvoyant LP's
capacity row, counting transit), paying ``price[t] + shipping``:

    V_t(x, p) = r_t(x) + max_q -p_t q + E V_{t+1}((x - D)^+ + p, q).

Shipments landing after the horizon are left to the master, as for every lane. Where
``V_{t+1}(y, .)`` is concave in the shipment the search over ``q`` stops at the first
non-improving one (exact); elsewhere it tries every ``q``.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

import allocsim.envs.engine  # noqa: F401  (sets numba's cache folder before anything compiles)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
MAX_STATES = 5_000  # (on hand, in transit) pairs per period up to which lead 2 is solved exactly
CONCAVE_TOL = 1e-9


def exact_lead_two(lead: int, cap: int) -> bool:
    """Whether a lane of this lead time and capacity is solved here."""
    return lead == 2 and (cap + 1) * (cap + 2) // 2 <= MAX_STATES


@njit(cache=True)
def _concave_in_shipment(w: FloatArray, cap: int) -> bool:
    scale = 1.0 + np.abs(w).max()
    for y in range(cap + 1):
        for q in range(1, cap - y):
            if w[y, q + 1] - 2.0 * w[y, q] + w[y, q - 1] > CONCAVE_TOL * scale:
                return False
    return True


@njit(cache=True)
def _expected(pmf: FloatArray, w: FloatArray, x: int, p: int, q: int) -> float:
    """``E W((x - D)^+ + p, q)``."""
    total = 0.0
    for k in range(pmf.shape[0]):
        if pmf[k] > 0.0:
            total += pmf[k] * w[max(x - k, 0) + p, q]
    return total


@njit(cache=True)
def backward_two(pmf: FloatArray, cap: int, ship: float, hold: float, margin: float, end: float,
                 price: FloatArray) -> tuple[FloatArray, IntArray]:
    """Values (cap + 1, cap + 1) at the first decision and the policy (T, cap + 1, cap + 1)."""
    T = pmf.shape[0]
    w = np.zeros((cap + 1, cap + 1))
    policy = np.zeros((T, cap + 1, cap + 1), dtype=np.int64)
    for t in range(T - 1, -1, -1):
        keep = -hold + (end if t == T - 1 else 0.0)
        lands = t + 2 <= T - 1
        cost = price[t] + ship
        concave = _concave_in_shipment(w, cap)
        v = np.zeros((cap + 1, cap + 1))
        for x in range(cap + 1):
            sold = 0.0
            for k in range(pmf.shape[1]):
                if pmf[t, k] > 0.0:
                    sold += pmf[t, k] * min(x, k)
            reward = margin * sold + keep * (x - sold)
            for p in range(cap - x + 1):
                best, arg = _expected(pmf[t], w, x, p, 0), 0
                if lands:
                    for q in range(1, cap - x - p + 1):
                        f = _expected(pmf[t], w, x, p, q) - cost * q
                        if f > best:
                            best, arg = f, q
                        elif concave:
                            break
                v[x, p] = reward + best
                policy[t, x, p] = arg
        w = v
    return w, policy


@njit(cache=True)
def forward_two(pmf: FloatArray, cap: int, start: int, policy: IntArray) -> FloatArray:
    """Expected units sent per period by ``policy`` from ``start`` on hand and nothing in transit."""
    T = pmf.shape[0]
    shipped = np.zeros(T)
    dist = np.zeros((cap + 1, cap + 1))
    dist[start, 0] = 1.0
    for t in range(T):
        nxt = np.zeros((cap + 1, cap + 1))
        for x in range(cap + 1):
            for p in range(cap - x + 1):
                if dist[x, p] == 0.0:
                    continue
                q = policy[t, x, p]
                shipped[t] += dist[x, p] * q
                for k in range(pmf.shape[1]):
                    if pmf[t, k] > 0.0:
                        nxt[max(x - k, 0) + p, q] += dist[x, p] * pmf[t, k]
        dist = nxt
    return shipped
