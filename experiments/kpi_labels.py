"""Words for the KPIs: the name a person reads, its unit and a one-line definition (report and console).

The KPI keys stay the public contract (docs/DESIGN.md); these labels only dress them. Money
is shown in the scenario's ``currency``.
"""

from __future__ import annotations

from dataclasses import dataclass

MONEY = "money"  # placeholder replaced by the scenario's currency


@dataclass(frozen=True)
class KpiLabel:
    """How one KPI is written: ``name`` in tables, ``short`` on 80-column consoles, ``unit``, ``meaning``."""

    name: str
    short: str
    unit: str
    meaning: str

    def unit_in(self, currency: str) -> str:
        return currency if self.unit == MONEY else self.unit

    def titled(self, currency: str) -> str:
        """``Profit (EUR)``: the name with its unit."""
        unit = self.unit_in(currency)
        return f"{self.name} ({unit})" if unit else self.name


LABELS: dict[str, KpiLabel] = {
    "profit": KpiLabel("Profit", "profit", MONEY,
                       "Gross margin - holding - shipping - transfer - write-off - shortage penalties + "
                       "salvage, per episode."),
    "fill_rate": KpiLabel("Fill rate", "fill %", "%", "Share of the units asked for that were served."),
    "units_requested": KpiLabel("Demand", "demand", "units", "Units customers asked for (the same for every "
                                "rule on a seed: common random numbers)."),
    "units_fulfilled": KpiLabel("Units served", "served", "units", "Units sold to customers."),
    "lost_sales_units": KpiLabel("Lost sales", "lost", "units", "Units asked for and never served (open "
                                 "backorders at the end count as lost)."),
    "backorder_units": KpiLabel("Backorders", "backorders", "units", "Units that waited as backorders."),
    "revenue": KpiLabel("Revenue", "revenue", MONEY, "Sales at channel prices, after markdowns."),
    "cogs": KpiLabel("Cost of goods sold", "COGS", MONEY, "Unit cost of the units sold."),
    "gross_margin": KpiLabel("Gross margin", "margin", MONEY, "Revenue - cost of goods sold."),
    "holding_cost": KpiLabel("Holding cost", "holding", MONEY, "Cost of keeping stock, per unit and period."),
    "shipping_cost": KpiLabel("Shipping cost", "shipping", MONEY, "DC-to-location shipments."),
    "transfer_cost": KpiLabel("Transfer cost", "transfers", MONEY, "Lateral moves between locations."),
    "writeoff_cost": KpiLabel("Write-offs", "write-off", MONEY, "Units past shelf life, at cost."),
    "markdown_cost": KpiLabel("Markdowns", "markdown", MONEY, "Price cuts on aged stock."),
    "shortage_penalty": KpiLabel("Shortage penalty", "penalty", MONEY,
                                 "Penalty per unit short, contract shortfalls included."),
    "salvage": KpiLabel("Salvage", "salvage", MONEY, "Leftover stock revalued from cost to salvage value at "
                        "the horizon (negative: it is worth less than it cost)."),
    "avg_inventory_value": KpiLabel("Average stock value", "stock", MONEY,
                                    "Stock on hand and in transit at cost, averaged over the periods."),
    "avg_working_capital": KpiLabel("Average working capital", "work cap", MONEY,
                                    "Stock at cost + receivables - payables, averaged over the periods "
                                    "(derived: average stock value / inventory_to_working_capital)."),
    "inventory_turns": KpiLabel("Inventory turns", "turns", "x", "Cost of goods sold / average stock value "
                                "over the episode (not annualised)."),
    "inventory_to_working_capital": KpiLabel(
        "Stock / working capital", "stock/WC", "ratio",
        "Average stock value / average operating working capital (stock + receivables - payables). "
        "Negative when suppliers' credit exceeds stock plus receivables: the supplier finances the stock "
        "(e.g. 30 payable days against a few days of stock and cash sales). The sign flips and the size "
        "explodes as working capital crosses 0, so it is not a ranking measure."),
    "avg_age": KpiLabel("Average age", "age", "periods", "Periods since a unit entered the network, "
                        "averaged over the units held."),
    "imbalance_index": KpiLabel("Imbalance index", "imbalance", "CV", "Coefficient of variation of days of "
                                "supply across locations, mean over SKUs and periods (0 = even cover)."),
    "contract_attainment": KpiLabel("Contract attainment", "contracts %", "%", "Units delivered within "
                                    "contracted rights / units due (100 when nothing is due)."),
    "reward": KpiLabel("Reward", "reward", "", "The RL reward summed over the episode (objective weights)."),
    "bound": KpiLabel("Clairvoyant bound", "bound", MONEY, "Profit of a perfect-foresight LP on the seed: "
                      "no policy can beat it."),
    "gap_to_bound_pct": KpiLabel("Gap to bound", "gap %", "%", "100 x (bound - profit) / |bound|, per seed."),
    "gap_to_optimal_pct": KpiLabel("Gap to DP optimum", "DP gap %", "%",
                                   "100 x (DP optimum - profit) / |DP optimum| (tiny scenarios)."),
    "bound_gap_closed_pct": KpiLabel(
        "Gap closed", "closed %", "%",
        "Share of the gap between the best rule and the clairvoyant bound that a policy closes: 0 for the "
        "best rule, 100 at the bound. Below the best rule it is negative and unbounded (a rule far below "
        "the best widens the gap many times over), so the report shows values under -100 as '< -100'."),
    "penalised_bound": KpiLabel(
        "Penalised bound", "pen. bound", MONEY, "The perfect-foresight LP minus a sales penalty with mean "
        "zero under every non-anticipative policy: its mean over seeds bounds the expected profit of any "
        "policy, tighter than the clairvoyant bound (a single seed's value can be above it)."),
    "gap_to_reference_pct": KpiLabel(
        "Gap to reference", "ref gap %", "%", "100 x (reference - profit) / |reference|, per seed, against "
        "the gap reference: the DP optimum where it exists, else the seed's tightest bound (penalised, "
        "Lagrangian or history-priced, the upper end of the reference interval)."),
    "reference_gap_closed_pct": KpiLabel(
        "Reference gap closed", "ref closed %", "%",
        "Share of the gap between the best rule and the gap reference (DP optimum, else the mean "
        "tightest bound) that a policy closes: 0 for the best rule, 100 at the reference."),
    "tightest_bound": KpiLabel(
        "Tightest bound", "tight bound", MONEY, "Of the penalised, the Lagrangian and (where its prices are "
        "shipped or cached) the history-priced bound, the one whose seed-mean plus its 95% half-width is "
        "lowest, per seed: the upper end of the reference interval."),
    "best_gap_closed_pct": KpiLabel(
        "Best gap closed", "best closed %", "%",
        "Share of the gap between the best tuned rule and the best achievable (the DP optimum, else the best "
        "policy played) that a policy closes: 0 for the best rule, 100 at the best achievable."),
}


def label(kpi: str) -> KpiLabel:
    """The KPI's label; an unknown key is shown as itself, without unit."""
    return LABELS.get(kpi, KpiLabel(kpi.replace("_", " "), kpi.replace("_", " "), "", ""))


#: Units a console header names (money is shown as the scenario's currency).
_SHOWN_UNITS = frozenset({MONEY, "%", "periods", "x", "CV"})


def console_label(kpi: str, currency: str = "") -> str:
    """The one console label of a KPI in every command: its public key, with the unit where it says
    something (``profit (EUR)``, ``fill_rate (%)``, ``lost_sales_units``)."""
    unit = label(kpi).unit
    shown = label(kpi).unit_in(currency) if unit in _SHOWN_UNITS else ""
    return f"{kpi} ({shown})" if shown else kpi
