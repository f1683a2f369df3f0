"""The exact DP's model of one scenario: which scenarios it accepts, its state grid and period tables.

The DP (``allocsim.baselines.dp``) models the simulator's own period cycle
(``allocsim.envs.engine``) for the class of scenarios ``refusal`` accepts:

1. receipts: supplier orders and inbound-schedule units due now reach the DC; last
   period's dispatch reaches a lead-time-1 location;
2. decision: the policy allocates whole units from the DC (at most on hand - safety
   reserve; within a location's capacity, counting nothing in transit: a lead-time-1
   shipment has arrived by the next decision); the DC's rule (base-stock / min-max)
   orders ``up_to - position`` when ``position <= below``, where ``position`` = DC on
   hand + on order (outstanding orders and every future inbound-schedule receipt) BEFORE
   this period's allocation, capped by supplier capacity (or, with ``replenishment:
   policy``, the policy chooses the order); it arrives after the fixed supplier lead
   time (at once when 0, after the allocation has left; never when past the horizon);
3. demand is served at each location from its on-hand stock, channels in priority order,
   unmet demand lost with the channel's shortage penalty;
4. close: holding on DC and location stock (not in transit); at the last close every unit
   at the DC, at a location or in transit to one is revalued by ``salvage - unit cost``.

State at a decision: DC on hand per SKU; supplier orders outstanding per SKU and arrival
slot (lead time - 1 slots); on hand per location and SKU. With no shelf life or markdowns
a unit's age changes no reward, so the FIFO age cohorts are not in the state.

Per location x SKU axis the DP keeps a *post* index of the decision: the units the
period's demand is served from (lead time 0: on hand + shipped) or the pair (on hand,
shipped) (lead time 1: served from on hand, the shipment lands on top). The expected
next value over the post indices is a contraction of the next period's values with one
matrix per axis (``post_transition``), so the maximisation is a lookup per action.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from allocsim.baselines.demand_pmf import LocationPeriod, lane_pmf, location_period
from allocsim.envs.demand import DemandProfile
from allocsim.envs.network import BIG, Network
from allocsim.envs.replenishment import order_thresholds
from allocsim.envs.scenario.entities import FixedLeadTime, NoReplenishment

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
STATE_LIMIT = 1_000_000  # pre-decision states per period
ACTION_LIMIT = 50_000  # candidate allocations
POST_LIMIT = 40_000_000  # entries of the expected-next-value table of one period


# ------------------------------------------------------------------ refusal
def log10_states_estimate(net: Network) -> float:
    """log10 of the product of the state components' ranges in any scenario (inf: unbounded).

    Components: DC on hand per SKU, on hand per location and SKU, units in transit
    per lead-time slot, outstanding supplier orders per slot, each per age cohort
    where ages matter. Backlogs are not counted, so with backorders this is a lower bound.
    """
    orders = not isinstance(net.scenario.supplier.replenishment, NoReplenishment)
    per_order = np.where(net.supplier_capacity >= BIG, np.inf, net.supplier_capacity).astype(float)
    if net.policy_orders:
        per_order = np.minimum(per_order, net.max_order)
    elif orders:
        per_order = np.minimum(per_order, order_thresholds(net)[1].astype(float))
    incoming = net.planned_receipts.sum(axis=0) + (per_order * net.periods if orders else 0.0)
    dc = net.initial_dc_stock + incoming
    units = dc + net.initial_location_stock.sum(axis=0)
    cap = np.where(net.capacity >= BIG, np.inf, net.capacity).astype(float)
    if not net.scenario.guardrails.enforce_capacity:
        cap = np.full_like(cap, np.inf)
    held = np.minimum(cap[:, None], units[None, :])  # (L, S)
    ages = net.age_buckets if (net.has_shelf_life or net.has_markdown) else 1
    slots = np.maximum(net.lead_time - 1, 0)
    lane_slots = np.maximum(net.lane_lead + net.lane_delay - 1, 0)
    supplier_slots = max(net.scenario.supplier.lead_time.max_periods - 1, 0) if orders else 0
    with np.errstate(divide="ignore", invalid="ignore"):
        total = ages * (np.log10(dc + 1).sum() + np.log10(held + 1).sum())
        total += (slots[:, None] * np.log10(held + 1)).sum()
        total += (lane_slots[:, None] * np.log10(held[net.lane_target] + 1)).sum()
        if supplier_slots:
            total += supplier_slots * np.log10(per_order + 1).sum()
    return float(total)


def unsupported(net: Network) -> list[str]:
    """The features of ``net`` outside the DP's class (empty when it is inside)."""
    rails = net.scenario.guardrails
    supplier = net.scenario.supplier
    checks = {
        "transfer lanes": net.n_lanes > 0,
        "a random supplier lead time": not isinstance(supplier.lead_time, FixedLeadTime),
        "a location lead time above 1": bool((net.lead_time > 1).any()),
        "backorders": bool(net.backorder_channels),
        "shelf life or markdowns": net.has_shelf_life or net.has_markdown,
        "contracts": bool(net.contract_rights.any()),
        "a days-of-supply cap": rails.max_days_of_supply is not None,
        "a working-capital cap": rails.working_capital_cap is not None,
    }
    return [name for name, present in checks.items() if present]


