"""The read-only arrays of one scenario in the flat shape the compiled kernels take.

``EngineParams`` is a ``NamedTuple`` because numba passes named tuples of arrays and
scalars into compiled functions as they are; it is built once per scenario from the
``Network`` (and the observation scales) and never changes during an episode.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from allocsim.core.observation_blocks import N_CALENDAR, calendar
from allocsim.envs.demand import DemandProfile, forecast_sigma
from allocsim.envs.demand_stream import fill_poisson_start
from allocsim.envs.engine.layout import cell_bits, transit_layout
from allocsim.envs.network import BIG, Network
from allocsim.envs.replenishment import order_thresholds
from allocsim.envs.reward import COMPONENTS
from allocsim.envs.scenario.entities import UniformLeadTime

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Headline KPIs of one period, written after the reward components in each copy's step record.
PERIOD_KPIS = ("units_requested", "units_fulfilled", "lost_sales_units", "revenue", "profit",
               "inventory_value", "working_capital", "supplier_units")
STEP_RECORD_SIZE = len(COMPONENTS) + len(PERIOD_KPIS)


class EngineParams(NamedTuple):
    """One scenario as arrays; axis letters as in ``Network`` (D = transit depth)."""

    periods: int
    n_ages: int
    n_backlog_ages: int
    transit_start: IntArray  # (L,) first row of each location's arrivals in ``EngineState.transit``
    transit_slots: IntArray  # (L,) its rows: arrivals of period p in row start + p % slots (``layout``)
    cell_bits: int  # 32 or 64: the width of the unit cells (cohorts, transit, pipeline, backlog)
    # SKUs (S,) and SKU x channel (S, C)
    unit_cost: FloatArray
    dc_holding_cost: FloatArray  # (S,)
    location_holding_cost: FloatArray  # (L, S)
    salvage_margin: FloatArray  # salvage value - unit cost
    price: FloatArray
    markdown: FloatArray  # (A, S)
    expired: BoolArray  # (A, S)
    has_markdown: bool
    has_shelf_life: bool
    # channels (C,)
    priority: IntArray  # channel indices, highest priority first
    backorder_fraction: FloatArray
    patience: IntArray
    has_backorders: bool
    shortage_penalty: FloatArray
    backorder_cost: FloatArray
    receivable_delay: IntArray
    contract_rights: FloatArray  # (S, C)
    contract_penalty: FloatArray
    has_contracts: bool
    # locations (L,)
    capacity: IntArray
    lead_time: IntArray
    shipping_cost: FloatArray
    initial_location_stock: IntArray  # (L, S)
    # DC and supplier (S,)
    initial_dc_stock: IntArray
    planned_receipts: IntArray  # (T, S)
    safety_reserve: IntArray
    supplier_capacity: IntArray
    payable_delay: int
    max_order: IntArray
    order_below: IntArray  # the DC rule orders up to order_up_to when position <= order_below
    order_up_to: IntArray
    # transfer lanes (K,)
    lane_source: IntArray
    lane_target: IntArray
    lane_lead: IntArray
    lane_cost: FloatArray
    lane_threshold: IntArray
    lane_delay: IntArray
    # guardrails
    max_days_of_supply: float  # NaN: not set
    enforce_capacity: bool
    working_capital_cap: float  # NaN: not set
    aged_from: int
    # within the period (the scenario's timing block)
    protect: IntArray  # (L, S, C) units that must remain after a unit goes to channel c (holdbacks)
    receipt_late: BoolArray  # (L + 1,) receipts reach the node (DC last) after the period starts
    holdback_below: BoolArray  # (C,) channels the decided holdback is kept from (all False: no decision)
    # reward and observation
    reward_weights: FloatArray  # (len(COMPONENTS),) already multiplied by the scale
    inv_dc_scale: FloatArray  # (S,)
    inv_location_scale: FloatArray  # (L, S)
    inv_oldest_age: float
    ledger_span: int
    # the episode's inputs, drawn per period (``allocsim.envs.engine.draws``)
    demand_mean: FloatArray  # (T, L, S, C) expected units per lane and period
    demand_code: IntArray  # (L, S, C) index into ``allocsim.envs.demand.DISTRIBUTIONS``
    demand_dispersion: FloatArray  # (L, S, C)
    demand_cv: FloatArray  # (L, S, C)
    poisson_start: FloatArray  # (T, L, S, C) exp(-mean) of the Poisson lanes drawn by inversion, else 0
    replay_mode: int  # draws.MODEL, REPLAY or BOOTSTRAP
    replay: IntArray  # (T, L, S, C) a replayed history ((1, L, S, C) zeros when none)
    block_length: int  # periods per bootstrap block
    forecast_mean: FloatArray  # (T + H, L, S) the forecaster's expected units (before bias and noise)
    forecast_bias: float  # 1 + the scenario's forecast bias
    forecast_sigma: float  # log-sd of the forecast's lognormal noise
    lead_low: int  # supplier lead time, uniform low..high (equal: a fixed lead time)
    lead_high: int
    notice: IntArray  # (C,) periods of advance notice per channel (0: none)
    location_scale: FloatArray  # (L, S) a week of expected demand: the exogenous blocks divide by it
    calendar: FloatArray  # (T, N_CALENDAR) the calendar block of every period

    @property
    def shape(self) -> tuple[int, int, int]:
        """(L, S, C)."""
        return (len(self.capacity), len(self.unit_cost), len(self.priority))

    @property
    def n_lanes(self) -> int:
        return len(self.lane_source)

    @property
    def transit_rows(self) -> int:
        """Rows of ``EngineState.transit``: every location's arrival slots."""
        return int(self.transit_slots.sum())

    @property
    def cell_dtype(self) -> type[np.signedinteger]:
        """The dtype of the unit cells (``allocsim.envs.engine.layout``)."""
        return np.int32 if self.cell_bits == 32 else np.int64


