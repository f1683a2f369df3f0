"""Supplier replenishment rules at the DC, all as one order-up-to formula (a registry of thresholds).

Every rule is "when the inventory position is at or below ``below``, order up to
``up_to``": base-stock orders up to its level always, min-max orders up to max at or
below min, and no rule (or the policy's own orders) never triggers. The kernels and
``order_rule`` apply this one formula.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from allocsim.core.order_up_to import stop_lead
from allocsim.envs.network import BIG, Network
from allocsim.envs.scenario.entities import (
    BaseStockReplenishment,
    MinMaxReplenishment,
    NoReplenishment,
    PolicyReplenishment,
    UniformLeadTime,
)

IntArray = NDArray[np.int64]
Thresholds = tuple[IntArray, IntArray]


def _by_sku(values: dict[str, int], net: Network, default: int) -> IntArray:
    return np.array([values.get(s, default) for s in net.skus], dtype=np.int64)


def _base_stock(rule: BaseStockReplenishment, net: Network) -> Thresholds:
    return np.full(net.n_skus, BIG, dtype=np.int64), _by_sku(rule.level, net, 0)


def _min_max(rule: MinMaxReplenishment, net: Network) -> Thresholds:
    return _by_sku(rule.min, net, -1), _by_sku(rule.max, net, 0)


def _no_orders(rule: object, net: Network) -> Thresholds:
    return np.full(net.n_skus, -BIG, dtype=np.int64), np.zeros(net.n_skus, dtype=np.int64)


RULES: dict[type, Callable[..., Thresholds]] = {
    NoReplenishment: _no_orders,
    PolicyReplenishment: _no_orders,  # the policy's own order comes through the action
    BaseStockReplenishment: _base_stock,
    MinMaxReplenishment: _min_max,
}


def order_thresholds(net: Network) -> Thresholds:
    """(below, up_to) per SKU of the scenario's DC rule."""
    rule = net.scenario.supplier.replenishment
    return RULES[type(rule)](rule, net)


def order_rule(net: Network) -> Callable[[IntArray], IntArray]:
    """The scenario's DC rule as a function: DC inventory position (S,) -> units ordered (S,)."""
    below, up_to = order_thresholds(net)
    return lambda position: np.where(position <= below, np.maximum(up_to - position, 0), 0)


def supplier_lead(net: Network) -> tuple[int, float]:
    """Shortest and mean supplier lead time in periods (what policy replenishment plans with)."""
    lead = net.scenario.supplier.lead_time
    if isinstance(lead, UniformLeadTime):
        return lead.low, 0.5 * (lead.low + lead.high)
    return lead.periods, float(lead.periods)


def order_lead(net: Network, order_stop_periods: float = 0.0) -> tuple[int, float]:
    """``supplier_lead`` as policy replenishment plans with it: no order in the last
    ``order_stop_periods`` periods either (``allocsim.core.order_up_to.stop_lead``)."""
    return stop_lead(supplier_lead(net), order_stop_periods)
