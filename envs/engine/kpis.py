"""The public KPI dictionary of one copy, reduced once from the engine's accumulators.

KPI names are a public contract (docs/DESIGN.md). Per-location figures cover every
location and the DC (last); per-channel figures every channel.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.engine.state import FLOWS, NODE_COSTS, TOTALS, EngineState
from allocsim.envs.network import Network

FloatArray = NDArray[np.float64]
_T = {name: i for i, name in enumerate(TOTALS)}
#: Flow KPIs in the order the KPI dict and its breakdowns list them.
FLOW_KPIS = ("units_requested", "units_fulfilled", "lost_sales_units", "backorder_units", "revenue", "cogs",
             "markdown_cost", "shortage_penalty")


class KpiRows(NamedTuple):
    """The accumulators the KPIs are reduced from, for one copy (batch of one): small enough to
    keep when a vector copy finishes and starts its next episode."""

    closes: NDArray[np.int64]
    totals: FloatArray
    flows: FloatArray
    node_cost: FloatArray
    contract_penalty: FloatArray
    node_value: FloatArray
    age_units: NDArray[np.int64]

    @classmethod
    def take(cls, state: EngineState, b: int) -> KpiRows:
        return cls(*(getattr(state, name)[b : b + 1].copy() for name in cls._fields))


def _ratio(num: float, den: float, empty: float) -> float:
    return float(num / den) if den > 0 else empty


def _flows(state: EngineState | KpiRows, b: int) -> dict[str, FloatArray]:
    """Flow KPIs per (location, channel) under the public names."""
    rows = dict(zip(FLOWS, state.flows[b], strict=True))
    rows["revenue"] = rows.pop("gross_revenue") - rows["markdown_cost"]
    return {name: rows[name] for name in FLOW_KPIS}


def _breakdown(
    flows: dict[str, FloatArray], index: tuple[Any, ...], extra_penalty: float = 0.0
) -> dict[str, float]:
    """One channel's or one location's flow KPIs under the public names."""
    row = {k: float(v[index].sum()) for k, v in flows.items()}
    row["shortage_penalty"] += extra_penalty
    row["gross_margin"] = row["revenue"] - row["cogs"]
    row["fill_rate"] = _ratio(100.0 * row["units_fulfilled"], row["units_requested"], 100.0)
    return row


def episode_kpis(
    net: Network, state: EngineState | KpiRows, b: int, breakdowns: bool = True
) -> dict[str, Any]:
    """The KPIs of copy ``b`` over the periods closed so far (``by_channel`` and ``by_location``
    unless ``breakdowns`` is off)."""
    t = int(state.closes[b])
    closes = max(t, 1)
    totals = state.totals[b]
    flows = _flows(state, b)
    summed = {k: float(v.sum()) for k, v in flows.items()}
    nodes = state.node_cost[b]
    node_totals = dict(zip(NODE_COSTS, nodes.sum(axis=1).tolist(), strict=True))
    contract = state.contract_penalty[b]
    summed["shortage_penalty"] += float(contract.sum())
    salvage = float(totals[_T["salvage"]])
    gross_margin = summed["revenue"] - summed["cogs"]
    profit = gross_margin - sum(node_totals.values()) - summed["shortage_penalty"] + salvage
    node_value = state.node_value[b]
    avg_inventory = float(node_value.sum() + totals[_T["transit_value"]]) / closes
    avg_working_capital = float(totals[_T["working_capital"]]) / closes
    ages = state.age_units[b]
    out: dict[str, Any] = {
        "fill_rate": _ratio(100.0 * summed["units_fulfilled"], summed["units_requested"], 100.0),
        "units_requested": summed["units_requested"],
        "units_fulfilled": summed["units_fulfilled"],
        "lost_sales_units": summed["lost_sales_units"],
        "backorder_units": summed["backorder_units"],
        "revenue": summed["revenue"],
        "cogs": summed["cogs"],
        "gross_margin": gross_margin,
        **node_totals,
        "markdown_cost": summed["markdown_cost"],
        "shortage_penalty": summed["shortage_penalty"],
        "salvage": salvage,
        "profit": profit,
        "avg_inventory_value": avg_inventory,
        "inventory_turns": _ratio(summed["cogs"], avg_inventory, 0.0),
        "inventory_to_working_capital": (
            avg_inventory / avg_working_capital if avg_working_capital else float("nan")
        ),
        "avg_age": _ratio(float(ages @ np.arange(net.age_buckets)), float(ages.sum()), 0.0),
        "imbalance_index": float(totals[_T["imbalance"]]) / t if t else 0.0,
        "contract_attainment": _ratio(
            100.0 * float(totals[_T["contract_met"]]), float(totals[_T["contract_due"]]), 100.0
        ),
        "reward": float(totals[_T["reward"]]),
    }
    if not breakdowns:
        return out
    out["by_channel"] = {
        ch: _breakdown(flows, (slice(None), j), float(contract[j])) for j, ch in enumerate(net.channels)
    }
    by_location: dict[str, dict[str, float]] = {}
    for i, name in enumerate([*net.locations, net.scenario.dc.name]):
        row = _breakdown(flows, (i, slice(None))) if i < net.n_locations else {}
        row.update({k: float(nodes[n, i]) for n, k in enumerate(NODE_COSTS)})
        row["avg_inventory_value"] = float(node_value[i]) / closes
        by_location[name] = row
    out["by_location"] = by_location
    return out
