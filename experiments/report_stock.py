"""Stock by SKU and by location from the traced episodes: the report's per-SKU and stock-age tables,
and the allocation plan (units shipped per period, location and SKU) written as a CSV.

The simulator books sales by location and channel, not by SKU, so the per-SKU view shows what
the traces see per SKU: demand, units shipped from the DC, stock held and its age. Every figure
is a mean over the traced seeds with its 95% CI (``stats.mean_ci``).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from allocsim.experiments.kpis import fmt_ci
from allocsim.experiments.report_sections import Cell, HtmlTable, _split
from allocsim.experiments.stats import mean_ci

PLAN_COLUMNS = ["policy", "seed", "period", "location", "sku", "units"]


def allocation_plan(stock: pd.DataFrame) -> pd.DataFrame:
    """One row per shipment: policy, seed, period, location, SKU and units (periods without one have none)."""
    if stock.empty:
        return pd.DataFrame(columns=PLAN_COLUMNS)
    sent = stock[stock["shipped"] > 0]
    return sent.rename(columns={"shipped": "units"})[PLAN_COLUMNS].reset_index(drop=True)


def per_episode(stock: pd.DataFrame) -> pd.DataFrame:
    """Per policy, seed, location and SKU: average units on hand at a decision, their average age
    (units-weighted, periods), and the episode's demand and units shipped."""
    out = _ages(stock, "location", "sku")
    return out[["policy", "seed", "location", "sku", "avg_on_hand", "avg_age", "demand", "shipped"]]


def _ages(frame: pd.DataFrame, *by: str) -> pd.DataFrame:
    """Per policy, seed and ``by``: units on hand per period and their units-weighted age, summed over the
    other axes (seeds kept, for the CI), and the episode's demand and units shipped."""
    grouped = frame.groupby(["policy", "seed", *by], sort=False)
    sums = {k: (k, "sum") for k in ("on_hand", "unit_ages", "demand", "shipped")}
    out = grouped.agg(periods=("period", "nunique"), **sums).reset_index()
    out["avg_on_hand"] = out["on_hand"] / out["periods"]
    out["avg_age"] = out["unit_ages"] / out["on_hand"].where(out["on_hand"] > 0)
    return out


def _cells(frame: pd.DataFrame, order: Sequence[str], column: str) -> dict[str, Cell]:
    cells = {}
    for policy in order:
        est = mean_ci(frame.loc[frame["policy"] == policy, column].to_numpy(float))
        cells[policy] = Cell(fmt_ci(est.mean, est.half_width))
    return cells


def _table(stock: pd.DataFrame, order: Sequence[str], by: str, measures: Sequence[tuple[str, str]],
           head: str, note: str) -> list[HtmlTable]:
    frame = _ages(stock, by)
    body = []
    for place in dict.fromkeys(frame[by]):
        part = frame[frame[by] == place]
        for column, text in measures:
            if column in ("demand", "shipped") and not part[column].any():
                continue  # the DC asks for nothing and is shipped nothing
            body.append(([Cell(str(place), "txt"), Cell(text, "txt")], _cells(part, order, column)))
    return _split([head, "measure"], list(order), body, note)


def sku_tables(stock: pd.DataFrame, order: Sequence[str]) -> list[HtmlTable]:
    """SKU x (demand, shipped, stock at the locations, stock at the DC, age at the locations) per policy."""
    if stock.empty:
        return []
    dc = str(stock["location"].iloc[-1])  # the DC is the last location of every period's rows
    stores = stock[stock["location"] != dc]
    at_dc = stock[stock["location"] == dc]
    frame = _ages(stores, "sku").merge(
        _ages(at_dc, "sku")[["policy", "seed", "sku", "avg_on_hand"]].rename(columns={"avg_on_hand": "dc"}),
        on=["policy", "seed", "sku"])
    measures = (("demand", "Demand (units per episode)"),
                ("shipped", "Shipped from the DC (units per episode)"),
                ("avg_on_hand", "Stock at the locations (units)"), ("dc", f"Stock at {dc} (units)"),
                ("avg_age", "Age of stock at the locations (periods)"))
    body = []
    for sku in dict.fromkeys(frame["sku"]):
        part = frame[frame["sku"] == sku]
        body += [([Cell(str(sku), "txt"), Cell(text, "txt")], _cells(part, order, column))
                 for column, text in measures]
    return _split(["SKU", "measure"], list(order), body)


def age_tables(stock: pd.DataFrame, order: Sequence[str]) -> list[HtmlTable]:
    """Location (the DC last) x (stock on hand, its average age) per policy."""
    if stock.empty:
        return []
    measures = (("avg_on_hand", "Stock on hand (units)"), ("avg_age", "Average age (periods)"))
    return _table(stock, order, "location", measures, "location", "")
