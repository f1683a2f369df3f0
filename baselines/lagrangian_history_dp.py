"""Compiled DPs of the history-priced Lagrangian bound (``allocsim.baselines.lagrangian_history``).

Every piece carries ``b``, a bucket of the SKU's network demand so far (a clipped walk, Markov by
construction; ``anchor[b]``: where it stands before a period's move, ``b`` itself for a plain walk).
The lanes' recursions are ``lagrangian_lanes``' (lead 0 and 1) and ``lagrangian_pipeline``'s (lead 2)
with ``b`` added, the DC's is ``lagrangian_dc``'s. ``inc[t, d, j]``: probability that the walk moves
by ``j - J`` in period ``t`` given the lane's own demand ``d``; ``step[t, j]``: the same for the DC
(all demand); ``price[t, b]``: the DC's unit price in period ``t`` when the walk is at ``b``.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

import allocsim.envs.engine  # noqa: F401  (numba's cache folder)
from allocsim.baselines.lagrangian_dc import pipeline_step  # the DC's one pipeline decode
from allocsim.baselines.lagrangian_disposal import envelope  # disposal where a SKU has a shelf life
from allocsim.baselines.lagrangian_lanes import _reward  # one lane reward for both lane DPs

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
TOL = 1e-9


@njit(cache=True)
def _mix(V: FloatArray, inc: FloatArray, anchor: IntArray) -> FloatArray:
    """``G[b, d, y] = sum_j inc[d, j] V[clip(anchor[b] + j - J), y]``: next values given this bucket and own
    demand."""
    K2, n = V.shape
    W, J2 = inc.shape
    J = J2 // 2
    G = np.zeros((K2, W, n))
    for b in range(K2):
        for d in range(W):
            for j in range(J2):
                p = inc[d, j]
                if p > 0.0:
                    nb = min(max(anchor[b] + j - J, 0), K2 - 1)
                    for y in range(n):
                        G[b, d, y] += p * V[nb, y]
    return G


@njit(cache=True)
def _same_from(inc: FloatArray, pmf: FloatArray) -> int:
    """The first own demand from which every possible one (``pmf > 0``) has the same row of ``inc`` as the
    largest possible one: the walk's move no longer depends on it."""
    W, J2 = inc.shape
    last = W - 1
    while last > 0 and pmf[last] == 0.0:
        last -= 1
    top = last
    while top > 0:
        if pmf[top - 1] > 0.0:
            for j in range(J2):
                if inc[top - 1, j] != inc[last, j]:
                    return top
        top -= 1
    return top


@njit(cache=True)
def _mix_rows(V: FloatArray, inc: FloatArray, pmf: FloatArray, anchor: IntArray) -> tuple[FloatArray, int]:
    """``_mix`` for own demands ``0..top`` only (``top = _same_from(inc, pmf)``): ``G[b, min(d, top), y]``,
    ``top``."""
    top = _same_from(inc, pmf)
    return _mix(V, inc[: top + 1], anchor), top


@njit(cache=True)
def _concave_rows(V: FloatArray, width: int) -> bool:
    """Whether every run of ``width`` values along the last axis (each row of each bucket) is concave."""
    K2, n = V.shape
    scale = 1.0 + np.abs(V).max()
    for b in range(K2):
        for start in range(0, n, width):
            for i in range(start + 1, start + width - 1):
                if V[b, i + 1] - 2.0 * V[b, i] + V[b, i - 1] > TOL * scale:
                    return False
    return True


@njit(cache=True)
def _concave_shipment(V: FloatArray, cap: int) -> bool:
    """Whether ``V[b, y, q]`` (flattened ``y (cap + 1) + q``) is concave in ``q`` over ``y + q <= cap``."""
    K2 = V.shape[0]
    n1 = cap + 1
    scale = 1.0 + np.abs(V).max()
    for b in range(K2):
        for y in range(n1):
            for q in range(1, cap - y):
                i = y * n1 + q
                if V[b, i + 1] - 2.0 * V[b, i] + V[b, i - 1] > TOL * scale:
                    return False
    return True


