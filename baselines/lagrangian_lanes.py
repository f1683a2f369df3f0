"""One location x SKU on its own, buying DC units at a price per period: solved exactly by DP.

The Lagrangian bound (``allocsim.baselines.lagrangian_bound``) prices the DC's stock
at ``lam[t, s]`` per unit shipped in period ``t``; a lane (location ``l``, SKU ``s``)
then faces a single-location lost-sales problem with no one to share with. This
module solves it exactly for lanes whose demand comes from one channel that loses
unmet units and has no advance notice (where the simulator sells ``min(stock, D)``
and a greedy sale is optimal), and gives the optimal policy's expected shipments
per period (the lane's column in the bound's master LP). A lane whose one channel
backorders part of its unmet demand (lead time at least 1, no notice) is solved by
``allocsim.baselines.lagrangian_backorder``: a relaxation (infinite patience, free
waiting) solved exactly, never below the lane.

The lane's problem is a relaxation of what a lane can do in the simulator: capacity
is ``on hand + shipped <= capacity`` for this SKU alone (the simulator counts every
SKU and everything in transit), markdowns, expiry and the days-of-supply cap are
dropped (a lane of a SKU with a shelf life may instead dispose of units on hand at each
decision, ``allocsim.baselines.lagrangian_disposal``: without it dropping expiry would not
be a relaxation), and a lead time ``d >= 2`` is replaced by a decision two periods before the
arrival, with the last two periods' shipments as the state, at the price of the period
it would have been sent in (``allocsim.baselines.lagrangian_pipeline``: exact for lead 2;
for longer leads the lane decides later, knowing more, and a shipment sent in period
``t`` is priced ``lam[t]`` either way), or, where the capacity is too large for that
state, by a decision one period before the arrival (the same relaxation, looser).
Shipments that would land after the horizon are not in the DP (the master prices
them, ``salvage - cost - shipping`` a unit).

Recursion (``x`` on hand at the decision, ``D`` the period's demand, ``p`` the
shipment's price plus shipping cost):

* lead 0: ``V_t(x) = max_{x <= y <= cap} r_t(y) - p (y - x) + E V_{t+1}((y - D)^+)``;
* lead >= 1: ``V_t(x) = r_t(x) + max_{0 <= q <= cap - x} -p q + E V_{t+1}((x - D)^+ + q)``;

with ``r_t(y) = m E min(y, D) - h E (y - D)^+`` (+ the salvage revaluation of the
close stock in the last period), ``m = price - unit cost + shortage penalty`` (the
penalty on all demand is a constant added outside). Where ``V_{t+1}`` is concave
the inner maximum stops at the first non-improving ``q`` (exact); elsewhere it
searches every ``q``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

import allocsim.envs.engine  # noqa: F401  (sets numba's cache folder before anything compiles)
from allocsim.baselines.demand_pmf import lane_pmf
from allocsim.baselines.lagrangian_backorder import backward_backorder, depth_for, eligible, forward_backorder
from allocsim.baselines.lagrangian_disposal import disposal_cost, envelope, terminal
from allocsim.baselines.lagrangian_pipeline import backward_two, exact_lead_two, forward_two
from allocsim.envs.demand import DemandProfile
from allocsim.envs.network import BIG, Network

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
CONCAVE_TOL = 1e-9


@dataclass(frozen=True)
class Lane:
    """One location x SKU solvable by ``solve_lane``: demand pmfs per period and the lane's numbers."""

    loc: int
    sku: int
    pmf: FloatArray  # (T, W) demand pmf per period, zero-padded
    cap: int  # most units on hand + shipped at a decision
    lead: int
    ship_cost: float
    holding: float
    margin: float  # per unit sold: price - unit cost + shortage penalty
    end: float  # salvage - unit cost: revaluation of a unit left at the last close
    start: int  # on hand at the first decision
    penalty_constant: float  # - shortage penalty x expected demand over the horizon
    backorder: float = 0.0  # share of unmet demand the channel queues (``lagrangian_backorder``); 0: lost
    dispose: float = -1.0  # cost of disposing of a unit at a decision (``lagrangian_disposal``); < 0: never


@dataclass(frozen=True)
class LaneSolution:
    """The lane's optimal value at its start at the given prices, and its expected shipments."""

    value: float  # includes the prices paid
    shipped: FloatArray  # (T,) expected units sent per period

    def profit(self, price: FloatArray) -> float:
        """The same policy's expected profit with the DC's units free (the master LP's column gain)."""
        return self.value + float(price @ self.shipped)