def fmt_count(log10: float) -> str:
    """A state count for a message: exact below 1e9, else its order of magnitude."""
    if math.isinf(log10):
        return "an unbounded number of"
    if log10 < 9:
        return f"{round(10**log10):,}"
    return f"about {10 ** (log10 % 1):.1f}e{int(log10)}"


# ------------------------------------------------------------------ the grid
def _rule_orders(net: Network) -> bool:
    return not isinstance(net.scenario.supplier.replenishment, NoReplenishment)


@dataclass(frozen=True)
class Grid:
    """Sizes and bounds of the state grid (exact for the accepted class)."""

    dc_max: IntArray  # (T, S) most DC units at a decision of period t
    order_max: IntArray  # (S,) largest order (0 without orders)
    slots: int  # supplier pipeline slots per SKU (supplier lead time - 1, or 0)
    supplier_lead: int
    stock_max: IntArray  # (L, S) most units on hand at a location

    def shape(self, t: int) -> tuple[int, ...]:
        """Axes of period ``t``'s pre-decision states: DC per SKU, pipeline per SKU x slot, on hand."""
        pipe = [int(m) + 1 for m in self.order_max for _ in range(self.slots)]
        return (*(self.dc_max[t] + 1).tolist(), *pipe, *(self.stock_max.ravel() + 1).tolist())

    def states(self) -> int:
        return max(int(np.prod(self.shape(t), dtype=np.float64)) for t in range(len(self.dc_max)))


def grid_of(net: Network) -> Grid:
    """Bounds on every reachable state of ``net`` (see the module docstring for the cycle)."""
    up_to = order_thresholds(net)[1]
    orders = _rule_orders(net)
    lead = net.scenario.supplier.lead_time.max_periods if orders else 0
    cap = np.minimum(net.supplier_capacity, net.max_order if net.policy_orders else np.maximum(up_to, 0))
    order_max = (cap if orders else np.zeros(net.n_skus)).astype(np.int64)
    # position = DC + on order never rises above max(its start, up_to): orders top it up to
    # up_to at most and allocations lower it; DC on hand is at most the position
    position0 = net.initial_dc_stock + net.planned_receipts.sum(axis=0)
    arrived = net.initial_dc_stock[None, :] + np.cumsum(net.planned_receipts, axis=0)
    if orders:
        arrived = arrived + order_max[None, :] * np.arange(net.periods)[:, None]
    if orders and not net.policy_orders:
        arrived = np.minimum(arrived, np.maximum(position0, up_to)[None, :])
    # every unit ever in the network: a location never holds more (orders keep refilling the DC)
    units = position0 + order_max * net.periods + net.initial_location_stock.sum(axis=0)
    cap_loc = net.capacity if net.scenario.guardrails.enforce_capacity else np.full(net.n_locations, BIG)
    stock_max = np.minimum(cap_loc[:, None], units[None, :]).astype(np.int64)
    return Grid(dc_max=arrived.astype(np.int64), order_max=order_max, slots=max(lead - 1, 0),
                supplier_lead=int(lead), stock_max=stock_max)