@njit(cache=True)
def lane_one(pmf: FloatArray, inc: FloatArray, cap: int, lead: int, ship: float, hold: float, margin: float,
             end: float, price: FloatArray, start: int, b0: int, anchor: IntArray,
             dispose: float = -1.0) -> tuple[float, FloatArray]:
    """A lead-0 or lead-1 lane (state: on hand, bucket): its value and expected shipments (T, K2);
    ``dispose >= 0``: units on hand may be disposed of at each decision (``lagrangian_disposal``)."""
    T, W = pmf.shape
    K2 = price.shape[1]
    V = np.zeros((K2, cap + 1))
    policy = np.zeros((T, K2, cap + 1), dtype=np.int64)
    kept = np.zeros((T, K2, cap + 1), dtype=np.int64)
    for t in range(T - 1, -1, -1):
        keep = -hold + (end if t == T - 1 else 0.0)
        G = _mix(V, inc[t], anchor)
        concave = _concave_rows(V, cap + 1)
        r = np.array([_reward(pmf[t], y, margin, keep) for y in range(cap + 1)])
        nv = np.empty((K2, cap + 1))
        for b in range(K2):
            if lead == 0:
                p = price[t, b] + ship
                best, arg = -np.inf, cap
                for y in range(cap, -1, -1):
                    f = r[y] - p * y
                    for d in range(W):
                        if pmf[t, d] > 0.0:
                            f += pmf[t, d] * G[b, d, max(y - d, 0)]
                    if f >= best:
                        best, arg = f, y
                    nv[b, y] = best + p * y
                    policy[t, b, y] = arg - y
            else:
                orders = t + 1 <= T - 1
                p = price[t, b] + ship
                for x in range(cap + 1):
                    best, arg = -np.inf, 0
                    for q in range(0, (cap - x + 1) if orders else 1):
                        f = -p * q
                        for d in range(W):
                            if pmf[t, d] > 0.0:
                                f += pmf[t, d] * G[b, d, max(x - d, 0) + q]
                        if f > best:
                            best, arg = f, q
                        elif concave:
                            break
                    nv[b, x] = r[x] + best
                    policy[t, b, x] = arg
            envelope(nv[b], dispose, 0, kept[t, b])
        V = nv
    value = V[b0, start]
    shipped = np.zeros((T, K2))
    dist = np.zeros((K2, cap + 1))
    dist[b0, start] = 1.0
    J = inc.shape[2] // 2
    for t in range(T):
        nxt = np.zeros((K2, cap + 1))
        for b in range(K2):
            for x in range(cap + 1):
                pr = dist[b, x]
                if pr == 0.0:
                    continue
                k = kept[t, b, x]
                q = policy[t, b, k]
                y, extra = (k + q, 0) if lead == 0 else (k, q)
                shipped[t, b] += pr * q
                for d in range(W):
                    pd = pmf[t, d]
                    if pd == 0.0:
                        continue
                    for j in range(inc.shape[2]):
                        pj = inc[t, d, j]
                        if pj > 0.0:
                            nxt[min(max(anchor[b] + j - J, 0), K2 - 1), max(y - d, 0) + extra] += pr * pd * pj
        dist = nxt
    return value, shipped


@njit(cache=True)
def _ship_value(pmf: FloatArray, tail: FloatArray, g: FloatArray, top: int, x: int, p: int, q: int,
                n1: int) -> float:
    """``sum_d pmf[d] g[min(d, top), ((x - d)^+ + p, q)]``: a lead-2 lane's next value after shipping ``q``
    (``tail[k]``: ``P(D >= k)``; every demand from ``max(x, top)`` on leads to the same value)."""
    lim = min(max(x, top), pmf.shape[0])
    total = 0.0
    for d in range(lim):
        if pmf[d] > 0.0:
            total += pmf[d] * g[min(d, top), (max(x - d, 0) + p) * n1 + q]
    if lim < pmf.shape[0]:
        total += tail[lim] * g[top, p * n1 + q]
    return total


