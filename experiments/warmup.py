"""Warm-up discard: KPIs over the periods after the first ``warm_up``, from two KPI snapshots.

The env reports cumulative KPIs (``env.kpis()`` is "the episode so far"), so the
KPIs of periods ``warm_up .. T - 1`` follow from a snapshot taken after the
warm-up and the final one, without touching the env:

- flows (units, money, reward) are differences: end - snapshot;
- per-period averages (``avg_inventory_value``, ``imbalance_index``) are
  (end x T - snapshot x W) / (T - W);
- ratios are recomputed from those: ``fill_rate`` = 100 x fulfilled / requested,
  ``inventory_turns`` = cogs / average inventory value.

``avg_age``, ``inventory_to_working_capital`` and ``contract_attainment`` are
ratios of quantities the env does not expose per period; they keep their
whole-episode value (listed in ``WHOLE_EPISODE``). Breakdowns (``by_channel``,
``by_location``) follow the same rules.
"""

from __future__ import annotations

from typing import Any

FLOWS = frozenset({
    "units_requested", "units_fulfilled", "lost_sales_units", "backorder_units", "revenue", "cogs",
    "gross_margin", "holding_cost", "shipping_cost", "transfer_cost", "writeoff_cost",
    "markdown_cost", "shortage_penalty", "salvage", "profit", "reward",
})
PERIOD_MEANS = frozenset({"avg_inventory_value", "imbalance_index"})
WHOLE_EPISODE = ("avg_age", "inventory_to_working_capital", "contract_attainment")


def after_warm_up(
    end: dict[str, Any], snapshot: dict[str, Any], periods: int, warm_up: int
) -> dict[str, Any]:
    """KPIs of periods ``warm_up .. periods - 1`` given cumulative KPIs at the end and after warm-up."""
    if not 0 <= warm_up < periods:
        raise ValueError(f"warm-up must be in 0..{periods - 1} periods, got {warm_up}")
    if warm_up == 0:
        return end
    out: dict[str, Any] = {}
    for key, value in end.items():
        before = snapshot.get(key)
        if isinstance(value, dict):
            out[key] = after_warm_up(value, before or {}, periods, warm_up)
        elif key in FLOWS and before is not None:
            out[key] = value - before
        elif key in PERIOD_MEANS and before is not None:
            out[key] = (value * periods - before * warm_up) / (periods - warm_up)
        else:
            out[key] = value
    if "fill_rate" in out and "units_requested" in out:
        requested = out["units_requested"]
        out["fill_rate"] = 100.0 * out["units_fulfilled"] / requested if requested > 0 else 100.0
    if "inventory_turns" in out and "avg_inventory_value" in out:
        stock = out["avg_inventory_value"]
        out["inventory_turns"] = out["cogs"] / stock if stock > 0 else 0.0
    return out
