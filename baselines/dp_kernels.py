"""Compiled inner loops of the exact DP: best allocation per state, occupancy push, path problem.

Every loop walks the pre-decision states of one period in C order of the grid's axes
(DC per SKU, supplier pipeline per SKU x slot, on hand per location x SKU) and, per
state, the candidate allocations in their listed order. One function (``_evaluate``)
gives what an allocation means in a state (expected period reward and where the
post-decision state sits in the expected-next-value table), so the solve, the
occupancy and the path problem of ``allocsim.baselines.dp_dual`` cannot disagree.
The numba cache lives outside the tree (``allocsim.envs.engine`` sets its folder).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

import allocsim.envs.engine  # noqa: F401  (sets numba's cache folder before anything compiles)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
jit = njit(cache=True, error_model="numpy")


class PeriodArgs(NamedTuple):
    """One period's numbers for the kernels (all arrays; see ``allocsim.baselines.dp`` for the meaning)."""

    sizes: IntArray  # (n_axes,) pre-decision grid
    n_skus: int
    slots: int
    future: IntArray  # (S,) inbound-schedule units due after this period
    below: IntArray  # (S,) rule threshold
    up_to: IntArray  # (S,)
    order_cap: IntArray  # (S,)
    orders_arrive: bool  # an order placed now arrives within the horizon
    policy_orders: bool  # orders are decisions (0..order_cap per SKU), not the rule
    lead: int  # supplier lead time
    planned_next: IntArray  # (S,) inbound-schedule units due next period
    reserve: IntArray  # (S,)
    hold_dc: FloatArray  # (S,)
    salvage: FloatArray  # (S,) salvage margin, last period only (else 0)
    ship: FloatArray  # (L,)
    capacity: IntArray  # (L,)
    enforce: bool
    stock_max: IntArray  # (L*S,) most units on hand per location x SKU
    post: IntArray  # (L*S, Y+1, Y+1) post index of (on hand, shipped), -1 beyond the bound
    reward: FloatArray  # (L*S, P) expected period reward per post index
    w_strides: IntArray  # (n_axes,) element strides of the expected-next-value table
    w_dc_size: IntArray  # (S,) DC axis sizes of that table (next period's grid)


@njit(cache=True, error_model="numpy", inline="always")
def _decode(i, sizes, idx):  # type: ignore[no-untyped-def]
    for a in range(sizes.shape[0] - 1, -1, -1):
        idx[a] = i % sizes[a]
        i //= sizes[a]


@njit(cache=True, error_model="numpy", inline="always")
def _orders(g, idx, x, orders, arrival, now, pipe_off):  # type: ignore[no-untyped-def]
    """The order per SKU (the rule's in state ``idx``, or the decision's order part of ``x``).

    Fills arrivals next period, units booked at once (lead time 0) and the pipeline offset.
    """
    n_s, slots = g.n_skus, g.slots
    n_ls = g.post.shape[0]
    off = 0
    for s in range(n_s):
        position = idx[s] + g.future[s]
        for j in range(slots):
            position += idx[n_s + s * slots + j]
        o = 0
        if g.policy_orders:
            o = x[n_ls + s]
        elif g.orders_arrive and position <= g.below[s]:
            o = min(max(g.up_to[s] - position, 0), g.order_cap[s])
        orders[s] = o
        now[s] = o if g.lead == 0 else 0
        if g.lead == 1:
            arrival[s] = o
        elif g.lead >= 2:
            arrival[s] = idx[n_s + s * slots]
        else:
            arrival[s] = 0
        for j in range(slots):  # the pipeline moves one slot closer; the new order joins last
            units = o if j == slots - 1 else idx[n_s + s * slots + j + 1]
            off += g.w_strides[n_s + s * slots + j] * units
    pipe_off[0] = off


