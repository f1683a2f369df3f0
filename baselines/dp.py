"""Exact finite-horizon dynamic programming for small allocation scenarios (``tiny-dp``, ``small-dp``).

What: backward induction over the full state gives the optimal expected profit from
the initial state and an optimal allocation for every state and period; ``DPPolicy``
plays that table through the predictor interface.

Model and state: the simulator's own period cycle, for the class of scenarios
``refusal`` accepts (lost sales; location lead times 0 or 1; the inbound schedule and
supplier orders with a fixed lead time and capacity, by a base-stock or min-max DC rule
or by the policy; no transfers, shelf life, markdowns, contracts, days-of-supply or
working-capital caps).
The cycle, the state and why it is exact: ``allocsim.baselines.dp_model``. Rewards are
the terms of the ``profit`` KPI, which the episode reward equals under the default
objective weights. Demand is independent across lanes and periods (as
``sample_episode`` draws it), per lane from ``DemandProfile.build(net)``; pmfs are
truncated where the tail is below 1e-12 (``allocsim.baselines.demand_pmf``).

Decisions are every integer allocation the shared decode can return: ``x[l, s] >= 0``,
``sum_l x[l, s] <=`` DC on hand - safety reserve, and, where the capacity guardrail is
on, ``sum_s (on hand + x) <=`` capacity (more would be trimmed). Supplier orders are the
scenario's rule, or, with ``replenishment: policy``, decisions too (0 up to ``max_order``
capped by supplier capacity; an order that would arrive after the horizon is 0). Ties go
to the decision listed first (fewer units to earlier locations first, then smaller
orders). Backward induction: per period the expected next value is contracted onto the
post-decision indices (numpy), then every state tries every decision in a compiled loop
(``allocsim.baselines.dp_kernels``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from allocsim.baselines import dp_kernels
from allocsim.baselines.common import one_observation
from allocsim.baselines.dp_model import (
    ACTION_LIMIT,
    POST_LIMIT,
    STATE_LIMIT,
    Grid,
    PeriodTables,
    candidate_actions,
    dc_holding,
    fmt_count,
    grid_of,
    log10_states_estimate,
    unsupported,
)
from allocsim.envs.demand import DemandProfile
from allocsim.envs.network import Network
from allocsim.envs.replenishment import order_thresholds

if TYPE_CHECKING:
    from allocsim.envs.allocation_env import AllocationEnv

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
__all__ = ["ACTION_LIMIT", "STATE_LIMIT", "DPPolicy", "DPSolution", "refusal", "solution_for", "solve"]


# ------------------------------------------------------------------ refusal
def refusal(net: Network) -> str | None:
    """Why the exact DP cannot solve ``net`` (one line), or None when it can."""
    name = net.scenario.name
    missing = unsupported(net)
    estimate = log10_states_estimate(net)
    too_large = (f"scenario {name!r} is too large for the exact DP: {{}} states per period "
                 f"(limit {STATE_LIMIT:,}; tiny-dp has 250)")
    if missing and estimate > np.log10(STATE_LIMIT):
        return too_large.format(fmt_count(estimate))
    if missing:
        return (f"scenario {name!r} is outside the exact DP's model: it has {', '.join(missing)} "
                "(the DP handles lost sales, location lead times 0-1, the inbound schedule and "
                "supplier orders by a base-stock or min-max rule or the policy, with a fixed lead time)")
    grid = grid_of(net)
    if grid.states() > STATE_LIMIT:
        return too_large.format(f"{grid.states():,}")
    n_actions = len(candidate_actions(net, grid)) * order_choices(net, grid)
    if n_actions > ACTION_LIMIT:
        return (f"scenario {name!r} is too large for the exact DP: {n_actions:,} decisions per state "
                f"(limit {ACTION_LIMIT:,})")
    post = _post_entries(net, grid)
    if post > POST_LIMIT:
        return (f"scenario {name!r} is too large for the exact DP: {post:,} post-decision states "
                f"per period (limit {POST_LIMIT:,})")
    return None


def order_choices(net: Network, grid: Grid) -> int:
    """How many supplier orders the policy may choose per state (1 when the rule or nobody orders)."""
    return int(np.prod(grid.order_max + 1)) if net.policy_orders else 1


def _post_entries(net: Network, grid: Grid) -> int:
    size = float(np.prod(grid.dc_max.max(axis=0) + 1)) * float(np.prod(grid.order_max + 1)) ** grid.slots
    for l_ in range(net.n_locations):
        for b in grid.stock_max[l_].tolist():
            size *= (b + 1) * (b + 2) / 2 if net.lead_time[l_] == 1 else b + 1
    return int(size)


# ----------------------------------------------------------------- solution
@dataclass
class DPSolution:
    """Optimal values and decisions; ``values[t]`` has the axes of ``grid.shape(t)``."""

    net: Network
    value: float  # optimal expected profit from the initial state
    values: list[FloatArray]  # per period, over pre-decision states
    choice: list[NDArray[np.int32]]  # per period: allocation index x order choices + order code
    actions: IntArray  # (n, L, S) candidate allocations
    initial: tuple[int, ...]
    states: int  # pre-decision states per period (largest)
    seconds: float
    grid: Grid
    pairs: int = 0  # feasible state-allocation pairs per period (largest)
    profile: DemandProfile | None = field(default=None, repr=False)

    def index(self, period: int, dc_on_hand: IntArray, on_hand: IntArray,
              pipeline: IntArray | None = None) -> tuple[int, ...]:
        """The table index of a state; ``pipeline`` (S, slots) are supplier orders still due."""
        slots = self.net.n_skus * self.grid.slots
        pipe = [0] * slots if pipeline is None else np.asarray(pipeline).ravel().tolist()
        idx = (*np.asarray(dc_on_hand).tolist(), *pipe, *np.asarray(on_hand).ravel().tolist())
        shape = self.values[period].shape
        if any(not 0 <= i < n for i, n in zip(idx, shape, strict=True)):
            raise ValueError(f"state {idx} of period {period} is outside the DP's table {shape}")
        return tuple(int(i) for i in idx)

    @property
    def decisions(self) -> int:
        """Candidate decisions per state: allocations x the orders the policy may choose."""
        return len(self.actions) * order_choices(self.net, self.grid)

    def decode(self, code: int) -> tuple[IntArray, IntArray]:
        """(allocation (L, S), supplier order (S,)) of a choice code; orders 0 unless the policy orders."""
        sizes = self.grid.order_max + 1 if self.net.policy_orders else np.ones(self.net.n_skus, np.int64)
        index, rest = divmod(int(code), int(np.prod(sizes)))
        return self.actions[index].copy(), np.array(np.unravel_index(rest, tuple(sizes)), dtype=np.int64)

    def decision(self, period: int, dc_on_hand: IntArray, on_hand: IntArray,
                 pipeline: IntArray | None = None) -> tuple[IntArray, IntArray]:
        """The optimal (allocation (L, S), supplier order (S,)) in this state."""
        return self.decode(self.choice[period][self.index(period, dc_on_hand, on_hand, pipeline)])

    def allocation(self, period: int, dc_on_hand: IntArray, on_hand: IntArray,
                   pipeline: IntArray | None = None) -> IntArray:
        """The optimal allocation (L, S) in this state."""
        return self.decision(period, dc_on_hand, on_hand, pipeline)[0]

    def table(self, threshold: float = 1e-12) -> list[dict[str, Any]]:
        """The optimal policy on every state it reaches with probability > ``threshold``.

        One row per period and state: its probability, the state, the optimal
        allocation and the optimal expected profit to go from there.
        """
        net, rows = self.net, []
        cols = [f"dc.{s}" for s in net.skus]
        cols += [f"due+{j + 1}.{s}" for s in net.skus for j in range(self.grid.slots)]
        loc_cols = [f"{loc}.{s}" for loc in net.locations for s in net.skus]
        for t, occupancy in enumerate(occupancy_of(self)):
            for idx in zip(*np.nonzero(occupancy > threshold), strict=True):
                alloc, orders = self.decode(self.choice[t][idx])
                ship = alloc.ravel()
                row: dict[str, Any] = {"period": t, "probability": float(occupancy[idx])}
                row.update(dict(zip(cols + loc_cols, map(int, idx), strict=True)))
                row.update({f"ship.{c}": int(u) for c, u in zip(loc_cols, ship, strict=True)})
                if net.policy_orders:
                    row.update({f"order.{s}": int(u) for s, u in zip(net.skus, orders, strict=True)})
                row["value_to_go"] = float(self.values[t][idx])
                rows.append(row)
        return rows


# ------------------------------------------------------------------- solver
class PeriodBuilder:
    """The kernels' arguments and the post-index contractions of each period of one scenario."""

    def __init__(self, net: Network, profile: DemandProfile) -> None:
        self.net, self.grid = net, grid_of(net)
        self.tables = PeriodTables(net, self.grid, profile)
        self.actions = candidate_actions(net, self.grid)
        self.below, self.up_to = order_thresholds(net)
        n_post = max(len(a.serve_from) for a in self.tables.axes)
        self.serve_from = np.zeros((len(self.tables.axes), n_post), dtype=np.int64)
        self.landing = np.zeros_like(self.serve_from)
        size = int(self.grid.stock_max.max()) + 1
        self.post = np.full((len(self.tables.axes), size, size), -1, dtype=np.int64)
        for ls, axis in enumerate(self.tables.axes):
            self.serve_from[ls, : len(axis.serve_from)] = axis.serve_from
            self.landing[ls, : len(axis.landing)] = axis.landing
            self.post[ls, : axis.post.shape[0], : axis.post.shape[1]] = axis.post
        self.first_y = net.n_skus * (1 + self.grid.slots)
        # candidate index of every allocation in the full product of stock bounds (-1: over a capacity)
        full = tuple(int(b) + 1 for b in self.grid.stock_max.ravel())
        self.full_strides = np.array([int(np.prod(full[k + 1 :])) for k in range(len(full))], dtype=np.int64)
        self.action_of = np.full(int(np.prod(full)), -1, dtype=np.int64)
        self.action_of[self.actions @ self.full_strides] = np.arange(len(self.actions))

    def next_shape(self, t: int) -> tuple[int, ...]:
        """Axes of the values the period's decisions lead to (DC axes of size 1 after the last)."""
        if t + 1 < self.net.periods:
            return self.grid.shape(t + 1)
        return (*[1] * self.net.n_skus, *self.grid.shape(t)[self.net.n_skus :])

    def period(self, t: int) -> tuple[dp_kernels.PeriodArgs, list[FloatArray]]:
        """Period ``t``'s kernel arguments (strides still to set) and its post transitions per axis."""
        net, grid = self.net, self.grid
        last = t == net.periods - 1
        outlooks = [self.tables.outlook(t, ls) for ls in range(len(self.tables.axes))]
        reward = np.zeros(self.serve_from.shape)
        for ls, out in enumerate(outlooks):
            r = self.tables.reward(t, ls, out)
            reward[ls, : len(r)] = r
        transitions = [self.tables.post_transition(ls, out) for ls, out in enumerate(outlooks)]
        planned_next = net.planned_receipts[t + 1] if not last else np.zeros(net.n_skus, dtype=np.int64)
        args = dp_kernels.PeriodArgs(
            sizes=np.array(grid.shape(t), dtype=np.int64), n_skus=net.n_skus, slots=grid.slots,
            future=net.planned_receipts[t + 1 :].sum(axis=0).astype(np.int64),
            below=self.below.astype(np.int64), up_to=self.up_to.astype(np.int64),
            order_cap=grid.order_max, orders_arrive=t + grid.supplier_lead < net.periods,
            policy_orders=bool(net.policy_orders),
            lead=grid.supplier_lead, planned_next=planned_next.astype(np.int64),
            reserve=net.safety_reserve.astype(np.int64), hold_dc=dc_holding(net),
            salvage=(net.salvage_value - net.unit_cost) * (1.0 if last else 0.0),
            ship=net.shipping_cost.astype(np.float64), capacity=net.capacity.astype(np.int64),
            enforce=bool(net.scenario.guardrails.enforce_capacity),
            stock_max=grid.stock_max.ravel().astype(np.int64), post=self.post, reward=reward,
            w_strides=np.zeros(len(grid.shape(t)), dtype=np.int64),
            w_dc_size=np.array(self.next_shape(t)[: net.n_skus], dtype=np.int64),
        )
        return args, transitions

    def expected_next(self, later: FloatArray, transitions: list[FloatArray]) -> FloatArray:
        """E[V_{t+1}] over post-decision indices: each on-hand axis contracted with its transition."""
        out = later
        for ls, m in enumerate(transitions):
            ax = self.first_y + ls
            out = np.moveaxis(np.tensordot(out, m, axes=([ax], [1])), -1, ax)
        return np.ascontiguousarray(out)

    def with_strides(self, args: dp_kernels.PeriodArgs, table: FloatArray) -> dp_kernels.PeriodArgs:
        return args._replace(w_strides=np.array(table.strides, dtype=np.int64) // table.itemsize)


def solve(net: Network, profile: DemandProfile | None = None) -> DPSolution:
    """Backward induction over every period; ValueError (one line) for scenarios it refuses."""
    reason = refusal(net)
    if reason is not None:
        raise ValueError(reason)
    started = time.perf_counter()
    profile = profile or DemandProfile.build(net)
    build = PeriodBuilder(net, profile)
    values: list[FloatArray] = [np.empty(0)] * net.periods
    choice: list[NDArray[np.int32]] = [np.empty(0, dtype=np.int32)] * net.periods
    later = np.zeros(build.next_shape(net.periods - 1))
    pairs = 0
    for t in range(net.periods - 1, -1, -1):
        args, transitions = build.period(t)
        table = build.expected_next(later, transitions)
        args = build.with_strides(args, table)
        best = np.empty(int(np.prod(args.sizes)))
        arg = np.empty(best.shape, dtype=np.int32)
        found = dp_kernels.maximise(args, build.action_of, build.full_strides, table.ravel(), best, arg)
        pairs = max(pairs, found)
        values[t], choice[t] = best.reshape(args.sizes), arg.reshape(args.sizes)
        later = values[t]
    grid = build.grid
    initial = (*(net.initial_dc_stock + net.planned_receipts[0]).tolist(), *[0] * (net.n_skus * grid.slots),
               *net.initial_location_stock.ravel().tolist())
    return DPSolution(
        net=net, value=float(values[0][initial]), values=values, choice=choice,
        actions=build.actions.reshape(-1, net.n_locations, net.n_skus),
        initial=tuple(int(i) for i in initial),
        states=grid.states(), seconds=time.perf_counter() - started, grid=grid, pairs=pairs, profile=profile,
    )


def occupancy_of(sol: DPSolution) -> list[FloatArray]:
    """Probability of each pre-decision state per period when the optimal policy is followed."""
    net = sol.net
    build = PeriodBuilder(net, sol.profile or DemandProfile.build(net))
    mass = np.zeros(sol.values[0].shape)
    mass[sol.initial] = 1.0
    out = []
    for t in range(net.periods):
        out.append(mass)
        if t == net.periods - 1:
            break
        args, transitions = build.period(t)
        post = np.zeros(build.expected_next(np.zeros(build.next_shape(t)), transitions).shape)
        args = build.with_strides(args, post)
        flat = post.ravel()
        dp_kernels.push(args, build.actions, sol.choice[t].ravel(), mass.ravel(), flat)
        post = flat.reshape(post.shape)
        for ls, m in enumerate(transitions):
            ax = build.first_y + ls
            post = np.moveaxis(np.tensordot(post, m, axes=([ax], [0])), -1, ax)
        mass = np.ascontiguousarray(post)
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


def supplier_pipeline(env: AllocationEnv, sol: DPSolution) -> IntArray:
    """Supplier orders still due per SKU and slot (arriving in 1, 2, ... periods), as the DP sees them."""
    net, slots = env.network, sol.grid.slots
    t = int(env.engine.state.period[0])
    due = env.engine.state.dc_due[0]
    out = np.zeros((net.n_skus, slots), dtype=np.int64)
    for j in range(slots):
        if t + 1 + j < net.periods:
            out[:, j] = due[t + 1 + j] - net.planned_receipts[t + 1 + j]
    return out


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
        obs = one_observation(observation, "the DP policy")
        snap = self.env.state
        pipeline = supplier_pipeline(self.env, self.solution)
        alloc, orders = self.solution.decision(snap.period, snap.dc_on_hand, snap.on_hand, pipeline)
        share = orders / np.maximum(self.env.network.max_order, 1)
        action = self.env.action_layout.encode(alloc, snap.dc_available, order_share=share)
        return (action[None] if obs.ndim > 1 else action), None
