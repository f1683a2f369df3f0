"""A Lagrangian lane whose one channel backorders part of its unmet demand: an upper-bounding DP.

The Lagrangian bound (``allocsim.baselines.lagrangian_bound``) splits the network into lanes
that buy DC units at prices ``lam``. A lane with one channel that queues ``floor(beta x
unmet + 1e-9)`` of its unmet new demand as backorders (``allocsim.envs.engine.period``: the
rest is lost; waiting units are served first, oldest first; past the channel's patience, and
at the horizon, they are lost) needs the backlog's ages as state. This module solves a
relaxation of it exactly, whose value is never below the real lane's:

* **patience is infinite and waiting is free**: a queued unit waits until it is served or
  the horizon ends (then it is lost, with its shortage penalty);
* the room for a shipment is ``capacity - (on hand - waiting)^+``, at least the real
  ``capacity - on hand`` (the units that will serve the backlog do not count);
* markdowns and shelf life are dropped, as for every DP lane (a SKU with a shelf life may
  dispose of positive net stock at each decision, ``allocsim.baselines.lagrangian_disposal``).

Why that never lowers the lane's value: run this lane with the real lane's shipments on the
same demand. Both serve the backlog first, so by induction over periods the relaxed lane's
cumulative sales ``S'`` stay at least the real one's ``S``, and ``S' + W' >= S + W`` (``W``
the units waiting): if ``S' >= S`` its stock is ``x' = x - (S' - S)``, and with
``W' >= W - (S' - S)`` it sells ``min(x', D + W') >= min(x, D + W) - (S' - S)``; for the
second invariant, ``S + W`` grows by ``f(n) - e`` in a period (``n`` new units sold,
``f(n) = n + floor(beta (D - n))`` nondecreasing in ``n``, ``e`` units expiring), the relaxed
lane's by ``f(n')``; where ``n' < n`` the relaxed lane sold all its stock, and the two cases
``n + W <= x`` (backlog cleared) and ``n = 0`` give the invariant directly. More cumulative
sales at every period mean more margin, less stock held and less stock left at the end; with
``margin - end = price + shortage penalty - salvage >= 0`` (``eligible``) the relaxed lane's
profit is at least the real one's on every path, and its capacity room ``cap - x'`` at least
the real one's (and its room counts only the net stock), so the real lane's shipments are
feasible for it. Its optimum is then at least
the real lane's optimum.

With backlog first and no expiry the state is the net stock ``y = on hand - waiting`` (one of
them is zero after each period's sales). Crediting each queued unit's margin when it is
queued and debiting it at the horizon if it still waits, the recursion (lead ``>= 1``; a lead
``d >= 2`` decided one period before the arrival at the price of the period it is sent in,
the relaxation of ``allocsim.baselines.lagrangian_lanes``) is

    V_t(y) = E[m (sold + queued) - h (y - D)^+] + max_{0 <= q <= cap - y^+} -p q
             + E V_{t+1}(y - sold - queued + q),

with ``sold = min(y^+, D)``, ``queued = floor(beta (D - sold) + 1e-9)``, and at the last
close ``end x (stock left) - m x (units still waiting)``. The net stock is kept at or above
``-depth``: queued units beyond it are credited and never debited (only raises the value).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

import allocsim.envs.engine  # noqa: F401  (sets numba's cache folder before anything compiles)
from allocsim.baselines.lagrangian_disposal import envelope

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
CONCAVE_TOL = 1e-9


def depth_for(pmf: FloatArray, beta: float) -> int:
    """How far below zero the net stock is tracked: four periods of the largest demand queued (the
    1 - 1e-4 quantile of the largest period's demand; any depth gives an upper bound)."""
    top = int(np.searchsorted(np.cumsum(pmf, axis=1).min(axis=0), 1.0 - 1e-4))
    return int(np.ceil(4 * beta * min(top, pmf.shape[1] - 1))) + 1


def eligible(margin: float, end: float) -> bool:
    """Whether the relaxation is valid here: a sale is worth at least a unit left at the end."""
    return margin >= end


@njit(cache=True)
def _step(y: int, k: int, beta: float, depth: int) -> tuple[int, int, int]:
    """(units sold, units queued, net stock after, at least ``-depth``) for demand ``k`` from net ``y``."""
    sold = min(max(y, 0), k)
    queued = int(np.floor(beta * (k - sold) + 1e-9))
    after = max(y - sold - queued, -depth)
    return sold, queued, after


@njit(cache=True)
def _concave_from(w: FloatArray) -> int:
    """The smallest index ``c`` with ``w`` concave on ``[c, end]`` (within a relative tolerance)."""
    scale = 1.0 + np.abs(w).max()
    for i in range(w.shape[0] - 2, 0, -1):
        if w[i + 1] - 2.0 * w[i] + w[i - 1] > CONCAVE_TOL * scale:
            return i
    return 0


@njit(cache=True)
def expected_gain(pmf: FloatArray, y: int, beta: float, depth: int, margin: float, hold: float, end: float,
                  last: bool) -> float:
    """The period's expected margin less holding from net stock ``y`` (demand pmf ``pmf``); in the last
    period also the end value of stock left and the margin of the backlog never served."""
    reward = 0.0
    for k in range(pmf.shape[0]):
        if pmf[k] > 0.0:
            sold, queued, z = _step(y, k, beta, depth)
            gain = margin * (sold + queued) - hold * max(z, 0)
            if last:
                gain += end * max(z, 0) + margin * min(z, 0)
            reward += pmf[k] * gain
    return reward


@njit(cache=True)
def _next_value(pmf: FloatArray, v: FloatArray, y: int, q: int, beta: float, depth: int) -> float:
    """``E V(y after the period's sales + q)``."""
    total = 0.0
    for k in range(pmf.shape[0]):
        if pmf[k] > 0.0:
            z = _step(y, k, beta, depth)[2]
            total += pmf[k] * v[z + depth + q]
    return total


@njit(cache=True)
def backward_backorder(pmf: FloatArray, beta: float, cap: int, depth: int, lead: int, ship: float,
                       hold: float, margin: float, end: float,
                       price: FloatArray, dispose: float = -1.0) -> tuple[FloatArray, IntArray, IntArray]:
    """Values (depth + cap + 1,) at the first decision by net stock ``y`` (index ``y + depth``), the
    policy (T, depth + cap + 1): units landing next period, decided before the period's demand, and the
    index kept at each decision (``dispose >= 0``: positive net stock may be disposed of down to 0)."""
    T, W = pmf.shape
    n = depth + cap + 1
    v = np.zeros(n)  # V_{t+1} by net stock
    policy = np.zeros((T, n), dtype=np.int64)
    keep = np.zeros((T, n), dtype=np.int64)
    for t in range(T - 1, -1, -1):
        last = t == T - 1
        send = t + 1 - lead
        orders = t + 1 <= T - 1 and send >= 0
        p = price[send] + ship if orders else 0.0
        top = W - 1
        while top > 0 and pmf[t, top] == 0.0:
            top -= 1
        concave_from = _concave_from(v)
        w = np.zeros(n)
        for i in range(n):
            y = i - depth
            reward = expected_gain(pmf[t], y, beta, depth, margin, hold, end, last)
            best, arg = 0.0, 0
            if not last:
                best = _next_value(pmf[t], v, y, 0, beta, depth)
                if orders:
                    lowest = _step(y, top, beta, depth)[2] + depth  # the index the largest demand leads to
                    before = best
                    for q in range(1, cap - max(y, 0) + 1):
                        f = _next_value(pmf[t], v, y, q, beta, depth) - p * q
                        if f > best:
                            best, arg = f, q
                        # concave in q from q - 1 on (every demand's index is in v's concave part) and not
                        # rising: it never rises again
                        if f <= before and lowest + q - 1 >= concave_from:
                            break
                        before = f
            w[i] = reward + best
            policy[t, i] = arg
        envelope(w, dispose, depth, keep[t])
        v = w
    return v, policy, keep


@njit(cache=True)
def forward_backorder(pmf: FloatArray, beta: float, cap: int, depth: int, lead: int, start: int,
                      policy: IntArray, keep: IntArray) -> FloatArray:
    """Expected units sent per period (the period they are sent in) by ``policy`` from ``start`` on hand
    (index ``keep[t, i]`` kept at the decision)."""
    T, W = pmf.shape
    n = depth + cap + 1
    shipped = np.zeros(T)
    dist = np.zeros(n)
    dist[start + depth] = 1.0
    for t in range(T):
        nxt = np.zeros(n)
        for i in range(n):
            if dist[i] == 0.0:
                continue
            j = keep[t, i]
            q = policy[t, j]
            if q > 0:
                shipped[t + 1 - lead] += dist[i] * q
            for k in range(W):
                if pmf[t, k] > 0.0:
                    z = _step(j - depth, k, beta, depth)[2]
                    nxt[z + depth + q] += dist[i] * pmf[t, k]
        dist = nxt
    return shipped
