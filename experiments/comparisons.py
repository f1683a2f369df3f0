"""Paired comparisons against the best rule, KPI by KPI (the recommendation is ``recommendation``).

Every rule plays the same seeds, so each KPI's difference to the reference is taken seed by
seed (``stats.paired_diff``). A paired 95% interval that contains 0 is a tie.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from allocsim.experiments.evaluation import Row
from allocsim.experiments.kpi_labels import label
from allocsim.experiments.kpis import LOWER_IS_BETTER
from allocsim.experiments.stats import paired_diff

#: KPIs compared against the best rule in the report (where present).
COMPARED = ("profit", "fill_rate", "lost_sales_units", "revenue", "holding_cost", "shipping_cost",
            "shortage_penalty", "avg_inventory_value", "avg_age", "writeoff_cost", "markdown_cost")


def paired_frame(rows: Sequence[Row], reference: str, kpis: Sequence[str] = COMPARED) -> pd.DataFrame:
    """One row per policy x KPI: mean paired difference (policy - reference) and its 95% CI.

    ``tie`` is True when the interval contains 0 (or is undefined); the reference's own rows are 0.
    """
    frame = pd.DataFrame([{k: r.get(k) for k in ("policy", "seed", *kpis)} for r in rows])
    kpis = [k for k in kpis if k in frame and frame[k].notna().any()]
    records = []
    for kpi in kpis:
        wide = frame.pivot(index="seed", columns="policy", values=kpi)
        ref = wide[reference].to_numpy(float)
        for policy in dict.fromkeys(frame["policy"]):
            est = paired_diff(wide[policy].to_numpy(float), ref)
            records.append({"policy": policy, "kpi": kpi, "mean": est.mean, "ci95": est.half_width,
                            "low": est.low, "high": est.high, "tie": not est.excludes_zero()})
    return pd.DataFrame(records)


def better(kpi: str, difference: float) -> bool:
    """True when a positive ``difference`` in ``kpi`` is an improvement."""
    return (difference < 0) if kpi in LOWER_IS_BETTER else (difference > 0)


def describe(kpi: str, currency: str) -> str:
    """``Fill rate (%, higher is better)``."""
    lab = label(kpi)
    arrow = "lower is better" if kpi in LOWER_IS_BETTER else "higher is better"
    unit = lab.unit_in(currency)
    return f"{lab.name} ({unit + ', ' if unit else ''}{arrow})"