@njit(cache=True)
def lane_two(pmf: FloatArray, inc: FloatArray, cap: int, ship: float, hold: float, margin: float, end: float,
             price: FloatArray, start: int, b0: int, anchor: IntArray,
             dispose: float = -1.0) -> tuple[float, FloatArray]:
    """A lead-2 lane (state: on hand, in transit, bucket), decided and priced in the period it is sent;
    ``dispose >= 0``: units on hand (not those in transit) may be disposed of at each decision."""
    T, W = pmf.shape
    K2 = price.shape[1]
    n1 = cap + 1
    V = np.zeros((K2, n1 * n1))
    policy = np.zeros((T, K2, n1 * n1), dtype=np.int64)
    stay = np.zeros((T, K2, n1 * n1), dtype=np.int64)
    column = np.zeros(n1)
    kept = np.zeros(n1, dtype=np.int64)
    tails = np.zeros((T, W + 1))  # P(D >= k) per period
    for t in range(T):
        for k in range(W - 1, -1, -1):
            tails[t, k] = tails[t, k + 1] + pmf[t, k]
    for t in range(T - 1, -1, -1):
        keep = -hold + (end if t == T - 1 else 0.0)
        G, dtop = _mix_rows(V, inc[t], pmf[t], anchor)
        tail = tails[t]
        concave = _concave_shipment(V, cap)
        lands = t + 2 <= T - 1
        nv = np.zeros((K2, n1 * n1))
        for b in range(K2):
            cost = price[t, b] + ship
            for x in range(n1):
                rx = _reward(pmf[t], x, margin, keep)
                prev = 0  # the last p's shipment: where a concave search starts
                for p in range(cap - x + 1):
                    top = cap - x - p if lands else 0
                    if concave and top > 0:  # climb from the last shipment: the smallest maximiser
                        arg = min(prev, top)
                        best = _ship_value(pmf[t], tail, G[b], dtop, x, p, arg, n1) - cost * arg
                        down = False
                        while arg > 0:
                            f = _ship_value(pmf[t], tail, G[b], dtop, x, p, arg - 1, n1) - cost * (arg - 1)
                            if f < best:
                                break
                            best, arg, down = f, arg - 1, True
                        while not down and arg < top:
                            f = _ship_value(pmf[t], tail, G[b], dtop, x, p, arg + 1, n1) - cost * (arg + 1)
                            if f <= best:
                                break
                            best, arg = f, arg + 1
                    else:
                        best, arg = -np.inf, 0
                        for q in range(0, top + 1):
                            f = _ship_value(pmf[t], tail, G[b], dtop, x, p, q, n1) - cost * q
                            if f > best:
                                best, arg = f, q
                    prev = arg
                    nv[b, x * n1 + p] = rx + best
                    policy[t, b, x * n1 + p] = arg
            for p in range(n1):  # disposal of units on hand, per units in transit
                m = cap - p + 1
                for x in range(m):
                    column[x] = nv[b, x * n1 + p]
                envelope(column[:m], dispose, 0, kept[:m])
                for x in range(m):
                    nv[b, x * n1 + p] = column[x]
                    stay[t, b, x * n1 + p] = kept[x]
        V = nv
    value = V[b0, start * n1]
    shipped = np.zeros((T, K2))
    dist = np.zeros((K2, n1 * n1))
    dist[b0, start * n1] = 1.0
    J = inc.shape[2] // 2
    for t in range(T):
        nxt = np.zeros((K2, n1 * n1))
        dtop = _same_from(inc[t], pmf[t])
        for b in range(K2):
            for x in range(n1):
                for p in range(cap - x + 1):
                    pr = dist[b, x * n1 + p]
                    if pr == 0.0:
                        continue
                    y = stay[t, b, x * n1 + p]
                    q = policy[t, b, y * n1 + p]
                    shipped[t, b] += pr * q
                    lim = min(max(y, dtop), W)  # from here on every demand leads to the same state and move
                    for d in range(lim):
                        pd = pmf[t, d]
                        if pd == 0.0:
                            continue
                        for j in range(inc.shape[2]):
                            pj = inc[t, d, j]
                            if pj > 0.0:
                                nb = min(max(anchor[b] + j - J, 0), K2 - 1)
                                nxt[nb, (max(y - d, 0) + p) * n1 + q] += pr * pd * pj
                    if lim < W:
                        for j in range(inc.shape[2]):
                            pj = inc[t, dtop, j]
                            if pj > 0.0:
                                nb = min(max(anchor[b] + j - J, 0), K2 - 1)
                                nxt[nb, p * n1 + q] += pr * tails[t, lim] * pj
        dist = nxt
    return value, shipped


