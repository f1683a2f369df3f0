"""Episode accounts: per-period records and the public KPI dictionary built from them.

The model writes each period's flows into preallocated arrays (one assignment per
record), and ``kpis()`` reduces them once, vectorised over periods. KPI names are a
public contract (see DESIGN.md). Per-location figures are kept for every location
plus the DC (last row); per-channel figures per channel.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.network import Network

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
NODE_COSTS = ("holding_cost", "shipping_cost", "transfer_cost", "writeoff_cost")


def _ratio(num: float, den: float, empty: float) -> float:
    return float(num / den) if den > 0 else empty


class EpisodeAccounts:
    """Per-period records of one episode and the finance ledger."""

    def __init__(self, net: Network, demand: IntArray, forecast: FloatArray) -> None:
        self.net = net
        periods, n_l, n_s, n_c = demand.shape
        self.demand = demand
        self.forecast = forecast
        shape = (periods, n_l, n_s, n_c)
        self.served = np.zeros(shape, dtype=np.int64)
        self.lost = np.zeros(shape, dtype=np.int64)
        self.backordered = np.zeros(shape, dtype=np.int64)
        self.waiting = np.zeros(shape, dtype=np.int64) if net.backorder_channels else None
        self.markdown = np.zeros(shape) if net.has_markdown else None
        self.node_cost = np.zeros((len(NODE_COSTS), periods, n_l + 1))
        self.contract_penalty = np.zeros((periods, n_c))
        self.contract_due = 0.0
        self.contract_met = 0.0
        self.location_units = np.zeros((periods, n_l, n_s), dtype=np.int64)
        self.dc_units = np.zeros((periods, n_s), dtype=np.int64)
        self.transit_value = np.zeros(periods)
        self.age_units = np.zeros((periods, net.age_buckets), dtype=np.int64)
        self.working_capital = np.zeros(periods)
        self.salvage = 0.0
        self.reward = 0.0
        self.closes = 0
        self.receivables = 0.0
        self.payables = 0.0
        span = periods + int(net.receivable_delay.max(initial=0)) + net.payable_delay + 2
        self.cash_in_due = np.zeros(span)
        self.cash_out_due = np.zeros(span)
        self._cash_in_rows = [int(d) for d in net.receivable_delay]

    # ---------------------------------------------------------------- ledger
    def book_sales(self, period: int, revenue_by_channel: FloatArray) -> None:
        """Customer receipts fall due ``receivable_days`` after the sale."""
        for channel, delay in enumerate(self._cash_in_rows):
            self.cash_in_due[period + delay] += revenue_by_channel[channel]
        self.receivables += float(revenue_by_channel.sum())

    def book_purchase(self, period: int, value: float) -> None:
        """A supplier receipt is payable ``payable_days`` after it arrives."""
        self.payables += value
        self.cash_out_due[period + self.net.payable_delay] += value

    def settle(self, period: int) -> None:
        """Cash moves for what falls due at this period's close."""
        self.receivables -= self.cash_in_due[period]
        self.payables -= self.cash_out_due[period]

    # ------------------------------------------------------------------ KPIs
    def _flows(self) -> dict[str, FloatArray]:
        """Flow KPIs per (location, channel), reduced over the closed periods."""
        net, t = self.net, self.closes
        served = self.served[:t]
        price = net.price[None, None]
        gross = (served * price).sum(axis=(0, 2))
        markdown = self.markdown[:t].sum(axis=(0, 2)) if self.markdown is not None else np.zeros_like(gross)
        lost = self.lost[:t].sum(axis=(0, 2)).astype(np.float64)
        shortage = lost * net.shortage_penalty[None, :]
        if self.waiting is not None:
            shortage = shortage + self.waiting[:t].sum(axis=(0, 2)) * net.backorder_cost[None, :]
        return {
            "units_requested": self.demand[:t].sum(axis=(0, 2)).astype(np.float64),
            "units_fulfilled": served.sum(axis=(0, 2)).astype(np.float64),
            "lost_sales_units": lost,
            "backorder_units": self.backordered[:t].sum(axis=(0, 2)).astype(np.float64),
            "revenue": gross - markdown,
            "cogs": (served * net.unit_cost[None, None, :, None]).sum(axis=(0, 2)),
            "markdown_cost": markdown,
            "shortage_penalty": shortage,
        }

    def _imbalance(self) -> float:
        """Mean over periods and SKUs of the CV of days of supply across locations."""
        t = self.closes
        rate = self.forecast[:t]
        units = self.location_units[:t]
        active = rate > 1e-9
        counts = active.sum(axis=1)  # (T, S)
        use = counts >= 2
        if t == 0 or not use.any():
            return 0.0
        cover = np.where(active, units / np.where(active, rate, 1.0), 0.0)
        mean = cover.sum(axis=1) / np.maximum(counts, 1)
        var = np.where(active, (cover - mean[:, None, :]) ** 2, 0.0).sum(axis=1) / np.maximum(counts, 1)
        cv = np.where(use & (mean > 0), np.sqrt(var) / np.maximum(mean, 1e-9), 0.0)
        per_period = cv.sum(axis=1) / np.maximum(use.sum(axis=1), 1)
        return float(per_period.sum() / t)

    def kpis(self) -> dict[str, object]:
        """The public KPI dictionary of the episode so far."""
        net, t = self.net, self.closes
        closes = max(t, 1)
        flows = self._flows()
        totals = {k: float(v.sum()) for k, v in flows.items()}
        nodes = self.node_cost[:, :t].sum(axis=1)  # (4, L + 1)
        node_totals = dict(zip(NODE_COSTS, nodes.sum(axis=1).tolist(), strict=True))
        contract = self.contract_penalty[:t].sum(axis=0)
        totals["shortage_penalty"] += float(contract.sum())
        gross_margin = totals["revenue"] - totals["cogs"]
        profit = (
            gross_margin
            - sum(node_totals.values())
            - totals["shortage_penalty"]
            + self.salvage
        )
        node_value = np.empty((t, net.n_locations + 1))
        node_value[:, :-1] = self.location_units[:t] @ net.unit_cost
        node_value[:, -1] = self.dc_units[:t] @ net.unit_cost
        avg_inventory = float(node_value.sum() + self.transit_value[:t].sum()) / closes
        avg_working_capital = float(self.working_capital[:t].sum()) / closes
        ages = self.age_units[:t].sum(axis=0)
        out: dict[str, object] = {
            "fill_rate": _ratio(100.0 * totals["units_fulfilled"], totals["units_requested"], 100.0),
            "units_requested": totals["units_requested"],
            "units_fulfilled": totals["units_fulfilled"],
            "lost_sales_units": totals["lost_sales_units"],
            "backorder_units": totals["backorder_units"],
            "revenue": totals["revenue"],
            "cogs": totals["cogs"],
            "gross_margin": gross_margin,
            **node_totals,
            "markdown_cost": totals["markdown_cost"],
            "shortage_penalty": totals["shortage_penalty"],
            "salvage": self.salvage,
            "profit": profit,
            "avg_inventory_value": avg_inventory,
            "inventory_turns": _ratio(totals["cogs"], avg_inventory, 0.0),
            "inventory_to_working_capital": (
                avg_inventory / avg_working_capital if avg_working_capital else float("nan")
            ),
            "avg_age": _ratio(float(ages @ np.arange(net.age_buckets)), float(ages.sum()), 0.0),
            "imbalance_index": self._imbalance(),
            "contract_attainment": _ratio(100.0 * self.contract_met, self.contract_due, 100.0),
            "reward": self.reward,
        }
        out["by_channel"] = {
            ch: _breakdown(flows, (slice(None), j), float(contract[j]))
            for j, ch in enumerate(net.channels)
        }
        by_location: dict[str, dict[str, float]] = {}
        for i, name in enumerate([*net.locations, net.scenario.dc.name]):
            row = _breakdown(flows, (i, slice(None))) if i < net.n_locations else {}
            row.update({k: float(nodes[n, i]) for n, k in enumerate(NODE_COSTS)})
            row["avg_inventory_value"] = float(node_value[:, i].sum()) / closes
            by_location[name] = row
        out["by_location"] = by_location
        return out


def _breakdown(flows: dict[str, FloatArray], index: tuple, extra_penalty: float = 0.0) -> dict[str, float]:
    """One channel's or one location's flow KPIs under the public names."""
    row = {k: float(v[index].sum()) for k, v in flows.items()}
    row["shortage_penalty"] += extra_penalty
    row["gross_margin"] = row["revenue"] - row["cogs"]
    row["fill_rate"] = _ratio(100.0 * row["units_fulfilled"], row["units_requested"], 100.0)
    return row