def dp_channel(net: Network, profile: DemandProfile, loc: int, sku: int) -> int | None:
    """The lane's one demanded channel if ``solve_lane`` can take it (-1: no demand), else None: lost sales,
    or backorders at a lead time of at least 1 where ``lagrangian_backorder``'s relaxation is valid; never
    with advance notice or contracts."""
    demanded = np.flatnonzero((profile.mean[: net.periods, loc, sku] > 0).any(axis=0))
    if len(demanded) == 0:
        return -1
    if len(demanded) > 1:
        return None
    c = int(demanded[0])
    if net.advance_notice[c] != 0 or net.contract_rights[sku, c] != 0:
        return None
    if net.backorder_fraction[c] == 0:
        return c
    margin = float(net.price[sku, c] - net.unit_cost[sku] + net.shortage_penalty[c])
    end = float(net.salvage_value[sku] - net.unit_cost[sku])
    backorders = int(net.lead_time[loc]) >= 1 and eligible(margin, end)
    return c if backorders else None


def system_units(net: Network) -> IntArray:
    """(S,) most units of each SKU that can ever exist in the network (a lane's state never exceeds it)."""
    cap = np.where(net.supplier_capacity >= BIG, 0, net.supplier_capacity)
    unlimited = net.supplier_capacity >= BIG
    total = (net.initial_dc_stock + net.initial_location_stock.sum(axis=0) + net.planned_receipts.sum(axis=0)
             + cap * net.periods)
    return np.where(unlimited & ~net.policy_orders, BIG, total).astype(np.int64)


def _pmf(profile: DemandProfile, t: int, loc: int, sku: int, channel: int,
         cache: dict[tuple[float, ...], FloatArray]) -> FloatArray:
    """``lane_pmf``, shared between lanes and periods with the same distribution and mean."""
    if channel < 0:
        return np.ones(1)
    at = (loc, sku, channel)
    key = (float(profile.distribution[at]), float(profile.mean[t, loc, sku, channel]),
           float(profile.dispersion[at]), float(profile.cv[at]))
    if key not in cache:
        cache[key] = lane_pmf(profile, t, loc, sku, channel)
    return cache[key]


def make_lane(net: Network, profile: DemandProfile, loc: int, sku: int, channel: int,
              cache: dict[tuple[float, ...], FloatArray] | None = None) -> Lane:
    """The lane's numbers (``channel`` from ``dp_channel``; ``cache`` shares pmfs between lanes)."""
    T, cache = net.periods, {} if cache is None else cache
    pmfs = [_pmf(profile, t, loc, sku, channel, cache) for t in range(T)]
    pmf = np.zeros((T, max(len(p) for p in pmfs)))
    for t, p in enumerate(pmfs):
        pmf[t, : len(p)] = p
    mean = float((pmf * np.arange(pmf.shape[1])).sum())
    pen = float(net.shortage_penalty[channel]) if channel >= 0 else 0.0
    margin = float(net.price[sku, channel] - net.unit_cost[sku]) + pen if channel >= 0 else 0.0
    start = int(net.initial_location_stock[loc, sku])
    cap = int(min(int(net.capacity[loc]), int(system_units(net)[sku]) + start))
    hold, dispose = disposal_cost(float(net.unit_cost[sku]), float(net.location_holding_cost[loc, sku]),
                                  bool(net.expired_mask[:, sku].any()))
    return Lane(loc, sku, pmf, max(cap, start), int(net.lead_time[loc]), float(net.shipping_cost[loc]),
                hold, margin, float(net.salvage_value[sku] - net.unit_cost[sku]), start, -pen * mean,
                float(net.backorder_fraction[channel]) if channel >= 0 else 0.0, dispose)


def solve_lane(lane: Lane, price: FloatArray) -> LaneSolution:
    """The lane's exact optimum at DC prices ``price`` (T,) per unit sent in each period."""
    if lane.cap > 20_000:
        raise ValueError(f"lane ({lane.loc}, {lane.sku}) holds up to {lane.cap} units: too many for the DP")
    price = np.asarray(price, dtype=np.float64)
    end, d = terminal(lane.end, lane.dispose), lane.dispose
    if lane.backorder > 0:
        depth = depth_for(lane.pmf, lane.backorder)
        values, plan, keep = backward_backorder(lane.pmf, lane.backorder, lane.cap, depth, lane.lead,
                                                lane.ship_cost, lane.holding, lane.margin, end, price, d)
        return LaneSolution(value=float(values[lane.start + depth]) + lane.penalty_constant,
                            shipped=forward_backorder(lane.pmf, lane.backorder, lane.cap, depth, lane.lead,
                                                      lane.start, plan, keep))
    if exact_lead_two(lane.lead, lane.cap):
        values, plan, keep = backward_two(lane.pmf, lane.cap, lane.ship_cost, lane.holding, lane.margin, end,
                                          price, lane.lead, d)
        return LaneSolution(value=float(values[lane.start, 0]) + lane.penalty_constant,
                            shipped=forward_two(lane.pmf, lane.cap, lane.start, plan, lane.lead, keep))
    value, policy, keep = _backward(lane.pmf, lane.cap, lane.lead, lane.ship_cost, lane.holding, lane.margin,
                                    end, price, d)
    shipped = _forward(lane.pmf, lane.cap, lane.lead, lane.start, policy, keep)
    return LaneSolution(value=float(value[lane.start]) + lane.penalty_constant, shipped=shipped)