def _optional(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def protection_levels(net: Network) -> IntArray:
    """``protect[l, s, c]``: units an order of channel c must leave at (l, s), from the scenario's
    holdbacks: the largest nested level kept for any channel of strictly higher priority."""
    sc = net.scenario
    n_l, n_s, n_c = net.n_locations, net.n_skus, len(sc.channels)
    level = np.zeros((n_l, n_s, n_c), dtype=np.int64)  # units kept for channel c and those above it
    locations = {name: i for i, name in enumerate(net.locations)}
    skus = {s.name: i for i, s in enumerate(sc.skus)}
    channels = {c.name: i for i, c in enumerate(sc.channels)}
    for hold in sc.timing.holdbacks:
        ls = range(n_l) if hold.location == "*" else [locations[hold.location]]
        ss = range(n_s) if hold.sku == "*" else [skus[hold.sku]]
        c = channels[hold.channel]
        for loc in ls:
            for k in ss:
                level[loc, k, c] = max(level[loc, k, c], hold.units)
    priority = np.array([c.priority for c in sc.channels])
    protect = np.zeros_like(level)
    for c in range(n_c):
        above = priority > priority[c]
        if above.any():
            protect[:, :, c] = level[:, :, above].max(axis=2)
    return protect


def receipt_late(net: Network) -> BoolArray:
    """Nodes (locations, DC last) whose receipts come after the period starts (events mode only)."""
    timing = net.scenario.timing
    late = np.zeros(net.n_locations + 1, dtype=np.bool_)
    if timing.mode == "events":
        for i, name in enumerate(net.locations):
            late[i] = timing.location_arrival.get(name, 0.0) > 0.0
        late[-1] = timing.supplier_arrival > 0.0
    return late


def build_params(
    net: Network,
    profile: DemandProfile,
    reward_weights: dict[str, float],
    reward_scale: float,
    dc_scale: FloatArray,
    location_scale: FloatArray,
) -> EngineParams:
    """The kernels' view of ``net`` and its demand ``profile`` with the given reward weights and
    observation scales (a week of expected demand at the DC and per location)."""
    rails = net.scenario.guardrails
    transit_start, transit_slots = transit_layout(net)
    weights = np.array([float(reward_weights.get(k, 0.0)) * reward_scale for k in COMPONENTS])
    below, up_to = order_thresholds(net)
    return EngineParams(
        periods=net.periods,
        n_ages=net.age_buckets,
        n_backlog_ages=net.max_patience + 2,
        transit_start=transit_start,
        transit_slots=transit_slots,
        cell_bits=cell_bits(net, profile),
        unit_cost=net.unit_cost,
        dc_holding_cost=net.dc_holding_cost.astype(np.float64),
        location_holding_cost=np.ascontiguousarray(net.location_holding_cost, dtype=np.float64),
        salvage_margin=net.salvage_value - net.unit_cost,
        price=np.ascontiguousarray(net.price),
        markdown=np.ascontiguousarray(net.markdown),
        expired=np.ascontiguousarray(net.expired_mask),
        has_markdown=net.has_markdown,
        has_shelf_life=net.has_shelf_life,
        priority=np.array(net.priority_order, dtype=np.int64),
        backorder_fraction=net.backorder_fraction.astype(np.float64),
        patience=net.patience,
        has_backorders=bool(net.backorder_channels),
        shortage_penalty=net.shortage_penalty.astype(np.float64),
        backorder_cost=net.backorder_cost.astype(np.float64),
        receivable_delay=net.receivable_delay,
        contract_rights=np.ascontiguousarray(net.contract_rights),
        contract_penalty=net.contract_penalty,
        has_contracts=bool(net.contract_rights.any()),
        capacity=net.capacity,
        lead_time=net.lead_time,
        shipping_cost=net.shipping_cost.astype(np.float64),
        initial_location_stock=net.initial_location_stock,
        initial_dc_stock=net.initial_dc_stock,
        planned_receipts=net.planned_receipts,
        safety_reserve=net.safety_reserve,
        supplier_capacity=net.supplier_capacity,
        payable_delay=int(net.payable_delay),
        max_order=net.max_order,
        order_below=below,
        order_up_to=up_to,
        lane_source=net.lane_source,
        lane_target=net.lane_target,
        lane_lead=net.lane_lead,
        lane_cost=net.lane_cost,
        lane_threshold=net.lane_threshold,
        lane_delay=net.lane_delay,
        max_days_of_supply=_optional(rails.max_days_of_supply),
        enforce_capacity=bool(rails.enforce_capacity),
        working_capital_cap=_optional(rails.working_capital_cap),
        aged_from=min(rails.aging_goal + 1, net.age_buckets - 1),
        protect=protection_levels(net),
        receipt_late=receipt_late(net),
        holdback_below=holdback_below(net),
        reward_weights=weights,
        inv_dc_scale=np.ascontiguousarray(1.0 / dc_scale, dtype=np.float64),
        inv_location_scale=np.ascontiguousarray(1.0 / location_scale, dtype=np.float64),
        inv_oldest_age=1.0 / max(net.age_buckets - 1, 1),
        ledger_span=net.periods + int(net.receivable_delay.max(initial=0)) + net.payable_delay + 2,
        **_episode_inputs(net, profile),
        location_scale=np.ascontiguousarray(location_scale, dtype=np.float64),
    )


def _episode_inputs(net: Network, profile: DemandProfile) -> dict[str, Any]:
    """The fields from which the kernel draws an episode's demand, forecasts and leads per period."""
    source = net.scenario.demand
    replay_mode = 0 if profile.replay is None else 1 if source.resample == "none" else 2
    shape = (net.n_locations, net.n_skus, net.n_channels)
    lead = net.scenario.supplier.lead_time
    mean = np.ascontiguousarray(profile.mean[: net.periods], dtype=np.float64)
    code = np.ascontiguousarray(profile.distribution, dtype=np.int64)
    start = np.zeros_like(mean)  # the sampler's own exp(-mean), computed once (compiled: the same bits)
    fill_poisson_start(mean.reshape(len(mean), -1), code.reshape(-1), start.reshape(len(start), -1))
    low, high = (lead.low, lead.high) if isinstance(lead, UniformLeadTime) else (lead.periods, lead.periods)
    return {
        "demand_mean": mean,
        "demand_code": code,
        "demand_dispersion": np.ascontiguousarray(profile.dispersion, dtype=np.float64),
        "demand_cv": np.ascontiguousarray(profile.cv, dtype=np.float64),
        "poisson_start": start,
        "replay_mode": replay_mode,
        "replay": np.zeros((1, *shape), dtype=np.int64) if profile.replay is None
        else np.ascontiguousarray(profile.replay, dtype=np.int64),
        "block_length": int(source.block_length or 1),
        "forecast_mean": np.ascontiguousarray(profile.mean.sum(axis=-1)),
        "forecast_bias": 1.0 + net.scenario.forecast.bias,
        "forecast_sigma": forecast_sigma(net),
        "lead_low": int(low),
        "lead_high": int(high),
        "notice": np.ascontiguousarray(net.advance_notice, dtype=np.int64),
        "calendar": np.ascontiguousarray(calendar(np.arange(net.periods, dtype=np.float64), net.periods)),
    }


def holdback_below(net: Network) -> BoolArray:
    """Channels of lower priority than every channel the scenario's holdback decision protects
    (they may not take the decided units); all False when the scenario has no such decision."""
    sc = net.scenario
    priority = np.array([c.priority for c in sc.channels])
    decision = sc.timing.holdback_decision
    if decision is None:
        return np.zeros(len(priority), dtype=np.bool_)
    lowest = min(c.priority for c in sc.channels if c.name in decision.channels)
    return priority < lowest


__all__ = ["BIG", "N_CALENDAR", "PERIOD_KPIS", "STEP_RECORD_SIZE", "EngineParams", "build_params"]
