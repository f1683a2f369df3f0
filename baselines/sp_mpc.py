"""``sp-mpc``: a rolling-horizon stochastic program on sampled demand, re-solved every period.

What: each period the rule draws ``scenarios`` demand futures of ``horizon`` periods from the
forecast it sees (``allocsim.baselines.sp_mpc_scenarios``; its own stream keyed by the episode
seed and period, never the episode's demand), solves one sample-average LP over them with HiGHS
(``allocsim.baselines.sp_mpc_model``: allocation, transfers where the scenario has lanes, supplier
orders where the policy orders, lost sales, holding, expiry of the stock on hand, contract
shortfalls, capacity, the days-of-supply and working-capital caps), and plays only the first
period's shared decision, in whole units, through the same feasibility cut and action encoding
every rule uses. A unit left at the end of the lookahead is worth ``terminal_value`` x its unit
cost (the salvage value when the lookahead reaches the episode's end). ``shared_periods`` > 1
decides the next periods' shipments, transfers and orders once for all futures (the LP cannot
wait and see), ``location_cover`` values a location's own stock only up to what it can sell, and
``markdown_weight`` charges stock waiting at a location the markdown it accrues; ``max_cover`` caps
what a location may receive now at that many periods of its forecast, and ``fresh_margin`` lowers the
cap of a SKU with markdowns to its first markdown age less the margin (short-lived stock is kept
lean, long-lived stock may cover the lumpy peaks).

Why: the policy an advanced planning system runs, and the strongest practical one in published
inventory benchmarks: it prices the next periods' uncertainty, which the one-window ``myopic-lp``
cannot, at the cost of one LP per decision.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import Field

from allocsim.baselines.common import (
    FloatArray,
    IntArray,
    Plan,
    RuleParams,
    RulePolicy,
    make_feasible,
    round_columns,
)
from allocsim.baselines.sp_mpc_model import DCRule, FirstPeriod, Lookahead, solve_first_period
from allocsim.baselines.sp_mpc_scenarios import (
    forecast_rates,
    sample_demand,
    sample_leads,
    scenario_rng,
    served_backlog,
    waiting_after_now,
)
from allocsim.envs.network import BIG, Network
from allocsim.envs.replenishment import order_thresholds
from allocsim.envs.scenario.entities import NoReplenishment
from allocsim.envs.state import AllocationState

if TYPE_CHECKING:
    from allocsim.envs.allocation_env import AllocationEnv


class SPMPCParams(RuleParams):
    """Lookahead length, sample size and the value of stock left at the lookahead's end.

    (``order_cover_periods`` is not used: the LP itself places the policy's supplier orders.)
    """

    horizon: int = Field(default=7, ge=1, le=60,
                         description="periods the LP looks ahead (cut at the episode end)")
    scenarios: int = Field(default=10, ge=1, le=200, description="sampled demand futures in the LP")
    terminal_value: float = Field(
        default=1.2, ge=0.0, le=3.0, description="worth of a unit of network stock left at the lookahead's "
        "end, as a share of its unit cost, up to terminal_cover periods of demand (above 1: it will sell)",
    )
    shared_periods: int = Field(
        default=1, ge=1, le=60, description="periods whose shipments, transfers and orders the LP decides "
        "once for every sampled future (1: only the decision now; more: no clairvoyant recourse)",
    )
    markdown_weight: float = Field(
        default=0.0, ge=0.0, le=3.0, description="share of the first markdown (discount x price / the age "
        "it starts at) charged per unit and period held at a location: stock that waits there ages",
    )
    location_cover: float = Field(
        default=0.0, ge=0.0, le=60.0, description="periods of a location's own forecast demand after the "
        "lookahead that its stock left at the end counts for; past that it is worth its salvage value "
        "(0: no cap per location, the network's cover only)",
    )
    max_cover: float = Field(
        default=0.0, ge=0.0, le=60.0, description="periods of a location's forecast demand its stock on "
        "hand and on its way may reach with the shipment now, as balanced caps it (0: no cap)",
    )
    fresh_margin: float = Field(
        default=0.0, ge=0.0, le=60.0, description="with max_cover: a SKU with markdowns is capped at its "
        "first markdown age less this many periods of cover, if lower (stock covering longer is sold "
        "marked down); 0: max_cover alone",
    )
    terminal_cover: float = Field(
        default=7.0, ge=0.0, description="periods of forecast network demand after the lookahead that "
        "stock left at its end is worth terminal_value for; stock past that is worth its salvage value",
    )
    terminal_need: bool = Field(
        default=False, description="price end stock up to the network's net requirement over "
        "terminal_cover periods (the largest shortfall of the receipts landing then against forecast "
        "demand, period by period) instead of that many periods of demand less all those receipts: "
        "with receipts in batches, a window's total hides the days short before the next batch",
    )


def expiring_schedule(cohorts: IntArray, expired: np.ndarray, horizon: int) -> FloatArray:
    """Units (H, ..., S) of ``cohorts`` (..., S, A; age last) that expire at close h, 0 <= h < H.

    At close h a cohort of age a reaches age ``min(a + h + 1, A - 1)``; it is written off at the
    first close where ``expired`` (A, S) says that age has expired.
    """
    n_a = cohorts.shape[-1]
    ages = np.minimum(np.arange(n_a)[None, :] + 1 + np.arange(horizon)[:, None], n_a - 1)  # (H, A)
    hit = expired[ages].transpose(0, 2, 1)  # (H, S, A)
    first = hit & (np.cumsum(hit, axis=0) == 1)
    first = first.reshape(horizon, *([1] * (cohorts.ndim - 2)), *first.shape[1:])
    return (first * cohorts[None]).sum(axis=-1).astype(np.float64)


class SPMPCPolicy(RulePolicy):
    """Solve a sample-average LP over the next periods; play its first period in whole units."""

    Params = SPMPCParams
    params: SPMPCParams
    ORDERS_BY_RULE = False  # the LP places the supplier orders
    GRID: ClassVar[dict[str, list[Any]]] = {
        "horizon": [7, 10],
        "shared_periods": [1, 3],
        "terminal_value": [1.2, 1.6, 2.0],
        "scenarios": [10, 30],
    }

    def __init__(self, env: AllocationEnv, seed: int | None = None, **params: Any) -> None:
        super().__init__(env, seed=seed, **params)
        self.profile = env.profile
        self.last: FirstPeriod | None = None  # the last LP (for inspection and the bench)

    @classmethod
    def param_grid(cls) -> dict[str, list[Any]]:
        """The ``allocsim tune`` grid: horizon x shared periods x terminal value x sample size (30 futures
        cost ~3x the LP time of 10; 3 shared periods gained 0.4-2 % over 1 on the tuning seeds)."""
        return {k: list(v) for k, v in cls.GRID.items()}

    @classmethod
    def scenario_grid(cls, net: Network) -> dict[str, list[Any]]:
        """Parameters tuned only where they can matter: ``terminal_need`` [off, on] where the supplier
        delivers a fixed inbound schedule (receipts in batches, whose timing a cover window blurs)."""
        return {"terminal_need": [False, True]} if net.scenario.supplier.inbound_schedule else {}

    def lookahead(self, state: AllocationState) -> Lookahead:
        """The LP's inputs at ``state``: sampled futures, the pipeline, expiring stock, the caps."""
        net, p, t = self.net, self.params, state.period
        left = net.periods - t
        horizon = min(p.horizon, left)
        seed = self.env.episode_seed if self.env.episode_seed is not None else 0
        rng = scenario_rng(seed, t)
        demand = sample_demand(state, self.profile, horizon, p.scenarios, rng)
        leads = sample_leads(net, horizon, p.scenarios, rng)
        engine = self.env.engine.state
        after = min(p.terminal_cover, float(left - horizon))  # periods of demand left after the lookahead
        arrivals, dc_arrivals, later = pipeline(self.env, state, horizon, math.ceil(after))
        no_shelf = np.zeros((horizon, net.n_skus))
        aging = net.has_shelf_life
        expiring = (expiring_schedule(engine.stock[0], net.expired_mask, horizon) if aging
                    else np.zeros((horizon, net.n_locations, net.n_skus)))
        dc_expiring = expiring_schedule(engine.dc[0], net.expired_mask, horizon) if aging else no_shelf
        rate = forecast_rates(state.forecast, net.scenario.forecast.horizon, net.scenario.forecast.bias)
        cover, pending = end_cover(rate.sum(axis=1).mean(axis=0), later, after, p.terminal_need)
        salvage = net.salvage_value - net.unit_cost
        cap = net.scenario.guardrails.working_capital_cap
        position = float((state.dc_on_hand + state.dc_on_order + state.on_hand.sum(axis=0)
                          + state.inbound.sum(axis=0)) @ net.unit_cost)
        return Lookahead(
            demand=demand, supplier_lead=leads, periods_left=left,
            on_hand=state.on_hand - served_backlog(state), dc_on_hand=state.dc_on_hand.astype(np.float64),
            dc_available=state.dc_available.astype(np.float64), arrivals=arrivals, dc_arrivals=dc_arrivals,
            expiring=expiring, dc_expiring=dc_expiring, terminal=(p.terminal_value - 1.0) * net.unit_cost,
            cover=cover, beyond=salvage, pending=pending,
            headroom=np.where(state.headroom >= BIG // 2, np.inf, state.headroom.astype(np.float64)),
            supply_room=room_under(state, rate, cover_caps(net, p.max_cover, p.fresh_margin)),
            order_cap=order_cap(net), rule=dc_rule(net, state),
            transfer_cap=np.where(net.lane_threshold >= BIG, np.inf, net.lane_threshold).astype(np.float64),
            capital=(float(cap), position) if cap is not None and net.policy_orders else None,
            shared=p.shared_periods, aging=markdown_accrual(net) * p.markdown_weight,
            location_cover=(min(p.location_cover, float(left - horizon)) * rate.mean(axis=0)
                            if p.location_cover > 0 else None),
            carried=waiting_after_now(state) if horizon > 1 else None,
        )

    def plan(self, state: AllocationState) -> Plan:
        first = solve_first_period(self.net, self.lookahead(state))
        self.last = first
        shipments = np.maximum(first.shipments - first.withheld, 0.0)  # nothing sent to be sold cheaply
        totals = np.floor(shipments.sum(axis=0) + 1e-6).astype(np.int64)
        alloc = round_columns(shipments, totals)
        transfers = np.floor(first.transfers + 1e-6).astype(np.int64) if self.net.n_lanes else None
        return Plan(alloc, transfers)

    def decide(self, state: AllocationState) -> tuple[IntArray, IntArray | None, FloatArray | None]:
        """Feasible allocation and transfers, and the LP's own supplier orders as the order block."""
        plan = self.plan(state)
        alloc = make_feasible(plan.allocation, state, plan.transfers)
        orders = None
        if self.net.policy_orders and self.last is not None:
            units = np.floor(self.last.orders + 1e-6)
            orders = np.where(self.net.max_order > 0, units / np.maximum(self.net.max_order, 1), 0.0)
        return alloc, plan.transfers, orders


def cover_caps(net: Network, max_cover: float, fresh_margin: float) -> FloatArray | float:
    """Periods of forecast a location's stock may cover, per SKU (S,): ``max_cover``, and with
    ``fresh_margin`` at most the SKU's first markdown age less the margin (at least one period), so
    the stock sent sells before it is marked down; 0 (no cap) where ``max_cover`` is 0."""
    if max_cover <= 0 or fresh_margin <= 0:
        return max_cover
    marked = net.markdown > 0  # (A, S)
    first = np.where(marked.any(axis=0), marked.argmax(axis=0), np.inf)
    return np.minimum(max_cover, np.maximum(first - fresh_margin, 1.0))


def room_under(state: AllocationState, rate: FloatArray, max_cover: FloatArray | float) -> FloatArray | None:
    """Units (L, S) each location may receive now: the days-of-supply cap's room and, with
    ``max_cover`` (periods, one or per SKU), what keeps its stock on hand and on its way within that
    many periods of its forecast demand (``rate``: (H, L, S)); None where neither caps."""
    room = None if state.supply_room is None else state.supply_room.astype(np.float64)
    if np.all(np.asarray(max_cover) <= 0):
        return room
    target = max_cover * rate.mean(axis=0) - state.on_hand - state.inbound
    cover = np.maximum(target, 0.0)
    return cover if room is None else np.minimum(room, cover)


def markdown_accrual(net: Network) -> FloatArray:
    """Price given up per unit and period at each location (L, S) if it waits until the first markdown:
    discount x the dearest price the location sells at / the age the markdown starts at."""
    marked = net.markdown > 0  # (A, S)
    first = np.where(marked.any(axis=0), marked.argmax(axis=0), 0)  # (S,)
    discount = net.markdown[first, np.arange(net.n_skus)]
    price = (net.price[None, :, :] * net.serves[:, None, :]).max(axis=2)  # (L, S)
    return price * (discount / np.maximum(first, 1))[None, :]


def order_cap(net: Network) -> FloatArray | None:
    """Most units ordered per SKU and period (``max_order`` for the policy) within supplier capacity;
    None where nobody orders."""
    if isinstance(net.scenario.supplier.replenishment, NoReplenishment):
        return None
    capacity = np.where(net.supplier_capacity >= BIG, np.inf, net.supplier_capacity).astype(np.float64)
    return np.minimum(net.max_order, capacity) if net.policy_orders else capacity


def dc_rule(net: Network, state: AllocationState) -> DCRule | None:
    """The scenario's DC rule as the LP sees it, or None where the policy orders or nobody does."""
    if net.policy_orders or isinstance(net.scenario.supplier.replenishment, NoReplenishment):
        return None
    position = (state.dc_on_hand + state.dc_on_order).astype(np.float64)
    first = state.rule_orders.astype(np.float64)
    below, up_to = (np.asarray(x, dtype=np.float64) for x in order_thresholds(net))
    capacity = np.where(net.supplier_capacity >= BIG, np.inf, net.supplier_capacity)
    # the rule orders min(capacity, up_to - position) once the position is at most ``below``: a
    # position past below + capacity orders nothing, one at most below orders in full
    reach = np.minimum(up_to, below + capacity)
    return DCRule(first=first, position=position, ceiling=np.maximum(reach, position + first))


def pipeline(
    env: AllocationEnv, state: AllocationState, horizon: int, window: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Units already on their way, by lookahead period: to locations (H, L, S) and to the DC (H, S),
    and those arriving in the ``window`` periods after the lookahead, by period (window, S): the
    periods whose demand the terminal value prices, which they fill too. Receipts planned later (an
    inbound schedule to the episode's end) serve later demand and count nowhere.
    """
    net, engine, t = state.net, env.engine, state.period
    s = engine.state
    arrivals = np.zeros((horizon, net.n_locations, net.n_skus))
    later = np.zeros((window, net.n_skus))
    on_the_way = engine.in_transit(0)  # row h - 1: arriving h periods from now
    for h in range(1, on_the_way.shape[0] + 1):
        units = on_the_way[h - 1]
        if h < horizon:
            arrivals[h] = units
        elif h < horizon + window:
            later[h - horizon] += units.sum(axis=0)
    dc = np.zeros((horizon, net.n_skus))
    due = s.dc_due[0, t + 1 : t + horizon]
    dc[1 : 1 + due.shape[0]] = due
    due_later = s.dc_due[0, t + horizon : t + horizon + window]
    later[: due_later.shape[0]] += due_later
    return arrivals, dc.astype(np.float64), later


def end_cover(rate: FloatArray, later: FloatArray, after: float, need: bool) -> tuple[FloatArray, FloatArray]:
    """(cover, pending) per SKU of the terminal value, for network demand ``rate`` (S,) per period and
    the receipts ``later`` (window, S) landing in the ``after`` periods past the lookahead.

    Window (``need`` False): ``after`` periods of demand, which the stock at the end fills together
    with all those receipts. Net requirement: the largest shortfall, over the periods up to each
    one, of the receipts landed before it against the demand through it; the receipts are then
    spent (pending 0). Receipts of 170 landing 3 and 10 periods past the lookahead against 28.5 a
    period, 14 periods: the window asks 14 x 28.5 - 340 = 59 of the end stock, but the 11 periods
    before the second receipt lands ask 11 x 28.5 - 170 = 143.5 of it.
    """
    if not need:
        return after * rate, later.sum(axis=0)
    periods = np.minimum(np.arange(1, later.shape[0] + 1), after)[:, None]  # demand through period j
    landed = np.cumsum(later, axis=0) - later  # receipts landed before period j's demand
    shortfall = periods * rate[None, :] - landed
    cover = np.maximum(shortfall.max(axis=0, initial=0.0), 0.0)
    return cover, np.zeros_like(rate)
