"""Episode accounts: KPI accumulators, the finance ledger and the KPI dictionary.

KPI names are a public contract (see DESIGN.md). Per-location figures are kept
for every location plus the DC (last row); per-channel figures per channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from allocsim.envs.network import Network
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

FLOW_KPIS = (
    "units_requested",
    "units_fulfilled",
    "lost_sales_units",
    "backorder_units",
    "revenue",
    "cogs",
    "markdown_cost",
    "shortage_penalty",
)
NODE_KPIS = ("holding_cost", "shipping_cost", "transfer_cost", "writeoff_cost")


def _ratio(num: float, den: float, empty: float) -> float:
    return float(num / den) if den > 0 else empty


@dataclass
class EpisodeAccounts:
    """Running totals of one episode; ``kpis()`` turns them into the public KPI dict."""

    net: Network
    flows: dict[str, FloatArray] = field(init=False)  # (L, C) per flow KPI
    nodes: dict[str, FloatArray] = field(init=False)  # (L + 1,) per node KPI
    contract_penalty: FloatArray = field(init=False)  # (C,)
    contract_due: float = 0.0
    contract_met: float = 0.0
    inventory_value_sum: FloatArray = field(init=False)  # (L + 1,) on hand, summed over closes
    transit_value_sum: float = 0.0
    unit_age_sum: float = 0.0
    unit_sum: float = 0.0
    working_capital_sum: float = 0.0
    imbalance_sum: float = 0.0
    salvage: float = 0.0
    reward: float = 0.0
    closes: int = 0
    receivables: float = 0.0
    payables: float = 0.0
    cash_in_due: FloatArray = field(init=False)
    cash_out_due: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        n_l, n_c = self.net.n_locations, self.net.n_channels
        self.flows = {k: np.zeros((n_l, n_c)) for k in FLOW_KPIS}
        self.nodes = {k: np.zeros(n_l + 1) for k in NODE_KPIS}
        self.contract_penalty = np.zeros(n_c)
        self.inventory_value_sum = np.zeros(n_l + 1)
        span = self.net.periods + int(self.net.receivable_delay.max(initial=0)) + self.net.payable_delay + 2
        self.cash_in_due = np.zeros(span)
        self.cash_out_due = np.zeros(span)

    def book_sales(self, period: int, revenue_by_channel: FloatArray) -> None:
        """Customer receipts fall due ``receivable_days`` after the sale."""
        self.receivables += float(revenue_by_channel.sum())
        np.add.at(self.cash_in_due, period + self.net.receivable_delay, revenue_by_channel)

    def book_purchase(self, period: int, value: float) -> None:
        """A supplier receipt is payable ``payable_days`` after it arrives."""
        self.payables += value
        self.cash_out_due[period + self.net.payable_delay] += value

    def settle(self, period: int) -> None:
        """Cash moves for what falls due at this period's close."""
        self.receivables -= self.cash_in_due[period]
        self.payables -= self.cash_out_due[period]

    def profit(self) -> float:
        flows = {k: float(v.sum()) for k, v in self.flows.items()}
        nodes = {k: float(v.sum()) for k, v in self.nodes.items()}
        gross = flows["revenue"] - flows["cogs"]
        return (
            gross
            - nodes["holding_cost"]
            - nodes["shipping_cost"]
            - nodes["transfer_cost"]
            - nodes["writeoff_cost"]
            - flows["shortage_penalty"]
            - float(self.contract_penalty.sum())
            + self.salvage
        )

    def kpis(self) -> dict[str, object]:
        """The public KPI dictionary of the episode so far."""
        closes = max(self.closes, 1)
        flows = {k: float(v.sum()) for k, v in self.flows.items()}
        nodes = {k: float(v.sum()) for k, v in self.nodes.items()}
        avg_inventory = (float(self.inventory_value_sum.sum()) + self.transit_value_sum) / closes
        avg_working_capital = self.working_capital_sum / closes
        out: dict[str, object] = {
            "fill_rate": _ratio(100.0 * flows["units_fulfilled"], flows["units_requested"], 100.0),
            "units_requested": flows["units_requested"],
            "units_fulfilled": flows["units_fulfilled"],
            "lost_sales_units": flows["lost_sales_units"],
            "backorder_units": flows["backorder_units"],
            "revenue": flows["revenue"],
            "cogs": flows["cogs"],
            "gross_margin": flows["revenue"] - flows["cogs"],
            "holding_cost": nodes["holding_cost"],
            "shipping_cost": nodes["shipping_cost"],
            "transfer_cost": nodes["transfer_cost"],
            "writeoff_cost": nodes["writeoff_cost"],
            "markdown_cost": flows["markdown_cost"],
            "shortage_penalty": flows["shortage_penalty"] + float(self.contract_penalty.sum()),
            "salvage": self.salvage,
            "profit": self.profit(),
            "avg_inventory_value": avg_inventory,
            "inventory_turns": _ratio(flows["cogs"], avg_inventory, 0.0),
            "inventory_to_working_capital": (
                avg_inventory / avg_working_capital if avg_working_capital else float("nan")
            ),
            "avg_age": _ratio(self.unit_age_sum, self.unit_sum, 0.0),
            "imbalance_index": self.imbalance_sum / closes,
            "contract_attainment": _ratio(100.0 * self.contract_met, self.contract_due, 100.0),
            "reward": self.reward,
        }
        out["by_channel"] = {
            ch: self._flow_breakdown(self.flows, (slice(None), j), self.contract_penalty[j])
            for j, ch in enumerate(self.net.channels)
        }
        out["by_location"] = self._location_breakdown(closes)
        return out

    @staticmethod
    def _flow_breakdown(
        flows: dict[str, FloatArray], index: tuple, extra_penalty: float = 0.0
    ) -> dict[str, float]:
        row = {k: float(v[index].sum()) for k, v in flows.items()}
        row["shortage_penalty"] += float(extra_penalty)
        row["gross_margin"] = row["revenue"] - row["cogs"]
        row["fill_rate"] = _ratio(100.0 * row["units_fulfilled"], row["units_requested"], 100.0)
        return row

    def _location_breakdown(self, closes: int) -> dict[str, dict[str, float]]:
        names = [*self.net.locations, self.net.scenario.dc.name]
        out: dict[str, dict[str, float]] = {}
        for i, name in enumerate(names):
            row = (
                self._flow_breakdown(self.flows, (i, slice(None)))
                if i < self.net.n_locations
                else {}
            )
            for k, v in self.nodes.items():
                row[k] = float(v[i])
            row["avg_inventory_value"] = float(self.inventory_value_sum[i]) / closes
            out[name] = row
        return out