def candidate_actions(net: Network, grid: Grid) -> IntArray:
    """Every allocation (n, L*S) within the stock bounds and capacities, fewer units first.

    Listed in ``itertools.product`` order (the last location x SKU varies fastest), so the
    DP's ties go to the allocation listed first.
    """
    bounds = grid.stock_max.ravel()
    grids = np.meshgrid(*[np.arange(int(b) + 1) for b in bounds], indexing="ij")
    acts = np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)
    if net.scenario.guardrails.enforce_capacity:
        per_location = acts.reshape(len(acts), net.n_locations, net.n_skus).sum(axis=2)
        acts = acts[(per_location <= net.capacity[None, :]).all(axis=1)]
    return np.ascontiguousarray(acts)


# ------------------------------------------------------------ period tables
@dataclass(frozen=True)
class Axis:
    """One location x SKU: its post indices and what each means for the period."""

    post: IntArray  # (Y+1, Y+1) post index of (on hand, shipped); -1 beyond the stock bound
    serve_from: IntArray  # (P,) units the period's demand is served from
    landing: IntArray  # (P,) units that land on top after the demand (lead time 1)


def axis_of(stock_max: int, lead_time: int) -> Axis:
    """Post indices of one location x SKU with ``stock_max`` units at most and lead time 0 or 1."""
    size = stock_max + 1
    y, x = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    fits = y + x <= stock_max
    if lead_time == 0:
        post = np.where(fits, y + x, -1)
        return Axis(post=post.astype(np.int64), serve_from=np.arange(size, dtype=np.int64),
                    landing=np.zeros(size, dtype=np.int64))
    post = np.full((size, size), -1, dtype=np.int64)
    post[fits] = np.arange(int(fits.sum()))
    return Axis(post=post, serve_from=y[fits].astype(np.int64), landing=x[fits].astype(np.int64))


class PeriodTables:
    """Per period and location x SKU: expected reward and next-stock distribution of each post index."""

    def __init__(self, net: Network, grid: Grid, profile: DemandProfile) -> None:
        self.net = net
        self.axes = [axis_of(int(b), int(net.lead_time[l_]))
                     for l_ in range(net.n_locations) for b in grid.stock_max[l_]]
        self.channels = [[c for c in net.priority_order if net.serves[i, c]] for i in range(net.n_locations)]
        self.profile = profile
        self.grid = grid

    def outlook(self, t: int, ls: int) -> LocationPeriod:
        l_, s = divmod(ls, self.net.n_skus)
        pmfs = [lane_pmf(self.profile, t, l_, s, c) for c in self.channels[l_]]
        return location_period(pmfs, int(self.grid.stock_max[l_, s]))

    def unit_earnings(self, ls: int) -> FloatArray:
        """Margin + shortage penalty of a unit sold to each of the location's channels (priority order)."""
        l_, s = divmod(ls, self.net.n_skus)
        chans = self.channels[l_]
        return self.net.price[s, chans] - self.net.unit_cost[s] + self.net.shortage_penalty[chans]

    def reward(self, t: int, ls: int, out: LocationPeriod) -> FloatArray:
        """Expected profit of the period at location x SKU ``ls`` per post index (without shipping)."""
        net, axis = self.net, self.axes[ls]
        l_, s = divmod(ls, net.n_skus)
        last = t == net.periods - 1
        keep = -location_holding(net)[l_, s] + (net.salvage_value[s] - net.unit_cost[s] if last else 0.0)
        pen = net.shortage_penalty[self.channels[l_]]
        earn = out.served @ self.unit_earnings(ls) - pen @ out.mean + keep * out.leftover
        landed = (net.salvage_value[s] - net.unit_cost[s]) * axis.landing if last else 0.0
        return earn[axis.serve_from] + landed

    def post_transition(self, ls: int, out: LocationPeriod) -> FloatArray:
        """``M[p, y']`` = P(next on hand ``y'`` | post index ``p``)."""
        axis = self.axes[ls]
        size = out.transition.shape[0]
        m = np.zeros((len(axis.serve_from), size))
        for p, (y, x) in enumerate(zip(axis.serve_from.tolist(), axis.landing.tolist(), strict=True)):
            m[p, x:] = out.transition[y, : size - x]
        return m


def dc_holding(net: Network) -> FloatArray:
    """Holding cost per unit and period at the DC (S,)."""
    return net.dc_holding_cost.astype(np.float64)


def location_holding(net: Network) -> FloatArray:
    """Holding cost per unit and period at each location (L, S)."""
    return net.location_holding_cost.astype(np.float64)
