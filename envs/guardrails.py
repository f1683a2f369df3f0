"""Guardrails trim a proposed decision; each trim is written to the decision log.

A guardrail never invents stock or moves units elsewhere: it only lowers
quantities, so what it takes off a shipment stays at the DC (or the transfer
source), and what it takes off an order is not bought.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.network import Network

IntArray = NDArray[np.int64]


@dataclass
class Decision:
    """One period's decision in whole units."""

    allocation: IntArray  # (L, S) units from the DC to each location
    transfers: IntArray  # (K, S) units moved along each transfer lane
    orders: IntArray  # (S,) units ordered from the supplier
    transfer_delay: IntArray  # (K, S) extra periods waiting for approval


@dataclass(frozen=True)
class DecisionContext:
    """What the decoder and guardrails need to know at decision time."""

    dc_available: IntArray  # (S,)
    location_on_hand: IntArray  # (L, S)
    location_inbound: IntArray  # (L, S)
    forecast_rate: NDArray[np.float64]  # (L, S) units per period
    network_value: float  # inventory at cost on hand, in transit and on order
    rule_orders: IntArray  # (S,) what the scenario's DC replenishment rule orders


@dataclass(frozen=True, eq=False)
class Trim:
    """One guardrail's change to one part of the decision in one period."""

    period: int
    rule: str
    part: str  # "allocation", "transfers", "transfer_delay" (periods) or "orders"
    proposed: IntArray
    done: IntArray

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trim):
            return NotImplemented
        return (
            (self.period, self.rule, self.part) == (other.period, other.rule, other.part)
            and np.array_equal(self.proposed, other.proposed)
            and np.array_equal(self.done, other.done)
        )

    __hash__ = None  # type: ignore[assignment]

    def rows(self, net: Network) -> Iterator[dict[str, object]]:
        """Flat records, one per changed entry: what was proposed, which rule, what was done."""
        for idx in zip(*np.nonzero(self.proposed != self.done), strict=True):
            row: dict[str, object] = {"period": self.period, "rule": self.rule, "part": self.part}
            if self.part == "allocation":
                row["location"], row["sku"] = net.locations[idx[0]], net.skus[idx[1]]
            elif self.part in ("transfers", "transfer_delay"):
                lane = int(idx[0])
                row["from"] = net.locations[net.lane_source[lane]]
                row["to"] = net.locations[net.lane_target[lane]]
                row["sku"] = net.skus[idx[1]]
            else:
                row["sku"] = net.skus[idx[0]]
            row["proposed"], row["done"] = int(self.proposed[idx]), int(self.done[idx])
            yield row


@dataclass
class DecisionLog:
    """Every trim of an episode, kept as arrays and flattened to rows on demand."""

    trims: list[Trim] = field(default_factory=list)

    def record(self, period: int, rule: str, part: str, before: IntArray, after: IntArray) -> None:
        """Keep a trim if ``after`` differs from ``before`` (callers skip the call when unchanged)."""
        if before is not after and (before != after).any():
            self.trims.append(Trim(period, rule, part, before.copy(), after.copy()))

    def rows(self, net: Network) -> list[dict[str, object]]:
        return [row for trim in self.trims for row in trim.rows(net)]


def _scale_rows_down(quantity: IntArray, limit: IntArray) -> IntArray:
    """Scale each row of ``quantity`` (L, S) so its total is at most ``limit`` (L,), flooring."""
    total = quantity.sum(axis=1)
    over = total > limit
    if not over.any():
        return quantity
    factor = np.where(over, np.maximum(limit, 0) / np.maximum(total, 1), 1.0)
    return np.where(over[:, None], np.floor(quantity * factor[:, None]).astype(np.int64), quantity)


def apply_guardrails(
    decision: Decision, ctx: DecisionContext, net: Network, period: int, log: DecisionLog
) -> Decision:
    """Trim ``decision`` to capacity, the aging goal, supplier capacity and the capital cap."""
    rails = net.scenario.guardrails
    alloc = decision.allocation
    transfers = decision.transfers
    if rails.max_days_of_supply is not None:
        ceiling = np.ceil(ctx.forecast_rate * rails.max_days_of_supply).astype(np.int64)
        room = np.maximum(ceiling - ctx.location_on_hand - ctx.location_inbound, 0)
        trimmed = np.minimum(alloc, room)
        log.record(period, "max_days_of_supply", "allocation", alloc, trimmed)
        alloc = trimmed
    if rails.enforce_capacity:
        headroom = net.capacity - ctx.location_on_hand.sum(1) - ctx.location_inbound.sum(1)
        trimmed = _scale_rows_down(alloc, headroom)
        log.record(period, "capacity", "allocation", alloc, trimmed)
        alloc = trimmed
        if net.n_lanes and transfers.any():
            headroom = headroom - alloc.sum(1)
            incoming = np.zeros_like(alloc)
            np.add.at(incoming, net.lane_target, transfers)
            allowed = _scale_rows_down(incoming, headroom)
            share = np.where(incoming > 0, allowed / np.maximum(incoming, 1), 1.0)
            trimmed = np.floor(transfers * share[net.lane_target]).astype(np.int64)
            log.record(period, "capacity", "transfers", transfers, trimmed)
            transfers = trimmed
    orders = decision.orders
    if orders.any():
        capped = np.minimum(orders, net.supplier_capacity)
        log.record(period, "supplier_capacity", "orders", orders, capped)
        orders = capped
    if rails.working_capital_cap is not None and orders.any():
        value = float(orders @ net.unit_cost)
        room = rails.working_capital_cap - ctx.network_value
        if value > room:
            capped = np.floor(orders * max(room, 0.0) / value).astype(np.int64)
            log.record(period, "working_capital_cap", "orders", orders, capped)
            orders = capped
    delay = decision.transfer_delay
    if net.n_lanes:
        delay = np.where(transfers > net.lane_threshold[:, None], net.lane_delay[:, None], 0)
        log.record(period, "approval", "transfer_delay", np.zeros_like(delay), delay)
    return Decision(allocation=alloc, transfers=transfers, orders=orders, transfer_delay=delay)