@njit(cache=True, error_model="numpy", inline="always")
def _evaluate(g, idx, act, arrival, now, out):  # type: ignore[no-untyped-def]
    """Allocation ``act`` in state ``idx``: False if infeasible, else ``out`` = (reward, offset, dc')."""
    n_s, n_l = g.n_skus, g.capacity.shape[0]
    first_y = n_s + n_s * g.slots
    reward = 0.0
    off = 0
    for loc in range(n_l):
        held = 0
        sent = 0
        for s in range(n_s):
            ls = loc * n_s + s
            y, x = idx[first_y + ls], act[ls]
            p = g.post[ls, y, x]
            if p < 0:
                return False
            held += y + x
            sent += x
            reward += g.reward[ls, p] - g.ship[loc] * x
            off += g.w_strides[first_y + ls] * p
        if g.enforce and sent > 0 and held > g.capacity[loc]:
            return False
    for s in range(n_s):
        total = 0
        for loc in range(n_l):
            total += act[loc * n_s + s]
        d = idx[s]
        if total > 0 and total > d - g.reserve[s]:
            return False
        close = d - total + now[s]
        reward += (g.salvage[s] - g.hold_dc[s]) * close
        nxt = min(close + arrival[s] + g.planned_next[s], g.w_dc_size[s] - 1)
        off += g.w_strides[s] * nxt
        out[2 + s] = nxt
    out[0] = reward
    out[1] = off
    return True


@njit(cache=True, error_model="numpy", inline="always")
def _bounds(g, idx, hi):  # type: ignore[no-untyped-def]
    """Most units of each decision entry in state ``idx``: shipped (stock bound, DC) and ordered."""
    n_s, n_ls = g.n_skus, g.post.shape[0]
    first_y = n_s + n_s * g.slots
    for ls in range(n_ls):
        s = ls % n_s
        room = g.stock_max[ls] - idx[first_y + ls]
        hi[ls] = min(room, max(idx[s] - g.reserve[s], 0))
    for s in range(n_s):  # an order that would arrive after the horizon changes nothing: 0
        hi[n_ls + s] = g.order_cap[s] if g.policy_orders and g.orders_arrive else 0


@njit(cache=True, error_model="numpy", inline="always")
def _advance(x, hi, n_s, avail):  # type: ignore[no-untyped-def]
    """The next decision in listed order (last entry fastest) within ``hi`` and the DC; False when done."""
    k = x.shape[0] - 1
    n_ls = x.shape[0] - n_s
    while k >= 0:
        x[k] += 1
        if x[k] <= hi[k] and k >= n_ls:
            return True
        if x[k] <= hi[k]:
            s = k % n_s
            used = 0
            for j in range(s, k + 1, n_s):
                used += x[j]
            if used <= avail[s]:
                return True
        x[k] = 0
        k -= 1
    return False


@njit(cache=True, error_model="numpy", inline="always")
def _start(g, idx, x, hi, avail):  # type: ignore[no-untyped-def]
    x[:] = 0
    _bounds(g, idx, hi)
    for s in range(g.n_skus):
        avail[s] = max(idx[s] - g.reserve[s], 0)


@njit(cache=True, error_model="numpy", inline="always")
def _order_code(g, x):  # type: ignore[no-untyped-def]
    """Mixed-radix code of the order part of ``x`` (0 without policy orders)."""
    n_ls = g.post.shape[0]
    code = 0
    if g.policy_orders:
        for s in range(g.n_skus):
            code = code * (g.order_cap[s] + 1) + x[n_ls + s]
    return code


@njit(cache=True, error_model="numpy", inline="always")
def _n_order_codes(g):  # type: ignore[no-untyped-def]
    n = 1
    if g.policy_orders:
        for s in range(g.n_skus):
            n *= g.order_cap[s] + 1
    return n


@njit(cache=True, error_model="numpy", inline="always")
def _unpack(g, actions, code, x):  # type: ignore[no-untyped-def]
    """The decision ``x`` (allocation, then orders) of a choice ``code``."""
    n_ls, n_codes = g.post.shape[0], _n_order_codes(g)
    a, rest = code // n_codes, code % n_codes
    for ls in range(n_ls):
        x[ls] = actions[a, ls]
    for s in range(g.n_skus - 1, -1, -1):
        if g.policy_orders:
            x[n_ls + s] = rest % (g.order_cap[s] + 1)
            rest //= g.order_cap[s] + 1
        else:
            x[n_ls + s] = 0


