"""Whole-scenario bounds no single field can check: array sizes, units over the horizon, peak demand.

Each check raises ValueError naming the field to change (see ``limits`` for why the bounds
hold the arithmetic).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from allocsim.core.limits import MAX_CELLS, MAX_NETWORK_UNITS, MAX_RATE
from allocsim.envs.scenario.entities import (
    BaseStockReplenishment,
    MinMaxReplenishment,
    PolicyReplenishment,
)

if TYPE_CHECKING:
    from allocsim.envs.scenario.scenario import Scenario


def check_size(scenario: Scenario) -> None:
    """Refuse a scenario whose demand arrays (periods x locations x SKUs x channels) exceed MAX_CELLS."""
    horizon = scenario.periods + scenario.forecast.horizon
    cells = horizon * len(scenario.locations) * len(scenario.skus) * len(scenario.channels)
    if cells > MAX_CELLS:
        raise ValueError(
            f"periods: (periods + forecast horizon) x locations x SKUs x channels = {cells:,} cells; "
            f"at most {MAX_CELLS:,}: shorten the horizon or split the network"
        )


def _orders_per_period(scenario: Scenario, sku: str) -> tuple[int, str]:
    """The most units of ``sku`` one period's supplier order can bring, and the field that sets it."""
    rule = scenario.supplier.replenishment
    if isinstance(rule, PolicyReplenishment):
        most, field = rule.max_order.get(sku, 0), f"supplier.replenishment.max_order.{sku}"
    elif isinstance(rule, BaseStockReplenishment):
        most, field = rule.level.get(sku, 0), f"supplier.replenishment.level.{sku}"
    elif isinstance(rule, MinMaxReplenishment):
        most, field = rule.max.get(sku, 0), f"supplier.replenishment.max.{sku}"
    else:
        return 0, "supplier.inbound_schedule"
    cap = scenario.supplier.capacity_per_period.get(sku)
    if cap is not None and cap < most:
        return cap, f"supplier.capacity_per_period.{sku}"
    return most, field


def check_network_units(scenario: Scenario) -> None:
    """Refuse a SKU of which more than MAX_NETWORK_UNITS units could ever enter the network."""
    for sku in (s.name for s in scenario.skus):
        start = scenario.dc.initial_stock.get(sku, 0) + sum(
            loc.initial_stock.get(sku, 0) for loc in scenario.locations
        )
        planned = sum(r.quantity for r in scenario.supplier.inbound_schedule if r.sku == sku)
        per_period, field = _orders_per_period(scenario, sku)
        total = start + planned + scenario.periods * per_period
        if total > MAX_NETWORK_UNITS:
            raise ValueError(
                f"{field}: up to {total:.3g} units of {sku!r} could enter the network over "
                f"{scenario.periods} periods (initial stock + inbound schedule + periods x "
                f"{per_period:,} per period); at most {MAX_NETWORK_UNITS:.0e}"
            )


def check_demand_peaks(scenario: Scenario) -> None:
    """Refuse a stream whose expected demand in some period exceeds MAX_RATE units."""
    horizon = scenario.periods + scenario.forecast.horizon
    scales = scenario.demand.regional_scale
    for i, stream in enumerate(scenario.demand.streams):
        regions = {loc.region for loc in scenario.locations if stream.location in ("*", loc.name)}
        scale = max((scales.get(r, 1.0) for r in regions), default=1.0)
        peak = stream.mean * float(stream.time_profile(horizon).max()) * scale
        if not peak <= MAX_RATE:
            raise ValueError(
                f"demand.streams.{i}: expected demand reaches {peak:.3g} units per period (mean x "
                f"weekly x annual x trend x promotions x regional scale); at most {MAX_RATE:.0e}"
            )
