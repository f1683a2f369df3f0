"""Episode rows to tables: the flat episodes frame and the ranked summary with intervals."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from allocsim.experiments.evaluation import Row, flatten, scalar_kpis
from allocsim.experiments.stats import mean_ci, paired_diff, pareto_front

RANK_BY = "profit"


def episodes_frame(rows: Sequence[Row]) -> pd.DataFrame:
    """One row per policy x seed; scalar KPIs first, then flattened breakdowns."""
    return pd.DataFrame([flatten(r) for r in rows])


def summary_frame(rows: Sequence[Row], reference: str | None = None) -> pd.DataFrame:
    """Per policy: mean and 95% CI half-width of every scalar KPI, ranked by mean profit.

    ``profit_vs_ref`` is the paired difference of profit, seed by seed, against
    ``reference`` (default: the best policy by mean profit) with its paired CI;
    ``pareto`` marks the policies no other beats on both fill rate and profit.
    """
    kpis = scalar_kpis(rows)
    frame = pd.DataFrame([{k: r[k] for k in ("policy", "seed", *kpis)} for r in rows])
    order = list(dict.fromkeys(frame["policy"]))
    records = []
    for policy in order:
        part = frame[frame["policy"] == policy]
        record: dict[str, object] = {"policy": policy, "episodes": len(part)}
        for kpi in kpis:
            est = mean_ci(part[kpi].to_numpy(dtype=float))
            record[f"{kpi}_mean"] = est.mean
            record[f"{kpi}_ci95"] = est.half_width
        records.append(record)
    summary = pd.DataFrame(records)
    summary = summary.sort_values(f"{RANK_BY}_mean", ascending=False, kind="stable").reset_index(drop=True)
    summary.insert(0, "rank", range(1, len(summary) + 1))
    ref = reference or str(summary.loc[0, "policy"])
    wide = frame.pivot(index="seed", columns="policy", values=RANK_BY)
    if ref not in wide.columns:
        raise ValueError(f"reference policy {ref!r} is not among {list(wide.columns)}")
    diffs = [paired_diff(wide[p].to_numpy(float), wide[ref].to_numpy(float)) for p in summary["policy"]]
    summary["reference"] = ref
    summary[f"{RANK_BY}_vs_ref"] = [d.mean for d in diffs]
    summary[f"{RANK_BY}_vs_ref_ci95"] = [d.half_width for d in diffs]
    summary[f"{RANK_BY}_vs_ref_low"] = [d.low for d in diffs]
    summary[f"{RANK_BY}_vs_ref_high"] = [d.high for d in diffs]
    points = list(zip(summary["fill_rate_mean"], summary["profit_mean"], strict=True))
    summary["pareto"] = pareto_front(points)
    return summary
