"""Supplier replenishment rules run at the DC, one function per rule type (a registry)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.network import Network
from allocsim.envs.scenario.entities import (
    BaseStockReplenishment,
    MinMaxReplenishment,
    NoReplenishment,
    PolicyReplenishment,
)

IntArray = NDArray[np.int64]
Rule = Callable[[object, Network, IntArray], IntArray]


def _none(rule: object, net: Network, position: IntArray) -> IntArray:
    return np.zeros(net.n_skus, dtype=np.int64)


def _base_stock(rule: BaseStockReplenishment, net: Network, position: IntArray) -> IntArray:
    level = np.array([rule.level.get(s, 0) for s in net.skus], dtype=np.int64)
    return np.maximum(level - position, 0)


def _min_max(rule: MinMaxReplenishment, net: Network, position: IntArray) -> IntArray:
    low = np.array([rule.min.get(s, -1) for s in net.skus], dtype=np.int64)
    high = np.array([rule.max.get(s, 0) for s in net.skus], dtype=np.int64)
    return np.where(position <= low, np.maximum(high - position, 0), 0)


RULES: dict[type, Rule] = {
    NoReplenishment: _none,
    PolicyReplenishment: _none,  # the policy's own order comes through the action
    BaseStockReplenishment: _base_stock,  # type: ignore[dict-item]
    MinMaxReplenishment: _min_max,  # type: ignore[dict-item]
}


def rule_orders(net: Network, inventory_position: IntArray) -> IntArray:
    """Units the scenario's DC rule orders this period, given the DC inventory position."""
    rule = net.scenario.supplier.replenishment
    return RULES[type(rule)](rule, net, inventory_position)
