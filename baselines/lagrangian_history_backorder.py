"""The history-priced bound's backorder lane: ``lagrangian_backorder``'s relaxation with the bucket ``b``.

A lane whose one channel queues part of its unmet demand (seasonal-aging's web-fc) is solved, as in
the flat bound, by an exact DP of a relaxation never below the real lane (waiting units never run
out of patience and wait for free; state: the net stock ``y``, kept at or above ``-depth``; with a
shelf life, positive net stock may be disposed of at each decision, ``lagrangian_disposal``). Here the
state also carries ``b``, the bucket of the SKU's network demand so far (``lagrangian_history``), moved
by ``inc[t, k, j]`` given the lane's own demand ``k``, and the shipment decided in period ``t`` (lead
1: it lands at ``t + 1``) is priced ``price[t, b]``. With the same price in every bucket it is the flat
``backward_backorder``'s value (``b`` then changes nothing). Lead 1 only: a longer lead is decided in
the flat bound one period before the arrival at the price of a period already past, whose bucket this
state no longer knows.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

import allocsim.envs.engine  # noqa: F401  (numba's cache folder)
from allocsim.baselines.lagrangian_backorder import _concave_from, _step, expected_gain
from allocsim.baselines.lagrangian_disposal import envelope
from allocsim.baselines.lagrangian_history_dp import _mix

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@njit(cache=True)
def _expected(pmf: FloatArray, g: FloatArray, y: int, q: int, beta: float, depth: int) -> float:
    """``sum_k pmf[k] g[k, index after demand k from net y, plus q]`` (``g``: next values by own demand)."""
    total = 0.0
    for k in range(pmf.shape[0]):
        if pmf[k] > 0.0:
            total += pmf[k] * g[k, _step(y, k, beta, depth)[2] + depth + q]
    return total


@njit(cache=True)
def lane_backorder(pmf: FloatArray, inc: FloatArray, beta: float, cap: int, depth: int, ship: float,
                   hold: float, margin: float, end: float, price: FloatArray, start: int, b0: int,
                   anchor: IntArray, dispose: float = -1.0) -> tuple[float, FloatArray]:
    """A lead-1 backorder lane (state: net stock, bucket): its value from ``start`` on hand at bucket ``b0``
    and its expected shipments per period and bucket (T, K2)."""
    T, W = pmf.shape
    K2 = price.shape[1]
    n = depth + cap + 1
    V = np.zeros((K2, n))
    policy = np.zeros((T, K2, n), dtype=np.int64)
    keep = np.zeros((T, K2, n), dtype=np.int64)
    for t in range(T - 1, -1, -1):
        last = t == T - 1
        top = W - 1
        while top > 0 and pmf[t, top] == 0.0:
            top -= 1
        concave_from = 0
        for b in range(K2):
            concave_from = max(concave_from, _concave_from(V[b]))
        G = _mix(V, inc[t], anchor)
        nv = np.zeros((K2, n))
        for i in range(n):
            y = i - depth
            reward = expected_gain(pmf[t], y, beta, depth, margin, hold, end, last)
            lowest = _step(y, top, beta, depth)[2] + depth  # the index the largest demand leads to
            for b in range(K2):
                best, arg = 0.0, 0
                if not last:
                    p = price[t, b] + ship
                    best = _expected(pmf[t], G[b], y, 0, beta, depth)
                    before = best
                    for q in range(1, cap - max(y, 0) + 1):
                        f = _expected(pmf[t], G[b], y, q, beta, depth) - p * q
                        if f > best:
                            best, arg = f, q
                        if f <= before and lowest + q - 1 >= concave_from:
                            break  # concave in q from here on and not rising: it never rises again
                        before = f
                nv[b, i] = reward + best
                policy[t, b, i] = arg
        for b in range(K2):
            envelope(nv[b], dispose, depth, keep[t, b])
        V = nv
    value = V[b0, start + depth]
    shipped = np.zeros((T, K2))
    dist = np.zeros((K2, n))
    dist[b0, start + depth] = 1.0
    J = inc.shape[2] // 2
    for t in range(T):
        nxt = np.zeros((K2, n))
        for b in range(K2):
            for i in range(n):
                pr = dist[b, i]
                if pr == 0.0:
                    continue
                j0 = keep[t, b, i]
                q = policy[t, b, j0]
                shipped[t, b] += pr * q
                for k in range(W):
                    pk = pmf[t, k]
                    if pk == 0.0:
                        continue
                    z = _step(j0 - depth, k, beta, depth)[2] + depth + q
                    for j in range(inc.shape[2]):
                        pj = inc[t, k, j]
                        if pj > 0.0:
                            nxt[min(max(anchor[b] + j - J, 0), K2 - 1), z] += pr * pk * pj
        dist = nxt
    return value, shipped
