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


def _by_sku(values: dict[str, int], net: Network, default: int) -> IntArray:
    return np.array([values.get(s, default) for s in net.skus], dtype=np.int64)


def _base_stock(rule: BaseStockReplenishment, net: Network) -> Callable[[IntArray], IntArray]:
    level = _by_sku(rule.level, net, 0)
    return lambda position: np.maximum(level - position, 0)


def _min_max(rule: MinMaxReplenishment, net: Network) -> Callable[[IntArray], IntArray]:
    low, high = _by_sku(rule.min, net, -1), _by_sku(rule.max, net, 0)
    return lambda position: np.where(position <= low, np.maximum(high - position, 0), 0)


def _no_orders(rule: object, net: Network) -> Callable[[IntArray], IntArray]:
    zeros = np.zeros(net.n_skus, dtype=np.int64)
    return lambda position: zeros


RULES: dict[type, Callable[..., Callable[[IntArray], IntArray]]] = {
    NoReplenishment: _no_orders,
    PolicyReplenishment: _no_orders,  # the policy's own order comes through the action
    BaseStockReplenishment: _base_stock,
    MinMaxReplenishment: _min_max,
}


def order_rule(net: Network) -> Callable[[IntArray], IntArray]:
    """The scenario's DC rule as a function: DC inventory position (S,) -> units ordered (S,)."""
    rule = net.scenario.supplier.replenishment
    return RULES[type(rule)](rule, net)