@jit
def maximise(g: PeriodArgs, action_of: IntArray, full_strides: IntArray, later: FloatArray,
             values: FloatArray, choice: IntArray) -> int:
    """Best allocation of every state (ties: first listed); returns the feasible state-action pairs.

    ``action_of[full]`` maps an allocation's index in the full product of stock bounds
    (``full_strides``) to its index among the candidates (-1: over a capacity).
    """
    n_s, n_ls = g.n_skus, g.post.shape[0]
    idx = np.zeros(g.sizes.shape[0], dtype=np.int64)
    orders = np.zeros(n_s, dtype=np.int64)
    arrival = np.zeros(n_s, dtype=np.int64)
    now = np.zeros(n_s, dtype=np.int64)
    avail = np.zeros(n_s, dtype=np.int64)
    pipe = np.zeros(1, dtype=np.int64)
    x = np.zeros(n_ls + n_s, dtype=np.int64)
    hi = np.zeros(n_ls + n_s, dtype=np.int64)
    out = np.zeros(2 + n_s)
    pairs = 0
    n_codes = _n_order_codes(g)
    for i in range(values.shape[0]):
        _decode(i, g.sizes, idx)
        _start(g, idx, x, hi, avail)
        _orders(g, idx, x, orders, arrival, now, pipe)
        best, arg = -np.inf, -1
        more = True
        while more:
            if g.policy_orders:
                _orders(g, idx, x, orders, arrival, now, pipe)
            full = 0
            for ls in range(n_ls):
                full += x[ls] * full_strides[ls]
            a = action_of[full]
            if a >= 0 and _evaluate(g, idx, x, arrival, now, out):
                pairs += 1
                q = out[0] + later[pipe[0] + int(out[1])]
                if q > best:
                    best, arg = q, a * n_codes + _order_code(g, x)
            more = _advance(x, hi, n_s, avail)
        values[i] = best
        choice[i] = arg
    return pairs


@jit
def push(g: PeriodArgs, actions: IntArray, choice: IntArray, mass: FloatArray, post_mass: FloatArray) -> None:
    """Add each state's probability to its post-decision cell under the chosen allocation."""
    n_s = g.n_skus
    idx = np.zeros(g.sizes.shape[0], dtype=np.int64)
    orders = np.zeros(n_s, dtype=np.int64)
    arrival = np.zeros(n_s, dtype=np.int64)
    now = np.zeros(n_s, dtype=np.int64)
    pipe = np.zeros(1, dtype=np.int64)
    x = np.zeros(actions.shape[1] + n_s, dtype=np.int64)
    out = np.zeros(2 + n_s)
    for i in range(mass.shape[0]):
        if mass[i] == 0.0:
            continue
        _decode(i, g.sizes, idx)
        _unpack(g, actions, choice[i], x)
        _orders(g, idx, x, orders, arrival, now, pipe)
        _evaluate(g, idx, x, arrival, now, out)
        post_mass[pipe[0] + int(out[1])] += mass[i]