@njit(cache=True)
def _reward(pmf: FloatArray, y: int, margin: float, keep: float) -> float:
    """``margin x E min(y, D) + keep x E (y - D)^+`` for the pmf of one period."""
    sold = 0.0
    for k in range(pmf.shape[0]):
        if pmf[k] > 0.0:
            sold += pmf[k] * min(y, k)
    return margin * sold + keep * (y - sold)


@njit(cache=True)
def _next_value(pmf: FloatArray, w: FloatArray, y: int, q: int) -> float:
    """``E W((y - D)^+ + q)``."""
    total = 0.0
    for k in range(pmf.shape[0]):
        if pmf[k] > 0.0:
            total += pmf[k] * w[max(y - k, 0) + q]
    return total


@njit(cache=True)
def _is_concave(w: FloatArray) -> bool:
    scale = 1.0 + np.abs(w).max()
    for x in range(1, w.shape[0] - 1):  # noqa: SIM110 (numba compiles no generator in all())
        if w[x + 1] - 2.0 * w[x] + w[x - 1] > CONCAVE_TOL * scale:
            return False
    return True


@njit(cache=True)
def _backward(pmf: FloatArray, cap: int, lead: int, ship: float, hold: float, margin: float, end: float,
              price: FloatArray, dispose: float = -1.0) -> tuple[FloatArray, IntArray, IntArray]:
    T = pmf.shape[0]
    w = np.zeros(cap + 1)
    policy = np.zeros((T, cap + 1), dtype=np.int64)
    keep = np.zeros((T, cap + 1), dtype=np.int64)  # units kept at the decision (disposal, ``dispose >= 0``)
    for t in range(T - 1, -1, -1):
        keep_value = -hold + (end if t == T - 1 else 0.0)
        v = np.empty(cap + 1)
        concave = _is_concave(w)
        if lead == 0:
            p = price[t] + ship
            best, arg = -np.inf, cap
            for y in range(cap, -1, -1):  # suffix maximum of F(y) - p y, smallest maximiser
                f = _reward(pmf[t], y, margin, keep_value) + _next_value(pmf[t], w, y, 0) - p * y
                if f >= best:
                    best, arg = f, y
                v[y] = best + p * y
                policy[t, y] = arg - y
        else:
            send = t + 1 - lead
            orders = t + 1 <= T - 1 and send >= 0
            p = price[send] + ship if orders else 0.0
            for x in range(cap + 1):
                best = _next_value(pmf[t], w, x, 0)
                arg = 0
                if orders:
                    for q in range(1, cap - x + 1):
                        f = _next_value(pmf[t], w, x, q) - p * q
                        if f > best:
                            best, arg = f, q
                        elif concave:
                            break
                v[x] = _reward(pmf[t], x, margin, keep_value) + best
                policy[t, x] = arg
        envelope(v, dispose, 0, keep[t])
        w = v
    return w, policy, keep


@njit(cache=True)
def _forward(pmf: FloatArray, cap: int, lead: int, start: int, policy: IntArray,
             keep: IntArray) -> FloatArray:
    """Expected units sent per period by ``policy`` from ``start`` units on hand (``keep[t, x]`` of them
    kept at the decision)."""
    T = pmf.shape[0]
    shipped = np.zeros(T)
    dist = np.zeros(cap + 1)
    dist[start] = 1.0
    for t in range(T):
        nxt = np.zeros(cap + 1)
        for x in range(cap + 1):
            if dist[x] == 0.0:
                continue
            k = keep[t, x]
            q = policy[t, k]
            y, extra = (k + q, 0) if lead == 0 else (k, q)
            if q > 0:
                shipped[t if lead == 0 else t + 1 - lead] += dist[x] * q
            for k in range(pmf.shape[1]):
                if pmf[t, k] > 0.0:
                    nxt[max(y - k, 0) + extra] += dist[x] * pmf[t, k]
        dist = nxt
    return shipped