@njit(cache=True)
def dc_dp(price: FloatArray, keep: FloatArray, receipts: IntArray, lead: int, below: int, up_to: int,
          cap: int, top: int, step: FloatArray, b0: int, anchor: IntArray,
          dispose: float = -1.0) -> tuple[float, FloatArray]:
    """The DC of one SKU with its rule's orders (``lagrangian_dc``'s model) and the bucket: value, releases
    (T, K2). ``step[t, j]``: probability the walk moves by ``j - J`` in period ``t``; ``dispose >= 0``: units
    on hand may be disposed of at each decision before the rule reads its position (``lagrangian_dc``)."""
    T, K2 = price.shape
    J = step.shape[1] // 2
    m = lead - 1
    base = cap + 1
    n_o = base ** m
    n = (top + 1) * n_o
    future = np.zeros(T + 1, dtype=np.int64)
    for t in range(T - 1, -1, -1):
        future[t] = future[t + 1] + (receipts[t + 1] if t + 1 < T else 0)
    V = np.zeros((K2, n))
    arg = np.zeros((T, K2, n), dtype=np.int16)
    kept = np.zeros((T, K2, n), dtype=np.int16)  # DC stock kept at the decision (disposal)
    scratch = np.zeros(top + 1, dtype=np.int64)
    nxt_of = np.full((T, n), -1, dtype=np.int64)  # the kept-stock-0 successor's code part, per state
    arr_of = np.zeros((T, n), dtype=np.int64)
    for t in range(T - 1, -1, -1):
        W = np.zeros((K2, n))
        if t + 1 < T:
            for b in range(K2):
                for j in range(step.shape[1]):
                    p = step[t, j]
                    if p > 0.0:
                        nb = min(max(anchor[b] + j - J, 0), K2 - 1)
                        for i in range(n):
                            W[b, i] += p * V[nb, i]
        nv = np.full((K2, n), -np.inf)
        for code in range(n_o):
            for D in range(top + 1):
                i0 = D + (top + 1) * code
                arr_of[t, i0], nxt_of[t, i0] = pipeline_step(D, code, m, base, future[t], below, up_to, cap)
        # value(D) = price D + max over the units kept, y <= D, of f(y); f changes only with the order
        for code in range(n_o):
            for b in range(K2):
                run, run_y, last, scanned = -np.inf, -1, -1, -1
                for D in range(top + 1):
                    i0 = D + (top + 1) * code
                    shifted, arriving = nxt_of[t, i0], arr_of[t, i0]
                    slope = keep[t] - price[t, b]
                    if t + 1 < T:
                        lim = min(D, top - arriving - receipts[t + 1])
                        sig = shifted * (top + 2) + arriving
                    else:
                        lim, sig = D, 0
                    if sig != last:  # a new order: the running maximum starts again
                        run, run_y, last = -np.inf, -1, sig
                        for y in range(lim, -1, -1):
                            f = slope * y + (W[b, y + arriving + receipts[t + 1] + (top + 1) * shifted]
                                             if t + 1 < T else 0.0)
                            if f > run:
                                run, run_y = f, y
                        scanned = max(lim, -1)
                    elif lim > scanned:
                        for y in range(scanned + 1, lim + 1):
                            f = slope * y + (W[b, y + arriving + receipts[t + 1] + (top + 1) * shifted]
                                             if t + 1 < T else 0.0)
                            if f >= run:
                                run, run_y = f, y
                        scanned = lim
                    if run_y < 0:
                        continue
                    nv[b, i0] = price[t, b] * D + run
                    arg[t, b, i0] = D - run_y
        for b in range(K2):
            for code in range(n_o):
                lo = (top + 1) * code
                envelope(nv[b, lo : lo + top + 1], dispose, 0, scratch)
                for D in range(top + 1):
                    kept[t, b, lo + D] = scratch[D]
        V = nv
    value = V[b0, receipts[0]]
    releases = np.zeros((T, K2))
    dist = np.zeros((K2, n))
    dist[b0, receipts[0]] = 1.0
    for t in range(T):
        nxt = np.zeros((K2, n))
        for b in range(K2):
            for i in range(n):
                pr = dist[b, i]
                if pr == 0.0:
                    continue
                k = kept[t, b, i] + (top + 1) * (i // (top + 1))  # after disposal
                z = arg[t, b, k]
                releases[t, b] += pr * z
                if t + 1 < T:
                    D = k % (top + 1)
                    D2 = D - z + arr_of[t, k] + receipts[t + 1]
                    i2 = D2 + (top + 1) * nxt_of[t, k]
                    for j in range(step.shape[1]):
                        p = step[t, j]
                        if p > 0.0:
                            nxt[min(max(anchor[b] + j - J, 0), K2 - 1), i2] += pr * p
        dist = nxt
    return value, releases
