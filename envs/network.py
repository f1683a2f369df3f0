"""A scenario compiled into index maps and numpy arrays the model works on.

Axes used everywhere: S SKUs, L locations, C channels, A age buckets, K transfer
lanes. ``Network`` is built once per scenario and shared, read-only, by the model,
the observation, the action decoder and the rule sets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.scenario import Scenario
from allocsim.envs.scenario.entities import PolicyReplenishment

BIG = np.int64(2**40)
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _by_sku(values: dict[str, float], skus: list[str], default: float = 0.0) -> FloatArray:
    return np.array([float(values.get(s, default)) for s in skus], dtype=np.float64)


@dataclass(frozen=True)
class Network:
    """Arrays of one scenario; names give the order of every axis."""

    scenario: Scenario
    skus: tuple[str, ...]
    locations: tuple[str, ...]
    channels: tuple[str, ...]
    periods: int
    age_buckets: int
    # SKU (S,) and SKU x channel (S, C)
    unit_cost: FloatArray
    holding_cost: FloatArray  # the SKU's own, where a node sets none
    salvage_value: FloatArray
    price: FloatArray
    markdown: FloatArray  # (A, S) share of price given up at each age
    expired_mask: NDArray[np.bool_]  # (A, S)
    has_markdown: bool
    has_shelf_life: bool
    # channels (C,)
    priority_order: tuple[int, ...]
    backorder_fraction: FloatArray
    patience: IntArray
    backorder_channels: tuple[int, ...]
    max_patience: int
    shortage_penalty: FloatArray
    backorder_cost: FloatArray
    receivable_delay: IntArray
    advance_notice: IntArray
    contract_rights: FloatArray  # (S, C), 0 where no contract
    contract_penalty: FloatArray  # (C,)
    # locations (L,)
    serves: NDArray[np.bool_]  # (L, C)
    capacity: IntArray  # BIG where unlimited
    lead_time: IntArray
    shipping_cost: FloatArray
    region: tuple[str, ...]
    initial_location_stock: IntArray  # (L, S)
    # DC and supplier (S,)
    initial_dc_stock: IntArray
    dc_holding_cost: FloatArray  # (S,) per unit and period at the DC
    location_holding_cost: FloatArray  # (L, S) per unit and period at each location
    safety_reserve: IntArray
    supplier_capacity: IntArray  # BIG where unlimited
    payable_delay: int
    planned_receipts: IntArray  # (T, S)
    policy_orders: bool
    max_order: IntArray  # (S,) for policy replenishment
    # transfer lanes (K,)
    lane_source: IntArray
    lane_target: IntArray
    lane_lead: IntArray
    lane_cost: FloatArray
    lane_threshold: IntArray  # BIG where no approval needed
    lane_delay: IntArray

    @property
    def n_skus(self) -> int:
        return len(self.skus)

    @property
    def n_locations(self) -> int:
        return len(self.locations)

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @property
    def n_lanes(self) -> int:
        return len(self.lane_source)

    @classmethod
    def compile(cls, scenario: Scenario) -> Network:
        """Turn a validated scenario into arrays."""
        skus = [s.name for s in scenario.skus]
        locs = [loc.name for loc in scenario.locations]
        chans = [c.name for c in scenario.channels]
        c_index = {c: i for i, c in enumerate(chans)}
        l_index = {loc: i for i, loc in enumerate(locs)}
        n_s, n_c, n_a = len(skus), len(chans), scenario.age_buckets

        price = np.zeros((n_s, n_c))
        markdown = np.zeros((n_a, n_s))
        expired = np.zeros((n_a, n_s), dtype=bool)
        for i, sku in enumerate(scenario.skus):
            for ch, p in sku.price.items():
                price[i, c_index[ch]] = p
            for step in sku.markdown:
                markdown[step.age :, i] = step.discount
            if sku.shelf_life is not None:
                expired[sku.shelf_life :, i] = True

        channels = scenario.channels
        fraction = {"lost": lambda c: 0.0, "backorder": lambda c: 1.0, "mix": lambda c: c.backorder_fraction}
        backorder_fraction = np.array([fraction[c.unmet](c) for c in channels])
        patience = np.array([c.patience for c in channels], dtype=np.int64)
        bo_channels = tuple(i for i, f in enumerate(backorder_fraction) if f > 0)
        rights = np.zeros((n_s, n_c))
        contract_penalty = np.zeros(n_c)
        for j, ch in enumerate(channels):
            if ch.contract is not None:
                rights[:, j] = _by_sku(ch.contract.rights, skus)
                contract_penalty[j] = ch.contract.penalty_per_unit_short

        serves = np.zeros((len(locs), n_c), dtype=bool)
        init_loc = np.zeros((len(locs), n_s), dtype=np.int64)
        for i, loc in enumerate(scenario.locations):
            for ch in loc.channels:
                serves[i, c_index[ch]] = True
            init_loc[i] = _by_sku(loc.initial_stock, skus)

        sku_holding = {s.name: s.holding_cost for s in scenario.skus}
        sup = scenario.supplier
        planned = np.zeros((scenario.periods, n_s), dtype=np.int64)
        for receipt in sup.inbound_schedule:
            planned[receipt.period, skus.index(receipt.sku)] += receipt.quantity
        rule = sup.replenishment
        policy_orders = isinstance(rule, PolicyReplenishment)
        max_order = _by_sku(rule.max_order, skus) if policy_orders else np.zeros(n_s)

        lanes = scenario.transfers
        return cls(
            scenario=scenario,
            skus=tuple(skus),
            locations=tuple(locs),
            channels=tuple(chans),
            periods=scenario.periods,
            age_buckets=n_a,
            unit_cost=_by_sku({s.name: s.unit_cost for s in scenario.skus}, skus),
            holding_cost=_by_sku(sku_holding, skus),
            salvage_value=_by_sku({s.name: s.salvage_value for s in scenario.skus}, skus),
            price=price,
            markdown=markdown,
            expired_mask=expired,
            has_markdown=bool(markdown.any()),
            has_shelf_life=bool(expired.any()),
            priority_order=tuple(sorted(range(n_c), key=lambda j: -channels[j].priority)),
            backorder_fraction=backorder_fraction,
            patience=patience,
            backorder_channels=bo_channels,
            max_patience=int(patience.max()),
            shortage_penalty=np.array([c.shortage_penalty for c in channels]),
            backorder_cost=np.array([c.backorder_cost for c in channels]),
            receivable_delay=np.array([c.receivable_days for c in channels], dtype=np.int64),
            advance_notice=np.array([c.advance_notice for c in channels], dtype=np.int64),
            contract_rights=rights,
            contract_penalty=contract_penalty,
            serves=serves,
            capacity=np.array(
                [BIG if loc.capacity is None else loc.capacity for loc in scenario.locations],
                dtype=np.int64,
            ),
            lead_time=np.array([loc.lead_time for loc in scenario.locations], dtype=np.int64),
            shipping_cost=np.array([loc.shipping_cost for loc in scenario.locations]),
            region=tuple(loc.region for loc in scenario.locations),
            initial_location_stock=init_loc,
            initial_dc_stock=_by_sku(scenario.dc.initial_stock, skus).astype(np.int64),
            dc_holding_cost=_by_sku({**sku_holding, **scenario.dc.holding_cost}, skus),
            location_holding_cost=np.array(
                [_by_sku({**sku_holding, **loc.holding_cost}, skus) for loc in scenario.locations]
            ).reshape(len(locs), n_s),
            safety_reserve=_by_sku(scenario.dc.safety_reserve, skus).astype(np.int64),
            supplier_capacity=np.array(
                [sup.capacity_per_period.get(s, BIG) for s in skus], dtype=np.int64
            ),
            payable_delay=sup.payable_days,
            planned_receipts=planned,
            policy_orders=policy_orders,
            max_order=max_order.astype(np.int64),
            lane_source=np.array([l_index[x.source] for x in lanes], dtype=np.int64),
            lane_target=np.array([l_index[x.target] for x in lanes], dtype=np.int64),
            lane_lead=np.array([x.lead_time for x in lanes], dtype=np.int64),
            lane_cost=np.array([x.cost_per_unit for x in lanes], dtype=np.float64),
            lane_threshold=np.array(
                [BIG if x.approval_threshold is None else x.approval_threshold for x in lanes],
                dtype=np.int64,
            ),
            lane_delay=np.array([x.approval_delay for x in lanes], dtype=np.int64),
        )
