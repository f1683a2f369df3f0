"""A synthetic benchmark (hand-made KPI rows, no simulation) for the report's tests: many policies with
long names, several locations and channels, KPIs zero everywhere, a rule far below the others."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pandas as pd

from allocsim.experiments.benchmark import figures
from allocsim.experiments.bounds import CLOSED
from allocsim.experiments.comparisons import paired_frame
from allocsim.experiments.report import RunInfo, report_html
from allocsim.experiments.summary import summary_frame

POLICIES = ["min-max", "base-stock", "priority", "balanced", "pretrained:ppo", "myopic-lp", "proportional",
            "onnx:retail-medium-very-long-name", "learned-seed-4", "fair-share", "random", "hold"]
LOCATIONS = ["store-north", "store-centre", "store-south", "ecom-fulfilment-centre", "DC"]
CHANNELS = ["store", "online"]
SEEDS = list(range(40_000, 40_006))


def _row(policy: str, rank: int, seed: int, rng: np.random.Generator) -> dict[str, Any]:
    far = policy == "hold"
    profit = (-7_600.0 if far else 47_200.0 - 40.0 * rank) + rng.normal(0, 30)
    fill = (3.6 if far else 94.0 - 0.1 * rank) + rng.normal(0, 0.2)
    stock = 1_400.0 + 10 * rank + rng.normal(0, 20)
    row: dict[str, Any] = {
        "policy": policy, "seed": seed, "fill_rate": fill, "units_requested": 1_450.0 + seed % 7,
        "units_fulfilled": 1_360.0, "lost_sales_units": 90.0 + rank, "backorder_units": 0.0,
        "revenue": 87_000.0 + profit / 10, "cogs": 37_800.0, "gross_margin": 49_400.0,
        "holding_cost": 150.0 + rank, "shipping_cost": 1_090.0, "transfer_cost": 0.0, "writeoff_cost": 0.0,
        "markdown_cost": 0.0, "shortage_penalty": 430.0, "salvage": -570.0, "profit": profit,
        "avg_inventory_value": stock, "inventory_turns": 27.0,
        "inventory_to_working_capital": stock / -12_000.0,
        "avg_age": 3.1, "imbalance_index": 0.6, "contract_attainment": 100.0, "reward": profit,
        "bound": 48_400.0, "gap_to_bound_pct": 100 * (48_400.0 - profit) / 48_400.0,
    }
    row["by_location"] = {
        loc: {"fill_rate": fill, "lost_sales_units": 20.0 + rank,
              "units_requested": 0.0 if loc == "DC" else 300.0, "avg_inventory_value": stock / 5,
              "holding_cost": 30.0, "shipping_cost": 0.0 if loc == "DC" else 250.0, "writeoff_cost": 0.0}
        for loc in LOCATIONS
    }
    row["by_channel"] = {ch: {"fill_rate": fill, "lost_sales_units": 45.0, "backorder_units": 0.0,
                              "units_requested": 725.0, "revenue": 43_500.0, "shortage_penalty": 215.0}
                         for ch in CHANNELS}
    return row


def synthetic_rows(seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    return [_row(p, rank, s, rng) for rank, p in enumerate(POLICIES) for s in SEEDS]


def _network(policies: list[str]) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for p in policies:
        for seed in SEEDS:
            for t in range(30):
                rows.append({"policy": p, "seed": seed, "period": t, "units_requested": 24.0,
                             "units_fulfilled": 22.0 + rng.integers(0, 3),
                             "lost_sales_units": float(rng.integers(0, 3)),
                             "inventory_value": 1_400.0, "dc_units": 23.0 + rng.normal(0, 2),
                             "supplier_units": math.nan if t == 0 else 23.0,
                             "working_capital": 2_800.0 - 600.0 * min(t, 30)})
    return pd.DataFrame(rows)


def _synthetic_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """The synthetic benchmark's rows, ranked summary, paired differences and three leading policies."""
    rows = synthetic_rows()
    summary = summary_frame(rows)
    best = float(summary["profit_mean"].iloc[0])
    summary[CLOSED] = 100 * (summary["profit_mean"] - best) / (48_400.0 - best)
    paired = paired_frame(rows, str(summary["reference"].iloc[0]))
    return rows, summary, paired, list(summary["policy"])[:3]


@functools.cache
def _synthetic_figures() -> tuple[tuple[str, tuple[str, bytes]], ...]:
    """The synthetic benchmark's figures (name, (title, PNG bytes)), drawn once per process: ~2.5 s of CPU,
    nearly all of a render, and the same for every page (the rows are seeded)."""
    _, summary, paired, leading = _synthetic_frames()
    return tuple(figures(summary, paired, _network(leading), leading, "EUR").items())


def synthetic_report(extra_figures: dict[str, tuple[str, bytes]] | None = None) -> tuple[str, pd.DataFrame]:
    """The page and the ranked summary of the synthetic benchmark (with ``extra_figures`` added)."""
    rows, summary, paired, _ = _synthetic_frames()
    info = RunInfo(
        scenario="synthetic", description="Hand-made KPI rows.", seeds=SEEDS, workers=1, warm_up=0,
        wall_seconds=1.0, created="2026-01-01T00:00:00", currency="EUR", bound_mean=48_400.0, periods=60,
        params={p: {"params": {"order_cover_periods": 3.0},
                    "source": "tuned (packaged)" if i % 2 else "defaults"} for i, p in enumerate(POLICIES)},
    )
    images = dict(_synthetic_figures()) | (extra_figures or {})
    return report_html(summary, info, images, paired, rows), summary


@functools.cache
def synthetic_page() -> str:
    """``synthetic_report()``'s page, rendered once per process (its figures are drawn once anyway): the
    tests that read the plain page (the browser test at each width, the content and learning-curve tests)
    share the string, which they cannot change."""
    return synthetic_report()[0]