@jit
def path_period(g: PeriodArgs, expected_next: FloatArray, realised: FloatArray,
                serve_from: IntArray, landing: IntArray, demand: IntArray, next_sizes: IntArray,
                v_next: FloatArray, j_next: FloatArray, penalty: int, j_out: FloatArray) -> None:
    """One period of the perfect-information problem on a known demand path, with a penalty.

    ``j_out[i] = max_a r - z + J_{t+1}(s')``: ``r`` the realised reward (``realised`` per
    post index, shipping and DC terms as expected), ``s'`` the realised next state,
    ``z = r + V(s') - E[r + V | s, a]`` (``penalty`` 2, ideal), ``z = V(s') - E[V | s, a]`` (1)
    or ``z = 0`` (0: the perfect-information optimum on the grid).
    """
    n_s, slots = g.n_skus, g.slots
    first_y = n_s + n_s * slots
    n_ls = g.post.shape[0]
    idx = np.zeros(g.sizes.shape[0], dtype=np.int64)
    nxt = np.zeros(g.sizes.shape[0], dtype=np.int64)
    orders = np.zeros(n_s, dtype=np.int64)
    arrival = np.zeros(n_s, dtype=np.int64)
    now = np.zeros(n_s, dtype=np.int64)
    pipe = np.zeros(1, dtype=np.int64)
    out = np.zeros(2 + n_s)
    avail = np.zeros(n_s, dtype=np.int64)
    act = np.zeros(n_ls + n_s, dtype=np.int64)
    hi = np.zeros(n_ls + n_s, dtype=np.int64)
    for i in range(j_out.shape[0]):
        _decode(i, g.sizes, idx)
        _start(g, idx, act, hi, avail)
        best = -np.inf
        more = True
        while more:
            _orders(g, idx, act, orders, arrival, now, pipe)
            feasible = _evaluate(g, idx, act, arrival, now, out)
            if not feasible:
                more = _advance(act, hi, n_s, avail)
                continue
            expected_reward = out[0]
            ev = expected_next[pipe[0] + int(out[1])]
            r = expected_reward
            for s in range(n_s):
                nxt[s] = int(out[2 + s])
                for j in range(slots):
                    nxt[n_s + s * slots + j] = orders[s] if j == slots - 1 else idx[n_s + s * slots + j + 1]
            for ls in range(n_ls):
                p = g.post[ls, idx[first_y + ls], act[ls]]
                r += realised[ls, p] - g.reward[ls, p]
                nxt[first_y + ls] = max(serve_from[ls, p] - demand[ls], 0) + landing[ls, p]
            k = 0
            for ax in range(next_sizes.shape[0]):
                k = k * next_sizes[ax] + nxt[ax]
            value = r + j_next[k]
            if penalty == 2:  # r - (r + V(s') - E[r + V])
                value = expected_reward + ev - v_next[k] + j_next[k]
            elif penalty == 1:  # r - (V(s') - E[V])
                value += ev - v_next[k]
            if value > best:
                best = value
            more = _advance(act, hi, n_s, avail)
        j_out[i] = best


@jit
def follow(g: PeriodArgs, actions: IntArray, state: int, chosen: int, realised: FloatArray,
           serve_from: IntArray, landing: IntArray, demand: IntArray,
           next_sizes: IntArray) -> tuple[float, int]:
    """Allocation ``chosen`` in state ``state`` on a known demand: (realised period profit, next state)."""
    n_s, slots = g.n_skus, g.slots
    first_y = n_s + n_s * slots
    idx = np.zeros(g.sizes.shape[0], dtype=np.int64)
    nxt = np.zeros(g.sizes.shape[0], dtype=np.int64)
    orders = np.zeros(n_s, dtype=np.int64)
    arrival = np.zeros(n_s, dtype=np.int64)
    now = np.zeros(n_s, dtype=np.int64)
    pipe = np.zeros(1, dtype=np.int64)
    out = np.zeros(2 + n_s)
    act = np.zeros(actions.shape[1] + n_s, dtype=np.int64)
    _decode(state, g.sizes, idx)
    _unpack(g, actions, chosen, act)
    _orders(g, idx, act, orders, arrival, now, pipe)
    _evaluate(g, idx, act, arrival, now, out)
    r = out[0]
    for s in range(n_s):
        nxt[s] = int(out[2 + s])
        for j in range(slots):
            nxt[n_s + s * slots + j] = orders[s] if j == slots - 1 else idx[n_s + s * slots + j + 1]
    for ls in range(g.post.shape[0]):
        p = g.post[ls, idx[first_y + ls], act[ls]]
        r += realised[ls, p] - g.reward[ls, p]
        nxt[first_y + ls] = max(serve_from[ls, p] - demand[ls], 0) + landing[ls, p]
    k = 0
    for ax in range(next_sizes.shape[0]):
        k = k * next_sizes[ax] + nxt[ax]
    return r, k
