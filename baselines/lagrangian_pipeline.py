"""A lane with lead time 2 or more, decided two periods before the arrival: state on hand and in transit.

``allocsim.baselines.lagrangian_lanes`` relaxes a lead time ``d >= 2`` to a decision one
period before the arrival; where the capacity is small enough this module solves a
tighter model instead: at the decision of period ``t`` the lane holds ``x`` units and
``p`` are in transit (on hand at ``t + 1``); it decides ``q`` (on hand at ``t + 2``) with
``x + p + q <= capacity``, paying ``price[t + 2 - d] + shipping`` (the price of the period
the units are really sent in):

    V_t(x, p) = r_t(x) + max_q -p_{t+2-d} q + E V_{t+1}((x - D)^+ + p, q).

For ``d = 2`` this is the real lane (the clairvoyant LP's capacity row, counting transit),
solved exactly. For ``d >= 3`` it is a relaxation that never lowers the lane's value: every
policy of the real lane sends in period ``t + 2 - d`` what lands at ``t + 2``, which this
model may decide later, at ``t``, knowing ``d - 2`` more periods of demand, at the same
price, and its capacity row counts fewer units in transit (only the last two periods'),
so it is looser. Shipments landing after the horizon, and those that would have been sent
before period 0, are not in the model (the master prices the first, the second cannot
happen). Where ``V_{t+1}(y, .)`` is concave in the shipment the search over ``q`` stops at
the first non-improving one (exact); elsewhere it tries every ``q``.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

import allocsim.envs.engine  # noqa: F401  (sets numba's cache folder before anything compiles)
from allocsim.baselines.lagrangian_disposal import envelope

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
#: (on hand, in transit) pairs per period up to which a lead >= 2 lane takes this model (capacity <= 198):
#: retail-medium's lead-2 and lead-3 lanes (capacity 120-160) take 0.05-0.3 s a solve, a salad lane of
#: seasonal-aging (non-concave values: every shipment tried) about 2 s.
MAX_STATES = 20_000
CONCAVE_TOL = 1e-9


def exact_lead_two(lead: int, cap: int) -> bool:
    """Whether a lane of this lead and capacity is solved here (exact for lead 2, a relaxation beyond)."""
    return lead >= 2 and (cap + 1) * (cap + 2) // 2 <= MAX_STATES


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
                 price: FloatArray, lead: int = 2,
                 dispose: float = -1.0) -> tuple[FloatArray, IntArray, IntArray]:
    """Values (cap + 1, cap + 1) at the first decision, the policy (T, cap + 1, cap + 1) and the units kept
    on hand at each decision (T, cap + 1, cap + 1; ``dispose >= 0``: disposal, ``lagrangian_disposal``)."""
    T = pmf.shape[0]
    w = np.zeros((cap + 1, cap + 1))
    policy = np.zeros((T, cap + 1, cap + 1), dtype=np.int64)
    keep = np.zeros((T, cap + 1, cap + 1), dtype=np.int64)
    column = np.zeros(cap + 1)
    kept = np.zeros(cap + 1, dtype=np.int64)
    for t in range(T - 1, -1, -1):
        keep_value = -hold + (end if t == T - 1 else 0.0)
        send = t + 2 - lead
        lands = t + 2 <= T - 1 and send >= 0
        cost = price[max(send, 0)] + ship
        concave = _concave_in_shipment(w, cap)
        v = np.zeros((cap + 1, cap + 1))
        for x in range(cap + 1):
            sold = 0.0
            for k in range(pmf.shape[1]):
                if pmf[t, k] > 0.0:
                    sold += pmf[t, k] * min(x, k)
            reward = margin * sold + keep_value * (x - sold)
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
        for p in range(cap + 1):  # disposal of units on hand (not of those in transit)
            n = cap - p + 1
            column[:n] = v[:n, p]
            envelope(column[:n], dispose, 0, kept[:n])
            v[:n, p] = column[:n]
            keep[t, :n, p] = kept[:n]
        w = v
    return w, policy, keep


@njit(cache=True)
def forward_two(pmf: FloatArray, cap: int, start: int, policy: IntArray, lead: int,
                keep: IntArray) -> FloatArray:
    """Expected units sent per period (the period they are really sent in) by ``policy`` from ``start`` on
    hand and nothing in transit (``keep[t, x, p]`` of the ``x`` on hand kept at the decision)."""
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
                y = keep[t, x, p]
                q = policy[t, y, p]
                if q > 0:
                    shipped[t + 2 - lead] += dist[x, p] * q
                for k in range(pmf.shape[1]):
                    if pmf[t, k] > 0.0:
                        nxt[max(y - k, 0) + p, q] += dist[x, p] * pmf[t, k]
        dist = nxt
    return shipped
