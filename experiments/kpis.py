"""Which KPIs the tables show first, and how a mean with its interval is written."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the CLI's light tables import this module
    from allocsim.envs.scenario import Scenario

#: The KPIs tables lead with (public names, see docs/DESIGN.md); every scalar KPI is in the CSV files.
HEADLINE = (
    "profit", "fill_rate", "revenue", "gross_margin", "holding_cost", "shortage_penalty",
    "lost_sales_units", "avg_inventory_value", "avg_age", "contract_attainment",
)
#: KPIs of contracts: on a scenario without one the engine still writes ``contract_attainment`` (100, as
#: nothing is due) into every machine output (``--json``, summary.csv, episodes), where it is part of
#: the KPI contract, but the console and the report show "–" or leave it out: a 100 % there is no fact.
CONTRACT_KPIS = ("contract_attainment",)


def has_contracts(scenario: Scenario) -> bool:
    """Whether any channel of ``scenario`` has contracted allocation rights."""
    return any(ch.contract is not None for ch in scenario.channels)

#: KPIs where lower is better (for the direction arrows in reports).
LOWER_IS_BETTER = frozenset({
    "cogs", "holding_cost", "shipping_cost", "transfer_cost", "writeoff_cost", "markdown_cost",
    "shortage_penalty", "lost_sales_units", "backorder_units", "avg_age", "imbalance_index",
    "avg_inventory_value",
})


def fmt_number(value: float) -> str:
    """Thousands separators and two decimals; ``n/a`` for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.2f}"


def _decimals(half_width: float, mean: float) -> int:
    """Enough decimals to show the interval to two or three significant digits."""
    if half_width == 0:
        return 0 if abs(mean) >= 100 else 2
    if half_width >= 10:
        return 0
    if half_width >= 1:
        return 1
    return 2


def fmt_ci(mean: float, half_width: float, decimals: int | None = None) -> str:
    """``1,234 ± 12`` / ``93.1 ± 0.9``: mean and CI half-width to the interval's precision
    (or to ``decimals``, e.g. one count for a whole table column).

    The interval is omitted when undefined (one episode); NaN means print ``n/a``.
    """
    if mean is None or math.isnan(mean):
        return "n/a"
    if half_width is None or math.isnan(half_width):
        return fmt_number(mean) if decimals is None else f"{mean:,.{decimals}f}"
    d = _decimals(half_width, mean) if decimals is None else decimals
    return f"{mean:,.{d}f} ± {half_width:,.{d}f}"


def column_decimals(pairs: list[tuple[float, float]]) -> int:
    """One decimal count for a column of (mean, half-width) cells: the finest any cell needs, so
    every number in the column lines up."""
    needed = [_decimals(h, m) for m, h in pairs
              if m is not None and h is not None and not math.isnan(m) and not math.isnan(h)]
    return max(needed, default=2)
