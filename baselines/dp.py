"""Exact finite-horizon dynamic programming for tiny allocation scenarios (``tiny-dp``).

What: backward induction over the full state gives the optimal expected profit
from the initial state and an optimal decision for every state and period;
``DPPolicy`` plays that table through the predictor interface.

Model: the simulator's own period cycle (``allocsim.envs.engine``): receipts of the
inbound schedule are booked, the policy allocates whole units from the DC,
demand of each location is served in channel priority order with lost sales,
and the period closes with holding cost on the units on hand at the DC and at
the locations; at the last close leftover units are revalued by
``salvage_value - unit_cost``. Rewards are the terms of the ``profit`` KPI:
revenue - cogs - holding - shipping - lost units x channel shortage penalty
(+ salvage); the episode reward equals it under the default objective weights.

State and why it is exact: at a decision the state is (period, DC on hand per
SKU, on hand per location and SKU). That is the whole Markov state of the class
of scenarios solved here, which ``refusal`` checks:

* no shelf life and no markdowns: a unit earns and costs the same whatever its
  age, so the FIFO age cohorts the model keeps change no reward and are dropped;
* lead time 0 from the DC: nothing is in transit at a decision;
* no supplier orders (replenishment ``none``): DC receipts are the inbound
  schedule, a known function of the period;
* lost sales only, no contracts, no transfer lanes, no days-of-supply cap;
* demand independent across lanes and periods (as ``sample_episode`` draws it),
  per lane from ``DemandProfile.build(net)``; pmfs truncated where the tail is
  below 1e-12 (see ``allocsim.baselines.demand_pmf``).

Decisions are every integer allocation the shared decode can return:
``x[l, s] >= 0``, ``sum_l x[l, s] <=`` DC on hand - safety reserve, and, where
the capacity guardrail is on, ``sum_s (on hand + x) <=`` capacity (more would be
trimmed). Ties go to the allocation listed first (fewer units to earlier
locations first). Anything larger than ``STATE_LIMIT`` states per period or
``ACTION_LIMIT`` allocations per state is refused with its state count.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from allocsim.baselines.demand_pmf import LocationPeriod, lane_pmf, location_period
from allocsim.envs.demand import DemandProfile
from allocsim.envs.network import BIG, Network
from allocsim.envs.scenario.entities import NoReplenishment

if TYPE_CHECKING:
    from allocsim.envs.allocation_env import AllocationEnv

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
STATE_LIMIT = 1_000_000
ACTION_LIMIT = 20_000
_MASKED = -1e30  # value of post-decision states the capacity guardrail forbids


# ------------------------------------------------------------------ refusal
def _log10_states(net: Network) -> float:
    """log10 of the product of the state components' ranges in any scenario (inf: unbounded).

    Components: DC on hand per SKU, on hand per location and SKU, units in transit
    per lead-time slot, outstanding supplier orders per slot, each per age cohort
    where ages matter. Backlogs are not counted, so with backorders this is a lower bound.
    """
    orders = not isinstance(net.scenario.supplier.replenishment, NoReplenishment)
    per_order = np.where(net.supplier_capacity >= BIG, np.inf, net.supplier_capacity).astype(float)
    if net.policy_orders:
        per_order = np.minimum(per_order, net.max_order)
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
    with np.errstate(divide="ignore"):
        total = ages * (np.log10(dc + 1).sum() + np.log10(held + 1).sum())
        total += (slots[:, None] * np.log10(held + 1)).sum()
        total += (lane_slots[:, None] * np.log10(held[net.lane_target] + 1)).sum()
        if supplier_slots:
            total += supplier_slots * np.log10(per_order + 1).sum()
    return float(total)


def _unsupported(net: Network) -> list[str]:
    rails = net.scenario.guardrails
    checks = {
        "transfer lanes": net.n_lanes > 0,
        "supplier orders": not isinstance(net.scenario.supplier.replenishment, NoReplenishment),
        "lead time > 0 from the DC": bool((net.lead_time > 0).any()),
        "backorders": bool(net.backorder_channels),
        "shelf life or markdowns": net.has_shelf_life or net.has_markdown,
        "contracts": bool(net.contract_rights.any()),
        "a days-of-supply cap": rails.max_days_of_supply is not None,
    }
    return [name for name, present in checks.items() if present]


def _fmt_count(log10: float) -> str:
    if math.isinf(log10):
        return "an unbounded number of"
    if log10 < 9:
        return f"{round(10**log10):,}"
    return f"about {10 ** (log10 % 1):.1f}e{int(log10)}"


def refusal(net: Network) -> str | None:
    """Why the exact DP cannot solve ``net`` (one line), or None when it can."""
    name = net.scenario.name
    log_states = _log10_states(net)
    if log_states > math.log10(STATE_LIMIT):
        return (f"scenario {name!r} is too large for the exact DP: {_fmt_count(log_states)} states "
                f"per period (limit {STATE_LIMIT:,}; tiny-dp has 250)")
    missing = _unsupported(net)
    if missing:
        return (f"scenario {name!r} is outside the exact DP's model: it has {', '.join(missing)} "
                "(the DP handles lost sales, same-period delivery and the inbound schedule)")
    n_actions = int(np.prod(_stock_bound(net) + 1))
    if n_actions > ACTION_LIMIT:
        return (f"scenario {name!r} is too large for the exact DP: {n_actions:,} allocations per state "
                f"(limit {ACTION_LIMIT:,})")
    return None


def _stock_bound(net: Network) -> IntArray:
    """Most units of each SKU a location can hold (L, S)."""
    units = net.initial_dc_stock + net.planned_receipts.sum(axis=0) + net.initial_location_stock.sum(axis=0)
    cap = net.capacity if net.scenario.guardrails.enforce_capacity else np.full(net.n_locations, BIG)
    return np.minimum(cap[:, None], units[None, :]).astype(np.int64)


# ----------------------------------------------------------------- solution
@dataclass
class DPSolution:
    """Optimal values and decisions; tensors have axes (DC per SKU, on hand per location x SKU)."""

    net: Network
    value: float  # optimal expected profit from the initial state
    values: list[FloatArray]  # per period, over pre-decision states
    choice: list[IntArray]  # per period, index into ``actions``
    actions: IntArray  # (n, L, S) candidate allocations
    initial: tuple[int, ...]
    states: int  # states per period (largest)
    seconds: float

    def index(self, period: int, dc_on_hand: IntArray, on_hand: IntArray) -> tuple[int, ...]:
        idx = (*np.asarray(dc_on_hand).tolist(), *np.asarray(on_hand).ravel().tolist())
        shape = self.values[period].shape
        if any(not 0 <= i < n for i, n in zip(idx, shape, strict=True)):
            raise ValueError(f"state {idx} of period {period} is outside the DP's table {shape}")
        return tuple(int(i) for i in idx)

    def allocation(self, period: int, dc_on_hand: IntArray, on_hand: IntArray) -> IntArray:
        """The optimal allocation (L, S) in this state."""
        return self.actions[self.choice[period][self.index(period, dc_on_hand, on_hand)]].copy()

    def table(self, threshold: float = 1e-12) -> list[dict[str, Any]]:
        """The optimal policy on every state it reaches with probability > ``threshold``.

        One row per period and state: its probability, the state, the optimal
        allocation and the optimal expected profit to go from there.
        """
        net, rows = self.net, []
        sku_cols = [f"dc.{s}" for s in net.skus]
        loc_cols = [f"{loc}.{s}" for loc in net.locations for s in net.skus]
        for t, occupancy in enumerate(_occupancy(self)):
            for idx in zip(*np.nonzero(occupancy > threshold), strict=True):
                ship = self.actions[self.choice[t][idx]].ravel()
                row: dict[str, Any] = {"period": t, "probability": float(occupancy[idx])}
                row.update(dict(zip(sku_cols + loc_cols, map(int, idx), strict=True)))
                row.update({f"ship.{c}": int(u) for c, u in zip(loc_cols, ship, strict=True)})
                row["value_to_go"] = float(self.values[t][idx])
                rows.append(row)
        return rows


# ------------------------------------------------------------------- solver
def _axis(values: FloatArray, axis: int, ndim: int) -> FloatArray:
    shape = [1] * ndim
    shape[axis] = len(values)
    return values.reshape(shape)


class _Periods:
    """Per period: DC sizes, receipts, and the outlook of each location x SKU."""

    def __init__(self, net: Network, profile: DemandProfile) -> None:
        self.net = net
        self.bound = _stock_bound(net)
        self.dc_max = net.initial_dc_stock[None, :] + np.cumsum(net.planned_receipts, axis=0)  # (T, S)
        # channels of each location in the order the model serves them
        self.channels = [[c for c in net.priority_order if net.serves[i, c]] for i in range(net.n_locations)]
        pairs = [(l_, s, self.channels[l_]) for l_ in range(net.n_locations) for s in range(net.n_skus)]
        self.outlook: list[list[LocationPeriod]] = [
            [location_period([lane_pmf(profile, t, l_, s, c) for c in chans], int(self.bound[l_, s]))
             for l_, s, chans in pairs]
            for t in range(net.periods)
        ]
        # per (l, s): margin + shortage penalty of a unit sold to each of the location's channels
        self.price = [net.price[s, chans] - net.unit_cost[s] + net.shortage_penalty[chans]
                      for _, s, chans in pairs]

    def shape(self, t: int) -> tuple[int, ...]:
        return (*(self.dc_max[t] + 1).tolist(), *(self.bound.ravel() + 1).tolist())

    def reward(self, t: int) -> FloatArray:
        """Expected profit of period ``t`` from its post-decision state (before shipping cost)."""
        net = self.net
        last = t == net.periods - 1
        ndim = net.n_skus * (1 + net.n_locations)
        keep = -net.holding_cost + (net.salvage_value - net.unit_cost if last else 0.0)
        total = np.zeros(self.shape(t))
        for s in range(net.n_skus):
            total = total + _axis(keep[s] * np.arange(self.dc_max[t, s] + 1.0), s, ndim)
        for i, out in enumerate(self.outlook[t]):
            l_, s = divmod(i, net.n_skus)
            pen = net.shortage_penalty[self.channels[l_]]
            earn = out.served @ self.price[i] - pen @ out.mean + keep[s] * out.leftover
            total = total + _axis(earn, net.n_skus + i, ndim)
        return total


def _candidates(net: Network, bound: IntArray) -> IntArray:
    ranges = [range(int(b) + 1) for b in bound.ravel()]
    acts = np.array(list(itertools.product(*ranges)), dtype=np.int64).reshape(-1, *bound.shape)
    if net.scenario.guardrails.enforce_capacity:
        acts = acts[(acts.sum(axis=2) <= net.capacity[None, :]).all(axis=1)]
    return acts


def _moves(net: Network, x: IntArray, dc_max: IntArray, bound: IntArray) -> tuple[tuple, tuple] | None:
    """(pre-decision slices, post-decision slices) where allocation ``x`` is feasible, or None."""
    dest, src = [], []
    for s, units in enumerate(x.sum(axis=0).tolist()):
        start = units + (int(net.safety_reserve[s]) if units else 0)
        if start > dc_max[s]:
            return None
        dest.append(slice(start, None))
        src.append(slice(start - units, int(dc_max[s]) - units + 1))
    for units, top in zip(x.ravel().tolist(), bound.ravel().tolist(), strict=True):
        dest.append(slice(0, top - units + 1))
        src.append(slice(units, top + 1))
    return tuple(dest), tuple(src)


def _capacity_ok(net: Network, shape: tuple[int, ...], bound: IntArray) -> NDArray[np.bool_] | None:
    if not net.scenario.guardrails.enforce_capacity:
        return None
    ndim, ok = len(shape), np.ones(shape, dtype=bool)
    for l_ in range(net.n_locations):
        held = np.zeros([1] * ndim, dtype=np.int64)
        for s in range(net.n_skus):
            held = held + _axis(np.arange(bound[l_, s] + 1), net.n_skus + l_ * net.n_skus + s, ndim)
        ok &= held <= net.capacity[l_]
    return ok


def _expect_next(periods: _Periods, t: int, later: FloatArray) -> FloatArray:
    """E[V_{t+1}] over post-decision states of ``t``: receipts shift the DC, demand the locations."""
    net = periods.net
    receipts = net.planned_receipts[t + 1]
    view = tuple(slice(int(r), int(r + m + 1)) for r, m in zip(receipts, periods.dc_max[t], strict=True))
    out = later[view]
    for i, outlook in enumerate(periods.outlook[t]):
        ax = net.n_skus + i
        out = np.moveaxis(np.tensordot(out, outlook.transition, axes=([ax], [1])), -1, ax)
    return out


def solve(net: Network, profile: DemandProfile | None = None) -> DPSolution:
    """Backward induction over every period; ValueError (one line) for scenarios it refuses."""
    reason = refusal(net)
    if reason is not None:
        raise ValueError(reason)
    started = time.perf_counter()
    periods = _Periods(net, profile or DemandProfile.build(net))
    bound = periods.bound
    actions = _candidates(net, bound)
    cost = (actions.sum(axis=2) * net.shipping_cost[None, :]).sum(axis=1)
    values: list[FloatArray] = [np.empty(0)] * net.periods
    choice: list[IntArray] = [np.empty(0, dtype=np.int64)] * net.periods
    for t in range(net.periods - 1, -1, -1):
        post = periods.reward(t)
        if t < net.periods - 1:
            post = post + _expect_next(periods, t, values[t + 1])
        ok = _capacity_ok(net, post.shape, bound)
        allowed = post if ok is None else np.where(ok, post, _MASKED)
        best, arg = post.copy(), np.zeros(post.shape, dtype=np.int64)  # action 0 ships nothing
        for a in range(1, len(actions)):
            move = _moves(net, actions[a], periods.dc_max[t], bound)
            if move is None:
                continue
            dest, src = move
            cand = allowed[src] - cost[a]
            better = cand > best[dest]
            best[dest] = np.where(better, cand, best[dest])
            arg[dest] = np.where(better, a, arg[dest])
        values[t], choice[t] = best, arg
    initial = (*(net.initial_dc_stock + net.planned_receipts[0]).tolist(),
               *net.initial_location_stock.ravel().tolist())
    return DPSolution(
        net=net, value=float(values[0][initial]), values=values, choice=choice, actions=actions,
        initial=tuple(int(i) for i in initial), states=max(v.size for v in values),
        seconds=time.perf_counter() - started,
    )


def _occupancy(sol: DPSolution) -> list[FloatArray]:
    """Probability of each pre-decision state per period when the optimal policy is followed."""
    net = sol.net
    periods = _Periods(net, DemandProfile.build(net))
    mass = np.zeros(sol.values[0].shape)
    mass[sol.initial] = 1.0
    out = []
    for t in range(net.periods):
        out.append(mass)
        if t == net.periods - 1:
            break
        post = np.zeros_like(mass)
        for a in np.unique(sol.choice[t]).tolist():
            move = _moves(net, sol.actions[a], periods.dc_max[t], periods.bound)
            if move is None:
                continue
            dest, src = move
            post[src] += np.where(sol.choice[t][dest] == a, mass[dest], 0.0)
        for i, outlook in enumerate(periods.outlook[t]):
            ax = net.n_skus + i
            post = np.moveaxis(np.tensordot(post, outlook.transition, axes=([ax], [0])), -1, ax)
        mass = np.zeros(sol.values[t + 1].shape)
        view = tuple(slice(int(r), int(r + m + 1))
                     for r, m in zip(net.planned_receipts[t + 1], periods.dc_max[t], strict=True))
        mass[view] = post
    return out


# ------------------------------------------------------------- the policy
_SOLVED: dict[tuple[str, int], DPSolution] = {}


def solution_for(net: Network, profile: DemandProfile | None = None) -> DPSolution:
    """The DP solution of ``net``, solved once per process and scenario content."""
    profile = profile or DemandProfile.build(net)
    replay = b"" if profile.replay is None else profile.replay.tobytes()
    key = (net.scenario.content_hash(), hash(profile.mean.tobytes() + replay))
    if key not in _SOLVED:
        _SOLVED[key] = solve(net, profile)
    return _SOLVED[key]


class DPPolicy:
    """The exact DP's optimal allocation, looked up in its table, as a predictor.

    Only for scenarios ``refusal`` accepts; anything else raises ValueError naming why.
    Reads ``env.state`` of the one env it is bound to (like the rule sets).
    """

    def __init__(self, env: AllocationEnv, seed: int | None = None) -> None:
        self.env = env
        self.solution = solution_for(env.network, env.profile)

    def predict(
        self,
        observation: NDArray[np.float32],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[NDArray[np.float32], None]:
        obs = np.asarray(observation)
        if obs.ndim > 1 and obs.shape[0] != 1:
            raise ValueError(f"the DP policy drives one env; got a batch of {obs.shape[0]} observations")
        snap = self.env.state
        alloc = self.solution.allocation(snap.period, snap.dc_on_hand, snap.on_hand)
        action = self.env.action_layout.encode(alloc, snap.dc_available)
        return (action[None] if obs.ndim > 1 else action), None
